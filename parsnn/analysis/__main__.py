"""``python -m parsnn.analysis``: the same as ``parsnn analyze``."""
import sys

from parsnn.analysis.report import main

sys.exit(main())
