"""Reading CSV and YAML files while keeping line numbers for error messages.

Loaders describe each file as a list of :class:`Column` (CSV) or check the
:class:`LocDict` / :class:`LocList` trees (YAML) and append a
:class:`~esante_report.errors.Problem` for every breach instead of stopping at
the first one, so the user sees every problem of a file in one run.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from .errors import Problem

Parser = Callable[[str], Any]

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- parsers
# Each parser takes the raw (stripped, non-empty) text and returns the value, or
# raises ValueError whose text says what was expected.

def parse_int_ge0(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"expected an integer ≥ 0, got {text!r}")
    return int(text)


def parse_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number with '.' as decimal separator, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def parse_date(text: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        if not _DATE_RE.match(str(text)):
            raise ValueError
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def parse_month(text: str) -> str:
    return matching(_MONTH_RE.pattern, "a month YYYY-MM")(text)


def parse_text(text: str) -> str:
    return text


def parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "yes", "oui", "1"):
        return True
    if low in ("false", "no", "non", "0"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def matching(pattern: str, expected: str) -> Parser:
    """A parser accepting text that fully matches ``pattern``; ``expected`` describes it in the message."""
    regex = re.compile(pattern)

    def parse(text: str) -> str:
        if not regex.fullmatch(text):
            raise ValueError(f"expected {expected}, got {text!r}")
        return text
    return parse


def choice(*allowed: str) -> Parser:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}; got {text!r}")
        return text
    return parse


@dataclass(frozen=True)
class Column:
    """One CSV column of the data contract.

    Attributes:
        name: header name.
        parse: turns the text into a value or raises ValueError(expected ...).
        blank_ok: an empty cell is allowed and read as None ("non renseigné").
        required: the column must be in the header (otherwise it may be absent).
    """

    name: str
    parse: Parser = parse_text
    blank_ok: bool = False
    required: bool = True


class Row(dict):
    """A parsed CSV row; ``line`` is its 1-based line number in the file."""

    def __init__(self, line: int, values: dict[str, Any]):
        dict.__init__(self, values)
        self.line = line

    def __hash__(self) -> int:  # rows are compared by identity only
        return id(self)


def read_csv(path: Path, columns: Iterable[Column], problems: list[Problem]) -> list[Row]:
    """Read ``path`` against ``columns``; bad cells become problems, bad rows are dropped."""
    columns = list(columns)
    if not path.is_file():
        expected = ",".join(c.name for c in columns if c.required)
        problems.append(Problem(path, None, None, f"file not found (expected a CSV file with header {expected})"))
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(path, None, None, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})"))
        return []
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        problems.append(Problem(path, 1, None, "empty file (expected a header line)"))
        return []
    known = {c.name for c in columns}
    header_ok = True
    for col in columns:
        if col.required and col.name not in header:
            problems.append(Problem(path, 1, col.name, f"missing column (expected header {','.join(c.name for c in columns if c.required)})"))
            header_ok = False
    for name in header:
        if name not in known:
            problems.append(Problem(path, 1, name, f"unknown column (expected only {', '.join(sorted(known))})"))
    if not header_ok:
        return []
    present = [c for c in columns if c.name in header]
    index = {name: i for i, name in enumerate(header)}
    rows: list[Row] = []
    last_line = reader.line_num
    for raw in reader:
        line = last_line + 1
        last_line = reader.line_num
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) != len(header):
            problems.append(Problem(path, line, None, f"expected {len(header)} fields, found {len(raw)}"))
            continue
        values: dict[str, Any] = {}
        ok = True
        for col in present:
            cell = raw[index[col.name]].strip()
            if cell == "":
                if col.blank_ok:
                    values[col.name] = None
                    continue
                problems.append(Problem(path, line, col.name, "empty (a value is required)"))
                ok = False
                continue
            try:
                values[col.name] = col.parse(cell)
            except ValueError as exc:
                problems.append(Problem(path, line, col.name, str(exc)))
                ok = False
        for col in columns:
            values.setdefault(col.name, None)
        if ok:
            rows.append(Row(line, values))
    return rows


def check_unique(rows: list[Row], key: tuple[str, ...], path: Path, problems: list[Problem]) -> None:
    """Report every row repeating the ``key`` columns of an earlier row."""
    seen: dict[tuple, int] = {}
    for row in rows:
        k = tuple(row[c] for c in key)
        if k in seen:
            shown = ", ".join(f"{c}={row[c]!s}" for c in key)
            problems.append(Problem(path, row.line, key[-1],
                                    f"duplicate ({shown}) already on line {seen[k]} (expected one row per {', '.join(key)})"))
        else:
            seen[k] = row.line


# --------------------------------------------------------------------------- YAML

class LocDict(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LocList(list):
    """A YAML sequence that remembers the line of itself and of each item."""

    line: int = 0

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    """SafeLoader building LocDict / LocList; duplicate keys are reported."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any]] = []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocDict:
    loader.flatten_mapping(node)
    out = LocDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            loader.duplicates.append((key_node.start_mark.line + 1, key))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocList:
    out = LocList()
    out.line = node.start_mark.line + 1
    for child in node.value:
        out.append(loader.construct_object(child, deep=True))
        out.lines.append(child.start_mark.line + 1)
    return out


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> str:
    # dates stay text: the loaders parse them and report a bad one (2020-13-01) as a problem, not a crash
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)

_MISSING = object()


def read_yaml(path: Path, problems: list[Problem], *, what: str = "a YAML file") -> Any:
    """Parse ``path``; return ``_MISSING``-free data or None after recording a problem."""
    if not path.is_file():
        problems.append(Problem(path, None, None, f"file not found (expected {what})"))
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(path, None, None, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem(path, line, None, f"invalid YAML: {reason}"))
        return None
    finally:
        loader.dispose()
    for line, key in loader.duplicates:
        problems.append(Problem(path, line, str(key), "duplicate key (expected each key once)"))
    return data


def check_keys(mapping: LocDict, path: Path, problems: list[Problem], *, required: Iterable[str],
               optional: Iterable[str] = (), what: str = "entry") -> bool:
    """Report missing required keys and unknown (likely misspelt) keys. True when fine."""
    required = list(required)
    allowed = set(required) | set(optional)
    ok = True
    for key in required:
        if key not in mapping or mapping[key] in (None, ""):
            problems.append(Problem(path, mapping.line, key, f"missing (every {what} needs {', '.join(required)})"))
            ok = False
    for key in mapping:
        if key not in allowed:
            problems.append(Problem(path, mapping.line_of(key), str(key),
                                    f"unknown key (expected one of {', '.join(sorted(allowed))})"))
            ok = False
    return ok


def yaml_value(mapping: LocDict, key: str, parse: Parser, path: Path, problems: list[Problem]) -> Any:
    """Parse ``mapping[key]`` (a scalar) with ``parse``; None and a problem when it fails."""
    value = mapping.get(key)
    if value is None:
        return None
    try:
        return parse(value if isinstance(value, dt.date) else str(value))
    except ValueError as exc:
        problems.append(Problem(path, mapping.line_of(key), key, str(exc)))
        return None


def string_list(mapping: LocDict, key: str, path: Path, problems: list[Problem]) -> list[str]:
    """``mapping[key]`` as a list of non-empty strings (a lone string is accepted)."""
    value = mapping.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        problems.append(Problem(path, mapping.line_of(key), key, "expected a list of texts"))
        return []
    return [str(v) for v in value]
