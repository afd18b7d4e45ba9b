"""``publish``: copy the decks readers need, their index and its feed, to a share (folder, WebDAV, SFTP, SMB, S3).

Only reader files (:func:`~esante_report.outdir.index.reader_formats`) of decks that passed their checks
go: a file is published when its content is the one ``render`` checked and recorded in the cache.
Executed notebooks, the cache, ``failed/``, locks, plans and ``mail/`` never leave ``<out>``.

The target keeps a manifest (``.esante-manifest.json``: file → sha256 and size); a file whose
content the manifest already records is not sent again. Each file is uploaded under a temporary
name in its folder and then renamed over the old one (S3 objects are replaced whole by the PUT),
so a reader never opens a half-written deck, and a failed upload leaves the previous publication
as it was, and names the file.

What the target says is never trusted for paths, as rsync and restic do: every manifest entry and
every listed file passes :func:`esante_report.outdir.fs.scoped_path` (``<date>/<deck file>``, nothing
that could leave the target), a bad entry is ignored with a warning, and a damaged manifest is
treated as absent (every file is sent again, nothing is removed). On a local folder, files are
written and removed with :mod:`esante_report.outdir.fs`: a date folder or a manifest that is a
symbolic link is refused, never followed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from esante_report.distribute.config import ConfigError, Target, redact, url_password
from esante_report.errors import EsanteReportError, PublishError, quote
from esante_report.outdir import fs as outfs
from esante_report.outdir.feed import FEED_NAME, render_feed
from esante_report.outdir.index import collect, deck_file, local_listing, render_page
from esante_report.pipeline import cache

__all__ = ["PublishError", "PublishPlan", "open_target", "plan_publish", "publish", "MANIFEST_NAME",
           "summary_table", "published_manifest"]

MANIFEST_NAME = ".esante-manifest.json"
INDEX_NAME = "index.html"
_TOP_FILES = (INDEX_NAME, FEED_NAME, MANIFEST_NAME)
#: a manifest larger than this is not one this toolkit wrote: treated as damaged
_MANIFEST_LIMIT = 64 * 1024 * 1024
#: bad manifest entries warned about one by one; the rest are counted in one line
_MAX_WARNINGS = 10
#: where ``publish`` keeps a copy of each target's manifest (``mail`` links only what is published)
_PUBLISHED_DIR = "published"

Progress = Callable[[str], None]

#: fsspec back-ends that are optional extras: scheme → (module, extra, what)
_EXTRAS = {"sftp": ("sshfs", "sftp", "SFTP"), "ssh": ("sshfs", "sftp", "SFTP"),
           "smb": ("smbprotocol", "smb", "SMB"), "s3": ("s3fs", "s3", "S3")}


@dataclass
class PublishPlan:
    """What a publication changes on its target: file (``<date>/<name>``) lists, and what is left alone."""

    add: list[str] = field(default_factory=list)
    replace: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: local files not published, and why (not checked by render, …)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    index: str = "unchanged"  # add, replace or unchanged
    sizes: dict[str, int] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def sends(self) -> list[str]:
        return self.add + self.replace


# --------------------------------------------------------------------------- targets
def open_target(target: Target) -> tuple[Any, str]:
    """(fsspec file system, root folder on it) for ``target``; one-line :class:`ConfigError` when it cannot be."""
    url = target.url
    parts = urlsplit(url) if "://" in url else None
    scheme = parts.scheme.lower() if parts else "file"
    if url_password(url) and target.name == redact(url):
        raise ConfigError(f"{target.shown}: a password in a URL given on the command line is refused "
                          "(expected it in ESANTE_PUBLISH_PASSWORD, or in a target of the config file)")
    try:
        port = parts.port if parts else None
    except ValueError:  # the error's text may hold part of a password: not shown
        raise ConfigError(f"target {target.shown}: its URL does not read as scheme://host:port/path (a '/', '?' "
                          "or '#' in a password must be percent-encoded: %2F, %3F, %23)") from None
    username = target.username or (unquote(parts.username) if parts and parts.username else None)
    password = target.password or url_password(url)
    try:
        if scheme == "file":
            from fsspec.implementations.local import LocalFileSystem

            root = os.path.abspath(os.path.expanduser(parts.path if parts else url))
            return LocalFileSystem(), root
        if scheme in ("webdav+https", "webdav+http", "webdav", "dav", "davs"):
            _need("webdav4", "webdav", "WebDAV")
            from webdav4.fsspec import WebdavFileSystem

            http = "http" if scheme == "webdav+http" else "https"
            netloc = parts.hostname + (f":{port}" if port else "")
            auth = (username, password or "") if username else None
            # rooted at the server, not at the target's folder: a folder that does not exist yet is
            # created with its parents (MKCOL of each missing one)
            fs = WebdavFileSystem(f"{http}://{netloc}/", auth=auth,
                                  timeout=target.options.get("timeout", 60), **_webdav_opts(target.options))
            return fs, unquote(parts.path).strip("/")
        if scheme in _EXTRAS:
            module, _, _ = _EXTRAS[scheme]
            _need(*_EXTRAS[scheme])
            if scheme in ("sftp", "ssh"):
                import sshfs

                fs = sshfs.SSHFileSystem(parts.hostname, port=parts.port or 22, username=username,
                                         password=password, **target.options)
                return fs, parts.path or "/"
            if scheme == "smb":
                from fsspec.implementations.smb import SMBFileSystem

                fs = SMBFileSystem(parts.hostname, port=parts.port or 445, username=username, password=password,
                                   **target.options)
                return fs, parts.path
            import s3fs

            fs = s3fs.S3FileSystem(key=username, secret=password, **target.options)
            return fs, f"{parts.hostname}{parts.path}".rstrip("/")
    except ConfigError:
        raise
    except Exception as exc:  # bad URL, bad option, unreachable host at connection time
        raise ConfigError(f"target {target.shown}: cannot connect: {_reason(exc)}") from None
    raise ConfigError(f"target {target.shown}: unsupported URL scheme {scheme!r} (expected a folder, "
                      "webdav+https://, sftp://, smb:// or s3://)")


def _webdav_opts(options: dict) -> dict:
    return {k: v for k, v in options.items() if k in ("verify", "cert", "follow_redirects", "chunk_size")}


def _need(module: str, extra: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{what} targets need the {module} package: pip install 'esante-report[{extra}]'")


def _reason(exc: BaseException) -> str:
    text = redact(" ".join(str(exc).split())) or "no detail"
    return f"{type(exc).__name__}: {text[:300]}"


def _join(root: str, rel: str) -> str:
    return f"{root.rstrip('/')}/{rel}" if root else rel


def _is_s3(fs: Any) -> bool:
    return "s3" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def _is_local(fs: Any) -> bool:
    return fs.__class__.__name__ == "LocalFileSystem"


# --------------------------------------------------------------------------- paths on the target
#: temporary names of an upload (``.<name>.<12 hex>.part``) and of a local write (``outfs.write_bytes``)
_PART = re.compile(r"\.(?P<name>.+)\.(?:[0-9a-f]{12}\.part|[a-z0-9_]{8}\.tmp)")


def _reader_name(name: str) -> bool:
    return deck_file(name) is not None


def _leftover_name(name: str) -> bool:
    match = _PART.fullmatch(name)
    return match is not None and (_reader_name(match["name"]) or match["name"] in _TOP_FILES)


def _kind(rel: object, leftover: bool) -> tuple[Callable[[str], bool], bool]:
    """(file name check, dated) of a path on the target: a deck file or a leftover under its date, or the index,
    the manifest or a leftover at the top."""
    dated = isinstance(rel, str) and "/" in rel
    if leftover:
        return _leftover_name, dated
    return (_reader_name if dated else _TOP_FILES.__contains__), dated


def _scoped(rel: object, *, leftover: bool = False) -> str:
    """``rel`` after the one scope check (:func:`esante_report.outdir.fs.scoped_path`)."""
    file_ok, dated = _kind(rel, leftover)
    return outfs.scoped_path(rel, file_ok, dated=dated)


def _in_target(rel: object, *, leftover: bool = False) -> bool:
    try:
        _scoped(rel, leftover=leftover)
    except outfs.ScopeError:
        return False
    return True


def _local_path(root: str, rel: str, *, leftover: bool = False, create: bool = False) -> Path:
    """``rel`` in a local target folder: scope checked, no link followed (:func:`esante_report.outdir.fs.within`)."""
    file_ok, dated = _kind(rel, leftover)
    return outfs.within(Path(root), rel, file_ok, dated=dated, create=create)


def _refuse_links(root: str) -> None:
    """A local target's date folders and manifest are refused when they are links: never followed."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if outfs.is_date_folder(entry.name):
            outfs.safe_dir(Path(entry.path), create=False)
        elif entry.name == MANIFEST_NAME and entry.is_symlink():
            raise outfs.OutputError(f"{entry.path}: is a symbolic link; refusing to read or replace it through "
                                    "the link (expected a plain file: remove the link)")


