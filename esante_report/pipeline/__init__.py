"""Running decks: one job per deck (execute, slides, formats, checks, publish into the output folder).

- ``render``: the job and its stages; ``batch``: many jobs on a pool or Dask, with the summary;
- ``kernels`` and ``fork_server``: warm kernels, forked per deck; ``cache``: what a deck depends on;
- ``progress``: the live board on a terminal.
"""
