"""The decks of a project, found as papermill finds its engines.

A deck is a notebook: ``notebooks/<name>.ipynb`` with a cell tagged
``parameters`` is the deck ``<name>``. What else it needs lives in the
notebook's metadata, under ``esante_report``::

    {"esante_report": {"title": "Téléconsultations", "issuer": "ARS Occitanie",
                       "tables": ["teleconsultations/indicateurs.csv"],
                       "regional": false, "code": "my_agency.decks.teleconsultations"}}

- ``title`` (default: the notebook's first ``#`` heading, else its name) is the footer's title;
- ``issuer`` (default: the ``issuer`` default of the parameters cell) is the header's issuing body;
- ``tables`` are CSV files of ``--data``, each declared by a Table Schema beside it
  (``<table>.schema.json``), validated (the schema's own shape first) before the notebook runs;
- ``regional``: ``render --region`` renders one deck per region;
- ``code``: a module of the deck's own checks and commands (its *deck code*, see below).

The deck code of the decks shipped with the toolkit registers itself
(:mod:`esante_report.decks`); a package of another agency declares its own under
the entry-point group ``esante_report.decks`` (``name = "package.module"``), and
may ship the notebook itself (``NOTEBOOK``) when the project has none of that
name. A deck-code module may define, all optional:

- ``check(params, ctx) -> dict | None``: the deck's own rules (those no schema can
  say); appends to ``ctx.problems``, returns parameters to pass to papermill;
- ``data_files(data_dir) -> tuple[Path, ...]``: every data file the deck reads (provenance, cache);
- ``STYLESHEET``: a CSS file added after the house CSS;
- ``add_commands(subparsers) -> dict[str, callable]``: extra CLI commands;
- ``NOTEBOOK``: the deck's notebook, for a deck kept outside the project.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from esante_report.contracts.readers import LocDict, kind
from esante_report.errors import Problem, quote
from esante_report.slides.notebook import cell_tags
from esante_report.slides.sanitize import text_problem

__all__ = ["DeckSpec", "Parameter", "CheckContext", "find_deck", "deck_names", "deck_code", "check_deck_params",
           "parameters_cell", "deck_commands", "spec_from_notebook", "ENTRY_POINT_GROUP", "RESERVED", "MAX_ISSUER",
           "MAX_TITLE", "title_problem"]

ENTRY_POINT_GROUP = "esante_report.decks"
#: parameters that render injects into every deck, never given by a params file
RESERVED = frozenset({"report_date", "data_dir", "params_dir"})
#: longest issuer accepted: it is printed in the header of every slide
MAX_ISSUER = 200
#: longest deck title accepted: the footer of every slide holds it on one line with the date, and the PDF check
#: refuses a footer that overflows (93 characters fit when every letter is as wide as W; 160 of usual French)
MAX_TITLE = 90
#: longest word of a deck title: the cover sets it in 50 px type, and about 23 capitals W fill the slide's width
MAX_TITLE_WORD = 22
#: where a title may wrap: blanks, hyphens and dashes
_TITLE_BREAKS = re.compile(r"[\s\-\u2010\u2013\u2014]+")


def title_problem(title: Any) -> str | None:
    """Why ``title`` cannot be a deck's title (its cover and the footer of every slide); None when it can."""
    problem = text_problem(title, MAX_TITLE)
    if problem is not None:
        return problem
    word = max(_TITLE_BREAKS.split(title), key=len)
    if len(word) > MAX_TITLE_WORD:
        return (f"expected words of at most {MAX_TITLE_WORD} characters (the cover shows the title in large type), "
                f"got {quote(word, 40)}")
    return None


@dataclass(frozen=True)
class Parameter:
    """One ``name = default`` line of a notebook's parameters cell."""

    name: str
    default: Any
    line: int           # line in the cell (1-based)
    #: False when the default is not a literal (an expression papermill would still run): ``default`` is None
    literal: bool = True


