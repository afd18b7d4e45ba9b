"""``publish``: only checked reader files and the index reach the share (a folder, a real WebDAV server),
nothing unchanged is sent twice, a dropped upload leaves the previous publication readable."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from esante_report.pipeline import cache
from esante_report.cli.main import main
from esante_report.outdir.index import remember_expected

from . import _servers

DATE = "2021-11-15"
DECKS = ("post_covid", "post_covid-OCC")


def _write_deck(out: Path, name: str, html: bytes, pdf: bytes, date: str = DATE) -> None:
    """A deck as render leaves it: the three files and the cache record of what it checked."""
    folder = out / date
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.html").write_bytes(html)
    (folder / f"{name}.pdf").write_bytes(pdf)
    (folder / f"{name}.ipynb").write_text('{"cells": []}', encoding="utf-8")
    outputs = {f"{name}{s}": cache.file_hashes([folder / f"{name}{s}"])[str((folder / f"{name}{s}").resolve())]
               for s in (".html", ".pdf", ".ipynb")}
    cache.write_record(out, date, name, cache.Record(key="k", data={}, outputs=outputs, slides=3,
                                                     title=f"Titre <{name}> & co"))


@pytest.fixture
def fake_out(tmp_path: Path) -> Path:
    """An output tree with two good decks, a failed one (evidence in failed/), the cache, a lock and mail/."""
    out = tmp_path / "outputs"
    for name in DECKS:
        _write_deck(out, name, f"<p>{name}</p>".encode(), b"%PDF-1.7 " + name.encode() * 400)
    failed = out / DATE / "failed"
    failed.mkdir()
    (failed / "post_covid-IDF.pdf").write_bytes(b"%PDF rejected")
    (out / DATE / "mail").mkdir()
    (out / DATE / "mail" / "post_covid.eml").write_text("Subject: x\n\nbody", encoding="utf-8")
    (out / ".esante-report.lock").write_text("")
    remember_expected(out, [(DATE, n, "") for n in DECKS] + [(DATE, "post_covid-IDF", "Cellules — Île-de-France")])
    return out


def _title(deck) -> str:
    """The title of a deck of the index, as a screen reader says it (whitespace folded)."""
    return " ".join(deck.select_one(".idx-title").get_text().split())


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _publish(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["publish", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


EXPECTED = {".esante-manifest.json", "index.html", "feed.xml", f"{DATE}/post_covid.html", f"{DATE}/post_covid.pdf",
            f"{DATE}/post_covid-OCC.html", f"{DATE}/post_covid-OCC.pdf"}


def test_local_folder_gets_only_reader_files_and_index_once(fake_out, tmp_path, capsys):
    share = tmp_path / "share"
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    assert code == 0, err
    assert _files(share) == EXPECTED
    assert (share / DATE / "post_covid.pdf").read_bytes() == (fake_out / DATE / "post_covid.pdf").read_bytes()
    before = {f: os.stat(share / f).st_mtime_ns for f in EXPECTED}

    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    assert code == 0 and "0 added, 0 replaced, 0 removed, 4 unchanged" in out
    assert {f: os.stat(share / f).st_mtime_ns for f in EXPECTED if f != ".esante-manifest.json"} == \
        {f: t for f, t in before.items() if f != ".esante-manifest.json"}

    _write_deck(fake_out, "post_covid-OCC", b"<p>new</p>", b"%PDF-1.7 new OCC deck")
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    assert code == 0
    assert re.findall(r"^replaced\s+(\S+)", out, re.M) == [f"{DATE}/post_covid-OCC.html", f"{DATE}/post_covid-OCC.pdf",
                                                          "index.html"]
    assert os.stat(share / DATE / "post_covid.pdf").st_mtime_ns == before[f"{DATE}/post_covid.pdf"]
    assert (share / DATE / "post_covid-OCC.pdf").read_bytes() == b"%PDF-1.7 new OCC deck"
    assert not [f for f in os.listdir(share / DATE) if f.endswith(".part")]


def test_dry_run_lists_add_replace_remove_and_sends_nothing(fake_out, tmp_path, capsys):
    share = tmp_path / "share"
    assert _publish(capsys, "--date", DATE, "--out", str(fake_out), "--to", str(share))[0] == 0
    _write_deck(fake_out, "post_covid", b"<p>changed</p>", b"%PDF changed")
    _write_deck(fake_out, "post_covid-IDF", b"<p>IDF</p>", b"%PDF IDF")
    for suffix in (".html", ".pdf", ".ipynb"):
        (fake_out / DATE / f"post_covid-OCC{suffix}").unlink()
    snapshot = {f: (share / f).read_bytes() for f in _files(share)}
    code, out, _ = _publish(capsys, "--date", DATE, "--out", str(fake_out), "--to", str(share), "--dry-run")
    assert code == 0
    actions = set(re.findall(r"^(would \w+)\s+(\S+)$", out, re.M))
    assert actions == {("would add", f"{DATE}/post_covid-IDF.html"), ("would add", f"{DATE}/post_covid-IDF.pdf"),
                       ("would replace", f"{DATE}/post_covid.html"), ("would replace", f"{DATE}/post_covid.pdf"),
                       ("would replace", "index.html"),
                       ("would remove", f"{DATE}/post_covid-OCC.html"), ("would remove", f"{DATE}/post_covid-OCC.pdf")}
    assert "nothing sent" in out
    assert {f: (share / f).read_bytes() for f in _files(share)} == snapshot


def test_leftovers_of_an_interrupted_publication_are_removed(fake_out, tmp_path, capsys):
    share = tmp_path / "share"
    assert _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))[0] == 0
    leftover = share / DATE / ".post_covid.pdf.0123456789ab.part"
    leftover.write_bytes(b"half a deck")
    other = share / DATE / ".notes.part"  # not ours: left alone
    other.write_bytes(b"x")
    assert _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))[0] == 0
    assert not leftover.exists() and other.exists()


def test_a_file_render_did_not_check_is_not_published(fake_out, tmp_path, capsys):
    (fake_out / DATE / "post_covid.pdf").write_bytes(b"%PDF edited by hand")
    share = tmp_path / "share"
    code, out, _ = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    assert code == 0
    assert f"skipped  {DATE}/post_covid.pdf: not the file render checked" in out
    assert not (share / DATE / "post_covid.pdf").exists() and (share / DATE / "post_covid.html").exists()


def test_share_index_lists_formats_sizes_and_the_missing_deck(fake_out, tmp_path, capsys):
    share = tmp_path / "share"
    _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    soup = BeautifulSoup((share / "index.html").read_text(encoding="utf-8"), "html.parser")
    rows = {_title(deck): deck for deck in soup.select(".idx-deck")}
    assert list(rows) == ["Titre <post_covid> & co", "Cellules — Île-de-France", "Titre <post_covid-OCC> & co"]
    assert "<post_covid>" not in (share / "index.html").read_text(encoding="utf-8")  # escaped
    missing = rows["Cellules — Île-de-France"]
    assert "idx-missing" in missing["class"] and "Non disponible" in missing.get_text()
    assert not missing.select("a")
    size = (fake_out / DATE / "post_covid.pdf").stat().st_size
    assert f"(PDF, {round(size / 1024)} Ko)" in rows["Titre <post_covid> & co"].get_text()
    assert all((share / a["href"]).is_file() for a in soup.select("a"))
    assert not soup.select("script[src], link[href]:not([rel=alternate]), img[src^='http']")


def test_publish_sends_the_feed_with_the_readers_addresses(fake_out, tmp_path, share_env, capsys):
    """feed.xml reaches the share with the index: one entry per published deck, linked at public_url."""
    import xml.etree.ElementTree as ET

    share = tmp_path / "share"
    config = _config(tmp_path, str(share))
    code, _, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert code == 0, err
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(share / "feed.xml").getroot()
    assert feed.tag == f"{atom}feed"
    links = sorted(e.find(f"{atom}link[@rel='alternate']").get("href") for e in feed.iter(f"{atom}entry"))
    assert links == sorted(f"https://intranet.example.fr/decks/{DATE}/{name}.html" for name in DECKS)
    assert [e.findtext(f"{atom}title") for e in feed.iter(f"{atom}entry")] == [
        "Titre <post_covid> & co — 15 novembre 2021", "Titre <post_covid-OCC> & co — 15 novembre 2021"]
    soup = BeautifulSoup((share / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert soup.select_one("link[rel=alternate][type='application/atom+xml']")["href"] == "feed.xml"


def test_outputs_index_marks_the_missing_regional_deck(fake_out):
    from esante_report.outdir.index import write_index

    soup = BeautifulSoup(write_index(fake_out).read_text(encoding="utf-8"), "html.parser")
    missing = [_title(deck) for deck in soup.select(".idx-deck.idx-missing")]
    assert missing == ["Cellules — Île-de-France"]


def test_expected_decks_follow_the_params_file(fake_out):
    from esante_report.outdir.index import expected

    remember_expected(fake_out, [(DATE, "catalogue", "")], {DATE: {"catalogue"}})
    assert sorted(expected(fake_out, DATE)) == ["catalogue"]  # post_covid left the params file of the date
    remember_expected(fake_out, [(DATE, "post_covid-GE", "")], {DATE: {"catalogue", "post_covid"}})
    assert sorted(expected(fake_out, DATE)) == ["catalogue", "post_covid-GE"]


# --------------------------------------------------------------------------- what the share says is not trusted
MANIFEST = ".esante-manifest.json"


def _tree(root: Path) -> dict[str, bytes]:
    """Every file and link under ``root`` (links as their target): what a test compares before and after."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = b"-> " + os.readlink(path).encode() if path.is_symlink() else (
            path.read_bytes() if path.is_file() else b"<dir>")
    return out


