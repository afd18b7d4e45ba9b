"""Where a deck comes from: data file fingerprints, package version, git commit."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Iterable

from .paths import project_root

__all__ = ["Provenance", "provenance", "package_version", "git_commit", "short_sha256"]


def short_sha256(path: Path, length: int = 12) -> str:
    """Start of the SHA-256 of the file's bytes, read in blocks (a 50 MB CSV is not held in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]


def package_version() -> str:
    try:
        return metadata.version("esante-report")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def git_commit(root: Path | None = None) -> str | None:
    """Short commit of the checkout (with ``+modifs`` when dirty); None when unknown."""
    root = root or project_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}+modifs" if dirty else sha or None


@dataclass(frozen=True)
class Provenance:
    files: tuple[tuple[str, str], ...]   # (file name relative to the data folder, short sha256)
    version: str
    commit: str | None

    def text(self) -> str:
        """One line for PDF metadata."""
        files = ", ".join(f"{name} sha256:{sha}" for name, sha in self.files)
        commit = f"; commit {self.commit}" if self.commit else ""
        return f"données : {files}; esante-report {self.version}{commit}"


def provenance(files: Iterable[Path], data_dir: Path) -> Provenance:
    """Each file as its path relative to ``data_dir`` (``my_deck/indicateurs.csv``) and its hash.

    Paths are compared as given, symlinks not followed; the loaders refuse a file
    whose real location is outside ``data_dir``, so every name here is relative.
    A file that is not under ``data_dir`` at all is named by its full path, never
    by a bare file name that would hide where it came from.
    """
    base = Path(os.path.abspath(data_dir))
    entries = []
    for path in files:
        path = Path(os.path.abspath(path))
        try:
            name = path.relative_to(base).as_posix()
        except ValueError:
            name = str(path)
        entries.append((name, short_sha256(path)))
    return Provenance(files=tuple(entries), version=package_version(), commit=git_commit())
