"""The output formats a deck can be written in, as plug-ins (papermill's engines, nbconvert's exporters).

A format is one small class (:class:`Format`): its name, its file suffix, how readers call it, the other
formats whose files it reads (``needs``), whether a failure costs the deck or only that file
(``optional``), :meth:`Format.write` and :meth:`Format.check`. The four shipped formats (html, pdf, pptx,
odp) register themselves; other packages add theirs through the entry-point group ``esante_report.formats``
(``name = "package.module:FormatClass"``). The core calls formats only through this registry.

A project chooses its formats in ``pyproject.toml``::

    [tool.esante-report]
    formats = ["html", "pdf"]

and ``--formats html,pdf`` overrides that for one command. The default is every shipped format.

Importing this module is cheap: a format's class is imported when it is first asked for, and its writer's
libraries (WeasyPrint, python-pptx, LibreOffice) only when it writes.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from esante_report.errors import FormatError

if TYPE_CHECKING:
    from esante_report.formats.web import DeckMeta, Rendered

__all__ = ["Format", "Build", "Pending", "FormatError", "ENTRY_POINT_GROUP", "DEFAULT_FORMATS", "register",
           "get", "names", "choose", "project_formats", "parse_formats", "reader_formats"]

ENTRY_POINT_GROUP = "esante_report.formats"
#: the shipped formats, in the order a render writes them by default
DEFAULT_FORMATS = ("html", "pdf", "pptx", "odp")
_BUILTIN = {
    "html": "esante_report.formats.builtin:Html",
    "pdf": "esante_report.formats.builtin:Pdf",
    "pptx": "esante_report.formats.builtin:Pptx",
    "odp": "esante_report.formats.builtin:Odp",
}
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


@dataclass
class Build:
    """What a format writes from: one deck's slides and metadata, the build folder, the files written so far."""

    rendered: Rendered
    meta: DeckMeta
    folder: Path
    name: str
    progress: Callable[[str], None] = lambda message: None
    #: format name → file written for it (formats listed in ``needs`` come first)
    files: dict[str, Path] = field(default_factory=dict)
    #: format name → what its writer learnt of the file it wrote, for its check (the PDF's structure)
    facts: dict[str, Any] = field(default_factory=dict)
    #: format name → its file still being written in the background (a format that needs it may wait for it)
    pending: dict[str, Pending] = field(default_factory=dict)

    def path(self, suffix: str) -> Path:
        return Path(self.folder) / f"{self.name}{suffix}"


class Pending:
    """A file still being written in the background while the PDF is laid out (the PowerPoint deck by a helper
    process, the Impress copy by LibreOffice)."""

    def finish(self) -> Path | None:  # pragma: no cover - interface
        """Wait; the file written, or None when it was skipped (the format said why)."""
        raise NotImplementedError

    def abandon(self) -> None:
        """The deck failed: stop waiting."""


class Format:
    """One output format. Subclasses set the class attributes and implement :meth:`write`."""

    #: the name used in ``formats = [...]``, ``--formats`` and the cache key
    name: str = ""
    #: the file's suffix, ``<deck><suffix>``
    suffix: str = ""
    #: what readers call it (the index, in French)
    label: str = ""
    #: a longer label, for the index's link titles
    description: str = ""
    #: formats whose files this one reads (written first, even when not chosen, but then not published)
    needs: tuple[str, ...] = ()
    #: True: a failure skips this file with a warning and the deck is still published
    optional: bool = False
    #: True: a reader's file (the index lists it and ``publish`` sends it)
    for_readers: bool = True

    def unavailable(self) -> str | None:
        """Why this format cannot be written on this machine (one line), or None."""
        return None

    def warm(self) -> None:
        """Load what :meth:`write` needs while the notebook runs (optional)."""

    def write(self, build: Build) -> Path | Pending | None:
        """Write ``build.path(self.suffix)``; the path, a :class:`Pending` or None when skipped."""
        raise NotImplementedError

    def check(self, build: Build, path: Path) -> None:
        """Raise :class:`~esante_report.errors.ExportError` (one line) when the written file is not right."""


_REGISTRY: dict[str, Any] = dict(_BUILTIN)  # name → Format instance, or "module:Class" not yet loaded
_entry_points_loaded = False


