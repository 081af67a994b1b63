"""`python -m gridbase` runs the command line."""

import sys

from gridbase.cli import main

sys.exit(main())