# --------------------------------------------------------------------------- manifest
def _read_manifest(fs: Any, root: str, where: str, warn: Progress) -> dict:
    """The target's manifest, its entries scope-checked; a damaged one is treated as absent, with a warning."""
    if _is_local(fs):
        data = outfs.read_bytes(_local_path(root, MANIFEST_NAME), _MANIFEST_LIMIT)
    else:
        path = _join(root, MANIFEST_NAME)
        data = fs.cat_file(path, start=0, end=_MANIFEST_LIMIT + 1) if fs.exists(path) else None
    if data is None:
        return {"files": {}}
    try:
        if len(data) > _MANIFEST_LIMIT:
            raise ValueError(f"larger than {_MANIFEST_LIMIT // 2**20} MB")
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("files", {}), dict):
            raise ValueError(f"a JSON {type(raw.get('files') if isinstance(raw, dict) else raw).__name__} where an "
                             "object was expected")
    except (ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())[:120]
        warn(f"{where}: {MANIFEST_NAME}: damaged ({why}); treated as absent: every file is sent again")
        return {"files": {}}
    files: dict[str, dict] = {}
    bad: list[str] = []
    for rel, entry in raw.get("files", {}).items():
        try:
            outfs.scoped_path(rel, _reader_name)
        except outfs.ScopeError as exc:
            bad.append(str(exc))
            continue
        if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and type(entry.get("size")) is int:
            files[rel] = {"sha256": entry["sha256"], "size": entry["size"]}
        else:  # unknown content: the file is sent again
            bad.append(f"{quote(rel)}: expected {{\"sha256\": …, \"size\": …}}")
    for line in bad[:_MAX_WARNINGS]:
        warn(f"{where}: {MANIFEST_NAME}: entry ignored: {line}")
    if len(bad) > _MAX_WARNINGS:
        warn(f"{where}: {MANIFEST_NAME}: … and {len(bad) - _MAX_WARNINGS} more entries ignored")
    index = raw.get("index", "")
    # "ignored": the manifest on the target is rewritten without the bad entries
    return {"files": files, "index": index if isinstance(index, str) else "", "ignored": len(bad)}


