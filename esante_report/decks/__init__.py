"""The decks shipped with the toolkit, each in its own folder: its data loaders, blocks, templates, CSS
and deck code (its own checks and commands, see :mod:`esante_report.decks.registry`).

The core never names them: it finds them through :data:`BUILTIN`, as it finds the decks of other
packages through the ``esante_report.decks`` entry-point group.
"""

#: deck name → module of its deck code
BUILTIN = {
    "post_covid": "esante_report.decks.post_covid.deck",
    "catalogue": "esante_report.decks.catalogue.deck",
}
