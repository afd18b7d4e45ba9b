"""Deck versions: a deck's files are switched in one atomic step, and the evidence of a failure is kept safely.

``render`` and ``export`` both switch through :func:`switch` and keep rejected files
through :func:`keep_failed`, so the two commands cannot drift.

Layout of a folder ``F`` holding deck ``NAME`` (``F`` is ``<out>/<date>`` for ``render``)::

    F/NAME.html  -> .versions/NAME/NAME.html     (links made once, never changed)
    F/NAME.pdf   -> .versions/NAME/NAME.pdf
    F/.versions/NAME -> NAME-<hash>                (the one pointer: which version readers see)
    F/.versions/NAME-<hash>/NAME.html, NAME.pdf, …  (one folder per version, never edited; the current
                                                    one and the one it replaced are kept)

A new version is written to its own folder, then the pointer is replaced by a new link
with one ``rename`` (:func:`os.replace`): a reader, or a process killed at any point,
sees the whole old deck or the whole new one, never an HTML of one beside a PDF of the
other. Every link is relative and stays inside ``F``, so a copied or shared folder keeps
working. A deck published by an older toolkit as plain files is first moved, as it is,
into a version folder of its own, so the switch to links never shows a mix either.

No write follows a symbolic link: links are only ever replaced by a rename (which
replaces the link itself), folders that are links are refused, and files are written
with :mod:`esante_report.outdir.fs`. Publishing holds a lock (``F/.versions/.lock``), so
concurrent renders of one folder never remove each other's new version.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable

from esante_report.outdir import fs as outfs

__all__ = ["VERSIONS", "switch", "current_file", "version_of", "unexpected_files", "keep_failed", "try_keep_failed", "created",
           "STEP_HOOK"]

VERSIONS = ".versions"
_HASH = 16

#: test hook: called with the name of each publishing step before it runs (a test kills or fails there)
STEP_HOOK: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(name)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _version_re(name: str) -> re.Pattern:
    return re.compile(re.escape(name) + rf"-[0-9a-f]{{{_HASH}}}")


def _link_target(name: str, file: str) -> str:
    return f"{VERSIONS}/{name}/{file}"


def _replace_link(link: Path, target: str) -> None:
    """Make ``link`` a symbolic link to ``target`` in one rename (whatever was at ``link`` is replaced, not followed)."""
    with contextlib.suppress(OSError):
        if os.readlink(link) == target:
            return
    folder = link.parent
    for _ in range(100):
        tmp = folder / f".{link.name}.{os.urandom(6).hex()}.tmp"
        try:
            os.symlink(target, tmp)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 random names taken
        raise outfs.OutputError(f"{folder}: cannot create a temporary link")
    try:
        os.replace(tmp, link)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove(path: Path) -> None:
    """Remove a version folder (or whatever sits at a name of ours), never anything a link points to."""
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)  # rmtree never follows links inside the tree
    else:
        os.unlink(path)


def version_of(folder: Path, name: str) -> Path | None:
    """The version folder that deck ``name`` of ``folder`` currently points to, if it is a real folder of ours."""
    pointer = Path(folder) / VERSIONS / name
    try:
        target = os.readlink(pointer)
    except OSError:
        return None
    if not _version_re(name).fullmatch(target):
        return None
    version = pointer.parent / target
    try:
        if not stat.S_ISDIR(os.lstat(version).st_mode):
            return None
    except OSError:
        return None
    return version


def current_file(path: Path) -> bool:
    """True when ``path`` is a plain file, or a current file of a deck: our link, through our pointer, to a plain file."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if stat.S_ISREG(info.st_mode):
        return True
    if not stat.S_ISLNK(info.st_mode):
        return False
    name = path.name.rsplit(".", 1)[0]
    try:
        if os.readlink(path) != _link_target(name, path.name):
            return False
    except OSError:
        return False
    version = version_of(path.parent, name)
    if version is None:
        return False
    try:
        return stat.S_ISREG(os.lstat(version / path.name).st_mode)
    except OSError:
        return False


