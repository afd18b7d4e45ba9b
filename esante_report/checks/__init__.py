"""Checks of a written deck, the way a reader would notice problems.

- ``layout``: pages, overflow, dropped content, text size (docs/style.md);
- ``pdfua``: PDF/UA-1 tags, language, alt text, table headers.
"""
