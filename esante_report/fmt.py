"""French formatting for everything a reader sees (numbers, dates, months).

Used only at the edge (labels, tables, sentences); frames keep raw values.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

__all__ = ["LOCALE", "NA_TEXT", "fmt_int", "fmt_number", "fmt_date", "fmt_long_date", "fmt_month",
           "fmt_percent", "is_missing", "fmt_month_short"]

LOCALE = "fr_FR"
#: What a blank in the data shows as: never 0.
NA_TEXT = "non renseigné"


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd
        if value is pd.NA:
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(value, float) and math.isnan(value)


def fmt_int(value: Any, na: str = NA_TEXT) -> str:
    """``20356`` → ``'20 356'`` (narrow no-break space, as French typography wants)."""
    if is_missing(value):
        return na
    return format_decimal(int(value), locale=LOCALE)


def fmt_number(value: Any, na: str = NA_TEXT, digits: int = 1) -> str:
    """``0.5`` → ``'0,5'``; integers print without decimals."""
    if is_missing(value):
        return na
    value = float(value)
    if value.is_integer():
        return fmt_int(value)
    return format_decimal(round(value, digits), locale=LOCALE)


def fmt_percent(value: Any, na: str = NA_TEXT) -> str:
    """``93`` → ``'93 %'`` (value already in percent)."""
    if is_missing(value):
        return na
    return f"{fmt_number(value)}\u00a0%"


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def fmt_date(value: Any) -> str:
    """``2021-11-15`` → ``'15/11/2021'``."""
    return _as_date(value).strftime("%d/%m/%Y")


def fmt_long_date(value: Any) -> str:
    """``2021-02-12`` → ``'12 février 2021'``."""
    return format_date(_as_date(value), "d MMMM y", locale=LOCALE)


def fmt_month(value: Any, year: bool = True) -> str:
    """``'2021-08'`` → ``'août 2021'`` (``'août'`` without the year)."""
    text = str(value)
    date = dt.date(int(text[:4]), int(text[5:7]), 1)
    return format_date(date, "LLLL y" if year else "LLLL", locale=LOCALE)


def fmt_month_short(value: Any) -> str:
    """``'2021-10'`` → ``'oct.'``, ``'2021-08'`` → ``'août'`` (French abbreviations, as in a calendar)."""
    text = str(value)
    return format_date(dt.date(int(text[:4]), int(text[5:7]), 1), "LLL", locale=LOCALE)


def text_table(rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> list[str]:
    """Plain-text table lines (the commands' summaries): every column but the last padded to its widest cell
    (the columns of ``right`` aligned right), the last left as it is; trailing blanks removed."""
    if not rows:
        return []
    last = len(rows[0]) - 1
    widths = [max(len(row[i]) for row in rows) for i in range(last)]
    return [("  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                       for i, cell in enumerate(row[:last])) + "  " + row[last]).rstrip() for row in rows]
