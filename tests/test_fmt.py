"""French formats shown to readers."""

import pandas as pd

from esante_report.fmt import NA_TEXT, fmt_date, fmt_int, fmt_long_date, fmt_month, fmt_number


def test_numbers_dates_months_in_french():
    assert fmt_int(20356).replace("\u202f", " ") == "20 356"
    assert fmt_int(1234567).replace("\u202f", " ") == "1 234 567"
    assert fmt_number(0.5) == "0,5"
    assert fmt_date("2021-11-15") == "15/11/2021"
    assert fmt_long_date("2021-02-12") == "12 février 2021"
    assert fmt_month("2021-08") == "août 2021"
    assert fmt_month("2021-09", year=False) == "septembre"


def test_missing_is_never_zero():
    assert fmt_int(pd.NA) == NA_TEXT == "non renseigné"
    assert fmt_int(None) == NA_TEXT
    assert fmt_int(0) == "0"
