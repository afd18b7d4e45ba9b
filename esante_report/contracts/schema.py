"""Data contracts as Frictionless Table Schema: ``<table>.schema.json`` beside each CSV a deck reads.

A schema says what the file holds, without code (https://specs.frictionlessdata.io/table-schema/):
field ``type`` (string, integer, number, boolean, date, yearmonth), ``format`` (``email``, ``uri``,
``uuid`` for a string), ``constraints`` (``required``, ``unique``, ``minimum``, ``maximum``,
``exclusiveMinimum``, ``exclusiveMaximum``, ``enum``, ``pattern``, ``minLength``, ``maxLength``),
``missingValues`` (default ``[""]``: a blank is "non renseigné", never 0), ``primaryKey`` and
``foreignKeys``. A foreign key's ``reference.resource`` names a CSV of the data folder
(``"regions.csv"``, ``"my_deck/services.csv"``); nothing outside that folder is ever read.

The schema itself is checked before it is used (:func:`load_schema`): an unknown key, type,
format or constraint, or a constraint value of the wrong kind, is one problem naming the schema
file, the field and, for a misspelling, the nearest valid word ("did you mean 'constraints'?").
Descriptive properties of Frictionless (``title``, ``description``, ``example``, ``rdfType``,
``$schema``, ``name``) are allowed and ignored; properties of Frictionless this toolkit does not
enforce are refused rather than ignored, so that no rule written in a schema is silently dropped.
A ``pattern`` runs through RE2, whose matching time grows linearly with the cell (no backtracking),
and matches the whole value.

Validation streams the file through the CSV reader of :mod:`esante_report.contracts.readers` (the one every
loader uses): one problem per breach naming the file, its physical line, the field and what was
expected; at most 20 per file, the rest counted. Nothing is kept per row but the keys (primary key,
foreign keys), so a large valid file costs little memory. (The ``frictionless`` library was
evaluated for this and not kept: see ``bench/bench_schema.py``.) :class:`Tables` checks the tables
of one data folder, each at most once, and hands their rows to a deck's loader.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from esante_report.contracts.readers import (
    Column,
    CsvColumns,
    Row,
    _FileProblems,
    _os_reason,
    _stream_csv,
    shown,
    usable_file,
)
from esante_report.errors import Problem

__all__ = ["Field", "TableSchema", "Tables", "schema_path", "load_schema", "validate_table", "validate_tables",
           "read_table", "TYPES", "FORMATS", "CONSTRAINTS", "MAX_SCHEMA_DEPTH"]

#: the Table Schema types understood, and how a message names them
TYPES = {"string": "text", "integer": "an integer", "number": "a number", "boolean": "true or false",
         "date": "a date YYYY-MM-DD", "yearmonth": "a month YYYY-MM"}
#: Frictionless types this toolkit does not read (refused with a message saying so)
_OTHER_TYPES = ("object", "array", "list", "time", "datetime", "year", "duration", "geopoint", "geojson", "any")
#: formats by type ("default" everywhere), and how a message names them
FORMATS = {"string": ("default", "email", "uri", "uuid")}
_FORMAT_WORDS = {"email": "an e-mail address", "uri": "a URI such as https://example.org/page",
                 "uuid": "a UUID such as 123e4567-e89b-12d3-a456-426614174000"}
_FORMAT_RES = {"email": re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"),
               "uri": re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+"),
               "uuid": re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")}
_ORDERED = ("integer", "number", "date", "yearmonth")
#: constraint → the types it applies to
CONSTRAINTS = {"required": tuple(TYPES), "unique": tuple(TYPES), "enum": tuple(TYPES), "pattern": tuple(TYPES),
               "minimum": _ORDERED, "maximum": _ORDERED, "exclusiveMinimum": _ORDERED,
               "exclusiveMaximum": _ORDERED, "minLength": ("string",), "maxLength": ("string",)}
_SCHEMA_KEYS = ("fields", "missingValues", "primaryKey", "foreignKeys", "fieldsMatch")
_FIELD_KEYS = ("name", "type", "format", "constraints", "trueValues", "falseValues")
#: descriptive properties of Frictionless: allowed anywhere they are defined, never enforced
_SCHEMA_INFO = ("$schema", "name", "title", "description", "example")
_FIELD_INFO = ("title", "description", "example", "rdfType")
#: properties of Frictionless that this toolkit does not enforce, and what to write instead
_UNSUPPORTED_SCHEMA = {"uniqueKeys": "use 'primaryKey' or a field's 'unique' constraint"}
_UNSUPPORTED_FIELD = {
    "missingValues": "set 'missingValues' at the top level of the schema",
    "categories": "use the constraint 'enum'", "categoriesOrdered": "use the constraint 'enum'",
    "decimalChar": "numbers use '.' as decimal separator", "groupChar": "numbers have no thousands separator",
    "bareNumber": "numbers are bare (no currency or percent sign)"}
_UNSUPPORTED_CONSTRAINTS = {"jsonSchema": "the types of this toolkit hold no JSON"}
#: "superset": the column of a field that is not required may be absent (its cells are then blank)
_FIELDS_MATCH = ("exact", "equal", "superset")
_REGIONS_SCHEMA = Path(__file__).with_name("regions.schema.json")
_MAX_SCHEMA_BYTES = 1 << 20
#: deepest nesting of a schema's JSON (a Table Schema uses 5 levels)
MAX_SCHEMA_DEPTH = 10
_INT = re.compile(r"[+-]?[0-9]{1,15}", re.ASCII)
_NUM = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,6})?", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", re.ASCII)
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
# a JSON string (skipped) or a bracket: how deep a text nests, counted without parsing it
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


@dataclass(frozen=True)
class Field:
    """One field of a Table Schema, its constraint values already checked and converted to the field's type."""

    name: str
    type: str = "string"
    title: str = ""
    description: str = ""
    constraints: dict = field(default_factory=dict)
    true_values: tuple[str, ...] = ("true", "True", "TRUE", "1")
    false_values: tuple[str, ...] = ("false", "False", "FALSE", "0")
    format: str = "default"

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))

    def expected(self) -> str:
        """What a value must be, in words (for messages and docs)."""
        c = self.constraints
        text = _FORMAT_WORDS.get(self.format, TYPES[self.type])
        if "enum" in c:
            return f"one of {', '.join(_words(v) for v in c['enum'])}"
        low = c.get("minimum", c.get("exclusiveMinimum"))
        high = c.get("maximum", c.get("exclusiveMaximum"))
        low_sign = "≥" if "minimum" in c else ">"
        high_sign = "≤" if "maximum" in c else "<"
        if low == 0 and low_sign == "≥" and high_sign == "≤" and isinstance(high, int) and self.type == "integer" \
                and high > 0 and high == 10 ** len(str(high)) - 1:
            text += f" ≥ 0 of at most {len(str(high))} digits"
        elif low is not None and high is not None and (low_sign, high_sign) == ("≥", "≤"):
            text += f" from {_words(low)} to {_words(high)}"
        elif low is not None and high is not None:
            text += f" {low_sign} {_words(low)} and {high_sign} {_words(high)}"
        elif low is not None:
            text += f" {low_sign} {_words(low)}"
        elif high is not None:
            text += f" {high_sign} {_words(high)}"
        if "pattern" in c:
            text += f" matching {c['pattern']}"
        if "minLength" in c and "maxLength" in c:
            text += f" of {c['minLength']} to {c['maxLength']} characters"
        elif "minLength" in c:
            text += f" of at least {c['minLength']} characters"
        elif "maxLength" in c:
            text += f" of at most {c['maxLength']} characters"
        return text


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class TableSchema:
    path: Path
    fields: tuple[Field, ...]
    missing_values: tuple[str, ...] = ("",)
    primary_key: tuple[str, ...] = ()
    #: (fields, referenced CSV relative to the data folder, referenced fields)
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()
    fields_match: str = "exact"

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def schema_path(table: Path) -> Path:
    """``indicateurs.csv`` → ``indicateurs.schema.json`` (beside it)."""
    table = Path(table)
    return table.with_name(table.name.removesuffix(".csv") + ".schema.json")