def _listing(fs: Any, root: str) -> tuple[dict[str, int], list[str]]:
    """``<date>/<file>`` → size of the reader files on the target (what readers can open now), and the
    temporary files an interrupted publication left behind; a listed path that fails the scope check is
    not ours and is ignored."""
    out: dict[str, int] = {}
    leftovers: list[str] = []
    if _is_local(fs):
        _refuse_links(root)
    try:
        if not fs.exists(root or "/") and root:
            return out, leftovers
        found = fs.find(root or "", maxdepth=2, detail=True)
    except FileNotFoundError:
        return out, leftovers
    prefix = root.rstrip("/") + "/" if root else ""
    for path, info in found.items():
        path = path.lstrip("/") if not root else path
        rel = path[len(prefix):] if prefix and path.startswith(prefix) else path.lstrip("/")
        if "/" in rel and _in_target(rel):
            out[rel] = int(info.get("size") or 0)
        elif _in_target(rel, leftover=True):
            leftovers.append(rel)
    return out, leftovers


def published_manifest(out_dir: Path, target: str) -> dict:
    """The manifest of ``target`` as this machine last published it (``{}`` when never)."""
    path = Path(out_dir) / cache.CACHE_DIR / _PUBLISHED_DIR / f"{_slug(target)}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return raw if isinstance(raw, dict) and isinstance(raw.get("files", {}), dict) else {}