def register(fmt: type[Format] | Format) -> Format:
    """Add a format (a class or an instance); returns the instance. A later registration of a name wins."""
    instance = fmt() if isinstance(fmt, type) else fmt
    if not isinstance(instance, Format) or not _NAME.fullmatch(instance.name or "") or not instance.suffix.startswith("."):
        raise FormatError(f"format {getattr(instance, 'name', fmt)!r}: expected a Format with a lower-case name "
                          "and a suffix such as '.pdf'")
    _REGISTRY[instance.name] = instance
    return instance


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib import metadata

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if _NAME.fullmatch(ep.name) and ep.name not in _BUILTIN:
            _REGISTRY.setdefault(ep.name, ep.value)


def names() -> list[str]:
    """Every format known here: the shipped ones, then those of installed plug-ins."""
    _load_entry_points()
    return list(_REGISTRY)


def get(name: str) -> Format:
    """The format called ``name``; :class:`FormatError` when there is none or its plug-in does not load."""
    _load_entry_points()
    entry = _REGISTRY.get(name)
    if entry is None:
        raise FormatError(f"unknown format {name!r} (expected one of {', '.join(names())})")
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except Exception as exc:  # noqa: BLE001 - a plug-in's own error, reported in one line
            raise FormatError(f"format {name!r}: its plug-in {entry!r} does not load "
                              f"({type(exc).__name__}: {exc})") from exc
        instance = register(cls)
        if instance.name != name:
            raise FormatError(f"format {name!r}: its plug-in {entry!r} is called {instance.name!r}")
        entry = instance
    return entry


def parse_formats(text: str, where: str = "--formats") -> list[str]:
    """``"html,pdf"`` → ``["html", "pdf"]``, every name known."""
    chosen = [part.strip().lower() for part in str(text).split(",") if part.strip()]
    if not chosen:
        raise FormatError(f"{where}: expected format names separated by commas, such as 'html,pdf'")
    return _known(chosen, where)


def _known(chosen: Iterable[str], where: str) -> list[str]:
    out: list[str] = []
    for name in chosen:
        if name not in names():
            raise FormatError(f"{where}: unknown format {name!r} (expected one of {', '.join(names())})")
        if name not in out:
            out.append(name)
    if "html" not in out:
        raise FormatError(f"{where}: the formats must include 'html' (the deck readers open, and the PDF's "
                          "accessible version)")
    return out


def project_formats(root: Path | None = None) -> list[str]:
    """The formats of the project's ``[tool.esante-report] formats``; every shipped format when it has none."""
    import tomllib

    from esante_report.paths import project_root

    root = Path(root) if root is not None else project_root()
    pyproject = root / "pyproject.toml"
    try:
        with open(pyproject, "rb") as fh:
            table = tomllib.load(fh).get("tool", {}).get("esante-report", {})
    except FileNotFoundError:
        return list(DEFAULT_FORMATS)
    except (OSError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise FormatError(f"{pyproject}: cannot read the project's settings ({type(exc).__name__}: "
                          f"{str(exc)[:120]})") from None
    value = table.get("formats") if isinstance(table, dict) else None
    if value is None:
        return list(DEFAULT_FORMATS)
    where = f"{pyproject}: [tool.esante-report] formats"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise FormatError(f"{where}: expected a list of format names such as [\"html\", \"pdf\"]")
    return _known([v.strip().lower() for v in value], where)


def choose(chosen: Iterable[str]) -> list[Format]:
    """The formats to write, in writing order: each after the formats it needs (added, unpublished)."""
    ordered: list[Format] = []

    def add(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            raise FormatError(f"format {name!r}: it needs itself ({' → '.join((*trail, name))})")
        fmt = get(name)
        if fmt in ordered:
            return
        for need in fmt.needs:
            add(need, (*trail, name))
        ordered.append(fmt)

    for name in chosen:
        add(name, ())
    return ordered


def reader_formats(chosen: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
    """suffix → (label, description) of the readers' formats: the index lists them, ``publish`` sends them."""
    out: dict[str, tuple[str, str]] = {}
    for name in (chosen if chosen is not None else names()):
        try:
            fmt = get(name)
        except FormatError:
            continue
        if fmt.for_readers:
            out[fmt.suffix] = (fmt.label, fmt.description or fmt.label)
    return out
