"""Data contracts as Frictionless Table Schema: ``<table>.schema.json`` beside each CSV a deck reads.

A schema says what the file holds, without code (https://specs.frictionlessdata.io/table-schema/):
field ``type`` (string, integer, number, boolean, date, yearmonth), ``constraints``
(``required``, ``minimum``, ``maximum``, ``enum``, ``pattern``, ``minLength``,
``maxLength``), ``missingValues`` (default ``[""]``: a blank is "non renseigné",
never 0), ``primaryKey`` and ``foreignKeys``. A foreign key's ``reference.resource``
names a CSV of the data folder (``"regions.csv"``).

Validation streams the file through the CSV reader of :mod:`esante_report.contracts.readers` (the
one every loader uses): one problem per breach naming the file, its physical line,
the field and what was expected; at most 20 per file, the rest counted. Nothing is
kept per row but the keys (primary key, foreign keys), so a large valid file costs
little memory. (The ``frictionless`` library was evaluated for this and not kept:
see ``bench/bench_schema.py``.)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from esante_report.contracts.readers import Column, _FileProblems, _stream_csv, shown, usable_file
from esante_report.errors import Problem

__all__ = ["Field", "TableSchema", "schema_path", "load_schema", "validate_table", "validate_tables", "read_table",
           "TYPES"]

#: the Table Schema types understood, and how a message names them
TYPES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
         "date": "a date YYYY-MM-DD", "yearmonth": "a month YYYY-MM"}
_CONSTRAINTS = {"required", "unique", "minimum", "maximum", "enum", "pattern", "minLength", "maxLength"}
_MAX_SCHEMA_BYTES = 1 << 20
_INT = re.compile(r"[+-]?[0-9]{1,15}", re.ASCII)
_NUM = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,9})?", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", re.ASCII)
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    title: str = ""
    description: str = ""
    constraints: dict = field(default_factory=dict)
    true_values: tuple[str, ...] = ("true", "True", "TRUE", "1")
    false_values: tuple[str, ...] = ("false", "False", "FALSE", "0")

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))

    def expected(self) -> str:
        """What a value must be, in words (for messages and docs)."""
        c = self.constraints
        text = TYPES[self.type]
        if "enum" in c:
            text = f"one of {', '.join(map(str, c['enum']))}"
        if "minimum" in c and "maximum" in c:
            text += f" from {c['minimum']} to {c['maximum']}"
        elif "minimum" in c:
            text += f" ≥ {c['minimum']}"
        elif "maximum" in c:
            text += f" ≤ {c['maximum']}"
        if "pattern" in c:
            text += f" matching {c['pattern']}"
        if "maxLength" in c:
            text += f" of at most {c['maxLength']} characters"
        return text


@dataclass(frozen=True)
class TableSchema:
    path: Path
    fields: tuple[Field, ...]
    missing_values: tuple[str, ...] = ("",)
    primary_key: tuple[str, ...] = ()
    #: (fields, referenced CSV relative to the data folder, referenced fields)
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def schema_path(table: Path) -> Path:
    """``indicateurs.csv`` → ``indicateurs.schema.json`` (beside it)."""
    table = Path(table)
    return table.with_name(table.name.removesuffix(".csv") + ".schema.json")


def _names(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def load_schema(path: Path, problems: list[Problem]) -> TableSchema | None:
    """The Table Schema at ``path``; None (and problems) when it is not a usable one."""
    path = Path(path)
    if not usable_file(path, problems, "a Table Schema (JSON) describing the CSV beside it"):
        return None
    before = len(problems)

    def bad(where: str, message: str) -> None:
        problems.append(Problem(path, None, where, message))

    try:
        if path.stat().st_size > _MAX_SCHEMA_BYTES:
            bad(None, f"larger than {_MAX_SCHEMA_BYTES // 1024} KiB (expected a Table Schema of a few KiB)")
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        bad(None, f"cannot be read ({type(exc).__name__}); expected a UTF-8 JSON Table Schema")
        return None
    except ValueError as exc:
        problems.append(Problem(path, getattr(exc, "lineno", None), None, f"not valid JSON ({exc.msg})"))
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list) or not raw["fields"]:
        bad("fields", "expected a Table Schema: a JSON object with a list of 'fields'")
        return None
    fields = []
    for i, spec in enumerate(raw["fields"]):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
            bad(f"fields[{i}]", "expected an object with a 'name'")
            continue
        kind = spec.get("type", "string")
        if kind not in TYPES:
            bad(spec["name"], f"unknown type {shown(kind)} (expected one of {', '.join(TYPES)})")
            continue
        constraints = spec.get("constraints", {})
        if not isinstance(constraints, dict) or set(constraints) - _CONSTRAINTS:
            bad(spec["name"], f"unknown constraint (expected only {', '.join(sorted(_CONSTRAINTS))})")
            continue
        if "pattern" in constraints:
            try:
                re.compile(constraints["pattern"])
            except (re.error, TypeError):
                bad(spec["name"], f"pattern {shown(constraints['pattern'])} is not a regular expression")
                continue
        extra = {}
        for key, attr in (("trueValues", "true_values"), ("falseValues", "false_values")):
            if key in spec:
                extra[attr] = tuple(map(str, spec[key]))
        fields.append(Field(spec["name"], kind, str(spec.get("title", "")), str(spec.get("description", "")),
                            dict(constraints), **extra))
    names = {f.name for f in fields}
    missing = raw.get("missingValues", [""])
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        bad("missingValues", "expected a list of texts, e.g. [\"\"]")
        missing = [""]
    primary = _names(raw.get("primaryKey", [])) or ()
    if any(n not in names for n in primary):
        bad("primaryKey", f"names a field the schema lacks (fields: {', '.join(names)})")
    foreign = []
    for fk in raw.get("foreignKeys", []) or []:
        local = _names(fk.get("fields")) if isinstance(fk, dict) else None
        ref = fk.get("reference", {}) if isinstance(fk, dict) else {}
        remote = _names(ref.get("fields")) if isinstance(ref, dict) else None
        resource = ref.get("resource") if isinstance(ref, dict) else None
        if not local or not remote or len(local) != len(remote) or not isinstance(resource, str) \
                or any(n not in names for n in local):
            bad("foreignKeys", "expected {\"fields\": [...], \"reference\": {\"resource\": \"regions.csv\", "
                "\"fields\": [...]}} naming fields of this schema")
            continue
        foreign.append((local, resource, remote))
    if len(problems) > before:
        return None
    return TableSchema(path, tuple(fields), tuple(missing), tuple(primary), tuple(foreign))


# --------------------------------------------------------------------------- parsing cells

def _parser(f: Field) -> Callable[[str], Any]:
    c = f.constraints
    expected = f.expected()
    pattern = re.compile(c["pattern"]) if "pattern" in c else None
    interned: dict[str, str] = {}  # one object per distinct text: a large file's keys stay small in memory

    def fail(text: str) -> ValueError:
        return ValueError(f"expected {expected}, got {shown(text)}")

    def parse(text: str) -> Any:
        if f.type == "integer":
            if not _INT.fullmatch(text):
                raise fail(text)
            value: Any = int(text)
        elif f.type == "number":
            if not _NUM.fullmatch(text):
                raise ValueError(f"expected {expected} in ASCII digits with '.' as decimal separator, "
                                 f"got {shown(text)}")
            value = float(text)
        elif f.type == "boolean":
            if text in f.true_values:
                value = True
            elif text in f.false_values:
                value = False
            else:
                raise fail(text)
        elif f.type == "date":
            if not _DATE.fullmatch(text):
                raise fail(text)
            value = text
        elif f.type == "yearmonth":
            if not _MONTH.fullmatch(text):
                raise fail(text)
            value = interned.setdefault(text, text) if len(interned) < 100_000 else text
        else:
            value = interned.setdefault(text, text) if len(interned) < 100_000 else text
        if "enum" in c and value not in c["enum"] and text not in map(str, c["enum"]):
            raise fail(text)
        if "minimum" in c and value < c["minimum"]:
            raise fail(text)
        if "maximum" in c and value > c["maximum"]:
            raise fail(text)
        if pattern is not None and not pattern.fullmatch(text):
            raise fail(text)
        if "minLength" in c and len(text) < c["minLength"]:
            raise fail(text)
        if "maxLength" in c and len(text) > c["maxLength"]:
            raise fail(text)
        return value
    return parse


def _columns(schema: TableSchema) -> list[Column]:
    blank_ok = "" in schema.missing_values
    return [Column(f.name, _parser(f), blank_ok=blank_ok and not f.required and f.name not in schema.primary_key)
            for f in schema.fields]


# --------------------------------------------------------------------------- validating

def validate_table(table: Path, data_dir: Path, problems: list[Problem]) -> bool:
    """Check ``table`` against its schema beside it; True when it holds to it (problems appended otherwise)."""
    table = Path(table)
    schema = load_schema(schema_path(table), problems)
    if schema is None:
        return False
    before = len(problems)
    report = _FileProblems(table, problems)
    names = [f.name for f in schema.fields]
    primary = [names.index(n) for n in schema.primary_key]
    # primary key: only hashes are kept (a large file costs a set of ints); a repeated hash sends the file
    # through a second pass that finds the exact first line of each repeated key
    hashes: set[int] = set()
    suspects: set[int] = set()
    fks = [([names.index(n) for n in local], resource, remote) for local, resource, remote in schema.foreign_keys]
    found: list[dict[tuple, int]] = [{} for _ in fks]   # foreign key value → first line holding it
    unique = [(i, f.name) for i, f in enumerate(schema.fields) if f.constraints.get("unique")]
    unique_seen: list[dict] = [{} for _ in unique]

    def sink(line: int, values: list) -> None:
        if primary:
            digest = hash(tuple(values[i] for i in primary))
            if digest in hashes:
                suspects.add(digest)
            else:
                hashes.add(digest)
        for (idx, _, _), values_seen in zip(fks, found):
            key = tuple(values[i] for i in idx)
            if None not in key:
                values_seen.setdefault(key, line)
        for (i, name), values_seen in zip(unique, unique_seen):
            if values[i] is not None:
                if values[i] in values_seen:
                    report.add(line, name, f"duplicate {shown(values[i])} already on line {values_seen[values[i]]} "
                               "(expected each value once)")
                else:
                    values_seen[values[i]] = line

    # the reader reports its own problems straight into ``problems`` (capped per file); ours go through ``report``
    ok = _stream_csv(table, _columns(schema), problems, Path(data_dir), sink)
    if suspects:
        _duplicates(table, schema, primary, suspects, Path(data_dir), report)
    for (idx, resource, remote), values_seen in zip(fks, found):
        if not values_seen:
            continue
        allowed = _reference_values(Path(data_dir) / resource, remote, problems)
        if allowed is None:
            continue
        local = [names[i] for i in idx]
        listing = ", ".join("/".join(map(str, v)) for v in sorted(allowed, key=str)[:20])
        for key, line in sorted(values_seen.items(), key=lambda kv: kv[1]):
            if tuple(map(str, key)) not in allowed:
                report.add(line, local[-1], f"unknown {local[-1]} {shown('/'.join(map(str, key)))} (expected one of "
                           f"{listing} from {resource})")
    report.close()
    return ok and len(problems) == before


def _duplicates(table: Path, schema: TableSchema, primary: list[int], suspects: set[int], data_dir: Path,
                report: _FileProblems) -> None:
    """Second pass: each row repeating the primary key of an earlier row, named with both lines."""
    first: dict[tuple, int] = {}
    key_names = schema.primary_key

    def sink(line: int, values: list) -> None:
        key = tuple(values[i] for i in primary)
        if hash(key) not in suspects:
            return
        if key in first:
            shown_key = ", ".join(f"{n}={v}" for n, v in zip(key_names, key))
            report.add(line, key_names[-1], f"duplicate ({shown_key}) already on line {first[key]} "
                       f"(expected one row per {', '.join(key_names)})")
        else:
            first[key] = line

    _stream_csv(table, _columns(schema), [], data_dir, sink)  # its cell problems were reported by the first pass


def _reference_values(path: Path, fields: tuple[str, ...], problems: list[Problem]) -> set[tuple] | None:
    """The values of ``fields`` in the referenced CSV (read as text)."""
    import csv

    if not usable_file(path, problems, f"a CSV file with columns {', '.join(fields)}"):
        return None
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or any(f not in reader.fieldnames for f in fields):
            problems.append(Problem(path, 1, None, f"expected columns {', '.join(fields)} (a foreign key refers to them)"))
            return None
        return {tuple((row.get(f) or "").strip() for f in fields) for row in reader}


def validate_tables(data_dir: Path, tables: tuple[str, ...] | list[str], problems: list[Problem]) -> None:
    """Each of ``tables`` (CSV paths relative to ``data_dir``) against its schema; problems appended."""
    for table in tables:
        validate_table(Path(data_dir) / table, Path(data_dir), problems)


# --------------------------------------------------------------------------- reading

_DTYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean", "string": "string",
           "yearmonth": "string", "date": "string"}


def read_table(table: Path, data_dir: Path):
    """``table`` as a typed DataFrame after validating it (DataError listing every problem otherwise).

    A blank cell (a missing value of the schema) is ``<NA>``, never 0.
    """
    import pandas as pd

    from esante_report.errors import DataError, ProblemList

    problems: list[Problem] = ProblemList()
    if not validate_table(table, data_dir, problems):
        raise DataError(problems)
    schema = load_schema(schema_path(table), problems)
    frame = pd.read_csv(table, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=True)
    frame.columns = [c.strip() for c in frame.columns]
    missing = set(schema.missing_values)
    for f in schema.fields:
        if f.name not in frame:
            continue
        cells = [None if not isinstance(v, str) or v.strip() in missing else v.strip() for v in frame[f.name]]
        if f.type == "integer":
            frame[f.name] = pd.array([None if v is None else int(v) for v in cells], dtype="Int64")
        elif f.type == "number":
            frame[f.name] = pd.array([None if v is None else float(v) for v in cells], dtype="Float64")
        elif f.type == "boolean":
            frame[f.name] = pd.array([None if v is None else v in f.true_values for v in cells], dtype="boolean")
        elif f.type == "date":
            frame[f.name] = pd.Series([None if v is None else dt.date.fromisoformat(v) for v in cells],
                                      dtype=object, index=frame.index)
        else:
            frame[f.name] = pd.array(cells, dtype="string")
    return frame
