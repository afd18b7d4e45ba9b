"""``python -m esante_report`` = ``esante-report``."""

from esante_report.cli.main import run

run()
