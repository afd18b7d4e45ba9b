"""Getting decks to readers: ``publish`` to a share, ``mail`` to each agency, ``recipients``, and ``config``
(the targets and the SMTP relay of ``esante-report.toml``)."""
