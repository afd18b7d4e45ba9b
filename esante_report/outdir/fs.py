"""Writing inside ``<out>`` or a local share safely: no write or delete ever goes through a symbolic link, nor
leaves its folder.

Every file is written to a fresh temporary name created with ``O_EXCL|O_NOFOLLOW`` in
its target folder and renamed over the target (a rename replaces a link, never what it
points to). Folders the toolkit writes into (``<out>/<date>``, ``failed/``, a share's date
folders) are refused when they are links. A relative path that comes from outside (a share's
manifest or listing) goes through :func:`scoped_path`, the one scope check, and is opened with
:func:`within`. OS errors become :class:`OutputError`, one line naming the path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import posixpath
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from esante_report.errors import OutputError, ScopeError, quote
from esante_report.paths import is_report_date

__all__ = ["OutputError", "ScopeError", "os_error", "prepare_out", "safe_dir", "write_bytes", "stage_bytes", "write_text",
           "copy_file", "read_bytes", "scoped_path", "within", "is_date_folder", "locked", "build_folder",
           "remove_stale_temp", "LOCK_NAME", "TEMP_PREFIX", "STALE_SECONDS"]

LOCK_NAME = ".esante-report.lock"
TEMP_PREFIX = ".render-"
#: temporary render folders older than this are leftovers of a killed run (when their owner cannot be checked)
STALE_SECONDS = 24 * 3600
#: inside a build folder: who owns it (host, boot id, pid, process start time)
OWNER_NAME = ".owner"




def os_error(exc: OSError, path: Path | str | None = None) -> OutputError:
    """One-line :class:`OutputError` for ``exc``, naming the path at fault."""
    where = exc.filename if exc.filename is not None else path
    reason = exc.strerror or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (free some space and render again)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason += " (expected a folder this user can write to)"
    return OutputError(f"{where}: cannot write: {reason}" if where is not None else f"cannot write: {reason}")


def prepare_out(out_dir: Path) -> Path:
    """Create ``out_dir`` if needed; refuse one that is not a folder."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: not a folder (expected --out to name a folder)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{out_dir}: not a folder (expected --out to name a folder)") from None
    except OSError as exc:
        raise os_error(exc, out_dir) from None
    return out_dir


def _check_dir(path: Path) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(f"{path}: is a symbolic link; refusing to write or delete through it "
                          "(expected a plain folder: remove the link)")
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{path}: not a folder (expected a folder the toolkit writes into)")


def safe_dir(path: Path, *, create: bool = True) -> Path:
    """``path`` as a plain folder (created when missing); a link or a file there is refused."""
    path = Path(path)
    try:
        if create and not os.path.lexists(path):
            with contextlib.suppress(FileExistsError):  # another worker made it in between
                os.mkdir(path)
        if os.path.lexists(path):
            _check_dir(path)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise os_error(exc, path) from None
    return path


def is_date_folder(name: object) -> bool:
    """True for the name of a date folder: ``YYYY-MM-DD`` of a real date, in ASCII digits."""
    if not isinstance(name, str) or not is_report_date(name):
        return False
    try:
        dt.date.fromisoformat(name)
    except ValueError:  # 2020-13-01
        return False
    return True


def scoped_path(rel: object, file_ok: Callable[[str], object], *, dated: bool = True) -> str:
    """``rel`` when it names ``<date>/<file>`` (``<file>`` when not ``dated``) inside a folder the toolkit writes
    into, with ``file_ok(<file>)`` true; else :class:`ScopeError` saying why, in one line.

    The one check of a relative path that comes from outside, whatever the tree (``<out>``, a local
    folder, a WebDAV, SFTP, SMB or S3 share): a text, relative, in normal form (no ``..``, ``.`` or
    empty part), with no backslash, drive, NUL or other unprintable character, made of exactly the
    expected parts, the date one a real date in ASCII digits. As rsync and restic do, a listing or
    a manifest read from a share is never trusted for paths.
    """
    if not isinstance(rel, str):
        raise ScopeError(f"{quote(rel)}: not a path (expected a text)")
    if not rel.isprintable():  # NUL, CR, LF, other control characters, lone surrogates
        raise ScopeError(f"{quote(rel)}: holds an unprintable character (expected a plain file name)")
    if "\\" in rel:
        raise ScopeError(f"{quote(rel)}: holds a backslash (expected '/' between folder and file)")
    if rel.startswith("/"):
        raise ScopeError(f"{quote(rel)}: an absolute path (expected a path relative to the target)")
    if ":" in rel:
        raise ScopeError(f"{quote(rel)}: names a drive or a stream (expected no ':')")
    parts = rel.split("/")
    if ".." in parts:
        raise ScopeError(f"{quote(rel)}: leaves its folder ('..')")
    if "" in parts or "." in parts or posixpath.normpath(rel) != rel:
        raise ScopeError(f"{quote(rel)}: not in normal form (an empty or '.' part)")
    if len(parts) != (2 if dated else 1):
        raise ScopeError(f"{quote(rel)}: expected " + ("<date>/<file>" if dated else "a file name with no folder"))
    if dated and not is_date_folder(parts[0]):
        raise ScopeError(f"{quote(rel)}: expected a date folder YYYY-MM-DD, got {quote(parts[0])}")
    if not file_ok(parts[-1]):
        raise ScopeError(f"{quote(rel)}: {quote(parts[-1])} is not a file the toolkit keeps there")
    return rel