# --------------------------------------------------------------------------- reading the schema's JSON

def _nearest(word: str, choices) -> str:
    """`` (did you mean 'constraints'?)`` for a misspelt word, else the list of what is allowed."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6) if isinstance(word, str) else []
    if close:
        return f"did you mean {close[0]!r}?"
    return f"expected one of {', '.join(choices)}"


def _too_deep(text: str) -> int | None:
    """Line where ``text`` nests deeper than :data:`MAX_SCHEMA_DEPTH`, or None (found without recursion)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_SCHEMA_DEPTH:
                return text.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth -= 1
    return None


def _read_json(path: Path, bad: Callable[[int | None, str | None, str], None]) -> Any:
    """The JSON value of ``path``; None after one problem when it is not plain, finite, shallow JSON."""
    try:
        size = path.stat().st_size
        if size > _MAX_SCHEMA_BYTES:
            bad(None, None, f"too large: {size:,} bytes (expected a Table Schema of at most "
                            f"{_MAX_SCHEMA_BYTES:,} bytes)")
            return None
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        bad(None, None, f"cannot be read ({type(exc).__name__}); expected a UTF-8 JSON Table Schema")
        return None
    line = _too_deep(text)
    if line is not None:
        bad(line, None, f"nested deeper than {MAX_SCHEMA_DEPTH} levels (expected a Table Schema, "
                        f"which nests at most {MAX_SCHEMA_DEPTH})")
        return None
    duplicates: list[str] = []

    def mapping(pairs: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                duplicates.append(key)
            out[key] = value
        return out

    def finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"number {text[:20]} is out of range")
        return value

    def constant(name: str) -> None:
        raise ValueError(f"{name} is not a JSON number")

    try:
        raw = json.loads(text, object_pairs_hook=mapping, parse_float=finite, parse_constant=constant)
    except RecursionError:
        bad(None, None, f"nested too deeply (expected a Table Schema, which nests at most {MAX_SCHEMA_DEPTH})")
        return None
    except ValueError as exc:
        bad(getattr(exc, "lineno", None), None, f"not valid JSON ({getattr(exc, 'msg', str(exc))})")
        return None
    if duplicates:
        bad(None, str(duplicates[0]), "key given twice in one object (expected each key once)")
        return None
    return raw


