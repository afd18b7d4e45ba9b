"""``python -m esante_report`` = ``esante-report``."""

import sys

from esante_report.cli.main import main

sys.exit(main())
