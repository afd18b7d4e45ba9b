"""A format plug-in as another package would ship it: a Markdown outline of the deck (one heading per slide).

Registered through the entry-point group ``esante_report.formats`` by the ``dist-info`` folder beside it;
tests/test_formats.py puts this folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from esante_report.formats.registry import Build, Format


class Outline(Format):
    name, suffix, label, description = "outline", ".md", "Plan", "Plan du diaporama (Markdown)"

    def write(self, build: Build) -> Path:
        path = build.path(self.suffix)
        lines = [f"# {build.meta.title}", ""]
        for slide in build.rendered.deck.slides:
            title = html.unescape(re.sub(r"<[^>]+>", "", slide.title or "")).strip()
            lines.append(f"{slide.number}. {title or '(sans titre)'}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
