"""One house style for every chart and slide: DSFR-inspired palette, Inter, sizes.

Colours are chosen for WCAG AA contrast of the text drawn on them
(:func:`text_colour_on` picks black or white by contrast ratio).
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Iterator

import matplotlib

from esante_report.fonts import FAMILY, register_matplotlib_fonts

__all__ = ["BLEU_FRANCE", "BLEU_FRANCE_LIGHT", "BLEU_FRANCE_PALE", "ROUGE_MARIANNE", "GREY_TEXT", "GREY_MUTED",
           "GREY_LINE", "GREY_BG", "GREEN", "ORANGE", "SERIES", "CHART_TEXT_PT", "CHART_LABEL_PT", "FULL_WIDTH_IN",
           "house_style",
           "apply_house_style", "text_colour_on", "contrast_ratio"]

BLEU_FRANCE = "#000091"
BLEU_FRANCE_LIGHT = "#8585F6"
BLEU_FRANCE_PALE = "#E3E3FD"
ROUGE_MARIANNE = "#E1000F"
GREY_TEXT = "#3A3A3A"
GREY_MUTED = "#666666"
GREY_LINE = "#929292"
GREY_BG = "#F6F6F6"
GREEN = "#18753C"
ORANGE = "#B34000"

#: generic series colours, in order
SERIES = [BLEU_FRANCE, BLEU_FRANCE_LIGHT, ROUGE_MARIANNE, GREEN, ORANGE, GREY_LINE]

#: chart text in pt — ticks, values, legends, map labels: a chart drawn at its slot size keeps it on the
#: 960×540 pt page, where it reads as the text around it (docs/style.md: the floor of body text)
CHART_TEXT_PT = 14
#: axis labels and the names under groups of bars: one step above the ticks
CHART_LABEL_PT = 15
#: width (inches) of a chart that fills the slide body (1184 CSS px, 12.33 in) at scale 1: the SVG of a
#: figure is padded by 0.04 in on each side (components.svg), and a wider one is scaled down, its text with it
FULL_WIDTH_IN = 12.2

_RC = {
    "font.family": [FAMILY, "DejaVu Sans"],
    "font.size": CHART_TEXT_PT,
    "axes.titlesize": 16,
    "axes.titleweight": "semibold",
    "axes.titlelocation": "left",
    "axes.labelsize": CHART_LABEL_PT,
    "axes.labelcolor": GREY_TEXT,
    "axes.edgecolor": GREY_LINE,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=SERIES),
    "axes.grid": False,
    "xtick.color": GREY_TEXT,
    "ytick.color": GREY_TEXT,
    "xtick.labelsize": CHART_TEXT_PT,
    "ytick.labelsize": CHART_TEXT_PT,
    "legend.fontsize": CHART_TEXT_PT,
    "legend.title_fontsize": CHART_TEXT_PT,
    "legend.frameon": False,
    "text.color": GREY_TEXT,
    "text.parse_math": False,      # a '$' from data is a dollar sign, never a formula
    "figure.figsize": (FULL_WIDTH_IN, 4.7),  # a full-width slot of the slide at scale 1
    "figure.dpi": 96,
    "savefig.dpi": 96,
    "svg.fonttype": "none",        # text stays text: selectable, and measured by the PDF check
    "svg.hashsalt": "esante-report",  # ids do not depend on the run (reproducible decks)
    "hatch.linewidth": 0.8,
    "hatch.color": "white",
    "axes.unicode_minus": True,
}


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """Context in which figures get the house palette, font and sizes."""
    _prepare_fonts()
    with matplotlib.rc_context(_RC):
        yield


def apply_house_style() -> None:
    """Make the house style the default of this process (the notebook's kernel): every figure gets it,
    tick labels in French number format included (``8 000``, ``0,5``)."""
    _prepare_fonts()
    matplotlib.rcParams.update(_RC)
    _french_ticks()


#: a tick label as matplotlib's ScalarFormatter writes a plain number
_PLAIN_NUMBER = re.compile(r"([\u2212-]?)([0-9]+)(?:\.([0-9]+))?")


def french_number(label: str) -> str:
    """A plain number label in French format: ``8000`` → ``8 000`` (narrow no-break space), ``0.5`` → ``0,5``."""
    match = _PLAIN_NUMBER.fullmatch(label)
    if not match:
        return label
    sign, whole, decimals = match.groups()
    if len(whole) >= 4:
        whole = f"{int(whole):,}".replace(",", "\u202f")
    return sign + whole + ("," + decimals if decimals else "")


def _french_ticks() -> None:
    """Every linear axis made from now on labels its ticks in French number format."""
    from matplotlib import scale, ticker

    class FrenchScalarFormatter(ticker.ScalarFormatter):
        def __call__(self, x, pos=None):
            return french_number(super().__call__(x, pos))

        def format_data_short(self, value):
            return french_number(super().format_data_short(value))

    class FrenchLinearScale(scale.LinearScale):
        name = "linear"

        def set_default_locators_and_formatters(self, axis):
            super().set_default_locators_and_formatters(axis)
            axis.set_major_formatter(FrenchScalarFormatter())

    scale.register_scale(FrenchLinearScale)


def _prepare_fonts() -> None:
    register_matplotlib_fonts()
    # the DejaVu fallback has no semibold: matplotlib's notice about it is noise for the analyst
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _luminance(colour: str) -> float:
    r, g, b = matplotlib.colors.to_rgb(colour)

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio between two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background``."""
    return "white" if contrast_ratio("white", background) >= contrast_ratio("#161616", background) else "#161616"
