"""Render cache: a deck is rendered again only when something it depends on changed.

A deck's key is a content hash of everything that shapes its outputs: the notebook, its
entry of the params file (and the region of a regional deck), the toolkit itself (its
modules, templates, CSS, package version), the reveal.js assets, the fonts and
``SOURCE_DATE_EPOCH``, and the data files it reads in the current ``--data`` folder (each
file's name in that folder and its content hash), so that a changed file, or another
``--data`` folder, re-renders exactly the decks that read something different. Records live in ``<out>/.esante-cache/``, so
the cache follows ``--out``; a record also holds the hashes of the published files, and a
deck whose outputs were removed or edited is rendered again.

This module imports neither papermill nor nbconvert nor WeasyPrint: checking that every
deck is up to date costs a few file reads.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from esante_report.paths import node_modules_dir

__all__ = ["CACHE_DIR", "static_key", "input_key", "data_hashes", "file_hashes", "Record", "read_record", "write_record", "is_up_to_date",
           "forget"]

CACHE_DIR = ".esante-cache"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_TOOLKIT_SUFFIXES = (".py", ".j2", ".css", ".json", ".mplstyle")
_LIBRARIES = ("papermill", "nbconvert", "nbformat", "weasyprint", "pydyf", "matplotlib", "pandas", "shapely",
              "fonttools", "jinja2", "markupsafe", "babel", "mistune", "pillow")


def _sha256(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def _toolkit_digest() -> str:
    """Hash of the package's own files (code, templates, CSS) and version, the versions of the libraries that
    shape the outputs, the reveal.js assets and the fonts."""
    from esante_report.provenance import package_version

    from importlib import metadata

    digest = hashlib.sha256(package_version().encode())
    for dist in _LIBRARIES:  # an upgrade of a library that shapes the outputs renders again
        try:
            digest.update(f"{dist}={metadata.version(dist)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{dist}=none\0".encode())
    # the decks' own code is not the core: it is part of each deck's key only (static_key's deck_files)
    decks = _PACKAGE_DIR / "decks"
    files = sorted(p for p in _PACKAGE_DIR.rglob("*") if p.suffix in _TOOLKIT_SUFFIXES
                   and "__pycache__" not in p.parts and (not p.is_relative_to(decks) or p.parent == decks))
    reveal = node_modules_dir() / "reveal.js"
    files += [reveal / "dist" / "reveal.css", reveal / "dist" / "reveal.js", reveal / "plugin" / "notes" / "notes.js"]
    try:
        from esante_report.fonts import font_files
        files += sorted(font_files().values())
    except Exception:  # no font: the render will say so; the key still differs from a render that had them
        files.append(Path("<no font>"))
    for path in files:
        digest.update(f"{path}\0{_sha256(path)}\0".encode())
    return digest.hexdigest()


def static_key(*, notebook: Path, entry: Any, date: str, name: str, region: str | None,
               deck_files: Iterable[Path] = ()) -> str:
    """Hash of the deck's inputs other than data files: the core, the notebook, its entry, its own code."""
    digest = hashlib.sha256()
    own = "".join(f"{p}\0{_sha256(Path(p))}\0" for p in deck_files)
    for part in (_toolkit_digest(), _sha256(notebook) or "<no notebook>", date, name, region or "", own,
                 json.dumps(entry, sort_keys=True, default=str, ensure_ascii=False),
                 os.environ.get("SOURCE_DATE_EPOCH", "")):
        digest.update(f"{part}\0".encode())
    return digest.hexdigest()


def data_hashes(files: Iterable[Path], data_dir: Path) -> dict[str, str | None]:
    """Each data file as its name relative to ``data_dir`` (its full path when outside) → sha256 (None: missing).

    Computed from the files of the current ``--data`` folder, never from an earlier record.
    """
    base = Path(os.path.abspath(data_dir))
    out = {}
    for path in files:
        path = Path(os.path.abspath(path))
        try:
            name = path.relative_to(base).as_posix()
        except ValueError:
            name = os.fsdecode(path)
        out[name] = _sha256(path)
    return out


def input_key(static: str, data: dict[str, str | None]) -> str:
    """The cache key of a deck: its static key and the content of every data file it reads."""
    digest = hashlib.sha256(f"{static}\0".encode())
    for name in sorted(data):
        digest.update(f"{name}\0{data[name]}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def file_hashes(paths: Iterable[Path]) -> dict[str, str | None]:
    """Absolute path → sha256 (None for a missing file)."""
    return {str(Path(p).resolve()): _sha256(Path(p)) for p in paths}


@dataclass(frozen=True)
class Record:
    """What the cache knows of one published deck."""

    key: str
    data: dict[str, str | None]     # data files read → sha256
    outputs: dict[str, str | None]  # published file name → sha256
    slides: int
    title: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True, ensure_ascii=False, indent=1)


def _record_path(out_dir: Path, date: str, name: str) -> Path:
    return Path(out_dir) / CACHE_DIR / date / f"{name}.json"


def read_record(out_dir: Path, date: str, name: str) -> Record | None:
    try:
        raw = json.loads(_record_path(out_dir, date, name).read_text(encoding="utf-8"))
        return Record(key=str(raw["key"]), data=dict(raw["data"]), outputs=dict(raw["outputs"]),
                      slides=int(raw["slides"]), title=str(raw["title"]))
    except (OSError, ValueError, KeyError, TypeError):  # no record, or not one of ours: render again
        return None


def write_record(out_dir: Path, date: str, name: str, record: Record) -> None:
    from esante_report.outdir.fs import safe_dir, write_text

    folder = safe_dir(Path(out_dir) / CACHE_DIR)
    folder = safe_dir(folder / date)
    write_text(folder / f"{name}.json", record.to_json())


def forget(out_dir: Path, date: str, name: str) -> None:
    """Drop the record of a deck (its render failed: the next run tries again).

    Nothing is deleted through a link: a cache folder that is a link is refused (OutputError).
    """
    from esante_report.outdir.fs import safe_dir

    folder = safe_dir(Path(out_dir) / CACHE_DIR, create=False)
    folder = safe_dir(folder / date, create=False)
    try:
        os.unlink(folder / f"{name}.json")
    except FileNotFoundError:
        pass


def is_up_to_date(out_dir: Path, date: str, name: str, key: str) -> Record | None:
    """The record when the published deck matches ``key`` (see :func:`input_key`) and its outputs; else None."""
    record = read_record(out_dir, date, name)
    if record is None or record.key != key:  # a deck may read no data file (a plain notebook)
        return None
    folder = Path(out_dir) / date
    if any(_sha256(folder / file) != sha or sha is None for file, sha in record.outputs.items()):
        return None
    return record
