"""Reading CSV and YAML files while keeping line numbers for error messages.

Loaders describe each file as a list of :class:`Column` (CSV) or check the
:class:`LocDict` / :class:`LocList` trees (YAML) and append a
:class:`~esante_report.errors.Problem` for every breach instead of stopping at
the first one, so the user sees every problem of a file in one run.
"""

from __future__ import annotations

import codecs
import csv
from array import array
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

import yaml

from esante_report.errors import MAX_PROBLEMS_PER_FILE, MoreProblems, Problem, _clip, quote

Parser = Callable[[str], Any]

_MONTH_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


# --------------------------------------------------------------------------- limits
#: longest text accepted in a CSV cell or a YAML scalar (a slide shows far less)
MAX_TEXT = 5_000
#: the csv module refuses longer fields outright; we read up to this and report cells over MAX_TEXT
_CSV_FIELD_LIMIT = 1 << 20
#: largest YAML file read (data and params YAML files are a few KiB)
MAX_YAML_BYTES = 1 << 20
#: deepest nesting of YAML collections (the deepest file of the contract uses 5 levels)
MAX_YAML_DEPTH = 20
#: an integer count has at most this many digits (below one billion)
MAX_INT_DIGITS = 9

csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))


def shown(value: Any, length: int = 60) -> str:
    """``repr`` of an untrusted value, clipped so that a message stays one short line (see :func:`quote`)."""
    return quote(value, length)


def kind(value: Any) -> str:
    """What a YAML value is, in words, for "expected …, got …" messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if value is None:
        return "nothing"
    return shown(value)


# --------------------------------------------------------------------------- parsers
# Each parser takes the raw (stripped, non-empty) text and returns the value, or
# raises ValueError whose text says what was expected. Numbers are ASCII digits
# only: no underscores (``9_0000``), no other scripts' digits, no exponent, bounded.

_INT_RE = re.compile(r"[0-9]+", re.ASCII)
_NUMBER_RE = re.compile(r"([0-9]{1,15})(\.[0-9]{1,6})?", re.ASCII)


class OutOfBounds(ValueError):
    """A well-formed number beyond the contract's bound (callers may word their own message)."""


def parse_int_ge0(text: str) -> int:
    """The contract's count: ASCII digits only, at most :data:`MAX_INT_DIGITS` of them (leading zeros aside).

    Every writer of the data (a deck's form import) calls this too, so nothing is written that the
    loader would refuse.
    """
    if not _INT_RE.fullmatch(text):
        raise ValueError(f"expected an integer ≥ 0, got {shown(text)}")
    if len(text.lstrip("0")) > MAX_INT_DIGITS:
        raise OutOfBounds(f"expected an integer ≥ 0 of at most {MAX_INT_DIGITS} digits, got {shown(text)}")
    return int(text)


def parse_number(text: str) -> float:
    """A figure ≥ 0: ASCII digits, '.' decimal separator, at most 15 digits before it and 6 after."""
    if not _NUMBER_RE.fullmatch(text):
        raise ValueError("expected a number ≥ 0 in ASCII digits with '.' as decimal separator and no exponent "
                         f"(at most 15 digits, e.g. 90000 or 12.5), got {shown(text)}")
    return float(text)


def parse_date(text: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        if not _DATE_RE.match(str(text)):
            raise ValueError
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD, got {shown(text)}") from None


def parse_month(text: str) -> str:
    return _parse_month(text)


def parse_text(text: str) -> str:
    return text


def parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "yes", "oui", "1"):
        return True
    if low in ("false", "no", "non", "0"):
        return False
    raise ValueError(f"expected true or false, got {shown(text)}")


def matching(pattern: str, expected: str) -> Parser:
    """A parser accepting text that fully matches ``pattern``; ``expected`` describes it in the message."""
    regex = re.compile(pattern, re.ASCII)
    seen: dict[str, str] = {}   # one string object per distinct value: large files stay small in memory

    def parse(text: str) -> str:
        if not regex.fullmatch(text):
            raise ValueError(f"expected {expected}, got {shown(text)}")
        return seen.setdefault(text, text) if len(seen) < 10_000 else text
    return parse


_parse_month = matching(_MONTH_RE.pattern, "a month YYYY-MM")


def choice(*allowed: str) -> Parser:
    canonical = {a: a for a in allowed}

    def parse(text: str) -> str:
        if text not in canonical:
            raise ValueError(f"expected one of {', '.join(allowed)}; got {shown(text)}")
        return canonical[text]
    return parse


