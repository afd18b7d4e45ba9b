"""The data contract: what the toolkit reads from a project and how it reports a breach.

- ``readers``: CSV and YAML read with line numbers, and the value parsers (``Problem`` per bad cell);
- ``schema``: Frictionless Table Schemas beside each CSV;
- ``params``: the params files (``params/<date>.yaml``) against a notebook's parameters cell;
- ``regions``: the 18 regions (``data/regions.csv``); ``boundaries``: the GeoJSON boundaries (``data/geo/``);
- ``rewrite``: atomic rewriting of data files; ``zipguard``: zip containers (.xlsx) checked before opening.

May import ``esante_report.errors``, ``paths`` and ``fmt``; never formats, pipeline or distribution.
"""
