"""``mail``: each region's mailbox on a real SMTP server (aiosmtpd on 127.0.0.1) holds exactly one message
carrying that region's own deck; reruns send nothing twice; a refused recipient is named and sent alone later."""

from __future__ import annotations

import email
import email.policy
import functools
import io
import re
import shutil
from pathlib import Path

import pytest

from esante_report.cli.main import main

from . import _servers
from .conftest import DATA, normalise

DATE = "2021-11-15"
REGIONS = ("national", "OCC", "IDF", "MAY")
# the test server asks for a login without TLS (127.0.0.1 only), which aiosmtpd warns about
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _recipients(data: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Region → (to, cc) as the test reads data/recipients.csv itself."""
    import csv

    with open(data / "recipients.csv", encoding="utf-8") as f:
        return {r["region"]: (r["to"].split(";"), [a for a in r["cc"].split(";") if a]) for r in csv.DictReader(f)}


def _real_recipients(data: Path) -> None:
    """recipients.csv as an operator leaves it once the addresses are real: no ``illustrative`` column (the
    column is optional: a file written before it existed still works)."""
    import csv

    with open(data / "recipients.csv", encoding="utf-8") as f:
        rows = [[r["region"], r["to"], r["cc"]] for r in csv.DictReader(f)]
    with open(data / "recipients.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([["region", "to", "cc"], *rows])


@pytest.fixture
def work(distribution_decks, tmp_path):
    """A copy of the rendered decks and of data/ (mail writes into <out>/<date>/mail/), its recipients made real."""
    out = tmp_path / "outputs"
    shutil.copytree(distribution_decks, out, symlinks=True)
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    _real_recipients(data)
    return out, data


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    with _servers.smtp_server() as (boxes, port):
        monkeypatch.setenv("TEST_SMTP_USER", _servers.SMTP_USER)
        monkeypatch.setenv("TEST_SMTP_PASSWORD", _servers.SMTP_PASSWORD)
        config = tmp_path / "esante-report.toml"
        config.write_text(f'''[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
from = "ars-oc-covid19-esante@ars.sante.fr"
username_env = "TEST_SMTP_USER"
password_env = "TEST_SMTP_PASSWORD"
per_minute = 6000
backoff = 0.05
''', encoding="utf-8")
        yield boxes, config


def _mail(capsys, out: Path, data: Path, *args: str) -> tuple[int, str, str]:
    region_args = [a for r in REGIONS for a in ("--region", r)]
    code = main(["mail", "--date", DATE, "--out", str(out), "--data", str(data), *region_args, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@functools.lru_cache(maxsize=8)
def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return normalise(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages))


def _attachment(raw: bytes) -> tuple[email.message.EmailMessage, str, bytes]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    (part,) = [p for p in msg.iter_attachments()]
    assert part.get_content_type() == "application/pdf"
    return msg, part.get_filename(), part.get_content()


def _region_figures(pdf_text: str) -> list[tuple[str, str, str]]:
    """(month, region's total, national total) as the regional deck's own table prints them."""
    return re.findall(r"((?:août|septembre) 2021) (\d[\d ]*?) (\d[\d ]*?) \d+ (?:\d+ %|non calculable)", pdf_text)


@pytest.mark.e2e
def test_send_delivers_each_region_its_own_deck_once(work, smtp, capsys):
    out, data = work
    boxes, config = smtp
    rendered = {r for r in REGIONS[1:] if (out / DATE / f"post_covid-{r}.pdf").exists()}
    assert {"OCC", "IDF"} <= rendered
    code, stdout, err = _mail(capsys, out, data, "--send", "--config", str(config))
    assert boxes.logins == [(_servers.SMTP_USER.encode(), _servers.SMTP_PASSWORD.encode())]
    who = _recipients(data)
    for region in REGIONS:
        name = "post_covid" if region == "national" else f"post_covid-{region}"
        to, cc = who[region]
        if region != "national" and region not in rendered:  # a deck that failed is not mailed, and said so
            assert all(a.lower() not in boxes.boxes for a in to + cc)
            assert re.search(rf"^{name}\s+{region}\s+\d+\s+not mailed\s+deck failed", stdout, re.M), stdout
            continue
        deck = (out / DATE / f"{name}.pdf").read_bytes()
        for address in to + cc:
            assert len(boxes.boxes[address.lower()]) == 1, address
            msg, filename, pdf = _attachment(boxes.boxes[address.lower()][0])
            assert filename == f"{name}.pdf" and pdf == deck
            assert msg["Message-ID"] and msg["Date"] and msg["To"] == ", ".join(to)
            body = normalise(msg.get_body(("plain",)).get_content())
            text = _pdf_text(pdf)
            if region == "national":
                assert "Cellules de coordination post-COVID" in text and "(national" not in body
            else:
                region_name = {"OCC": "Occitanie", "IDF": "Île-de-France", "MAY": "Mayotte"}[region]
                assert region_name in msg["Subject"] and region_name in text
                if "aucune remontée" in text:  # no rows in this wave: the mail says the region's figures are blank
                    assert f"- août 2021 : non renseigné (national : " in body, body
                    continue
                figures = _region_figures(text)
                assert len(figures) == 2, text
                for month, own, national in figures:  # the mail quotes the figures the attached PDF prints
                    assert f"- {month} : {own} (national : {national}," in body, body
    assert code == (0 if rendered == {"OCC", "IDF", "MAY"} else 1)

    count = boxes.count()
    code, stdout, err = _mail(capsys, out, data, "--send", "--config", str(config))
    assert boxes.count() == count  # a rerun sends nothing
    assert "0 sent" not in stdout and re.search(r"^post_covid-OCC\s+OCC\s+2\s+already sent", stdout, re.M)


@pytest.mark.e2e
def test_a_refused_recipient_is_named_and_later_sent_alone(work, smtp, capsys):
    out, data = work
    boxes, config = smtp
    who = _recipients(data)
    refused = who["OCC"][1][0]
    boxes.refuse[refused.lower()] = "550 5.1.1 Mailbox unavailable"
    code, stdout, err = _mail(capsys, out, data, "--send", "--config", str(config))
    assert code == 1
    assert f"{refused} (550 5.1.1 Mailbox unavailable)" in err
    assert re.search(r"^post_covid-OCC\s+OCC\s+2\s+partly sent", stdout, re.M)
    assert refused.lower() not in boxes.boxes
    delivered = {a: len(m) for a, m in boxes.boxes.items()}
    assert delivered[who["OCC"][0][0].lower()] == 1 and delivered[who["IDF"][0][0].lower()] == 1
    assert delivered[who["national"][0][0].lower()] == 1

    del boxes.refuse[refused.lower()]
    code, stdout, err = _mail(capsys, out, data, "--send", "--config", str(config))
    assert len(boxes.boxes[refused.lower()]) == 1
    assert {a: len(m) for a, m in boxes.boxes.items() if a != refused.lower()} == delivered  # only that one
    first = email.message_from_bytes(boxes.boxes[who["OCC"][0][0].lower()][0], policy=email.policy.default)
    late = email.message_from_bytes(boxes.boxes[refused.lower()][0], policy=email.policy.default)
    assert late["Message-ID"] == first["Message-ID"]  # the same message, completed


@pytest.mark.e2e
def test_a_temporary_refusal_is_retried(work, smtp, capsys):
    out, data = work
    boxes, config = smtp
    to = _recipients(data)["IDF"][0][0]
    boxes.refuse_once[to.lower()] = "451 4.3.0 Try again later"
    code, stdout, err = _mail(capsys, out, data, "--send", "--config", str(config))
    assert not boxes.refuse_once  # the server did refuse it once
    assert len(boxes.boxes[to.lower()]) == 1
    assert re.search(r"^post_covid-IDF\s+IDF\s+2\s+sent", stdout, re.M)


@pytest.mark.e2e
def test_default_run_sends_nothing_and_writes_eml_files_that_parse(work, smtp, capsys):
    out, data = work
    boxes, config = smtp
    code, stdout, err = _mail(capsys, out, data, "--config", str(config))
    assert boxes.count() == 0 and boxes.logins == []
    emls = sorted(p.name for p in (out / DATE / "mail").glob("*.eml"))
    assert {"post_covid.eml", "post_covid-OCC.eml", "post_covid-IDF.eml"} <= set(emls)
    for name in emls:
        msg, filename, pdf = _attachment((out / DATE / "mail" / name).read_bytes())
        assert pdf == (out / DATE / filename).read_bytes() and filename == name.replace(".eml", ".pdf")
        assert msg["From"] == "ars-oc-covid19-esante@ars.sante.fr" and msg["Message-ID"] and msg["Date"]
        assert msg["Subject"].startswith(("Cellules", "Occitanie", "Île-de-France", "Mayotte"))
    assert re.search(r"^post_covid-OCC\s+OCC\s+2\s+written", stdout, re.M)
    assert "written for review and not sent" in stdout


@pytest.mark.e2e
def test_the_published_deck_is_linked_and_no_credential_leaks(work, smtp, tmp_path, capsys, monkeypatch):
    out, data = work
    boxes, config = smtp
    share = tmp_path / "share"
    monkeypatch.setenv("TEST_SHARE_PASSWORD", _servers.PASSWORD)
    config.write_text(config.read_text(encoding="utf-8") + f'''
[targets.intranet]
url = "{share}"
public_url = "https://intranet.example.fr/decks/"
password_env = "TEST_SHARE_PASSWORD"

[mail]
target = "intranet"
''', encoding="utf-8")
    outputs = ""
    code = main(["publish", "--date", DATE, "--out", str(out), "--to", "intranet", "--config", str(config)])
    captured = capsys.readouterr()
    outputs += captured.out + captured.err
    assert code == 0
    code, stdout, err = _mail(capsys, out, data, "--send", "--config", str(config))
    outputs += stdout + err
    msg = email.message_from_bytes(boxes.boxes[_recipients(data)["OCC"][0][0].lower()][0],
                                   policy=email.policy.default)
    assert f"https://intranet.example.fr/decks/{DATE}/post_covid-OCC.html" in msg.get_body(("plain",)).get_content()
    for secret in (_servers.SMTP_PASSWORD, _servers.PASSWORD):
        assert secret not in outputs
        for root in (out, share):
            for path in root.rglob("*"):
                if path.is_file():
                    assert secret.encode() not in path.read_bytes(), path
        for raw in (m for box in boxes.boxes.values() for m in box):
            assert secret.encode() not in raw


@pytest.mark.e2e
def test_attachment_limit_and_rate_limit(work, smtp, monkeypatch):
    from esante_report.distribute import mail
    from esante_report.distribute.config import load_config

    out, data = work
    boxes, config = smtp
    config.write_text(config.read_text(encoding="utf-8").replace("per_minute = 6000", "per_minute = 2"),
                      encoding="utf-8")
    waits = []
    result = mail.mail(out, data, load_config(config), date=DATE, regions=["OCC", "IDF", "national"], send=True,
                       sleep=waits.append)
    assert [r.status for r in result.rows] == ["sent", "sent", "sent"]
    assert len(waits) == 2 and all(25 < w <= 30 for w in waits)  # 2 a minute: 30 s apart

    config.write_text(config.read_text(encoding="utf-8") + "max_attachment_mb = 0.05\n", encoding="utf-8")
    result = mail.mail(out, data, load_config(config), date=DATE, regions=["GE"], send=False)
    assert result.rows[0].status == "not mailed" and "deck missing" in result.rows[0].detail
    result = mail.mail(out, data, load_config(config), date=DATE, regions=["OCC"], send=False)
    size = (out / DATE / "post_covid-OCC.pdf").stat().st_size
    assert result.rows[0].status == "not mailed"
    assert result.rows[0].detail == (f"post_covid-OCC.pdf is {round(size / 1024)} Ko, over the attachment limit of "
                                     "51 Ko ([smtp] max_attachment_mb)")


def test_bad_recipients_file_is_one_line_per_problem(data_copy, tmp_path, capsys):
    out, data = tmp_path / "outputs", data_copy
    (data / "recipients.csv").write_text("region,to,cc\nOCC,ars-oc-esante@ars.sante.fr,\nXYZ,a@b.fr,\n"
                                         "IDF,Jean Dupont <jd@ars.sante.fr>,\nGE,ars-ge@ars.sante.fr,x@@y\n",
                                         encoding="utf-8")
    code = main(["mail", "--date", DATE, "--out", str(out), "--data", str(data)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 3 and "Traceback" not in err
    assert any(re.match(r"error: .*recipients\.csv:3: field 'region': unknown region 'XYZ'", line) for line in lines)
    assert any(re.match(r"error: .*recipients\.csv:4: field 'to': expected a functional mailbox", line) for line in lines)
    assert any(re.match(r"error: .*recipients\.csv:5: field 'cc': expected a functional mailbox", line) for line in lines)


@pytest.mark.e2e
@pytest.mark.parametrize("config_text, expected", [
    ("", r"error: .*empty\.toml: no \[smtp\] section \(expected host, port, security and from to --send\)$"),
    ('[smtp]\nhost = "127.0.0.1"\nport = PORT\nsecurity = "none"\nfrom = "ars-oc-covid19-esante@ars.sante.fr"\n',
     r"error: SMTP 127\.0\.0\.1:\d+: cannot connect: ConnectionRefusedError: .* \(check \[smtp\] host, port and security\)$"),
    ('[smtp]\nhost = "127.0.0.1"\nfrom = "Jean <jean@example.fr>"\n', r"error: .*\[smtp\] from: expected a functional mailbox"),
    ('[smtp\nhost = 1', r"error: .*empty\.toml: not valid TOML: "),
])
def test_bad_smtp_config_is_one_line(work, tmp_path, capsys, config_text, expected):
    out, data = work
    config = tmp_path / "empty.toml"
    config.write_text(config_text.replace("PORT", str(_servers.free_port())), encoding="utf-8")
    code = main(["mail", "--date", DATE, "--out", str(out), "--data", str(data), "--send", "--config", str(config),
                 "--region", "OCC"])
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[")]
    assert code == 1 and len(err) == 1 and re.match(expected, err[0]), err


def test_redact_hides_user_information_of_urls():
    from esante_report.distribute.config import redact

    assert redact("failed: webdav+https://user:pa55@host.fr/dav and sftp://u@h/x") == \
        "failed: webdav+https://***@host.fr/dav and sftp://***@h/x"


@pytest.mark.e2e
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_relay_with_an_internal_ca(work, tmp_path, monkeypatch, capsys, security):
    out, data = work
    cert = _servers.certificate(tmp_path)
    monkeypatch.setenv("TEST_SMTP_USER", _servers.SMTP_USER)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", _servers.SMTP_PASSWORD)
    with _servers.smtp_server(security, cert) as (boxes, port):
        config = tmp_path / "tls.toml"
        base = (f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
                'from = "ars-oc-covid19-esante@ars.sante.fr"\nusername_env = "TEST_SMTP_USER"\n'
                'password_env = "TEST_SMTP_PASSWORD"\n')
        config.write_text(base, encoding="utf-8")
        args = ["mail", "--date", DATE, "--out", str(out), "--data", str(data), "--region", "OCC", "--send",
                "--config", str(config)]
        assert main(args) == 1  # the relay's certificate is not one the system trusts
        stderr = capsys.readouterr().err
        err = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert "Traceback" not in stderr
        assert len(err) == 1 and re.match(r"error: SMTP 127\.0\.0\.1:\d+: cannot connect: SSLCertVerificationError", err[0])
        assert boxes.count() == 0 and boxes.logins == []
        config.write_text(base + f'cafile = "{cert[0]}"\n', encoding="utf-8")
        assert main(args) == 0
        assert boxes.logins == [(_servers.SMTP_USER.encode(), _servers.SMTP_PASSWORD.encode())]
        to, cc = _recipients(data)["OCC"]
        assert all(len(boxes.boxes[a.lower()]) == 1 for a in to + cc)


# --------------------------------------------------------------------------- hostile data, config and relays
def _rendered_with_region_name(out: Path, name: str, region: str) -> None:
    """Make ``name`` look rendered with ``region`` as its region's name (as a render on data holding that name would
    leave it): the values its notebook kept for the e-mail say so, and the render record has the notebook's new hash."""
    import dataclasses
    import json

    from esante_report.pipeline import cache
    from esante_report.slides.records import MIME

    notebook = out / DATE / f"{name}.ipynb"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            kept = output.get("data", {}).get(MIME, {}).get("kept", {})
            if "objet" in kept:
                kept["objet"] = f"{region} — {kept['objet'].split(' — ', 1)[1]}"
            if "presentation" in kept:
                kept["presentation"] = f"la présentation régionale ({region})"
    notebook.write_text(json.dumps(nb), encoding="utf-8")
    record = cache.read_record(out, DATE, name)
    digest = cache.file_hashes([notebook])[str(notebook.resolve())]
    cache.write_record(out, DATE, name, dataclasses.replace(record, outputs={**record.outputs, notebook.name: digest}))


def _header_names(raw: bytes) -> list[str]:
    """The header names of a message's top-level header block, read from its bytes (up to the first blank line)."""
    block = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii", "replace")
    return [line.split(":", 1)[0].lower() for line in block.split("\n") if line and not line[0].isspace()]


@pytest.mark.e2e
def test_a_region_name_cannot_inject_a_header_whatever_its_encoding(work, smtp, capsys):
    out, data = work
    boxes, config = smtp
    hostile = {"MAY": "Mayotte =?utf-8?q?=0D=0A?=Reply-To: x@ev.fr",
               "IDF": "Île-de-France =?utf-8?q?=0D=0A=0D=0A?=Reply-To: x@ev.fr",
               "OCC": "Occitanie =?utf-8?b?DQpSZXBseS1UbzogeEBldi5mcg==?=  =?utf-8?Q?=0A?=Bcc: x@ev.fr"}
    for abbr, name in hostile.items():
        _rendered_with_region_name(out, f"post_covid-{abbr}", name)
    args = [a for r in hostile for a in ("--region", r)]
    main(["mail", "--date", DATE, "--out", str(out), "--data", str(data), *args, "--config", str(config)])
    main(["mail", "--date", DATE, "--out", str(out), "--data", str(data), *args, "--config", str(config), "--send"])
    capsys.readouterr()
    who = _recipients(data)
    for abbr in hostile:
        to, cc = who[abbr]
        deck = (out / DATE / f"post_covid-{abbr}.pdf").read_bytes()
        eml = (out / DATE / "mail" / f"post_covid-{abbr}.eml").read_bytes()
        for raw in [eml] + [m for a in to + cc for m in boxes.boxes[a.lower()]]:
            names = _header_names(raw)
            assert "reply-to" not in names and "bcc" not in names, names
            assert {"from", "to", "subject", "message-id", "content-type"} <= set(names), names
            msg, filename, pdf = _attachment(raw)
            assert msg["From"] == "ars-oc-covid19-esante@ars.sante.fr" and msg["To"] == ", ".join(to)
            assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
            assert msg["Subject"].startswith(hostile[abbr].split()[0])   # the region's name did reach it
            assert filename == f"post_covid-{abbr}.pdf" and pdf == deck
        assert all(len(boxes.boxes[a.lower()]) == 1 for a in to + cc)


_CRASH_HOOK = """
import os, sys
flag, limit = sys.argv[1], int(sys.argv[2])
write, count = os.write, [0]

def crashing_write(fd, data):  # dies instead of the limit-th write to the send log once the relay has a message
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        target = ""
    if target.endswith("sent.jsonl") and os.path.exists(flag):
        count[0] += 1
        if count[0] >= limit:
            os._exit(137)
    return write(fd, data)

os.write = crashing_write
from esante_report.cli.main import main
sys.exit(main(sys.argv[3:]))
"""


def _mail_in_child(out: Path, data: Path, config: Path, *args: str, hook: tuple[str, int] | None = None):
    """``esante-report mail`` in a child process (so that it can die), started at once; returns the Popen."""
    import subprocess
    import sys

    argv = ["mail", "--date", DATE, "--out", str(out), "--data", str(data), "--config", str(config), *args]
    if hook is None:
        return subprocess.Popen([sys.executable, "-m", "esante_report", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-c", _CRASH_HOOK, hook[0], str(hook[1]), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.e2e
def test_a_crash_after_the_relay_accepted_never_resends_silently(work, smtp, capsys):
    import os
    import signal

    out, data = work
    boxes, config = smtp
    to, cc = _recipients(data)["OCC"]
    child = _mail_in_child(out, data, config, "--region", "OCC", "--send")

    def crash():  # the relay has stored the message; the sender dies before it hears the answer
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)

    boxes.on_data = crash
    child.communicate(timeout=300)
    boxes.on_data = None
    assert child.returncode == -signal.SIGKILL
    first = {a: len(boxes.boxes[a.lower()]) for a in to + cc}
    assert set(first.values()) == {1}

    code, stdout, err = _mail(capsys, out, data, "--region", "OCC", "--send", "--config", str(config))
    assert {a: len(boxes.boxes[a.lower()]) for a in to + cc} == first  # not sent again silently
    message_id = email.message_from_bytes(boxes.boxes[to[0].lower()][0], policy=email.policy.default)["Message-ID"]
    assert code == 1 and re.search(r"^post_covid-OCC\s+OCC\s+2\s+maybe sent", stdout, re.M), stdout
    line = next(line for line in err.splitlines() if "post_covid-OCC" in line)
    assert "may have been delivered" in line and "check with the relay" in line
    assert f"--resend '{message_id}'" in line

    code, stdout, err = _mail(capsys, out, data, "--region", "OCC", "--send", "--config", str(config),
                              "--resend", message_id)
    assert code == 0 and re.search(r"^post_covid-OCC\s+OCC\s+2\s+sent", stdout, re.M), stdout
    for address in to + cc:  # sent again when the operator says so, as the same message
        again = [email.message_from_bytes(m, policy=email.policy.default) for m in boxes.boxes[address.lower()]]
        assert len(again) == 2 and again[1]["Message-ID"] == message_id


@pytest.mark.e2e
def test_a_crash_between_two_recipients_of_one_message_duplicates_nothing(work, smtp, tmp_path, capsys):
    out, data = work
    boxes, config = smtp
    to, cc = _recipients(data)["OCC"]
    accepted = tmp_path / "relay-accepted"
    boxes.on_data = accepted.touch
    child = _mail_in_child(out, data, config, "--region", "OCC", "--send", hook=(str(accepted), 2))
    child.communicate(timeout=300)
    assert {a: len(boxes.boxes[a.lower()]) for a in to + cc} == {a: 1 for a in to + cc}
    _mail(capsys, out, data, "--region", "OCC", "--send", "--config", str(config))
    assert {a: len(boxes.boxes[a.lower()]) for a in to + cc} == {a: 1 for a in to + cc}


@pytest.mark.e2e
def test_a_relay_that_stores_then_drops_the_connection_does_not_get_the_message_again(work, smtp, capsys):
    out, data = work
    boxes, config = smtp
    to, cc = _recipients(data)["OCC"]
    boxes.drop_after_data = 1
    code, stdout, err = _mail(capsys, out, data, "--region", "OCC", "--region", "IDF", "--send", "--config",
                              str(config))
    assert {a: len(boxes.boxes[a.lower()]) for a in to + cc} == {a: 1 for a in to + cc}
    assert code == 1 and "may have been delivered" in err and "Traceback" not in err
    idf = _recipients(data)["IDF"][0][0]
    assert len(boxes.boxes[idf.lower()]) == 1  # the run went on with the next message


@pytest.mark.e2e
def test_the_same_address_in_to_and_cc_in_another_case_gets_one_copy(work, smtp, capsys):
    out, data = work
    boxes, config = smtp
    (data / "recipients.csv").write_text("region,to,cc\nOCC,ars-oc-covid19-esante@ars.sante.fr,"
                                         "ARS-OC-Covid19-Esante@ARS.Sante.FR;ars-oc-ddp-si-sante@ars.sante.fr\n",
                                         encoding="utf-8")
    code = main(["mail", "--date", DATE, "--out", str(out), "--data", str(data), "--region", "OCC", "--send",
                 "--config", str(config)])
    assert code == 0, capsys.readouterr().err
    assert len(boxes.boxes["ars-oc-covid19-esante@ars.sante.fr"]) == 1
    assert len(boxes.boxes["ars-oc-ddp-si-sante@ars.sante.fr"]) == 1


def _listener():
    """A TCP port on 127.0.0.1 that counts the connections made to it (none expected)."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, accepted


@pytest.mark.e2e
@pytest.mark.parametrize("recipients, expected", [
    (None, [r"recipients\.csv:2: field 'illustrative': the row of 'national' is marked illustrative",
            r"recipients\.csv:20: field 'illustrative': the row of 'MAY' is marked illustrative"]),
    ("region,to,cc\nOCC,ars-oc-covid19-esante@ars.sante.fr,cellule@Example.ORG\n"
     "IDF,ars-idf@sante.example,\nMAY,ars-may@ars.sante.fr,a@mail.invalid;b@foo.localhost;c@x.test\n",
     [r"recipients\.csv:2: field 'cc': 'cellule@Example\.ORG' is an address of the reserved example domain "
      r"'example\.org'", r"recipients\.csv:3: field 'to': 'ars-idf@sante\.example' .* domain 'example'",
      r"recipients\.csv:4: field 'cc': 'a@mail\.invalid'", r"recipients\.csv:4: field 'cc': 'b@foo\.localhost'",
      r"recipients\.csv:4: field 'cc': 'c@x\.test'"]),
])
def test_send_refuses_illustrative_recipients_without_connecting(work, tmp_path, capsys, recipients, expected):
    out, data = work
    if recipients is None:  # the shipped file, its illustrative rows marked
        shutil.copy(DATA / "recipients.csv", data / "recipients.csv")
    else:
        (data / "recipients.csv").write_text(recipients, encoding="utf-8")
    server, accepted = _listener()
    config = tmp_path / "relay.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {server.getsockname()[1]}\nsecurity = "none"\n'
                      'from = "ars-oc-covid19-esante@ars.sante.fr"\n', encoding="utf-8")
    try:
        code, stdout, err = _mail(capsys, out, data, "--send", "--config", str(config))
        assert code == 1 and not accepted and "Traceback" not in err
        for pattern in expected:
            assert re.search(r"^error: .*" + pattern, err, re.M), err
        assert not (out / DATE / "mail").exists()  # nothing written, nothing sent
        code, stdout, err = _mail(capsys, out, data, "--config", str(config))  # the preview still works
        assert (out / DATE / "mail" / "post_covid-OCC.eml").is_file() and not accepted
    finally:
        server.close()


@pytest.mark.parametrize("config_text, expected", [
    ("x = " + "[" * 300_000 + "]" * 300_000 + "\n", r"not valid TOML for a config: arrays or tables nested too deeply"),
    ("[smtp]\nhost = 'h'\nfrom = 'ars-oc@ars.sante.fr'\nper_minute = 1e-300\n",
     r"\[smtp\] per_minute: expected a number from 0\.0166667 to 100000, got 1e-300$"),
    ("[smtp]\nhost = 'h'\nfrom = 'ars-oc@ars.sante.fr'\nper_minute = nan\n", r"\[smtp\] per_minute: expected a number"),
    ("[smtp]\nhost = '127.0.0.1'\nfrom = 'ars-oc@ars.sante.fr'\nport = 70000\n",
     r"\[smtp\] port: expected an integer from 1 to 65535, got 70000$"),
    ("[smtp]\nhost = '127.0.0.1'\nfrom = 'ars-oc@ars.sante.fr'\nport = 0\n", r"\[smtp\] port: expected an integer"),
    ("[smtp]\nhost = '127.0.0.1'\nfrom = 'ars-oc@ars.sante.fr'\nport = 587.5\n", r"\[smtp\] port: expected an integer"),
])
def test_a_hostile_config_is_one_line(tmp_path, capsys, config_text, expected):
    config = tmp_path / "hostile.toml"
    config.write_text(config_text, encoding="utf-8")
    code = main(["mail", "--date", DATE, "--out", str(tmp_path / "out"), "--send", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert re.match(r"error: .*hostile\.toml: " + expected, err), err
