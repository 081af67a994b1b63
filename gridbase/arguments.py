"""The arguments of every `gridbase` command, and the module that runs each.

`build_parser()` declares every command's arguments (docs/cli.md is rendered from it, see
gridbase.docgen); each subparser's `runs_in` default names the module whose `@command(name)`
function runs it. The declarations live here, apart from the commands, so that the command
line imports only the module of the command it runs: starting `gridbase` for one command
no longer imports the web app, the chart library, FHIR models and the spreadsheet writer
that other commands need.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from engine import tokens
from gridbase.init_cmd import LANGS
from plugins.bitable_api import DEFAULT_BASE_URL

Adder = Callable[..., argparse.ArgumentParser]


def _core(sub: Any, add: Adder) -> None:
    add("validate", "Check a workspace's YAML (or a group folder's, with each workspace); print every problem as FILE:LINE:COL: message.", db=False)
    add("plan", "Show what `apply` would change in the database.")
    p = add("apply", "Bring the database to the declared schema, in one transaction.")
    p.add_argument("--allow-data-loss", action="store_true", help="allow removing fields/tables and lossy type changes (data is archived)")


def _seed(sub: Any, add: Adder) -> None:
    p = add("seed", "Fill the workspace with its sample data (runs DIR/seed.py).")
    p.add_argument("--seed", type=int, default=2026, help="random seed; the same seed gives the same data")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the full sample size")


def _serve(sub: Any, add: Adder) -> None:
    p = add("serve", "Serve the web app and API; DIR may be a group folder of workspaces (docs/hospital-group.md).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--backup-dir", metavar="DIR", help="make a daily backup here (02:00 workspace time)")
    p.add_argument("--backup-keep", type=int, default=14, metavar="N", help="backups to keep (default 14)")
    p.add_argument("--hl7-port", type=int, metavar="PORT",
                   help="also take HL7 v2 from the HIS over MLLP on this port (the hl7: mappings; see docs/intake.md)")
    p.add_argument("--hl7-host", default="0.0.0.0", help="the address of the HL7 listener (default 0.0.0.0)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="N server processes sharing the port, one supervisor starting again any that dies; SIGHUP "
                        "restarts them one at a time (default 1; see docs/operations.md#several-processes)")
    p.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)  # a worker of --workers: its channel to the supervisor
    p.add_argument("--automations-worker", action="store_true", help=argparse.SUPPRESS)  # the automation process of --workers
    p = add("demo", "Apply, seed (once) and serve the workspace; print how to sign in.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--scale", type=float, default=1.0)


def _more(sub: Any, add: Adder) -> None:
    p = add("people", "Manage people stored in the database; sync-ids looks people up in a messaging app "
                      "(by e-mail or mobile) and gives them its ids in workspace.yaml; for a group folder, "
                      "disable or enable a person in every workspace of the group.")
    p.add_argument("action", choices=["add", "disable", "enable", "list", "move", "sync-ids"])
    p.add_argument("person", nargs="?", metavar="KEY")
    p.add_argument("--name")
    p.add_argument("--roles", default="", help="comma-separated role keys")
    p.add_argument("--department", help="the primary node of the organisation tree (add, move)")
    p.add_argument("--also", default="", help="move: further nodes the person belongs to, comma-separated")
    p.add_argument("--email")
    p.add_argument("--channel", help="sync-ids: the channel (its key, or its type when one has it) whose ids to fetch")
    p.add_argument("--write", action="store_true",
                   help="sync-ids: write the ids into workspace.yaml (default: print the lines to paste)")
    p = add("audit", "Show the audit log of writes and the access log of sensitive reads.")
    p.add_argument("--person")
    p.add_argument("--table", help="BASE.TABLE")
    p.add_argument("--record")
    p.add_argument("--since", help="ISO date/time (UTC)")
    p.add_argument("--until", help="ISO date/time (UTC)")
    p.add_argument("--format", choices=["text", "csv", "json"], default="text")
    p.add_argument("--log", choices=["writes", "reads", "both"], default="both")
    p = add("export", "Export a table as CSV, XLSX or JSON, with one person's permissions.")
    p.add_argument("table", metavar="TABLE", help="BASE.TABLE or TABLE")
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv")
    p.add_argument("--view")
    p.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--link-ids", action="store_true",
                   help="write links as record ids (CSV and XLSX write the linked records' primary field; JSON ids)")
    p = add("import", "Import CSV or XLSX rows into a table; all or nothing unless --skip-invalid.")
    p.add_argument("table", metavar="TABLE", help="BASE.TABLE or TABLE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows and list the others")
    p.add_argument("--ignore-unknown", action="store_true",
                   help="skip columns that match no field (or a computed one), with a warning, instead of failing")
    p.add_argument("--key", metavar="FIELD",
                   help="a unique field: a row whose value a record already holds updates that record")
    p.add_argument("--created-from", metavar="COLUMN",
                   help="take each new record's created time from this column (Asia/Shanghai unless it has an offset)")
    p.add_argument("--as", dest="as_user", default="system", metavar="USER")
    p = add("backup", "Copy the database with SQLite's online backup API, or pg_dump of the workspace's schema on "
                      "PostgreSQL (consistent while serving).")
    p.add_argument("--to", required=True, metavar="FILE")
    p.add_argument("--encrypt", action="store_true", help="encrypt with the passphrase in the --key-env variable")
    p.add_argument("--key-env", default="GRIDBASE_BACKUP_KEY", metavar="NAME",
                   help="environment variable holding the backup passphrase (default GRIDBASE_BACKUP_KEY)")
    p = add("restore", "Replace the database (on PostgreSQL: the workspace's schema) with a backup file "
                       "(the servers must be stopped).")
    p.add_argument("--from", dest="source", required=True, metavar="FILE")
    p.add_argument("--key-env", default="GRIDBASE_BACKUP_KEY", metavar="NAME",
                   help="environment variable holding the passphrase of an encrypted backup")


def _runs(sub: Any, add: Adder) -> None:
    p = add("runs", "Show the automation run history, newest first.")
    p.add_argument("--automation", metavar="KEY", help="only this automation (key)")
    p.add_argument("--base", metavar="KEY", help="only automations of this base")
    p.add_argument("--status", choices=["ok", "failed", "skipped", "loop_stopped", "waiting"])
    p.add_argument("--record", metavar="ID", help="only runs about this record")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=["text", "json"], default="text")


def _auth(sub: Any, add: Adder) -> None:
    p = add("passwd", "Set a person's password, read from standard input (at least 10 characters, not a common one); "
                      "for a group folder, a directory person's password in each of their workspaces.")
    p.add_argument("person", metavar="USER")
    p = add("token", "Create, list or revoke personal API tokens, with scopes and bases as Airtable's.")
    p.add_argument("action", choices=["create", "revoke", "list"])
    p.add_argument("person", metavar="USER")
    p.add_argument("--name", default="token")
    p.add_argument("--expires", type=int, metavar="DAYS")
    p.add_argument("--id", type=int, help="token id to revoke")
    p.add_argument("--scope", action="append", choices=tokens.SCOPES, metavar="SCOPE",
                   help="what the token may do, repeatable: " + ", ".join(tokens.SCOPES) + " (default: all)")
    p.add_argument("--base", action="append", metavar="BASE", help="a base the token may reach, repeatable (default: all)")
    p = add("second-factor", "Show or reset a person's second factor (TOTP), e.g. after a lost phone.")
    p.add_argument("action", choices=["status", "reset"])
    p.add_argument("person", metavar="USER")


def _init(sub: Any, add: Adder) -> None:
    """`init`, with the options for a template (see gridbase.template_cmd)."""
    p = add("init", "Make a new workspace in DIR (new or empty): a small commented base, a README "
                    "and editor settings for autocompletion.", db=False)
    p.add_argument("--lang", choices=LANGS, default="en", help="language of the names, comments and README")
    _init_options(p)


def _retention(sub: Any, add: Adder) -> None:
    p = add("retention", "Archive (export, then remove) audit and access log entries older than the periods "
                         "of `retention:` in workspace.yaml; each archive is recorded in the audit log.")
    p.add_argument("--dry-run", action="store_true", help="only say what would be archived; change nothing")


def _automations(sub: Any, add: Adder) -> None:
    p = add("automations", "Try time-triggered automations: run what is due at a given time on a copy of the "
                           "database, print each run, and change nothing.")
    p.add_argument("action", choices=["run-due"], help="run-due: fire what is due up to --at, on a copy")
    p.add_argument("--at", required=True, metavar="TIME",
                   help='the moment to move the clock to, in the workspace time zone: "2026-12-24 09:00"')
    p.add_argument("--keep", metavar="FILE", help="keep the copy the runs were made on in FILE")


def _bitable(sub: Any, add: Adder) -> None:
    text = ("Import a Feishu Bitable app: `dump` saves its API answers and files to a folder; `import` writes "
            "DIR/bases/NAME.yaml, applies it and imports every record (again: updates by Bitable record id).")
    p = sub.add_parser("bitable", help=text, description=text)
    p.add_argument("action", choices=["dump", "import"], help="dump: save the app to --to; import: into the workspace DIR")
    p.add_argument("dir", nargs="?", metavar="DIR", help="the workspace folder (import only)")
    p.add_argument("--db", metavar="FILE", help="the SQLite database file (default DIR/data/gridbase.db)")
    p.add_argument("--base", metavar="NAME", help="import: the key of the base to write (bases/NAME.yaml)")
    p.add_argument("--app-token", metavar="T", help="the Bitable app's token (from its URL: …/base/T)")
    p.add_argument("--from-dump", metavar="FOLDER", help="import: read a folder written by `gridbase bitable dump`")
    p.add_argument("--to", metavar="FOLDER", help="dump: the folder to write")
    p.add_argument("--update", action="store_true",
                   help="import: keep an existing bases/NAME.yaml (adding what is new in Bitable) and update its records")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, metavar="URL",
                   help=f"the Feishu OpenAPI origin (default {DEFAULT_BASE_URL}; Lark: https://open.larksuite.com)")
    p.add_argument("--user-token-env", metavar="NAME",
                   help="read a user access token from this environment variable instead of FEISHU_APP_ID/FEISHU_APP_SECRET")


def _mail(sub: Any, add: Adder) -> None:
    p = add("mail", "Read the mailboxes declared under `mailboxes:` (fetch: one pass, each new mail a record or a "
                    "comment), list the mails that could not be taken (list-failed), or take one again (retry ID).")
    p.add_argument("action", choices=["fetch", "list-failed", "retry"], help="what to do")
    p.add_argument("id", nargs="?", type=int, help="retry: the failed mail's id (from list-failed)")
    p.add_argument("--mailbox", help="only this mailbox (by its name)")


def _hl7(sub: Any, add: Adder) -> None:
    p = add("hl7", "HL7 v2 from the HIS: listen for MLLP connections (ACK after each write commits), list the "
                   "messages that could not be applied, or retry one.")
    p.add_argument("action", metavar="ACTION", help="listen: run the MLLP listener; failed: list kept messages; "
                                                    "retry: apply the message ID again")
    p.add_argument("id", nargs="?", metavar="ID", help="the control id (MSH-10) of the message to retry")
    p.add_argument("--host", default="0.0.0.0", help="the address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=2575, help="the TCP port to listen on (default 2575)")


def _store(sub: Any, add: Adder) -> None:
    text = ("Copy a workspace's database to another store (SQLite ⇄ PostgreSQL): every record and system table, "
            "then counts and a checksum per table verified and printed; the target must be empty.")
    p = sub.add_parser("store", help=text, description=text)
    p.add_argument("action", choices=["copy"])
    p.add_argument("dir", metavar="DIR", help="the workspace folder (holds workspace.yaml and bases/)")
    p.add_argument("--from", dest="source", required=True, metavar="DB",
                   help="the database to copy: sqlite:PATH (or a file path) or a postgresql:// URL")
    p.add_argument("--to", dest="target", required=True, metavar="DB",
                   help="the empty database to copy into: sqlite:PATH (or a file path) or a postgresql:// URL")


def _template(sub: Any, add: Adder) -> None:
    """`template` (export, list, show)."""
    help_text = ("Templates: `export DIR BASE --to FILE` packages one base (its YAML, the roles, departments and "
                 "people it refers to as placeholders, a README, and with --with-data its records) as one file; "
                 "`list` shows the gallery shipped with Gridbase; `show FILE_OR_NAME` prints what a template refers to and an "
                 "answers file to fill in. Start a workspace from one with "
                 "`gridbase init DIR --template FILE_OR_NAME`.")
    p = sub.add_parser("template", help=help_text, description=help_text)
    p.add_argument("action", choices=["export", "list", "show"])
    p.add_argument("dir", metavar="DIR", nargs="?", help="export: the workspace folder; show: a template file or gallery key")
    p.add_argument("base", metavar="BASE", nargs="?", help="export: the key of the base to package")
    p.add_argument("--to", metavar="FILE", help="export: the template file to write (e.g. complaints.gbt)")
    p.add_argument("--with-data", action="store_true", help="export: include the records an admin reads, as sample data "
                                                            "(only for demo data: records leave the workspace)")
    p.add_argument("--db", metavar="FILE", help="export --with-data: the database (default DIR/data/gridbase.db)")
    p.add_argument("--key", help="export: the template's key (default: the base's key)")
    p.add_argument("--lang", choices=LANGS, help="list: show names and descriptions in one language only")



def _fhir(sub: Any, add: Adder) -> None:
    p = add("fhir", "FHIR R4 from the HIS: pull Patient, Encounter and Appointment resources from a FHIR server "
                    "(paged, incremental) or from bundle files, and create or update records by the fhir: mappings.")
    p.add_argument("action", metavar="ACTION", help="sync: read the server (--server) or the files (--from)")
    p.add_argument("--server", metavar="URL", help="the FHIR server's base URL, e.g. https://his.example.org/fhir")
    p.add_argument("--from", dest="files", metavar="FILE", nargs="+", help="read these bundle files instead")
    p.add_argument("--full", action="store_true", help="read every resource again, not only those updated since "
                                                       "the last run")


def _init_options(p: argparse.ArgumentParser) -> None:
    """`gridbase init DIR --template ...`: the options init takes for a template."""
    p.add_argument("--template", metavar="FILE_OR_NAME",
                   help="start from a template file (gridbase template export) or a gallery template (gridbase template list)")
    p.add_argument("--map", action="append", default=[], metavar="OLD=NEW[:NAME]",
                   help="with --template: whom a person or department of the template stands for (repeatable); "
                        "write person:OLD or dept:OLD when a key is both")
    p.add_argument("--answers", metavar="FILE", help="with --template: a YAML file of answers "
                                                     "(workspace:, name:, people: {OLD: NEW}, departments: {OLD: {key:, name:}})")
    p.add_argument("--yes", action="store_true", help="with --template: ask nothing; keep the template's keys where "
                                                      "no answer is given")


# In the order `gridbase --help` lists them: (the module that runs the commands, what declares them).
GROUPS: tuple[tuple[str, Callable[[Any, Adder], None]], ...] = (
    ("gridbase.cli", _core),
    ("gridbase.commands_more", _seed),
    ("gridbase.serve_cmd", _serve),
    ("gridbase.commands_more", _more),
    ("gridbase.automations_cmd", _runs),
    ("gridbase.commands_auth", _auth),
    ("gridbase.template_cmd", _init),
    ("gridbase.retention_cmd", _retention),
    ("gridbase.automations_cmd", _automations),
    ("gridbase.bitable_cmd", _bitable),
    ("gridbase.mail_cmd", _mail),
    ("gridbase.hl7_cmd", _hl7),
    ("gridbase.store_cmd", _store),
    ("gridbase.template_cmd", _template),
    ("gridbase.fhir_cmd", _fhir),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridbase", description="Gridbase: bases declared in YAML, stored in SQLite.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, help_text: str, *, db: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("dir", metavar="DIR", help="the workspace folder (holds workspace.yaml and bases/)")
        if db:
            p.add_argument("--db", metavar="FILE", help="the SQLite database file (default DIR/data/gridbase.db), or a postgresql:// URL "
                                                        "(default: GRIDBASE_DATABASE_URL if set)")
        return p

    for module, declare in GROUPS:
        before = set(sub.choices)
        declare(sub, add)
        for name in set(sub.choices) - before:
            sub.choices[name].set_defaults(runs_in=module)
    return parser