def _slug(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- plan
def _local_files(out_dir: Path, dates: list[str] | None, decks: list[str] | None,
                 regions: list[str] | None, plan: PublishPlan) -> dict[str, Path]:
    """The reader files to publish: ``<date>/<file>`` → local path, only those render checked."""
    chosen = {}
    for rel in sorted(local_listing(out_dir)):
        if not _in_scope(rel, dates, decks, regions):
            continue
        date, file = rel.split("/")
        match = deck_file(file)
        name = file[:-len(match["suffix"])]
        path = outfs.within(Path(out_dir), rel, _reader_name)
        record = cache.read_record(out_dir, date, name)
        digest = cache.file_hashes([path])[str(path.resolve())]
        if record is None or record.outputs.get(file) != digest:
            plan.skipped.append((rel, "not the file render checked (render it again)"))
            continue
        chosen[rel] = path
        plan.hashes[rel] = digest
        plan.sizes[rel] = path.stat().st_size
    return chosen


def _in_scope(rel: str, dates: list[str] | None, decks: list[str] | None, regions: list[str] | None) -> bool:
    date, _, file = rel.partition("/")
    match = deck_file(file)
    if match is None or (dates is not None and date not in dates):
        return False
    if decks and match["deck"] not in decks:
        return False
    if regions and "all" not in regions and match["region"] not in regions:
        return False
    if regions and "all" in regions and not match["region"]:
        return False
    return True


def plan_publish(out_dir: Path, manifest: dict, present: dict[str, int], *, dates: list[str] | None,
                 decks: list[str] | None = None, regions: list[str] | None = None) -> tuple[PublishPlan, dict]:
    """What to add, replace and remove; and the local files to send."""
    plan = PublishPlan()
    local = _local_files(Path(out_dir), dates, decks, regions, plan)
    known = {rel: entry for rel, entry in manifest.get("files", {}).items()
             if _in_target(rel) and "/" in rel and isinstance(entry, dict)}
    for rel in local:
        entry = known.get(rel)
        if entry is None and rel not in present:
            plan.add.append(rel)
        elif entry and entry.get("sha256") == plan.hashes[rel] and present.get(rel) == plan.sizes[rel]:
            plan.unchanged.append(rel)
        else:
            plan.replace.append(rel)
    skipped = {rel for rel, _ in plan.skipped}
    for rel in sorted(known):
        # only files this toolkit published (in the manifest), in scope, gone from <out>; a deck that
        # exists but was not checked stays as it was published
        if rel not in local and rel not in skipped and _in_scope(rel, dates, decks, regions):
            plan.remove.append(rel)
    return plan, local


# --------------------------------------------------------------------------- upload
def _put(fs: Any, root: str, rel: str, data: bytes, target: Target) -> None:
    """Upload ``data`` to ``rel`` under a temporary name, then rename it over the old file."""
    if _is_local(fs):  # a refused link or path is an OutputError or ScopeError, one line naming it
        try:
            outfs.write_bytes(_local_path(root, rel, create=True), data)
        except outfs.OutputError as exc:
            raise PublishError(f"{rel}: upload to {target.shown} failed: {exc} (the previous publication "
                               "is still in place)") from None
        return
    remote = _join(root, _scoped(rel))
    folder, _, name = remote.rpartition("/")
    try:
        if folder:
            fs.makedirs(folder, exist_ok=True)
        if _is_s3(fs):
            fs.pipe_file(remote, data)  # an S3 object is replaced whole by its PUT
            return
        tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:12]}.part" if folder else f".{name}.{uuid.uuid4().hex[:12]}.part"
        try:
            fs.pipe_file(tmp, data)
            _rename(fs, tmp, remote)
            tmp = None
        finally:
            if tmp is not None:
                try:
                    fs.rm_file(tmp)
                except Exception:  # best effort: the connection may be gone
                    pass
    except Exception as exc:
        raise PublishError(f"{rel}: upload to {target.shown} failed: {_reason(exc)} (the previous publication "
                           "is still in place; publish again)") from None