def reference(known, noun: str, expected: str, *, unchecked: bool = False) -> Parser:
    """A parser for a value naming a row of another file (a region, a service): it must be one of ``known``
    ("unknown {noun} 'x' (expected {expected})"). ``unchecked``: that other file has problems of its own, so
    it is no reliable reference and the value is taken as it is (checked on the next run)."""
    canonical = {k: k for k in known}   # one string object per known value

    def parse(text: str) -> str:
        if unchecked:
            return text
        if text not in canonical:
            raise ValueError(f"unknown {noun} {shown(text)} (expected {expected})")
        return canonical[text]
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
    #: "int": an integer ≥ 0 (or None), stored by :func:`read_csv_columns` in an int64 array (None as -1)
    store: str = "object"


class Row(dict):
    """A parsed CSV row; ``line`` is its 1-based line number in the file."""

    def __init__(self, line: int, values: dict[str, Any]):
        dict.__init__(self, values)
        self.line = line

    def __hash__(self) -> int:  # rows are compared by identity only
        return id(self)


def usable_file(path: Path, problems: list[Problem], what: str, root: Path | None = None) -> bool:
    """True when ``path`` is a regular file that may be read; otherwise one problem naming it.

    With ``root`` (the ``--data`` folder), a path whose real location is outside
    ``root`` (a symlink pointing elsewhere) is refused before anything is read
    from it, so no message can ever show the content of such a file.
    """
    path = Path(path)
    try:
        if root is not None and not path.resolve().is_relative_to(Path(root).resolve()):
            problems.append(Problem(path, None, None, "symlink to a file outside the data folder, refused "
                                    f"(expected {what} inside the data folder)"))
            return False
        if path.is_dir():
            problems.append(Problem(path, None, None, f"is a folder (expected {what})"))
            return False
        if not path.is_file():
            problems.append(Problem(path, None, None, f"file not found (expected {what})"))
            return False
    except (OSError, RuntimeError) as exc:   # symlink loop, permission on a parent folder
        problems.append(Problem(path, None, None, f"cannot be read: {_os_reason(exc)} (expected {what})"))
        return False
    return True


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, RuntimeError):   # Path.resolve() on a symlink loop (Python < 3.13)
        return "symlink loop"
    return getattr(exc, "strerror", None) or type(exc).__name__


