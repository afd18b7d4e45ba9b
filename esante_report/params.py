"""``from esante_report.contracts.params import notebook_parameters``: the import notebooks already use.

Notebooks scaffolded by ``new-deck`` import this name; it lives in :mod:`esante_report.contracts.params`.
"""

from esante_report.contracts.params import notebook_parameters

__all__ = ["notebook_parameters"]
