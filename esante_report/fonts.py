"""The house fonts: Inter (SIL Open Font License), from Debian's ``fonts-inter``.

``make setup`` installs the package; nothing is downloaded at render time.
The same files serve matplotlib (metrics of SVG text), the HTML deck (subset,
embedded as WOFF2 data URIs) and WeasyPrint (which embeds them in the PDF).
"""

from __future__ import annotations

import base64
import functools
import io
import os
from pathlib import Path

from .errors import ExportError

__all__ = ["FAMILY", "font_files", "font_face_css", "register_matplotlib_fonts"]

FAMILY = "Inter"
_SEARCH_DIRS = (
    Path("/usr/share/fonts/opentype/inter"),
    Path("/usr/share/fonts/truetype/inter"),
    Path("/usr/local/share/fonts"),
)
#: CSS weight/style -> file name of the Debian package
_FACES = {
    (400, "normal"): "Inter-Regular.otf",
    (400, "italic"): "Inter-Italic.otf",
    (600, "normal"): "Inter-SemiBold.otf",
    (700, "normal"): "Inter-Bold.otf",
}
# Latin-1, Latin Extended-A (œ), general punctuation (– — ’ « » …), € and arrows.
_UNICODES = "U+0020-007E,U+00A0-017F,U+2000-206F,U+20AC,U+2190-21FF,U+2212,U+2264-2265"


def _font_dir() -> Path:
    env = os.environ.get("ESANTE_REPORT_FONT_DIR")
    dirs = (Path(env),) if env else _SEARCH_DIRS
    for folder in dirs:
        if (folder / _FACES[(400, "normal")]).is_file():
            return folder
    raise ExportError(
        f"font {FAMILY} not found in {', '.join(map(str, dirs))} "
        "(expected Debian's fonts-inter: run `make setup`, or set ESANTE_REPORT_FONT_DIR)")


def font_files() -> dict[tuple[int, str], Path]:
    """(weight, style) → font file."""
    folder = _font_dir()
    return {key: folder / name for key, name in _FACES.items() if (folder / name).is_file()}


@functools.lru_cache(maxsize=1)
def font_face_css() -> str:
    """``@font-face`` rules embedding subset WOFF2 copies of the house font."""
    from fontTools import subset

    rules = []
    for (weight, style), path in sorted(font_files().items()):
        options = subset.Options()
        options.flavor = "woff2"
        options.layout_features = ["kern", "liga", "tnum", "case"]
        options.name_IDs = ["*"]  # keep the licence and copyright notices
        font = subset.load_font(str(path), options)
        sub = subset.Subsetter(options)
        sub.populate(unicodes=subset.parse_unicodes(_UNICODES))
        sub.subset(font)
        buffer = io.BytesIO()
        subset.save_font(font, buffer, options)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        rules.append(
            f"@font-face {{ font-family: '{FAMILY}'; font-weight: {weight}; font-style: {style}; "
            f"src: url(data:font/woff2;base64,{data}) format('woff2'); }}")
    return "\n".join(rules)


@functools.lru_cache(maxsize=1)
def register_matplotlib_fonts() -> None:
    """Make the house font known to matplotlib (idempotent)."""
    from matplotlib import font_manager

    for path in font_files().values():
        font_manager.fontManager.addfont(str(path))