def _tamper(share: Path, entries: list[str]) -> None:
    """Add ``entries`` to the share's manifest, each with a sha256 and size like a real entry."""
    manifest = json.loads((share / MANIFEST).read_text(encoding="utf-8"))
    for rel in entries:
        manifest["files"][rel] = {"sha256": "0" * 64, "size": 1}
    (share / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: ")]


def test_tampered_manifest_removes_nothing_outside_the_target(fake_out, tmp_path, capsys):
    site = tmp_path / "site"
    share = site / "share"
    assert _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))[0] == 0
    victims = {site / "post_covid.pdf": b"beside the share", site / "x": b"x",
               tmp_path / "abs" / "post_covid-OCC.pdf": b"anywhere on the machine"}
    for path, data in victims.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    hostile = ["../post_covid.pdf", f"{DATE}/../../x", f"{DATE}/../../post_covid.pdf", str(tmp_path / "abs" /
               "post_covid-OCC.pdf"), f"{DATE}\\..\\..\\post_covid.pdf", f"{DATE}/post_covid.pdf\x00",
               "../../site/post_covid.pdf", f"..\\post_covid.pdf", "C:/post_covid.pdf", f"./{DATE}/post_covid.pdf"]
    _tamper(share, hostile)
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    assert code == 0, err
    assert {path: path.read_bytes() for path in victims} == victims
    assert _files(share) == EXPECTED
    warnings = _warnings(err)
    assert len(warnings) == len(hostile)
    assert f"warning: {share}: {MANIFEST}: entry ignored: '../post_covid.pdf': leaves its folder ('..')" in warnings
    assert any(f"{DATE}/post_covid.pdf\\x00': holds an unprintable character" in w for w in warnings)
    assert any("an absolute path" in w for w in warnings) and any("holds a backslash" in w for w in warnings)
    assert all(w.count("\n") == 0 and "entry ignored" in w for w in warnings)
    manifest = json.loads((share / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == sorted(EXPECTED - {MANIFEST, "index.html", "feed.xml"})  # the bad entries are dropped


def test_symlinked_date_folder_or_manifest_on_a_local_share_is_refused(fake_out, tmp_path, capsys):
    share = tmp_path / "share"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    share.mkdir()
    (share / DATE).symlink_to(elsewhere, target_is_directory=True)
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    assert code == 1
    assert err.strip().splitlines()[-1] == (f"error: {share / DATE}: is a symbolic link; refusing to write or "
                                            "delete through it (expected a plain folder: remove the link)")
    assert [line for line in err.splitlines() if not line.startswith("[")] == [err.strip().splitlines()[-1]]
    assert list(elsewhere.iterdir()) == [] and _tree(share) == {DATE: f"-> {elsewhere}".encode()}

    (share / DATE).unlink()
    assert _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))[0] == 0
    target = elsewhere / "manifest.json"
    target.write_text('{"files": {}}', encoding="utf-8")
    (share / MANIFEST).unlink()
    (share / MANIFEST).symlink_to(target)
    _write_deck(fake_out, "post_covid", b"<p>v2</p>", b"%PDF v2")
    before = _tree(share)
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    assert code == 1
    assert [line for line in err.splitlines() if not line.startswith("[")] == [
        f"error: {share / MANIFEST}: is a symbolic link; refusing to read or replace it through the link "
        "(expected a plain file: remove the link)"]
    assert target.read_text(encoding="utf-8") == '{"files": {}}' and _tree(share) == before