def _remove(fs: Any, root: str, rel: str, *, leftover: bool = False) -> None:
    """Remove ``rel`` from the target (a name that is gone already is fine)."""
    try:
        if _is_local(fs):
            os.unlink(_local_path(root, rel, leftover=leftover))  # a link there: the link goes, not its target
        else:
            fs.rm_file(_join(root, _scoped(rel, leftover=leftover)))
    except FileNotFoundError:
        pass


def _rename(fs: Any, tmp: str, remote: str) -> None:
    client = getattr(fs, "client", None)
    if client is not None and hasattr(client, "move"):  # WebDAV: MOVE with Overwrite: T, on the server
        client.move(tmp, remote, overwrite=True)
        return
    try:
        fs.mv(tmp, remote)
    except (FileExistsError, OSError):
        fs.rm_file(remote)  # servers whose rename refuses an existing name (some SFTP)
        fs.mv(tmp, remote)


def _write_manifest(fs: Any, root: str, files: dict, index: str, target: Target, out_dir: Path,
                    old: dict | None = None) -> None:
    """Write the manifest on the target (unless it already says this) and keep a copy in the cache."""
    if old is None or old.get("ignored") or old.get("files") != files or old.get("index", "") != index:
        body = json.dumps({"format": 1, "files": files, "index": index}, indent=1, sort_keys=True).encode()
        _put(fs, root, MANIFEST_NAME, body, target)
    folder = outfs.safe_dir(outfs.safe_dir(Path(out_dir) / cache.CACHE_DIR) / _PUBLISHED_DIR)
    outfs.write_bytes(folder / f"{_slug(target.name)}.json",
                      json.dumps({"target": redact(target.url), "public_url": redact(target.public_url),
                                  "files": files}, indent=1, sort_keys=True).encode())


