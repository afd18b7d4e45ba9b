"""``python -m esante_report`` = ``esante-report``."""

import sys

from .cli import main

sys.exit(main())
