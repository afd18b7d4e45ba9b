"""The ``esante-report`` command line: parse, call one library function, map errors to exit codes.

``main`` builds the parser; ``export`` and ``distribute`` hold the ``export``, ``publish`` and ``mail``
commands. Everything a command does is reachable from Python through the other subpackages.
"""
