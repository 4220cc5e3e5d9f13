import sys

from parsnn.cli import main

sys.exit(main())
