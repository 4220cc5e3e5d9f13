"""``python -m parsnn``: the command line (parsnn.cli.main)."""
import sys

from parsnn.cli import main

sys.exit(main())