# --------------------------------------------------------------------------- checking the schema's shape

class _Refused(ValueError):
    """A value of the schema that is not what its key requires (the message says what was expected)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _texts(value: Any, key: str, example: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Refused(f"{key!r} expects a list of texts such as {example}, got {_json_kind(value)}")
    return tuple(value)


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    return shown(value).strip("'")


def _logical(f: Field, value: Any, key: str) -> Any:
    """``value`` of a schema (a constraint's bound, an enum item) as a value of ``f``'s type."""
    def refuse() -> _Refused:
        return _Refused(f"constraint {key!r} expects {TYPES[f.type]} (the field's type), got {_json_kind(value)}")

    if f.type == "integer":
        if _is_int(value):
            return value
        if isinstance(value, str) and _INT.fullmatch(value):
            return int(value)
    elif f.type == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _NUM.fullmatch(value):
            return float(value)
    elif f.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in f.true_values + f.false_values:
            return value in f.true_values
    elif f.type == "date":
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
    elif f.type == "yearmonth":
        if isinstance(value, str) and _MONTH.fullmatch(value):
            return value
    elif isinstance(value, str):
        return value
    raise refuse()


def _compile_pattern(pattern: Any):
    """``pattern`` compiled by RE2 (linear time: no pattern can make a cell take long to check)."""
    import re2

    if not isinstance(pattern, str):
        raise _Refused(f"constraint 'pattern' expects a regular expression as text, got {_json_kind(pattern)}")
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) \
            else str(exc)
        raise _Refused(f"pattern {shown(pattern)} is not a regular expression this toolkit runs ({reason}; "
                       "lookarounds and backreferences are not supported)") from None


def _constraints(f: Field, raw: Any) -> dict:
    """The constraints of ``f`` checked, each value converted to the field's type."""
    if not isinstance(raw, dict):
        raise _Refused(f"'constraints' expects an object such as {{\"required\": true}}, got {_json_kind(raw)}")
    out: dict = {}
    for key, value in raw.items():
        if key in _UNSUPPORTED_CONSTRAINTS:
            raise _Refused(f"constraint {key!r} is not supported ({_UNSUPPORTED_CONSTRAINTS[key]})")
        if key not in CONSTRAINTS:
            raise _Refused(f"unknown constraint {shown(key)} ({_nearest(key, CONSTRAINTS)})")
        if f.type not in CONSTRAINTS[key]:
            raise _Refused(f"constraint {key!r} does not apply to a field of type {f.type!r} (it applies to "
                           f"{', '.join(CONSTRAINTS[key])})")
        if key in ("required", "unique"):
            if not isinstance(value, bool):
                raise _Refused(f"constraint {key!r} expects true or false, got {_json_kind(value)}")
            out[key] = value
        elif key in ("minLength", "maxLength"):
            if not _is_int(value) or value < 0:
                raise _Refused(f"constraint {key!r} expects a whole number ≥ 0, got {_json_kind(value)}")
            out[key] = value
        elif key == "enum":
            if not isinstance(value, list) or not value:
                hint = f" (a text is not a list: write [{json.dumps(value, ensure_ascii=False)}])" \
                    if isinstance(value, str) and len(value) < 60 else ""
                raise _Refused(f"constraint 'enum' expects a non-empty list of values, got {_json_kind(value)}{hint}")
            out[key] = tuple(dict.fromkeys(_logical(f, v, key) for v in value))
        elif key == "pattern":
            _compile_pattern(value)
            out[key] = value
        else:
            out[key] = _logical(f, value, key)
    if "minimum" in out and "exclusiveMinimum" in out or "maximum" in out and "exclusiveMaximum" in out:
        raise _Refused("give either a minimum or an exclusive one, not both")
    return out


def _field(spec: dict, where: str) -> Field:
    for key in spec:
        if key in _UNSUPPORTED_FIELD:
            raise _Refused(f"key {key!r} is not supported ({_UNSUPPORTED_FIELD[key]})")
        if key not in _FIELD_KEYS and key not in _FIELD_INFO:
            raise _Refused(f"unknown key {shown(key)} in a field ({_nearest(key, _FIELD_KEYS + _FIELD_INFO)})")
    kind = spec.get("type", "string")
    if kind in _OTHER_TYPES:
        raise _Refused(f"type {kind!r} is not supported (expected one of {', '.join(TYPES)})")
    if kind not in TYPES:
        raise _Refused(f"unknown type {shown(kind)} ({_nearest(kind, TYPES)})")
    fmt = spec.get("format", "default")
    formats = FORMATS.get(kind, ("default",))
    if fmt not in formats:
        hint = _nearest(fmt, formats) if len(formats) > 1 else "only 'default'"
        raise _Refused(f"unknown format {shown(fmt)} for a field of type {kind!r} ({hint})")
    for key in ("title", "description"):
        if key in spec and not isinstance(spec[key], str):
            raise _Refused(f"{key!r} expects a text, got {_json_kind(spec[key])}")
    extra: dict = {}
    for key, attr in (("trueValues", "true_values"), ("falseValues", "false_values")):
        if key in spec:
            if kind != "boolean":
                raise _Refused(f"{key!r} applies to a field of type 'boolean' only")
            extra[attr] = _texts(spec[key], key, '["oui", "1"]' if key == "trueValues" else '["non", "0"]')
            if not extra[attr]:
                raise _Refused(f"{key!r} expects at least one text")
    f = Field(spec["name"], kind, spec.get("title", ""), spec.get("description", ""), {}, format=fmt, **extra)
    if set(f.true_values) & set(f.false_values):
        raise _Refused("'trueValues' and 'falseValues' share a text (expected each text to mean one thing)")
    constraints = _constraints(f, spec.get("constraints", {}))
    return Field(f.name, f.type, f.title, f.description, constraints, f.true_values, f.false_values, f.format)


def _resource(value: Any) -> str:
    """A foreign key's resource: a CSV path relative to the data folder that stays inside it."""
    expected = "expected a CSV file of the data folder such as \"regions.csv\" or \"my_deck/services.csv\""
    if not isinstance(value, str) or not value:
        raise _Refused(f"reference 'resource' is {_json_kind(value)} ({expected})")
    posix = PurePosixPath(value)
    if "\\" in value or posix.is_absolute() or re.match(r"[A-Za-z]:", value) or ".." in posix.parts \
            or "\x00" in value:
        raise _Refused(f"reference 'resource' {shown(value)} leaves the data folder, refused ({expected})")
    if not value.endswith(".csv"):
        raise _Refused(f"reference 'resource' {shown(value)} is not a CSV file ({expected})")
    return posix.as_posix()


def _foreign_key(fk: Any, names: list[str]) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    shape = ("expected {\"fields\": [...], \"reference\": {\"resource\": \"regions.csv\", \"fields\": [...]}} "
             "naming fields of this schema")
    if not isinstance(fk, dict) or not isinstance(fk.get("reference"), dict):
        raise _Refused(shape)
    for key in fk:
        if key not in ("fields", "reference"):
            raise _Refused(f"unknown key {shown(key)} in a foreign key ({_nearest(key, ('fields', 'reference'))})")
    for key in fk["reference"]:
        if key not in ("resource", "fields"):
            raise _Refused(f"unknown key {shown(key)} in a reference ({_nearest(key, ('resource', 'fields'))})")
    resource = _resource(fk["reference"].get("resource"))
    local, remote = _names(fk.get("fields")), _names(fk["reference"].get("fields"))
    if not local or not remote or len(local) != len(remote):
        raise _Refused(shape)
    unknown = [n for n in local if n not in names]
    if unknown:
        raise _Refused(f"foreign key names {shown(unknown[0])}, not a field of this schema "
                       f"({_nearest(unknown[0], names)})")
    return local, resource, remote


def _names(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


def load_schema(path: Path, problems: list[Problem], root: Path | None = None) -> TableSchema | None:
    """The Table Schema at ``path``, its own shape checked first; None (and problems) when it is not a usable one.

    With ``root`` (the data folder), a schema that is a symlink leaving it is refused unread.
    """
    path = Path(path)
    if not usable_file(path, problems, "a Table Schema (JSON) describing the CSV beside it", root):
        return None
    before = len(problems)

    def bad(line: int | None, where: str | None, message: str) -> None:
        problems.append(Problem(path, line, where, message))

    raw = _read_json(path, bad)
    if len(problems) > before:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list) or not raw["fields"]:
        bad(None, "fields", "expected a Table Schema: a JSON object with a non-empty list of 'fields'")
        return None
    for key in raw:
        if key in _UNSUPPORTED_SCHEMA:
            bad(None, key, f"not supported ({_UNSUPPORTED_SCHEMA[key]})")
        elif key not in _SCHEMA_KEYS and key not in _SCHEMA_INFO:
            bad(None, None, f"unknown top-level key {shown(key)} ({_nearest(key, _SCHEMA_KEYS + _SCHEMA_INFO)})")
    fields: list[Field] = []
    for i, spec in enumerate(raw["fields"]):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"].strip():
            bad(None, f"fields[{i}]", "expected an object with a 'name', such as {\"name\": \"region\", "
                                      "\"type\": \"string\"}")
            continue
        if any(f.name == spec["name"] for f in fields):
            bad(None, spec["name"], "field named twice (expected each field once)")
            continue
        try:
            fields.append(_field(spec, spec["name"]))
        except _Refused as exc:
            bad(None, spec["name"], str(exc))
    names = [f.name for f in fields]
    if len(fields) < len(raw["fields"]):
        return None   # keys naming a refused field would each add a line about the same mistake
    try:
        missing = _texts(raw.get("missingValues", [""]), "missingValues", '[""]')
    except _Refused as exc:
        bad(None, "missingValues", str(exc))
        missing = ("",)
    if raw.get("fieldsMatch", "exact") not in _FIELDS_MATCH:
        bad(None, "fieldsMatch", f"{shown(raw['fieldsMatch'])} is not supported (expected 'exact' or 'equal': "
                                 "every field is a column of the header and every column a field; or "
                                 "'superset': the column of a field that is not required may be absent)")
    primary: tuple[str, ...] = ()
    if "primaryKey" in raw:
        primary = _names(raw["primaryKey"]) or ()
        unknown = [n for n in primary if n not in names]
        if not primary or len(set(primary)) != len(primary):
            bad(None, "primaryKey", f"expected a field name or a list of field names, each once, got "
                                    f"{_json_kind(raw['primaryKey'])}")
        elif unknown:
            bad(None, "primaryKey", f"names {shown(unknown[0])}, not a field of this schema "
                                    f"({_nearest(unknown[0], names)})")
    foreign = []
    keys = raw.get("foreignKeys", [])
    if not isinstance(keys, list):
        bad(None, "foreignKeys", f"expected a list of foreign keys, got {_json_kind(keys)}")
        keys = []
    for fk in keys:
        try:
            foreign.append(_foreign_key(fk, names))
        except _Refused as exc:
            bad(None, "foreignKeys", str(exc))
    if len(problems) > before:
        return None
    return TableSchema(path, tuple(fields), tuple(missing), tuple(primary), tuple(foreign),
                       raw.get("fieldsMatch", "exact"))


# --------------------------------------------------------------------------- parsing cells

def _parser(f: Field) -> Callable[[str], Any]:
    c = f.constraints
    expected = f.expected()
    pattern = _compile_pattern(c["pattern"]) if "pattern" in c else None
    enum = frozenset(c["enum"]) if "enum" in c else None
    form = _FORMAT_RES.get(f.format)
    # "expected one of a, b; got 'c'": the list ends at the semicolon
    glue = ";" if enum is not None else ","
    interned: dict[str, str] = {}  # one object per distinct text: a large file's keys stay small in memory

    if f.type == "number" and enum is None:
        expected += (" in ASCII digits with '.' as decimal separator and no exponent (at most 15 digits and 6 "
                     "decimals, e.g. 90000 or 12.5)")

    def fail(text: str) -> ValueError:
        return ValueError(f"expected {expected}{glue} got {shown(text)}")

    def parse(text: str) -> Any:
        if f.type == "integer":
            if not _INT.fullmatch(text):
                raise fail(text)
            value: Any = int(text)
        elif f.type == "number":
            if not _NUM.fullmatch(text):
                raise fail(text)
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
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                raise fail(text) from None
        else:   # string, yearmonth
            if f.type == "yearmonth" and not _MONTH.fullmatch(text):
                raise fail(text)
            if form is not None and not form.fullmatch(text):
                raise fail(text)
            value = interned.setdefault(text, text) if len(interned) < 100_000 else text
        if enum is not None and value not in enum:
            raise fail(text)
        if "minimum" in c and value < c["minimum"] or "maximum" in c and value > c["maximum"]:
            raise fail(text)
        if "exclusiveMinimum" in c and value <= c["exclusiveMinimum"] \
                or "exclusiveMaximum" in c and value >= c["exclusiveMaximum"]:
            raise fail(text)
        if pattern is not None and not pattern.fullmatch(text):
            raise fail(text)
        if "minLength" in c and len(text) < c["minLength"] or "maxLength" in c and len(text) > c["maxLength"]:
            raise fail(text)
        return value
    return parse


def _columns(schema: TableSchema) -> list[Column]:
    blank_ok = "" in schema.missing_values
    # a count that can never be negative is kept in an int64 array by read_csv_columns (-1 = blank)
    optional = schema.fields_match == "superset"
    return [Column(f.name, _parser(f), blank_ok=blank_ok and not f.required and f.name not in schema.primary_key,
                   required=not optional or f.required or f.name in schema.primary_key,
                   store="int" if f.type == "integer" and isinstance(f.constraints.get("minimum"), int)
                   and f.constraints["minimum"] >= 0 else "object")
            for f in schema.fields]


# --------------------------------------------------------------------------- validating

class _Counted:
    """Problems appended to ``target``, counted here (a capped ProblemList may not grow)."""

    def __init__(self, target: list[Problem]):
        self.target, self.count = target, 0

    def append(self, problem: Problem) -> None:
        self.count += 1
        self.target.append(problem)

    def __len__(self) -> int:
        return self.count


class Tables:
    """The tables of one data folder, each checked against its Table Schema at most once.

    A foreign key's reference is checked only when the referenced file holds to its own schema:
    one broken ``regions.csv`` gives its own problems, not one more line per row of every table
    that refers to it.
    """

    def __init__(self, data_dir: Path, problems: list[Problem]):
        self.data_dir = Path(data_dir)
        self.problems = problems
        self._ok: dict[Path, bool] = {}

    def path(self, table: str | Path) -> Path:
        """A table named by a text is relative to the data folder; a ``Path`` is taken as it is."""
        return self.data_dir / table if isinstance(table, str) else Path(table)

    def check(self, table: str | Path) -> bool:
        """True when ``table`` holds to its schema (problems appended otherwise)."""
        path = self.path(table)
        if path not in self._ok:
            self._read(path, lambda columns: lambda line, values: None)
        return self._ok[path]

    def rows(self, table: str | Path) -> list[Row]:
        """The rows of ``table`` whose cells hold to its schema, typed (a blank is None); [] when the file is
        unusable. Key breaches (primary, foreign) are problems, and the rows stay: a caller raises on any problem."""
        rows: list[Row] = []

        def make_sink(columns: list[Column]):
            names = [c.name for c in columns]
            return lambda line, values: rows.append(Row(line, dict(zip(names, values))))

        return rows if self._read(self.path(table), make_sink) else []

    def columns(self, table: str | Path) -> CsvColumns:
        """Like :meth:`rows`, as columns (see :class:`~esante_report.contracts.readers.CsvColumns`): for large tables.

        A column of integers that cannot be negative is an int64 ``array`` where -1 stands for a blank.
        """
        from array import array

        out = CsvColumns({}, array("q"))

        def make_sink(columns: list[Column]):
            stores = []
            for column in columns:
                out.values[column.name] = array("q") if column.store == "int" else []
                stores.append((out.values[column.name].append, column.store == "int"))

            def sink(line: int, values: list) -> None:
                out.lines.append(line)
                for (append, is_int), value in zip(stores, values):
                    append(-1 if is_int and value is None else value)
            return sink

        return out if self._read(self.path(table), make_sink) else CsvColumns({}, array("q"))

    def _read(self, path: Path, make_sink) -> bool:
        """Stream ``path`` against its schema (rows to ``make_sink(columns)``); False when the file is unusable."""
        again = path in self._ok   # read before (as a reference): its problems are already reported
        if not again:
            self._ok[path] = False   # while being read: a reference back to it is not checked
        counted = _Counted([] if again else self.problems)
        schema_file = self._schema_file(path)
        schema = load_schema(schema_file, counted, None if schema_file == _REGIONS_SCHEMA else self.data_dir)
        if schema is None:
            return False
        columns = _columns(schema)
        ok = _validate(path, schema, columns, self, counted, make_sink(columns))
        if not again:
            self._ok[path] = ok and counted.count == 0
        return ok

    def _schema_file(self, path: Path) -> Path:
        """The schema beside ``path``; for the shared ``regions.csv`` of a project that has none, the
        toolkit's own (the contract of that file is the toolkit's, see docs/data.md)."""
        beside = schema_path(path)
        if path == self.data_dir / "regions.csv" and not beside.exists() and not beside.is_symlink():
            return _REGIONS_SCHEMA
        return beside

    def _referenced_ok(self, path: Path) -> bool:
        """Whether a referenced file may be read for its keys: it holds to its schema, or has none."""
        if path in self._ok:
            return self._ok[path]
        schema_file = self._schema_file(path)
        if schema_file.exists() or schema_file.is_symlink():
            return self.check(path)
        return True


def _validate(table: Path, schema: TableSchema, columns: list[Column], tables: Tables, problems: _Counted,
              sink) -> bool:
    """Stream ``table`` against ``schema``, feeding good rows to ``sink``; False when the file is unusable."""
    data_dir = tables.data_dir
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

    def check(line: int, values: list) -> None:
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
                    report.add(line, name, f"duplicate {shown(_words(values[i]))} already on line "
                                           f"{values_seen[values[i]]} (expected each value once)")
                else:
                    values_seen[values[i]] = line
        sink(line, values)

    # the reader reports its own problems straight into ``problems`` (capped per file); ours go through ``report``
    ok = _stream_csv(table, columns, problems, data_dir, check)
    if suspects:
        _duplicates(table, schema, columns, primary, suspects, data_dir, report)
    for (idx, resource, remote), values_seen in zip(fks, found):
        ref = data_dir / resource
        if not values_seen or not tables._referenced_ok(ref):
            continue
        allowed = _reference_values(ref, remote, problems, data_dir)
        if allowed is None:
            continue
        local = [names[i] for i in idx]
        listing = ", ".join(sorted(("/".join(v) for v in allowed), key=_natural)[:20])
        more = ", …" if len(allowed) > 20 else ""
        for key, line in sorted(values_seen.items(), key=lambda kv: kv[1]):
            if tuple(map(_words, key)) not in allowed:
                text = "/".join(map(_words, key))
                got = text if all(_is_int(k) for k in key) else shown(text)
                report.add(line, local[-1], f"unknown {local[-1]} {got} (expected one of {listing}{more} "
                                            f"from {resource})")
    report.close()
    return ok


def _natural(text: str) -> tuple:
    return (len(text), text) if text.isdigit() else (0, text)


def _duplicates(table: Path, schema: TableSchema, columns: list[Column], primary: list[int], suspects: set[int],
                data_dir: Path, report: _FileProblems) -> None:
    """Second pass: each row repeating the primary key of an earlier row, named with both lines."""
    first: dict[tuple, int] = {}
    key_names = schema.primary_key

    def sink(line: int, values: list) -> None:
        key = tuple(values[i] for i in primary)
        if hash(key) not in suspects:
            return
        if key in first:
            shown_key = ", ".join(f"{n}={_words(v)}" for n, v in zip(key_names, key))
            report.add(line, key_names[-1], f"duplicate ({shown_key}) already on line {first[key]} "
                       f"(expected one row per {', '.join(key_names)})")
        else:
            first[key] = line

    _stream_csv(table, columns, [], data_dir, sink)  # its cell problems were reported by the first pass


def _reference_values(path: Path, fields: tuple[str, ...], problems, data_dir: Path) -> set[tuple] | None:
    """The values of ``fields`` in the referenced CSV (read as text), which must lie inside ``data_dir``."""
    import csv

    if not usable_file(path, problems, f"a CSV file with columns {', '.join(fields)}", root=data_dir):
        return None
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or any(f not in [n.strip() for n in reader.fieldnames] for f in fields):
                problems.append(Problem(path, 1, None, f"expected columns {', '.join(fields)} (a foreign key "
                                                       "refers to them)"))
                return None
            reader.fieldnames = [n.strip() for n in reader.fieldnames]
            return {tuple((row.get(f) or "").strip() for f in fields) for row in reader}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else type(exc).__name__
        problems.append(Problem(path, None, None, f"cannot be read: {reason} (expected a UTF-8 CSV file with "
                                                  f"columns {', '.join(fields)}, which a foreign key refers to)"))
        return None


def validate_table(table: Path, data_dir: Path, problems: list[Problem]) -> bool:
    """Check ``table`` against its schema beside it; True when it holds to it (problems appended otherwise)."""
    return Tables(data_dir, problems).check(Path(table))


def validate_tables(data_dir: Path, tables: tuple[str, ...] | list[str], problems: list[Problem]) -> None:
    """Each of ``tables`` (CSV paths relative to ``data_dir``) against its schema, each once; problems appended."""
    checked = Tables(data_dir, problems)
    for table in tables:
        checked.check(table)


# --------------------------------------------------------------------------- reading

def read_table(table: Path, data_dir: Path):
    """``table`` as a typed DataFrame after validating it (DataError listing every problem otherwise).

    A blank cell (a missing value of the schema) is ``<NA>``, never 0.
    """
    import pandas as pd

    from esante_report.errors import DataError, ProblemList

    problems: list[Problem] = ProblemList()
    if not validate_table(table, data_dir, problems):
        raise DataError(problems)
    schema = load_schema(schema_path(table), problems, Path(data_dir))
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
