#!/bin/sh
# Take the sample FHIR R4 bundles of this folder into the dental workspace, as a HIS's FHIR server would
# hand them (patients first, then encounters and appointments linked to them):
#
#     sh examples/dalian_dental/fhir/sync.sh                 # the workspace beside this folder
#     sh examples/dalian_dental/fhir/sync.sh /srv/clinic     # another workspace
#
# Run it twice: the second run writes nothing ("unchanged"), since each resource version is taken once.
# Against a real server: gridbase fhir sync DIR --server https://his.example.org/fhir (see docs/intake.md).
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-"$here/.."}
exec gridbase fhir sync "$dir" --from "$here"/01_patients.json "$here"/02_encounters.json "$here"/03_appointments.json