@dataclass(frozen=True)
class DeckSpec:
    """A registry entry: one deck's notebook and what its metadata says."""

    name: str
    notebook: Path
    title: str
    default_issuer: str | None
    tables: tuple[str, ...] = ()
    regional: bool = False
    code: str | None = None
    parameters: dict[str, Parameter] = field(default_factory=dict)

    def module(self) -> ModuleType | None:
        """The deck code (its own checks and commands), or None."""
        return importlib.import_module(self.code) if self.code else None

    def data_files(self, data_dir: Path) -> tuple[Path, ...]:
        """Every data file the deck reads: its declared tables and schemas, and what its code reads."""
        data_dir = Path(data_dir)
        files: list[Path] = []
        for table in self.tables:
            files += [data_dir / table, _schema_of(data_dir / table)]
            files += [data_dir / ref for ref in _references(_schema_of(data_dir / table), data_dir)]
        own = data_dir / self.name  # the deck's own data folder: what a notebook may read besides its tables
        if own.is_dir() and not own.is_symlink():
            files += sorted(p for p in own.rglob("*") if p.is_file() and not p.name.startswith("."))
        module = self.module()
        if module is not None and hasattr(module, "data_files"):
            files += list(module.data_files(data_dir))
        return tuple(dict.fromkeys(files))

    def stylesheet(self) -> str:
        """The deck's own CSS (empty when it has none)."""
        module = self.module()
        path = getattr(module, "STYLESHEET", None) if module is not None else None
        return Path(path).read_text(encoding="utf-8") if path else ""

    def own_files(self) -> tuple[Path, ...]:
        """The deck code's own files (its package folder): part of this deck's cache key only."""
        module = self.module()
        if module is None or not getattr(module, "__file__", None):
            return ()
        folder = Path(module.__file__).resolve().parent
        return tuple(sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts))


def _schema_of(table: Path) -> Path:
    return table.with_name(table.name.removesuffix(".csv") + ".schema.json")


def _references(schema: Path, data_dir: Path) -> list[str]:
    """CSV files a Table Schema's foreign keys refer to (relative to the data folder); none when the schema is
    not a valid one (its check says why), so nothing outside the data folder is ever listed."""
    from esante_report.contracts.schema import load_schema

    loaded = load_schema(schema, [], data_dir)
    return [resource for _, resource, _ in loaded.foreign_keys] if loaded is not None else []


@dataclass
class CheckContext:
    """What a deck's own ``check`` is given besides its params mapping."""

    spec: DeckSpec
    path: Path                 # the params file
    data_dir: Path
    problems: list[Problem]
    report_date: dt.date | None


# --------------------------------------------------------------------------- the parameters cell

def parameters_cell(nb: dict) -> tuple[str, int] | None:
    """Source of the cell tagged ``parameters`` and its index, or None."""
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and "parameters" in cell_tags(cell):
            source = cell.get("source", "")
            return ("".join(source) if isinstance(source, list) else str(source)), index
    return None