def within(root: Path, rel: object, file_ok: Callable[[str], object], *, dated: bool = True,
           create: bool = False) -> Path:
    """``root / rel`` once ``rel`` passed :func:`scoped_path` and every folder between ``root`` and the file is a
    plain folder (created when ``create``), never a link: a path from outside neither leaves ``root`` nor goes
    through a link planted in it. ``root`` itself is the user's choice and may be a link."""
    parts = scoped_path(rel, file_ok, dated=dated).split("/")
    folder = Path(root)
    for part in parts[:-1]:
        folder = safe_dir(folder / part, create=create)
    return folder / parts[-1]


def read_bytes(path: Path, limit: int) -> bytes | None:
    """The first ``limit`` + 1 bytes of file ``path`` (None when missing), never read through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{path}: is a symbolic link; refusing to read or replace it through the link "
                              "(expected a plain file: remove the link)") from None
        raise OutputError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    try:
        with os.fdopen(fd, "rb") as f:
            return f.read(limit + 1)
    except OSError as exc:  # a folder there: EISDIR
        raise OutputError(f"{path}: cannot read: {exc.strerror or type(exc).__name__} (expected a plain file)") from None


def write_bytes(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically, never following a link; nothing partial is left behind."""
    target = Path(target)
    tmp = None
    try:
        tmp = stage_bytes(target, data)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise os_error(exc, target) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target


def stage_bytes(target: Path, data: bytes, mode: int = 0o644) -> Path:
    """``data`` written and flushed to disk in a new temporary file beside ``target``, for an ``os.replace`` that
    puts it in place at once (the one way the toolkit writes a file atomically). Raises OSError; nothing is
    left behind then."""
    target = Path(target)
    # mkstemp opens with O_EXCL|O_NOFOLLOW under a random name: a planted link is never followed
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        _write_fd(fd, data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def _write_fd(fd: int, data: bytes) -> None:
    """Write ``data`` to ``fd``, flush it to disk and close it (the one place bytes reach the disk; tests
    simulate ENOSPC here)."""
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_text(target: Path, text: str) -> Path:
    return write_bytes(target, text.encode("utf-8"))


def copy_file(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` with :func:`write_bytes` (atomic, no link followed)."""
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise os_error(exc, source) from None
    return write_bytes(target, data)


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<out>/.esante-report.lock`` (index writes are serialised)."""
    import fcntl

    path = Path(out_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{path}: is a symbolic link; refusing to use it as a lock (remove the link)") from None
        raise os_error(exc, path) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), None when there is no such process."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat_line.rpartition(")")[2].split()[19]  # field 22 of proc(5), after the command name


def _owner_line() -> str:
    import socket

    return f"{socket.gethostname()} {_boot_id()} {os.getpid()} {_start_time(os.getpid()) or ''}\n"


def _owner_gone(folder: str) -> bool | None:
    """True when the process that made ``folder`` is gone, False when it runs, None when this host cannot tell."""
    import socket

    try:
        with open(os.path.join(folder, OWNER_NAME), "rb") as f:  # a plain read: a link there only names a file
            host, boot, pid, start = (f.read(4096).decode("utf-8", "replace").split() + [""] * 4)[:4]
    except OSError:
        return None
    if host != socket.gethostname() or not boot or not pid.isdigit():
        return None  # another machine on a shared folder: its processes cannot be seen from here
    if boot != _boot_id():
        return True  # made before the last reboot
    return _start_time(int(pid)) != start  # no such process, or the pid was reused


@contextlib.contextmanager
def build_folder(out_dir: Path, label: str) -> Iterator[Path]:
    """A fresh temporary folder ``<out>/.render-<label>-*`` for one build, removed at the end whatever happens;
    it names its owner, so that a later run removes it at once if this process is killed."""
    try:
        folder = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{label}-", dir=out_dir)
    except OSError as exc:
        raise os_error(exc, out_dir) from None
    try:
        with contextlib.suppress(OSError):  # best effort: without it, the 24-hour rule applies
            fd = os.open(os.path.join(folder, OWNER_NAME), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                os.write(fd, _owner_line().encode())
            finally:
                os.close(fd)
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_temp(out_dir: Path, *, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove ``<out>/.render-*`` folders and ``.*.tmp`` files, leftovers of killed runs: at once when the process
    that made a folder is gone, else when older than ``older_than`` seconds (it may belong to a run in progress,
    maybe on another machine sharing the folder)."""
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(out_dir))
    except OSError:
        return removed
    for entry in entries:
        is_temp_file = entry.name.startswith(".") and entry.name.endswith(".tmp")  # from write_bytes
        if not entry.name.startswith(TEMP_PREFIX) and not is_temp_file:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            is_dir = entry.is_dir(follow_symlinks=False)
            gone = _owner_gone(entry.path) if is_dir else None
            if gone is False or (gone is None and now - info.st_mtime < older_than):
                continue
            if is_dir:
                shutil.rmtree(entry.path)  # rmtree never follows links inside the tree
            else:
                os.unlink(entry.path)  # a link or a file: the name goes, never its target
            removed.append(Path(entry.path))
        except OSError:
            continue  # best effort: another run may be removing it too
    return removed
