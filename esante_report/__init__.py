"""esante-report."""
