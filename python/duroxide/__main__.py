"""`python -m duroxide`: the duroxide command line (see duroxide.cli)."""

import sys

from duroxide.cli import main

sys.exit(main())