class _FileProblems:
    """Problems of one file, capped at the source so that a huge bad file costs a counter, not a list."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path, self.problems, self.count, self.more = path, problems, 0, 0

    def add(self, line: int | None, field: str | None, message: str) -> None:
        self.count += 1
        if self.count > MAX_PROBLEMS_PER_FILE:
            self.more += 1
        else:
            self.problems.append(Problem(self.path, line, field, message))

    def close(self) -> None:
        if self.more:
            self.problems.append(MoreProblems(self.path, self.more))


class _Lines:
    """Decoded lines of a binary file, counted; remembers the first byte that is not UTF-8."""

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self._pending: list[bytes] = []   # lines of an old Mac file (CR only), split from one read
        self.number = 0
        self.bad: tuple[int, int, int] | None = None   # (line, column, byte)

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self._pending:
            raw = self._pending.pop()
        else:
            raw = next(self._handle)
            if b"\r" in raw[:-2]:   # a lone CR ends a line too (as str.splitlines did)
                parts = [part for part in _LONE_CR.split(raw) if part]
                raw, self._pending = parts[0], parts[:0:-1]
        self.number += 1
        if self.number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.bad is None:
                column = len(raw[:exc.start].decode("utf-8", "replace")) + 1
                self.bad = (self.number, column, raw[exc.start])
            return raw.decode("utf-8", "surrogateescape")


_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")
_ESCAPED = re.compile("[\udc80-\udcff]")


Sink = Callable[[int, list], None]


def read_csv(path: Path, columns: Iterable[Column], problems: list[Problem], *,
             root: Path | None = None) -> list[Row]:
    """Read ``path`` against ``columns``; bad cells become problems, bad rows are dropped.

    The file is streamed line by line (never held whole in memory). It must be
    UTF-8: the first byte that is not stops the reading with one problem naming
    its line and column (and field). With ``root``, a symlink leaving that
    folder is refused. At most 20 problems are listed per file, the rest counted.
    """
    columns = list(columns)
    names = [c.name for c in columns]
    rows: list[Row] = []
    if not _stream_csv(path, columns, problems, root, lambda line, values: rows.append(Row(line, dict(zip(names, values))))):
        return []
    return rows


@dataclass
class CsvColumns:
    """A CSV file read column by column: ``values[name]`` and the ``lines`` of the rows kept.

    For files that may be large (hundreds of MB): no object per row. A column with
    ``store="int"`` is an int64 ``array`` where -1 stands for an empty cell; other
    columns are lists (of values shared between rows where the parser interns them).
    """

    values: dict[str, list | array]
    lines: array

    def __len__(self) -> int:
        return len(self.lines)


def read_csv_columns(path: Path, columns: Iterable[Column], problems: list[Problem], *,
                     root: Path | None = None) -> CsvColumns:
    """Like :func:`read_csv`, but the rows kept are returned as columns (see :class:`CsvColumns`)."""
    columns = list(columns)

    def empty() -> CsvColumns:
        return CsvColumns({c.name: array("q") if c.store == "int" else [] for c in columns}, array("q"))

    out = empty()
    appenders = [out.values[c.name].append for c in columns]
    ints = [c.store == "int" for c in columns]

    def sink(line: int, values: list) -> None:
        out.lines.append(line)
        for append, is_int, value in zip(appenders, ints, values):
            append(-1 if is_int and value is None else value)

    if not _stream_csv(path, columns, problems, root, sink):
        return empty()
    return out


def _stream_csv(path: Path, columns: list[Column], problems: list[Problem], root: Path | None, sink: Sink) -> bool:
    """Feed every good row to ``sink``; False when the file as a whole is unusable (its rows are void)."""
    expected = ",".join(c.name for c in columns if c.required)
    if not usable_file(path, problems, f"a CSV file with header {expected}", root):
        return False
    report = _FileProblems(Path(path), problems)
    try:
        with open(path, "rb") as handle:
            return _read_rows(_Lines(handle), columns, report, sink)
    except OSError as exc:
        report.add(None, None, f"cannot be read: {_os_reason(exc)} (expected a readable CSV file)")
        return False
    finally:
        report.close()


#: what to do with a CSV file in another encoding or with another separator (Excel's menu wording)
SAVE_AS_CSV = "save as CSV UTF-8 (comma-separated)"


def encoding_hint(byte: int, line: int, column: int) -> str:
    """Which encoding a byte that is not UTF-8 most likely comes from, in plain words."""
    if byte in (0xFE, 0xFF) and (line, column) == (1, 1):
        return "the file is UTF-16 (Excel's \"Unicode Text\"), not UTF-8"
    try:
        char = bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return "the file is not UTF-8 text"
    return (f"the file looks like Latin-1/Windows-1252 (Excel's plain \"CSV\"), where this byte is {char!r}, "
            "not UTF-8")


def _bad_byte(lines: _Lines, report: _FileProblems, field: str | None) -> None:
    line, column, byte = lines.bad  # type: ignore[misc]
    report.add(line, field, f"not valid UTF-8: byte 0x{byte:02x} at column {column}: "
                            f"{encoding_hint(byte, line, column)}; {SAVE_AS_CSV}")


def _separator(header: list[str]) -> str | None:
    """The separator of a header read as one field (';' or tab, as Excel writes in some locales), or None."""
    if len(header) != 1 or "," in header[0]:
        return None
    counts = {sep: header[0].count(sep) for sep in (";", "\t", "|")}
    sep = max(counts, key=counts.get)
    return sep if counts[sep] else None


def _read_rows(lines: _Lines, columns: list[Column], report: _FileProblems, sink: Sink) -> bool:
    reader = csv.reader(lines)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        report.add(1, None, "empty file (expected a header line)")
        return False
    except csv.Error as exc:
        report.add(1, None, f"unreadable CSV header ({exc})")
        return False
    separator = _separator(header)
    if separator is not None:   # one line, not one "missing column" per column
        report.add(1, None, f"separator {separator!r}{' (tab)' if separator == chr(9) else ''} found: "
                            f"save as CSV with ',' (comma-separated, UTF-8)")
        return False
    if lines.bad is not None:
        _bad_byte(lines, report, None)
        return False
    known = {c.name for c in columns}
    required = ",".join(c.name for c in columns if c.required)
    header_ok = True
    for col in columns:
        if col.required and col.name not in header:
            report.add(1, col.name, f"missing column (expected header {required})")
            header_ok = False
    for name in header:
        if name not in known:
            report.add(1, name, f"unknown column (expected only {', '.join(sorted(known))})")
    if not header_ok:
        return False
    # (position in the row given to sink, column, index in the file's header); absent optional columns stay None
    present = [(k, c, header.index(c.name)) for k, c in enumerate(columns) if c.name in header]
    width = len(columns)
    last_line = lines.number
    try:
        for raw in reader:
            line = last_line + 1
            last_line = lines.number
            if lines.bad is not None:
                cell = next((i for i, c in enumerate(raw) if _ESCAPED.search(c)), None)
                _bad_byte(lines, report, header[cell] if cell is not None and cell < len(header) else None)
                return False
            if not any(cell.strip() for cell in raw):
                continue
            if len(raw) != len(header):
                report.add(line, None, f"expected {len(header)} fields, found {len(raw)}")
                continue
            values: list[Any] = [None] * width
            ok = True
            for k, col, i in present:
                cell = raw[i].strip()
                if cell == "":
                    if col.blank_ok:
                        continue
                    report.add(line, col.name, "empty (a value is required)")
                    ok = False
                    continue
                if len(cell) > MAX_TEXT:
                    report.add(line, col.name, f"too long: {len(cell):,} characters (expected at most {MAX_TEXT:,})")
                    ok = False
                    continue
                try:
                    values[k] = col.parse(cell)
                except ValueError as exc:
                    report.add(line, col.name, str(exc))
                    ok = False
            if ok:
                sink(line, values)
    except csv.Error as exc:
        report.add(lines.number, None, f"unreadable CSV: {exc} (a field holds at most {MAX_TEXT:,} characters)")
        return False
    return True


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
    """SafeLoader building LocDict / LocList; duplicate and non-text keys are reported."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any]] = []
        self.bad_keys: list[tuple[int, str]] = []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocDict:
    out = LocDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            loader.bad_keys.append((line, "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"))
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            loader.duplicates.append((line, key))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
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


