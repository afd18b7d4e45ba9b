"""Output formats: each one writes a deck's file from its slides (HTML, PDF, PPTX, ODP).

- ``web``: the reveal.js HTML deck and the print HTML laid out by WeasyPrint into the PDF;
- ``pptx`` and ``pptx_blocks``: the editable PowerPoint deck;
- ``odp``, ``soffice``, ``uno_worker``: the Impress copy, converted by one LibreOffice per process.
"""
