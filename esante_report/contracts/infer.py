"""A Table Schema inferred from an analyst's own CSV (``new-deck NAME --from-csv FILE…``).

The file is read with the CSV reader every loader uses (:mod:`esante_report._io`), so a file it
cannot read (another separator or encoding, no header) gets the same one-line messages. Each
column then gets:

- a type: ``integer``, ``number``, ``date`` (YYYY-MM-DD), ``yearmonth`` (YYYY-MM), else ``string``;
- ``required`` only when no value is blank (a blank is "non renseigné", never 0);
- ``minimum: 0`` for a numeric column without a negative value;
- ``enum`` for a text column with few distinct values;
- a foreign key to ``regions.csv`` when every value is a region's abbreviation or code.

The primary key is the first column, or pair of columns, that is unique and never blank. The
roles the scaffolded notebook needs are chosen from the same profile: the main measure (a
numeric column outside the key), the main category (the region, else a text column) and the
period (a month or date column).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from esante_report.contracts.readers import Column, parse_text, read_csv_columns, usable_file
from esante_report.errors import DataError, Problem, ProblemList

__all__ = ["ColumnProfile", "TableProfile", "profile_csv", "read_header"]

_INT = re.compile(r"[+-]?[0-9]{1,15}", re.ASCII)
_NUM = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,9})?", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", re.ASCII)
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
#: a text column with at most this many distinct values gets an ``enum``
MAX_ENUM = 12
_COLUMN_NAME = re.compile(r"[^\W\d][\w .'’()%/-]{0,79}")


@dataclass
class ColumnProfile:
    name: str
    type: str
    required: bool
    distinct: int
    values: list = field(default_factory=list, repr=False)
    enum: list | None = None
    minimum: int | None = None
    region_field: str | None = None   # "abbr" or "code" of regions.csv

    def schema(self) -> dict:
        constraints: dict = {}
        if self.required:
            constraints["required"] = True
        if self.enum is not None:
            constraints["enum"] = self.enum
        if self.minimum is not None:
            constraints["minimum"] = self.minimum
        spec = {"name": self.name, "type": self.type, "title": self.name}
        if constraints:
            spec["constraints"] = constraints
        return spec


@dataclass
class TableProfile:
    path: Path
    columns: list[ColumnProfile]
    rows: int
    primary_key: list[str]

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    @property
    def region(self) -> ColumnProfile | None:
        return next((c for c in self.columns if c.region_field), None)

    @property
    def period(self) -> ColumnProfile | None:
        """The time column: a month column first, then a date column."""
        return next((c for t in ("yearmonth", "date") for c in self.columns if c.type == t and c.required), None)

    @property
    def measure(self) -> ColumnProfile | None:
        """The main measure: the numeric column outside the key with the largest total."""
        numeric = [c for c in self.columns if c.type in ("integer", "number") and c.name not in self.primary_key
                   and not c.region_field]
        if not numeric:
            return None
        return max(numeric, key=lambda c: sum(abs(float(v)) for v in c.values if v != ""))

    @property
    def category(self) -> ColumnProfile | None:
        """The main category: the region, else the text column with the fewest distinct values (at least 2)."""
        if self.region is not None:
            return self.region
        text = [c for c in self.columns if c.type == "string" and c.required and c.distinct >= 2]
        if not text:
            return None
        few = [c for c in text if c.enum is not None]
        return min(few or text, key=lambda c: c.distinct)

    def schema(self, title: str) -> dict:
        out = {"title": title,
               "description": f"Inféré par `esante-report new-deck --from-csv` depuis {self.path.name} : "
                              "à relire (types, valeurs permises, clés).",
               "fields": [c.schema() for c in self.columns],
               "missingValues": [""]}
        if self.primary_key:
            out["primaryKey"] = list(self.primary_key)
        if self.region is not None:
            out["foreignKeys"] = [{"fields": [self.region.name],
                                   "reference": {"resource": "regions.csv", "fields": [self.region.region_field]}}]
        return out


def read_header(path: Path, problems: list[Problem]) -> list[str] | None:
    """The header of ``path`` (None after one problem when it has none that names columns)."""
    import csv

    if not usable_file(path, problems, "a CSV file with a header line naming its columns"):
        return None
    try:
        with open(path, "rb") as handle:
            first = handle.readline(1 << 16)
    except OSError as exc:
        problems.append(Problem(path, None, None, f"cannot be read: {exc.strerror or type(exc).__name__}"))
        return None
    text = first.decode("utf-8-sig", "replace").strip("\r\n")
    header = [h.strip() for h in next(csv.reader([text]), [])]
    return header


def _check_header(path: Path, header: list[str], problems: list[Problem]) -> bool:
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        return True   # the reader names the separator
    looks_like_values = [h for h in header if h == "" or _NUM.fullmatch(h) or _MONTH.fullmatch(h) or _DATE.fullmatch(h)]
    if looks_like_values:
        problems.append(Problem(path, 1, None, f"no header line: the first line holds values "
                                f"({', '.join(repr(h) for h in header[:4])}); add a first line naming each column, "
                                "e.g. region,mois,valeur"))
        return False
    bad = next((h for h in header if not _COLUMN_NAME.fullmatch(h)), None)
    if bad is not None:
        problems.append(Problem(path, 1, bad[:40], "a column name starts with a letter and holds letters, digits, "
                                "spaces and _ . ' ( ) % / - (at most 80 characters): rename the column"))
        return False
    repeated = next((h for h in header if header.count(h) > 1), None)
    if repeated is not None:
        problems.append(Problem(path, 1, repeated, "column named twice (expected each column once)"))
        return False
    return True


def _type(values: list[str]) -> str:
    filled = [v for v in values if v != ""]
    if not filled:
        return "string"
    if all(_INT.fullmatch(v) for v in filled):
        return "integer"
    if all(_NUM.fullmatch(v) for v in filled):
        return "number"
    if all(_DATE.fullmatch(v) and _valid_date(v) for v in filled):
        return "date"
    if all(_MONTH.fullmatch(v) for v in filled):
        return "yearmonth"
    return "string"


def _valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def profile_csv(path: Path, regions: dict[str, set[str]]) -> TableProfile:
    """Profile of the CSV ``path``; DataError (one line per problem) when it cannot be read as a table.

    ``regions`` maps ``abbr`` and ``code`` to the values of regions.csv, for the foreign key.
    """
    path = Path(path)
    problems: list[Problem] = ProblemList()
    header = read_header(path, problems)
    if header is None:
        raise DataError(problems)
    # the reader first: another encoding or separator gets its usual message before the header is judged
    table = read_csv_columns(path, [Column(h, parse_text, blank_ok=True) for h in dict.fromkeys(header)], problems)
    if problems or not _check_header(path, header, problems):
        raise DataError(problems)
    if not len(table):
        raise DataError([Problem(path, None, None, "no data row under the header (expected at least one row)")])
    columns = []
    for name in header:
        values = ["" if v is None else v for v in table.values[name]]
        kind = _type(values)
        filled = [v for v in values if v != ""]
        distinct = sorted(set(filled))
        col = ColumnProfile(name, kind, required=len(filled) == len(values), distinct=len(distinct), values=values)
        for region_field in ("abbr", "code"):
            known = regions.get(region_field, set())
            if filled and known and set(filled) <= known and kind in ("string", "integer"):
                col.type, col.region_field = "string", region_field
                break
        if col.type == "string" and not col.region_field and 1 <= len(distinct) <= MAX_ENUM \
                and len(distinct) < len(filled):
            col.enum = distinct
        if col.type in ("integer", "number") and filled and all(float(v) >= 0 for v in filled):
            col.minimum = 0
        columns.append(col)
    return TableProfile(path, columns, len(table), _primary_key(columns, len(table)))


def _primary_key(columns: list[ColumnProfile], rows: int) -> list[str]:
    """The first column, or pair of columns, unique and never blank; keys among labels and periods come first."""
    candidates = [c for c in columns if c.required]
    labels = [c for c in candidates if c.type in ("string", "date", "yearmonth")]
    for group in ([labels], [candidates]):
        pool = group[0]
        for size in (1, 2):
            for combo in itertools.combinations(pool, size):
                keys = set(zip(*(c.values for c in combo)))
                if len(keys) == rows:
                    return [c.name for c in combo]
    return []