def _new_version(versions: Path, name: str, files: list[Path], move: bool) -> tuple[Path, dict[str, str]]:
    """A version folder ``<name>-<hash>`` holding ``files`` (moved or copied), and each file's sha256."""
    hashes = {p.name: _sha256(p) for p in files}
    digest = hashlib.sha256("".join(f"{n}\0{h}\0" for n, h in sorted(hashes.items())).encode()).hexdigest()
    version = versions / f"{name}-{digest[:_HASH]}"
    if os.path.lexists(version):
        existing = {}
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(os.lstat(version).st_mode):
                existing = {e.name: _sha256(Path(e.path)) for e in os.scandir(version) if e.is_file(follow_symlinks=False)}
        if existing == hashes:  # the same deck, already there: nothing to write
            return version, hashes
        _remove(version)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=versions))
    try:
        os.chmod(tmp, 0o755)
        for path in files:
            if move:
                os.replace(path, tmp / path.name)  # same file system: the build folder is inside <out>
            else:
                outfs.copy_file(path, tmp / path.name)
        _step("version")
        os.rename(tmp, version)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return version, hashes


def _adopt_plain_files(folder: Path, versions: Path, name: str, suffixes: set[str]) -> None:
    """A deck published as plain files (older toolkit) becomes a version, unchanged, before links replace them."""
    if version_of(folder, name) is not None:
        return
    plain = []
    for suffix in sorted(suffixes):
        path = folder / f"{name}{suffix}"
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(path).st_mode):
                plain.append(path)
    if not plain:
        return
    version, _ = _new_version(versions, name, plain, move=False)
    _step("adopt-pointer")
    _replace_link(versions / name, version.name)
    for path in plain:  # each link shows the same content as the file it replaces
        _step(f"adopt-link-{path.name}")
        _replace_link(path, _link_target(name, path.name))


def switch(files: list[Path], folder: Path, name: str) -> dict[str, str]:
    """Publish ``files`` (named ``<name>.<ext>``, in a build folder on the same file system) as deck ``name`` of
    ``folder`` in one atomic switch; returns each published file name → sha256.

    Raises :class:`~esante_report.outdir.fs.OutputError` (one line); the deck already published then stays as it was.
    """
    folder = outfs.safe_dir(Path(folder))
    try:
        versions = outfs.safe_dir(folder / VERSIONS)
        with outfs.locked(versions):
            return _switch_locked(files, folder, versions, name)
    except OSError as exc:
        if isinstance(exc, outfs.OutputError):
            raise
        raise outfs.os_error(exc) from None


def _switch_locked(files: list[Path], folder: Path, versions: Path, name: str) -> dict[str, str]:
    pointer = versions / name
    if os.path.lexists(pointer) and not stat.S_ISLNK(os.lstat(pointer).st_mode):
        raise outfs.OutputError(f"{pointer}: not a link of the toolkit's (expected the pointer to the published "
                                "version of the deck: remove it)")
    names = {p.name for p in files}
    suffixes = {n[len(name):] for n in names}
    old = version_of(folder, name)
    if old is not None:  # files the old version had and the new one lacks keep their link until the switch
        suffixes |= {e.name[len(name):] for e in os.scandir(old) if e.name.startswith(name)}
    _adopt_plain_files(folder, versions, name, suffixes)
    version, hashes = _new_version(versions, name, files, move=True)
    for file in sorted(names):  # links made once: until the switch they show the old version (or nothing yet)
        _step(f"link-{file}")
        _replace_link(folder / file, _link_target(name, file))
    _step("switch")
    _replace_link(pointer, version.name)  # THE step: readers now see the new version, every file of it
    _step("tidy")
    for suffix in suffixes:
        public = folder / f"{name}{suffix}"
        if public.name not in names:
            with contextlib.suppress(OSError):
                if os.readlink(public) == _link_target(name, public.name):
                    os.unlink(public)  # a file of the old version only: its link would dangle
    for entry in os.scandir(folder):  # temporary links of a killed switch
        if entry.name.startswith(f".{name}.") and entry.name.endswith(".tmp") and entry.is_symlink():
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    pattern = _version_re(name)
    for entry in os.scandir(versions):
        # the version just replaced stays until the next switch: a reader in the middle of it reads it whole
        keep = {version.name} | ({old.name} if old is not None else set())
        stale_version = pattern.fullmatch(entry.name) and entry.name not in keep
        leftover = entry.name.startswith(f".{name}.") and entry.name.endswith(".tmp")  # a killed switch
        if stale_version or leftover:
            with contextlib.suppress(OSError):
                _remove(Path(entry.path))
    return hashes