def parameters_in(source) -> dict[str, Parameter]:
    """``name = <literal>`` (or ``name: type = <literal>``) lines of a parameters cell (its source as text or as a
    notebook's list of lines), read with ast: nothing is executed. The one reader of parameters cells."""
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        return {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        try:
            out[name] = Parameter(name, ast.literal_eval(value), node.lineno)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            out[name] = Parameter(name, None, node.lineno, literal=False)
    return out


def _first_heading(nb: dict) -> str | None:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        for line in ("".join(source) if isinstance(source, list) else str(source)).splitlines():
            if line.startswith("# "):
                return line[2:].strip() or None
    return None


def spec_from_notebook(name: str, path: Path, nb: dict | None = None) -> DeckSpec | None:
    """The deck of notebook ``path`` (None when it has no parameters cell or cannot be read)."""
    if nb is None:
        try:
            nb = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    if not isinstance(nb, dict):
        return None
    cell = parameters_cell(nb)
    if cell is None:
        return None
    meta = nb.get("metadata", {}).get("esante_report", {})
    meta = meta if isinstance(meta, dict) else {}
    parameters = parameters_in(cell[0])
    issuer = meta.get("issuer")
    if not isinstance(issuer, str):
        default = parameters.get("issuer")
        issuer = default.default if default is not None and isinstance(default.default, str) else None
    code = meta.get("code")
    if not isinstance(code, str):
        code = _known_code().get(name)
    tables = meta.get("tables", [])
    title = meta.get("title") or nb.get("metadata", {}).get("title") or _first_heading(nb) or name
    return DeckSpec(name=name, notebook=Path(path), title=str(title), default_issuer=issuer,
                    tables=tuple(str(t) for t in tables) if isinstance(tables, list) else (),
                    regional=meta.get("regional") is True, code=code, parameters=parameters)


# --------------------------------------------------------------------------- registry

def _known_code() -> dict[str, str]:
    """Deck code of the decks shipped with the toolkit, then those other packages declare (entry points)."""
    from esante_report.decks import BUILTIN

    found = dict(BUILTIN)
    found.update({name: module for name, module in _entry_points().items()})
    return found


@functools.lru_cache(maxsize=1)
def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def deck_code() -> dict[str, str]:
    """Deck name → module of its code, for every deck code known (built in or from entry points)."""
    return _known_code()


def kernel_imports() -> list[str]:
    """Modules the notebooks of the known decks import (their deck code's ``KERNEL_IMPORTS``): a warm kernel
    imports them before its deck runs (:mod:`esante_report.pipeline.kernels`)."""
    found: list[str] = []
    for module in deck_code().values():
        try:
            found += list(getattr(importlib.import_module(module), "KERNEL_IMPORTS", ()))
        except Exception:  # a broken plug-in only loses its warm-up
            continue
    return found


def deck_commands(subparsers) -> dict:
    """Commands the deck codes contribute (``add_commands``), added to ``subparsers``: name → run(args)."""
    commands: dict = {}
    for name, module in deck_code().items():
        try:
            code = importlib.import_module(module)
        except ImportError:  # a broken plug-in must not break the whole command line
            continue
        if hasattr(code, "add_commands"):
            commands.update(code.add_commands(subparsers))
    return commands


def _notebooks_dir(notebooks: Path | None) -> Path:
    if notebooks is not None:
        return Path(notebooks)
    from esante_report.paths import notebooks_dir
    return notebooks_dir()


def find_deck(name: str, notebooks: Path | None = None) -> DeckSpec | None:
    """The deck ``name``: ``<notebooks>/<name>.ipynb``, else a notebook shipped by its deck code."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = _notebooks_dir(notebooks) / f"{name}.ipynb"
    if path.is_file():
        return _cached_spec(name, path)
    module = _known_code().get(name)
    if module is not None:
        try:
            shipped = getattr(importlib.import_module(module), "NOTEBOOK", None)
        except ImportError:
            return None
        if shipped is not None and Path(shipped).is_file():
            return spec_from_notebook(name, Path(shipped))
    return None


def _cached_spec(name: str, path: Path) -> DeckSpec | None:
    """:func:`spec_from_notebook`, read again only when the notebook changed (batches ask often)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _spec_of_version(name, str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _spec_of_version(name: str, path: str, mtime_ns: int, size: int) -> DeckSpec | None:
    return spec_from_notebook(name, Path(path))


def deck_names(notebooks: Path | None = None) -> list[str]:
    """Every deck of the project (notebooks with a parameters cell), sorted."""
    folder = _notebooks_dir(notebooks)
    names = [p.stem for p in sorted(folder.glob("*.ipynb")) if _cached_spec(p.stem, p) is not None] \
        if folder.is_dir() else []
    return names


# --------------------------------------------------------------------------- checking a params entry

def _type_name(value: Any) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _same_type(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, list)
    return isinstance(value, type(default))


def _issuer(params: LocDict, spec: DeckSpec, path: Path, problems: list[Problem]) -> str | None:
    issuer = params.get("issuer", spec.default_issuer)
    if not isinstance(issuer, str) or not issuer.strip() or len(issuer.strip()) > MAX_ISSUER:
        given = "issuer" in params
        problems.append(Problem(path, params.line_of("issuer") if given else params.line, "issuer",
                                f"expected the issuing body as text of at most {MAX_ISSUER} characters, e.g. "
                                f"'ARS Occitanie', got {kind(issuer)}" if given else
                                "expected the issuing body, e.g. 'issuer: ARS Occitanie' (the deck's notebook "
                                "gives no default)"))
        return spec.default_issuer
    problem = text_problem(issuer, MAX_ISSUER)  # a control character: the header would not show it
    if problem is not None:
        problems.append(Problem(path, params.line_of("issuer") if "issuer" in params else params.line, "issuer",
                                problem))
        return spec.default_issuer
    return issuer.strip()


#: parameters a params file never sets, and what sets them
_SET_ELSEWHERE = {
    "report_date": "the reporting date is set by the params file's name ({file}), never by a key: remove this "
                   "line (to render another date, write params/YYYY-MM-DD.yaml)",
    "data_dir": "the data folder is set by --data (default: the project's data/), never by the params file: "
                "remove this line",
    "params_dir": "the params folder is set by --params (default: the project's params/), never by the params "
                  "file: remove this line",
}


def check_deck_params(name: str, params: Any, line: int, path: Path, data_dir: Path,
                      problems: list[Problem], report_date: dt.date | None = None, *,
                      notebooks: Path | None = None) -> dict[str, Any] | None:
    """Papermill parameters of deck ``name`` from its params mapping; problems appended.

    Checks the entry against the deck's parameters cell (unknown names, types
    differing from the default's), the tables it declares against their Table
    Schemas, then the deck's own rules. With ``report_date``, also checks what the
    deck of that date needs from the data.
    """
    spec = find_deck(name, notebooks) if isinstance(name, str) else None
    if spec is None:
        known = deck_names(notebooks)
        problems.append(Problem(path, line, str(name), "unknown deck: no notebook "
                                f"notebooks/{name}.ipynb with a cell tagged 'parameters' (decks of this project: "
                                f"{', '.join(known) or 'none'})"))
        return None
    if params is None:
        params = LocDict()
        params.line = line
    if not isinstance(params, LocDict):
        problems.append(Problem(path, line, str(name), f"expected a mapping of the deck's parameters, got {kind(params)}"))
        return None
    before = len(problems)
    # a regional deck's region comes from --region (one deck per region), never from the params file
    reserved = RESERVED | ({"region"} if spec.regional else set())
    allowed = sorted(n for n in spec.parameters if n not in reserved)
    for key, value in params.items():
        declared = spec.parameters.get(key) if isinstance(key, str) else None
        if key in _SET_ELSEWHERE:
            problems.append(Problem(path, params.line_of(key), str(key), _SET_ELSEWHERE[key].format(file=path.name)))
        elif declared is None or key in reserved:
            problems.append(Problem(path, params.line_of(key), str(key), "unknown parameter of deck "
                                    f"{name} (expected one of {', '.join(allowed)}: the parameters cell of "
                                    f"{spec.notebook.name})"))
        elif not _same_type(declared.default, value):
            problems.append(Problem(path, params.line_of(key), str(key), f"expected {_type_name(declared.default)} "
                                    f"like the default {declared.default!r} of {spec.notebook.name}, got {kind(value)}"))
    # control characters only: a long title may still fit the footer (new-deck keeps to MAX_TITLE, which always does)
    title = text_problem(spec.title)
    if title is not None:
        problems.append(Problem(spec.notebook, None, "title", f"{title}: the deck's title (metadata "
                                "esante_report.title, else the first # heading) is on its cover and every footer"))
    checked: dict[str, Any] = {k: v for k, v in params.items() if k in spec.parameters and k not in reserved}
    if "issuer" in spec.parameters or spec.default_issuer is not None:
        checked["issuer"] = _issuer(params, spec, path, problems)
    if spec.tables:
        from esante_report.contracts.schema import validate_tables
        validate_tables(Path(data_dir), spec.tables, problems)
    module = spec.module()
    if module is not None and hasattr(module, "check"):
        # the deck's loaders read its tables through the same schemas: a breach found twice is reported once
        own_problems: list[Problem] = []
        own = module.check(params, CheckContext(spec, path, Path(data_dir), own_problems, report_date))
        seen = set(problems)
        problems.extend(p for p in own_problems if p not in seen)
        if own is not None:
            checked.update(own)
    if len(problems) > before:
        _one_problem_per_field(problems, before)
        return None
    return checked


def _one_problem_per_field(problems: list[Problem], start: int) -> None:
    """Keep the first of the problems from ``start`` on that name the same line and field: one problem, one line."""
    seen: set = set()
    kept = []
    for problem in problems[start:]:
        where = (str(problem.path), problem.line, problem.field)
        if problem.field is not None and where in seen:
            continue
        seen.add(where)
        kept.append(problem)
    problems[start:] = kept
