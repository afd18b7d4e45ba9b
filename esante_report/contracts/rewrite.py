"""Rewriting data files safely: raw CSV rows in and out, atomic replacement.

Commands that change ``data/`` (a deck's import commands) never edit a file in
place: they write a temporary file in the same folder and ``os.replace`` it over
the old one, so a reader sees the old file or the new one, never half of it.
A symbolic link is refused rather than replaced or followed.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from esante_report.outdir.fs import stage_bytes
from esante_report.errors import DataError, Problem

__all__ = ["RawCsv", "read_raw_csv", "csv_text", "Pending", "commit"]


@dataclass
class RawCsv:
    """A CSV file as text rows keyed by header name (values stripped, as the loaders read them)."""

    path: Path
    header: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    bom: bool = False


def read_raw_csv(path: Path) -> RawCsv:
    """Rows of an already-checked CSV file, each a dict header name → stripped text."""
    text = path.read_text(encoding="utf-8")
    bom = text.startswith("\ufeff")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [h.strip() for h in next(reader, [])]
    rows = [{name: cell.strip() for name, cell in zip(header, raw)}
            for raw in reader if any(cell.strip() for cell in raw)]
    return RawCsv(path, header, rows, bom)


def csv_text(raw: RawCsv, sort_key: Callable[[dict[str, str]], object] | None = None) -> str:
    """The file text of ``raw`` (same header order; rows sorted by ``sort_key`` when given)."""
    rows = sorted(raw.rows, key=sort_key) if sort_key else raw.rows
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=raw.header, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in raw.header})
    return ("\ufeff" if raw.bom else "") + out.getvalue()


@dataclass(frozen=True)
class Pending:
    """A file to write: its path and new content (text or bytes)."""

    path: Path
    content: str | bytes
    must_not_exist: bool = False


def _check(pending: Pending) -> Problem | None:
    path = pending.path
    if path.is_symlink():
        return Problem(path, None, None, "is a symbolic link; refusing to replace it "
                       "(point --data at the real folder)")
    if pending.must_not_exist and path.exists():
        return Problem(path, None, None, "already exists; refusing to overwrite it")
    if path.exists() and not path.is_file():
        return Problem(path, None, None, "is not a regular file")
    if not path.parent.is_dir():
        return Problem(path.parent, None, None, "folder not found")
    return None


def commit(files: list[Pending]) -> None:
    """Write every file atomically, or none when any is refused (a :class:`DataError` lists why).

    Every temporary file is written (and flushed to disk) before the first
    ``os.replace``, so a failure while writing leaves every target untouched.
    """
    problems = [p for p in map(_check, files) if p is not None]
    if problems:
        raise DataError(problems)
    temps: list[tuple[str, Path]] = []
    try:
        for pending in files:
            data = pending.content.encode("utf-8") if isinstance(pending.content, str) else pending.content
            mode = pending.path.stat().st_mode & 0o777 if pending.path.exists() else 0o644
            temps.append((str(stage_bytes(pending.path, data, mode)), pending.path))
        for tmp, target in temps:
            if target.is_symlink():  # appeared since the check: still never followed nor replaced
                raise DataError([Problem(target, None, None, "is a symbolic link; refusing to replace it")])
            os.replace(tmp, target)
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