def unexpected_files(folder: Path) -> list[Path]:
    """What ``folder`` holds that the toolkit did not write there: not a published link, not a version folder
    or pointer of ours, not a file of ``failed/`` (a notebook cell can write anywhere its user can)."""
    folder = Path(folder)
    found: list[Path] = []

    def scan(path: Path) -> list[os.DirEntry]:
        try:
            return sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            return []

    for entry in scan(folder):
        if entry.name in (VERSIONS, "failed", "mail") and entry.is_dir(follow_symlinks=False):  # mail: .eml previews
            continue
        name = entry.name.rsplit(".", 1)[0]
        with contextlib.suppress(OSError):
            if entry.is_symlink() and os.readlink(entry.path) == _link_target(name, entry.name):
                continue
        found.append(Path(entry.path))
    versions = folder / VERSIONS
    if os.path.isdir(versions) and not os.path.islink(versions):
        for entry in scan(versions):
            if entry.name == outfs.LOCK_NAME or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
                continue
            if entry.is_symlink():
                with contextlib.suppress(OSError):
                    if _version_re(entry.name).fullmatch(os.readlink(entry.path)):
                        continue
            elif entry.is_dir(follow_symlinks=False):
                name = entry.name[:-_HASH - 1]
                if _version_re(name).fullmatch(entry.name):
                    found += [Path(e.path) for e in scan(Path(entry.path))
                              if e.is_symlink() or not e.is_file() or e.name.rsplit(".", 1)[0] != name]
                    continue
            found.append(Path(entry.path))
    failed = folder / "failed"
    if os.path.isdir(failed) and not os.path.islink(failed):
        found += [Path(e.path) for e in scan(failed) if e.is_symlink() or not e.is_file()
                  or not e.name.endswith((".ipynb", ".pdf"))]
    return found


# --------------------------------------------------------------------------- evidence of a failure

def keep_failed(path: Path, folder: Path, name: str, suffix: str) -> Path | None:
    """Copy ``path`` to ``<folder>/failed/<name><suffix>``: written atomically, never through a link.

    Raises :class:`~esante_report.outdir.fs.OutputError` (a link at ``folder`` or ``failed/`` is refused).
    """
    if not Path(path).exists():
        return None
    outfs.safe_dir(folder)
    failed = outfs.safe_dir(Path(folder) / "failed")
    return outfs.copy_file(path, failed / f"{name}{suffix}")


def try_keep_failed(path: Path, folder: Path, name: str, suffix: str = ".ipynb") -> tuple[Path | None, str]:
    """Keep the evidence if possible; a failure to do so never hides the real error (the note says it)."""
    what = "partly executed notebook" if suffix == ".ipynb" else "rejected PDF"
    try:
        kept = keep_failed(path, folder, name, suffix)
    except outfs.OutputError as exc:
        return None, f"the {what} could not be kept: {exc}"
    return kept, f"{what} kept in {kept}" if kept else f"no {what} was written"


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` (reproducible builds) when it is a whole number in ASCII digits, else None."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(epoch) if epoch.isascii() and epoch.isdigit() else None


def created() -> str:
    """Creation timestamp: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    epoch = source_date_epoch()
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat()
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