_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
# Numbers are plain ASCII decimals of at most 15 digits: YAML 1.1's 9_000, 0x1F, 1:20, 010 (octal), .inf
# and 1e308 stay text, so a loader expecting a number reports them instead of reading something else.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(_INT_TAG, re.compile(r"^[-+]?(?:0|[1-9][0-9]{0,14})$"), list("-+0123456789"))
_Loader.add_implicit_resolver(_FLOAT_TAG, re.compile(r"^[-+]?(?:0|[1-9][0-9]{0,14})\.[0-9]{1,6}$"),
                              list("-+0123456789"))
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)

# what YAML's reader refuses (yaml.reader.Reader.NON_PRINTABLE): control characters such as NUL or BEL
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _unsafe_yaml(text: str) -> tuple[int, str] | None:
    """(line, what) of the first construct this toolkit refuses, found by walking parser events.

    Refused before anything is built: aliases and anchors (a few hundred bytes of
    nested aliases expand to gigabytes), explicit tags (``!!python/...``, ``!!binary``),
    nesting deeper than MAX_YAML_DEPTH and texts longer than MAX_TEXT. The event
    parser is iterative, so even a 5,000-deep file cannot exhaust the stack here.
    """
    depth = 0
    loader = _Loader(text)
    try:
        while (event := loader.get_event()) is not None:
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                return line, f"alias *{_clip(event.anchor, 40)} (expected plain values: YAML anchors and aliases are not allowed)"
            if getattr(event, "anchor", None):
                return line, f"anchor &{_clip(event.anchor, 40)} (expected plain values: YAML anchors and aliases are not allowed)"
            if getattr(event, "tag", None):
                return line, f"tag {shown(event.tag, 40)} (expected plain values: YAML tags are not allowed)"
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return line, f"nested deeper than {MAX_YAML_DEPTH} levels (expected at most {MAX_YAML_DEPTH})"
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_TEXT:
                return line, f"text too long: {len(event.value):,} characters (expected at most {MAX_TEXT:,})"
    finally:
        loader.dispose()
    return None