def publish(out_dir: Path, target: Target, *, dates: list[str] | None, decks: list[str] | None = None,
            regions: list[str] | None = None, dry_run: bool = False,
            progress: Progress = lambda _: None, warn: Progress | None = None) -> PublishPlan:
    """Publish the checked reader files of ``dates`` (None: every date) and the index to ``target``.

    Raises :class:`PublishError` naming the file whose upload failed (what was sent before it is
    recorded in the manifest, so that the next run sends only the rest). ``warn`` gets each warning
    (a damaged manifest, an entry ignored), one line each; by default they go to ``progress``.
    """
    out_dir = Path(out_dir)
    warn = warn or (lambda line: progress(f"warning: {line}"))
    for date in dates or ():
        if not outfs.is_date_folder(date):
            raise PublishError(f"expected a date YYYY-MM-DD, got {quote(date)}")
        if not (out_dir / date).is_dir():
            raise PublishError(f"{out_dir / date}: no decks rendered for {date} (render --date {date} first)")
    fs, root = open_target(target)
    if _is_local(fs) and Path(root).resolve().is_relative_to(out_dir.resolve()):
        raise ConfigError(f"target {target.shown}: inside the output folder {out_dir} (expected a share or a "
                          "folder elsewhere)")
    progress(f"publish: reading {target.shown}")
    try:
        manifest = _read_manifest(fs, root, target.shown, warn)
        present, leftovers = _listing(fs, root)
    except EsanteReportError:
        raise
    except Exception as exc:
        raise PublishError(f"cannot read {target.shown}: {_reason(exc)}") from None
    plan, local = plan_publish(out_dir, manifest, present, dates=dates, decks=decks, regions=regions)
    files = {rel: entry for rel, entry in manifest.get("files", {}).items() if rel in present}
    after = {rel: size for rel, size in present.items() if rel in files}
    for rel in plan.sends:
        after[rel] = plan.sizes[rel]
    for rel in plan.remove:
        after.pop(rel, None)
    from esante_report.outdir.index import planned_dates

    page_dates = collect(out_dir, after, set(dates) if dates is not None else planned_dates(out_dir))
    index_digest = hashlib.sha256(json.dumps(page_dates, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    if manifest.get("index") != index_digest or not {INDEX_NAME, FEED_NAME} <= _top_files(fs, root):
        plan.index = "replace" if INDEX_NAME in _top_files(fs, root) else "add"
    if dry_run:
        return plan
    if _is_local(fs):
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as exc:
            raise outfs.os_error(exc, root) from None
    try:
        for count, rel in enumerate(plan.sends, 1):
            progress(f"publish: {'adding' if rel in plan.add else 'replacing'} {rel} "
                     f"({count}/{len(plan.sends)})")
            _put(fs, root, rel, local[rel].read_bytes(), target)
            files[rel] = {"sha256": plan.hashes[rel], "size": plan.sizes[rel]}
        if plan.index != "unchanged":
            progress(f"publish: writing {INDEX_NAME}")
            _put(fs, root, FEED_NAME, render_feed(page_dates, target.public_url), target)
            _put(fs, root, INDEX_NAME, render_page(page_dates).encode("utf-8"), target)
        for rel in plan.remove:
            progress(f"publish: removing {rel}")
            try:
                _remove(fs, root, rel)
            except EsanteReportError:
                raise
            except Exception as exc:
                raise PublishError(f"{rel}: cannot remove it from {target.shown}: {_reason(exc)}") from None
            files.pop(rel, None)
    except EsanteReportError:
        try:  # record what did arrive, so the next run sends only the rest
            _write_manifest(fs, root, files, manifest.get("index", ""), target, out_dir)
        except EsanteReportError:
            pass
        raise
    _write_manifest(fs, root, files, index_digest, target, out_dir, old=manifest)
    for rel in leftovers:  # temporary files of an interrupted publication (never a reader's file)
        try:
            _remove(fs, root, rel, leftover=True)
        except Exception:
            pass
    return plan


def _top_files(fs: Any, root: str) -> set[str]:
    try:
        return {str(p).rstrip("/").rpartition("/")[2] for p in fs.ls(root or "", detail=False)}
    except Exception:
        return set()


def summary_table(plan: PublishPlan, dry_run: bool) -> str:
    """One line per file the publication changes (or would), then the totals."""
    verb = {"add": "would add" if dry_run else "added", "replace": "would replace" if dry_run else "replaced",
            "remove": "would remove" if dry_run else "removed"}
    rows = [(verb["add"], rel) for rel in plan.add] + [(verb["replace"], rel) for rel in plan.replace]
    if plan.index != "unchanged":
        rows.append((verb[plan.index], INDEX_NAME))
    rows += [(verb["remove"], rel) for rel in plan.remove]
    rows += [("skipped", f"{rel}: {why}") for rel, why in plan.skipped]
    from esante_report.fmt import text_table

    lines = text_table([("action", "file"), *rows])
    lines.append(f"{len(plan.add)} added, {len(plan.replace)} replaced, {len(plan.remove)} removed, "
                 f"{len(plan.unchanged)} unchanged" + (" (dry run: nothing sent)" if dry_run else ""))
    return "\n".join(lines)