DAMAGED = {"a JSON list": b"[]", "a JSON string": b'"files"', "files as a list": b'{"files": []}',
           "nested too deeply": b"[" * 200_000 + b"]" * 200_000, "invalid UTF-8": b'{"files": {"\xff\xfe": 1}}'}


@pytest.mark.parametrize("damage", DAMAGED)
def test_damaged_manifest_is_treated_as_absent(fake_out, tmp_path, capsys, damage):
    share = tmp_path / "share"
    assert _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))[0] == 0
    outside = tmp_path / "post_covid.pdf"
    outside.write_bytes(b"not on the share")
    (share / MANIFEST).write_bytes(DAMAGED[damage])
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
    assert code == 0, err
    warnings = _warnings(err)
    assert len(warnings) == 1 and "Traceback" not in err
    assert re.fullmatch(rf"warning: {re.escape(str(share))}: {re.escape(MANIFEST)}: damaged \(.+\); treated as "
                        r"absent: every file is sent again", warnings[0]), warnings
    assert "4 replaced, 0 removed" in out  # everything sent again, nothing removed
    assert _files(share) == EXPECTED and outside.read_bytes() == b"not on the share"
    manifest = json.loads((share / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == sorted(EXPECTED - {MANIFEST, "index.html", "feed.xml"})


def _hostile_names() -> list[str]:
    """Many entry names a tampered manifest could hold: every way of leaving the folder we know of, combined."""
    dates = ["..", ".", "", DATE, "2021-13-01", "٢٠٢١-١١-١٥", "2021-11-15\n", " 2021-11-15", "2021-11-15 ",
             "C:", "c:\\", "\\\\host\\share", "%2e%2e", "2021-11-15\x00", "~", "/"]
    middles = ["", "/..", "/../..", "/.", "//", "\\..", "/../../..", "/\x00/", "/..\\"]
    files = ["post_covid.pdf", "post_covid-OCC.html", "x", "post_covid.pdf\n", "../post_covid.pdf", "..",
             "post_covid.pdf/..", ".esante-manifest.json", "index.html", "feed.xml"]
    names = {f"{d}{m}/{f}" for d, m, f in itertools.product(dates, middles, files)}
    names |= {f"/{n}" for n in list(names)[:200]} | {n.replace("/", "\\") for n in list(names)[:200]}
    names |= {"../" * depth + "post_covid.pdf" for depth in range(1, 12)}
    names.discard(f"{DATE}/post_covid.pdf")
    names.discard(f"{DATE}/post_covid-OCC.html")
    return sorted(names)


def test_no_manifest_entry_touches_a_file_outside_the_target(fake_out, tmp_path, capsys):
    names = _hostile_names()
    assert len(names) > 1000
    site = tmp_path / "a" / "b" / "site"
    share = site / "share"
    assert _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))[0] == 0
    for depth, folder in enumerate([tmp_path, tmp_path / "a", tmp_path / "a" / "b", site]):
        for name in ("post_covid.pdf", "post_covid-OCC.html", "x", "index.html", "feed.xml", MANIFEST):
            (folder / name).write_bytes(f"outside {depth} {name}".encode())
        (folder / DATE).mkdir(exist_ok=True)
        (folder / DATE / "post_covid.pdf").write_bytes(b"outside, in a date folder")
    _tamper(share, names)
    outside = {p: b for p, b in _tree(tmp_path).items() if not p.startswith(("a/b/site/share", "outputs"))}
    for run in range(2):  # the second run starts from the manifest the first one wrote
        code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", str(share))
        assert code == 0, err
        assert {p: b for p, b in _tree(tmp_path).items() if not p.startswith(("a/b/site/share", "outputs"))} == outside
        assert _files(share) == EXPECTED
        # ten entries named, the rest counted in one line; the rewritten manifest holds none of them
        assert len(_warnings(err)) == (11 if run == 0 else 0), err
        assert run or _warnings(err)[-1] == f"warning: {share}: {MANIFEST}: … and {len(names) - 10} more entries ignored"
    manifest = json.loads((share / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == sorted(EXPECTED - {MANIFEST, "index.html", "feed.xml"})


def test_scope_check_keeps_every_generated_name_inside_its_folder(tmp_path):
    from esante_report.outdir import fs as outfs

    root = tmp_path / "root"
    root.mkdir()
    kept = []
    for name in _hostile_names() + [f"{DATE}/post_covid.pdf", f"{DATE}/post_covid-OCC.html"]:
        try:
            path = outfs.within(root, name, lambda f: f in ("post_covid.pdf", "post_covid-OCC.html"), create=True)
        except outfs.ScopeError as exc:
            assert "\n" not in str(exc)
            continue
        assert path.parent.parent == root and os.path.realpath(path).startswith(str(root) + os.sep)
        kept.append(name)
    assert kept == [f"{DATE}/post_covid.pdf", f"{DATE}/post_covid-OCC.html"]
    assert [p.name for p in root.iterdir()] == [DATE]


# --------------------------------------------------------------------------- WebDAV
@pytest.fixture
def webdav(tmp_path):
    root = tmp_path / "dav"
    root.mkdir()
    server = _servers.WebDav(root)
    yield server
    server.stop()


def _config(tmp_path: Path, url: str, mode: int = 0o644, inline: bool = False) -> Path:
    credentials = (f'username = "{_servers.USER}"\npassword = "{_servers.PASSWORD}"\n' if inline else
                   'username_env = "TEST_SHARE_USER"\npassword_env = "TEST_SHARE_PASSWORD"\n')
    path = tmp_path / "esante-report.toml"
    path.write_text(f'[targets.share]\nurl = "{url}"\npublic_url = "https://intranet.example.fr/decks/"\n'
                    + credentials, encoding="utf-8")
    os.chmod(path, mode)
    return path


@pytest.fixture
def share_env(monkeypatch):
    monkeypatch.setenv("TEST_SHARE_USER", _servers.USER)
    monkeypatch.setenv("TEST_SHARE_PASSWORD", _servers.PASSWORD)


def _deck_puts(server) -> list[str]:
    """Deck files uploaded (under their temporary names), without the manifest, the index and its feed."""
    return sorted(re.sub(r"^/(.*)/\.(.+)\.[0-9a-f]{12}\.part$", r"\1/\2", p) for p in server.puts()
                  if "manifest" not in p and "index.html" not in p and "feed.xml" not in p)


def test_webdav_publish_is_idempotent_and_resends_only_a_changed_deck(fake_out, tmp_path, webdav, share_env, capsys):
    config = _config(tmp_path, f"webdav+http://127.0.0.1:{webdav.port}/")
    args = ("--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    code, out, err = _publish(capsys, *args)
    assert code == 0, err
    assert _files(webdav.root) == EXPECTED
    assert _deck_puts(webdav) == sorted(EXPECTED - {".esante-manifest.json", "index.html", "feed.xml"})
    assert (webdav.root / DATE / "post_covid-OCC.pdf").read_bytes() == (fake_out / DATE / "post_covid-OCC.pdf").read_bytes()

    webdav.requests.clear()
    code, out, err = _publish(capsys, *args)
    assert code == 0 and "0 added, 0 replaced" in out
    assert webdav.puts() == [] and not [m for m, _ in webdav.requests if m in ("MOVE", "DELETE")]

    webdav.requests.clear()
    _write_deck(fake_out, "post_covid", b"<p>changed national</p>", b"%PDF changed national")
    code, out, err = _publish(capsys, *args)
    assert code == 0, err
    assert _deck_puts(webdav) == [f"{DATE}/post_covid.html", f"{DATE}/post_covid.pdf"]
    assert (webdav.root / DATE / "post_covid.pdf").read_bytes() == b"%PDF changed national"
    assert _servers.PASSWORD not in out + err
    for root in (fake_out, webdav.root):
        assert not [p for p in root.rglob("*") if p.is_file() and _servers.PASSWORD.encode() in p.read_bytes()]


def test_webdav_connection_dropped_mid_upload_leaves_previous_files(fake_out, tmp_path, webdav, share_env, capsys):
    relay = _servers.DroppingRelay(webdav.port)
    try:
        config = _config(tmp_path, f"webdav+http://127.0.0.1:{relay.port}/")
        args = ("--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
        assert _publish(capsys, *args)[0] == 0
        old_pdf = (webdav.root / DATE / "post_covid.pdf").read_bytes()
        old_index = (webdav.root / "index.html").read_bytes()
        _write_deck(fake_out, "post_covid", b"<p>v2</p>", b"%PDF v2 " + os.urandom(300_000).hex().encode())
        relay.drop_on = b".post_covid.pdf."
        code, out, err = _publish(capsys, *args)
        assert relay.dropped
        assert code == 1
        lines = [line for line in err.splitlines() if not line.startswith("[")]  # progress lines start with [
        assert len(lines) == 1 and "Traceback" not in err
        assert re.match(rf"error: {DATE}/post_covid\.pdf: upload to share \(webdav\+http://127\.0\.0\.1:\d+/\) "
                        r"failed: .*previous publication is still in place", lines[0]), lines[0]
        assert (webdav.root / DATE / "post_covid.pdf").read_bytes() == old_pdf
        assert (webdav.root / "index.html").read_bytes() == old_index

        relay.drop_on = None
        webdav.requests.clear()
        code, out, err = _publish(capsys, *args)
        assert code == 0, err
        assert _deck_puts(webdav) == [f"{DATE}/post_covid.pdf"]  # the HTML arrived before the drop
        assert (webdav.root / DATE / "post_covid.pdf").read_bytes() == (fake_out / DATE / "post_covid.pdf").read_bytes()
        assert not [f for f in os.listdir(webdav.root / DATE) if f.endswith(".part")]
        assert _servers.PASSWORD not in out + err
    finally:
        relay.stop()


def test_credentials_in_a_config_readable_by_others_are_refused(fake_out, tmp_path, webdav, capsys):
    config = _config(tmp_path, f"webdav+http://127.0.0.1:{webdav.port}/", mode=0o644, inline=True)
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert code == 1 and "holds a credential but can be read by others (mode 644)" in err
    assert len(err.strip().splitlines()) == 1 and _servers.PASSWORD not in out + err
    assert not (tmp_path / "dav" / DATE).exists()
    os.chmod(config, 0o600)
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert code == 0, err
    assert _files(webdav.root) == EXPECTED and _servers.PASSWORD not in out + err


def test_wrong_password_unknown_target_and_missing_backend_are_one_line(fake_out, tmp_path, webdav, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv("TEST_SHARE_USER", _servers.USER)
    monkeypatch.setenv("TEST_SHARE_PASSWORD", "wrong-" + _servers.PASSWORD)
    config = _config(tmp_path, f"webdav+http://127.0.0.1:{webdav.port}/")
    cases = [
        (("--to", "share", "--config", str(config)), r"error: cannot read share \(.*\): .*"),
        (("--to", "intranet", "--config", str(config)), r"error: unknown target 'intranet' \(targets of the config: share"),
        (("--to", f"webdav+http://{_servers.USER}:{_servers.PASSWORD}@127.0.0.1:{webdav.port}/"),
         r"error: webdav\+http://\*\*\*@127\.0\.0\.1:\d+/: a password in a URL given on the command line is refused"),
    ]
    if not _has("sshfs"):
        cases.append((("--to", "sftp://host.example/decks"), r"error: SFTP targets need the sshfs package: "
                                                              r"pip install 'esante-report\[sftp\]'"))
    for extra, expected in cases:
        code, out, err = _publish(capsys, "--all", "--out", str(fake_out), *extra)
        assert code == 1
        errors = [line for line in err.splitlines() if not line.startswith("[")]
        assert len(errors) == 1 and "Traceback" not in err
        assert re.match(expected, errors[0]), err
        assert "wrong-" not in out + err and _servers.PASSWORD not in out + err
    monkeypatch.delenv("TEST_SHARE_PASSWORD")
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert code == 1 and "password_env = 'TEST_SHARE_PASSWORD': that environment variable is not set" in err


#: a password holding '@', ':', '/' and '%', made of pieces none of which may ever be printed or stored
SECRET = "Zq7@Kx9:Vb3/Wm5%Rt2"
SECRET_PIECES = ("Zq7", "Kx9", "Vb3", "Wm5", "Rt2")


def test_a_password_holding_at_colon_slash_percent_is_never_printed_or_stored(fake_out, tmp_path, capsys):
    root = tmp_path / "dav"
    root.mkdir()
    server = _servers.WebDav(root, password=SECRET)
    encoded = "Zq7@Kx9:Vb3%2FWm5%25Rt2"  # '@' and ':' may stay as they are in a password; '/' and '%' may not
    config = tmp_path / "esante-report.toml"
    config.write_text(f'[targets.share]\nurl = "webdav+http://{_servers.USER}:{encoded}@127.0.0.1:{server.port}/"\n'
                      'public_url = "https://intranet.example.fr/decks/"\n'
                      f'[targets.dead]\nurl = "webdav+http://{_servers.USER}:{encoded}@127.0.0.1:{_servers.free_port()}/"\n'
                      f'[targets.raw]\nurl = "webdav+http://{_servers.USER}:{SECRET}@127.0.0.1:{server.port}/"\n',
                      encoding="utf-8")
    os.chmod(config, 0o600)
    seen = []
    try:
        code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
        seen.append(out + err)
        assert code == 0, err
        assert _files(root) == EXPECTED  # the server took the password, percent-decoded
        for target in ("dead", "raw"):
            code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", target, "--config", str(config))
            seen.append(out + err)
            assert code == 1 and "Traceback" not in err
            code = main(["--debug", "publish", "--all", "--out", str(fake_out), "--to", target, "--config", str(config)])
            captured = capsys.readouterr()
            seen.append(captured.out + captured.err)
            assert code == 1 and "Traceback" in captured.err
        for url in (f"webdav+http://{_servers.USER}:{SECRET}@127.0.0.1:{server.port}/",
                    f"webdav+http://{_servers.USER}:{encoded}@127.0.0.1:{server.port}/"):
            code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", url)
            seen.append(out + err)
            assert code == 1 and "a password in a URL given on the command line is refused" in err, err
    finally:
        server.stop()
    stored = list((fake_out / cache.CACHE_DIR / "published").glob("*.json"))
    assert [p for p in stored if "127.0.0.1" in p.read_text(encoding="utf-8")]  # what publish keeps of the share
    for piece in SECRET_PIECES:
        assert not [text for text in seen if piece in text], piece
        assert not [p for p in fake_out.rglob("*") if p.is_file() and piece.encode() in p.read_bytes()], piece


@pytest.mark.parametrize("entry", [
    'passphrase = "Zq7-Kx9-Vb3"',
    'passwd = "Zq7-Kx9-Vb3"',
    'options = { credentials = "Zq7-Kx9-Vb3" }',
    'public_url = "https://lecteur:Zq7-Kx9-Vb3@intranet.example.fr/decks/"',
])
def test_any_secret_in_a_config_readable_by_others_is_refused(fake_out, tmp_path, capsys, entry):
    config = tmp_path / "esante-report.toml"
    config.write_text(f'[targets.share]\nurl = "{tmp_path / "share"}"\n{entry}\n', encoding="utf-8")
    os.chmod(config, 0o644)
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "holds a credential but can be read by others (mode 644)" in err and "chmod 600" in err
    assert "Zq7" not in out + err and not (tmp_path / "share").exists()


def test_a_public_url_carrying_credentials_never_reaches_readers(fake_out, tmp_path, capsys):
    config = tmp_path / "esante-report.toml"
    config.write_text(f'[targets.share]\nurl = "{tmp_path / "share"}"\n'
                      'public_url = "https://lecteur:Zq7-Kx9-Vb3@intranet.example.fr/decks/"\n'
                      '[mail]\ntarget = "share"\n', encoding="utf-8")
    os.chmod(config, 0o600)
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert re.match(r"error: .*: \[targets\.share\] public_url: .* carries a user name or password", err), err
    assert "Zq7" not in out + err and not (tmp_path / "share").exists()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------- real decks
@pytest.mark.e2e
def test_rendered_decks_publish_without_notebooks_cache_or_failures(distribution_decks, tmp_path, capsys):
    out = tmp_path / "outputs"
    shutil.copytree(distribution_decks, out, symlinks=True)
    share = tmp_path / "share"
    code, stdout, err = _publish(capsys, "--date", DATE, "--out", str(out), "--to", str(share))
    assert code == 0, err
    rendered = {f"{DATE}/{p.name}" for p in (out / DATE).iterdir() if p.suffix in (".html", ".pdf", ".pptx", ".odp")}
    assert {f"{DATE}/post_covid.pdf", f"{DATE}/post_covid-OCC.pdf", f"{DATE}/post_covid-IDF.pdf"} <= rendered
    assert (out / DATE / "post_covid.ipynb").exists() and (out / ".esante-cache").is_dir()
    assert _files(share) == rendered | {"index.html", "feed.xml", ".esante-manifest.json"}
    soup = BeautifulSoup((share / "index.html").read_text(encoding="utf-8"), "html.parser")
    titles = [_title(deck) for deck in soup.select(".idx-deck")]
    assert titles == ["Cellules de coordination post-COVID", "Cellules de coordination post-COVID — Île-de-France",
                      "Cellules de coordination post-COVID — Mayotte", "Cellules de coordination post-COVID — Occitanie"]
    may = [deck for deck in soup.select(".idx-deck") if "Mayotte" in _title(deck)]
    assert len(may) == 1
    # the region with no patients rows: rendered, or shown as missing, never left out
    assert ("idx-missing" in (may[0].get("class") or [])) == (f"{DATE}/post_covid-MAY.pdf" not in rendered)


def test_webdav_folder_that_does_not_exist_yet_is_created(fake_out, tmp_path, webdav, share_env, capsys):
    config = _config(tmp_path, f"webdav+http://127.0.0.1:{webdav.port}/decks/2021%20T4/")
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert code == 0, err
    assert _files(webdav.root) == {f"decks/2021 T4/{f}" for f in EXPECTED}
    assert (webdav.root / "decks" / "2021 T4" / DATE / "post_covid.pdf").read_bytes() == \
        (fake_out / DATE / "post_covid.pdf").read_bytes()
    code, out, err = _publish(capsys, "--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert code == 0 and "0 added, 0 replaced, 0 removed, 4 unchanged" in out


def test_webdav_tampered_or_damaged_manifest_touches_nothing_outside_the_folder(fake_out, tmp_path, webdav, share_env,
                                                                                capsys):
    config = _config(tmp_path, f"webdav+http://127.0.0.1:{webdav.port}/decks/")
    args = ("--all", "--out", str(fake_out), "--to", "share", "--config", str(config))
    assert _publish(capsys, *args)[0] == 0
    folder = webdav.root / "decks"
    for name in ("post_covid.pdf", "post_covid-OCC.html"):
        (webdav.root / name).write_bytes(b"outside the target folder")
    (webdav.root / DATE).mkdir()
    (webdav.root / DATE / "post_covid.pdf").write_bytes(b"outside, in a date folder")
    _tamper(folder, _hostile_names())
    outside = {p: b for p, b in _tree(webdav.root).items() if not p.startswith("decks")}
    webdav.requests.clear()
    code, out, err = _publish(capsys, *args)
    assert code == 0, err
    assert {p: b for p, b in _tree(webdav.root).items() if not p.startswith("decks")} == outside
    assert not [path for method, path in webdav.requests if method == "DELETE" and not path.startswith("/decks/")]
    assert _files(folder) == EXPECTED
    assert len(_warnings(err)) == 11

    (folder / MANIFEST).write_bytes(b"[" * 100_000 + b"]" * 100_000)
    code, out, err = _publish(capsys, *args)
    assert code == 0, err
    assert _warnings(err) == [f"warning: share (webdav+http://127.0.0.1:{webdav.port}/decks/): {MANIFEST}: damaged "
                              "(nested too deeply); treated as absent: every file is sent again"]
    assert "4 replaced, 0 removed" in out and _files(folder) == EXPECTED