def read_yaml(path: Path, problems: list[Problem], *, what: str = "a YAML file", root: Path | None = None) -> Any:
    """Parse ``path`` into LocDict / LocList / scalars, or return None after recording one problem.

    Only a safe subset of YAML is read (see :func:`_unsafe_yaml`), from a UTF-8
    file of at most MAX_YAML_BYTES without control characters. With ``root``, a
    symlink leaving that folder is refused.
    """
    path = Path(path)
    if not usable_file(path, problems, what, root):
        return None
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            problems.append(Problem(path, None, None, f"too large: {size:,} bytes (expected {what} of at most "
                                    f"{MAX_YAML_BYTES:,} bytes)"))
            return None
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(path, None, None, f"cannot be read: {_os_reason(exc)} (expected {what})"))
        return None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[raw.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
        problems.append(Problem(path, line, None, f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at column {column}: "
                                f"{encoding_hint(raw[exc.start], line, column)}; save the file as UTF-8"))
        return None
    if bad := _NON_PRINTABLE.search(text):
        line, column = _line_col(text, bad.start())
        problems.append(Problem(path, line, None, f"control character U+{ord(bad.group()):04X} at column {column} "
                                "(expected printable text)"))
        return None
    try:
        if unsafe := _unsafe_yaml(text):
            problems.append(Problem(path, unsafe[0], None, unsafe[1]))
            return None
        loader = _Loader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        # a token left open (a quote, a flow mapping) is reported where the scanner gave up, often the end of
        # the file; the line to fix is where the construct starts
        context = getattr(exc, "context_mark", None) if isinstance(exc, yaml.scanner.ScannerError) or str(
            getattr(exc, "context", "")).startswith("while parsing a flow") else None
        mark = context or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if context is not None and getattr(exc, "context", None):
            reason = f"{exc.context}, {reason}"
        problems.append(Problem(path, line, None, f"invalid YAML: {reason}"))
        return None
    except (RecursionError, ValueError, TypeError) as exc:  # a construct the checks above let through
        problems.append(Problem(path, None, None, f"invalid YAML ({type(exc).__name__}; expected {what})"))
        return None
    for line, key in loader.duplicates:
        problems.append(Problem(path, line, str(key), "duplicate key (expected each key once)"))
    for line, got in loader.bad_keys:
        problems.append(Problem(path, line, None, f"key is {got} (expected a text key such as 'title:')"))
    return data


def check_keys(mapping: LocDict, path: Path, problems: list[Problem], *, required: Iterable[str],
               optional: Iterable[str] = (), what: str = "entry", lists: Iterable[str] = (),
               mappings: Iterable[str] = ()) -> bool:
    """Report missing, unknown (likely misspelt) and wrongly shaped keys. True when fine.

    Keys named in ``lists`` must hold a list, those in ``mappings`` a mapping, and
    every other key a single value (a text or a number), never a list or a mapping.
    """
    required = list(required)
    allowed = set(required) | set(optional)
    lists, mappings = set(lists), set(mappings)
    ok = True
    for key in required:
        if key not in mapping or mapping[key] is None or (isinstance(mapping[key], str) and mapping[key] == ""):
            problems.append(Problem(path, mapping.line, key, f"missing (every {what} needs {', '.join(required)})"))
            ok = False
    for key, value in mapping.items():
        if key not in allowed:
            problems.append(Problem(path, mapping.line_of(key), str(key),
                                    f"unknown key (expected one of {', '.join(sorted(allowed))})"))
            ok = False
        elif value is None:
            continue
        elif key in lists:
            if not isinstance(value, list):
                problems.append(Problem(path, mapping.line_of(key), key, f"expected a list, got {kind(value)}"))
                ok = False
        elif key in mappings:
            if not isinstance(value, dict):
                problems.append(Problem(path, mapping.line_of(key), key, f"expected a mapping, got {kind(value)}"))
                ok = False
        elif isinstance(value, (list, dict)):
            problems.append(Problem(path, mapping.line_of(key), key, f"expected a single value, got {kind(value)}"))
            ok = False
    return ok


def yaml_value(mapping: LocDict, key: str, parse: Parser, path: Path, problems: list[Problem]) -> Any:
    """Parse ``mapping[key]`` (a scalar) with ``parse``; None and a problem when it fails.

    A list or mapping gives None without a problem: :func:`check_keys` reports it.
    """
    value = mapping.get(key)
    if value is None or isinstance(value, (list, dict)):
        return None
    try:
        return parse(value if isinstance(value, dt.date) else str(value))
    except ValueError as exc:
        problems.append(Problem(path, mapping.line_of(key), key, str(exc)))
        return None


def string_list(mapping: LocDict, key: str, path: Path, problems: list[Problem]) -> list[str]:
    """``mapping[key]`` as a list of texts; anything else (a lone text, nested lists) is a problem.

    A lone text is refused rather than split: iterating it would give one bullet per character.
    """
    value = mapping.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(path, mapping.line_of(key), key,
                                f"expected a list of texts (e.g. [\"un\", \"deux\"] or lines starting with '- '), "
                                f"got {kind(value)}"))
        return []
    for i, item in enumerate(value):
        if isinstance(item, (list, dict)) or isinstance(item, bool) or item is None:
            line = value.line_of(i) if isinstance(value, LocList) else mapping.line_of(key)
            problems.append(Problem(path, line, key, f"expected a list of texts, got {kind(item)} as item {i + 1}"))
            return []
    return [str(v) for v in value]
