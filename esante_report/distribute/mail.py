"""``mail``: one e-mail per region (and one for the national list) carrying that region's PDF deck.

By default nothing is sent: each message is written to ``<out>/<date>/mail/<deck>.eml`` for review.
With ``send``, messages go through the SMTP relay of the config file; every recipient that the relay
accepted is appended to ``<out>/<date>/mail/sent.jsonl`` at once, so a rerun sends only what is
left and nobody receives a deck twice. Temporary refusals (4xx) are retried with back-off; a
permanent one (5xx) names the recipient and the others are still sent.

Subject and body come from the deck's template ``notebooks/<deck>.mail.txt`` (first line: the
subject; see :mod:`esante_report.mailtext`) filled with the values its notebook kept with
``esr.keep``, read from the published executed notebook: the figures of the e-mail are those of
the attached PDF by construction, and no code computes them a second time.
"""

from __future__ import annotations

import email.policy
import json
import os
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from esante_report.pipeline import cache
from esante_report.outdir import fs as outfs
from esante_report.outdir import versions
from esante_report.distribute.config import Config, ConfigError, Smtp, redact
from esante_report.errors import EsanteReportError
from esante_report.outdir.index import size_fr
from esante_report.distribute.recipients import NATIONAL, Recipients, load_recipients

__all__ = ["MailResult", "MailRow", "mail", "summary_table", "MAIL_DIR", "SEND_LOG"]

MAIL_DIR = "mail"
SEND_LOG = "sent.jsonl"
#: a preview made without an [smtp] section says who would send it
_PLACEHOLDER_SENDER = "expediteur-a-configurer@example.invalid"

Progress = Callable[[str], None]


def _template(deck: str) -> Path | None:
    """The deck's mail template ``notebooks/<deck>.mail.txt``, or None when it has none."""
    from esante_report.distribute.mailtext import template_path
    from esante_report.decks.registry import find_deck

    spec = find_deck(deck)
    path = template_path(spec.notebook) if spec is not None else None
    return path if path is not None and path.is_file() else None


def _mailable(names) -> list[str]:
    return [d for d in names if _template(d) is not None]


@dataclass
class MailRow:
    """One message of the run: the deck file name, who gets it, and what became of it."""

    name: str
    region: str
    recipients: tuple[str, ...] = ()
    status: str = ""
    detail: str = ""
    eml: Path | None = None
    message: EmailMessage | None = field(default=None, repr=False)


@dataclass
class MailResult:
    rows: list[MailRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def left(self) -> int:
        """Messages that some recipient has not received (not sent, partly sent, not mailed)."""
        return sum(1 for r in self.rows if r.status not in ("sent", "already sent", "written"))


# --------------------------------------------------------------------------- building
def _passed(out_dir: Path, date: str, name: str) -> tuple[Path | None, str]:
    """The PDF of a deck that passed its checks, or None and why not."""
    folder = out_dir / date
    pdf = folder / f"{name}.pdf"
    record = cache.read_record(out_dir, date, name)
    failed = any((folder / "failed" / f"{name}{s}").exists() for s in (".ipynb", ".pdf"))
    if not versions.current_file(pdf):
        return None, "deck failed (see failed/ and render again)" if failed else "deck missing (not rendered)"
    digest = cache.file_hashes([pdf])[str(pdf.resolve())]
    if record is None or record.outputs.get(pdf.name) != digest:
        return None, "PDF is not the one render checked (render again)"
    return pdf, ""


def _figures(out_dir: Path, date: str, name: str, deck: str, data_dir: Path) -> dict:
    """The values the deck's notebook kept (``esr.keep``), from the executed notebook render published with the PDF."""
    from esante_report.slides.records import kept_values

    record = cache.read_record(out_dir, date, name)
    notebook = out_dir / date / f"{name}.ipynb"
    digest = cache.file_hashes([notebook])[str(notebook.resolve())] if notebook.is_file() else None
    if record is None or (notebook.name in record.outputs and record.outputs[notebook.name] != digest):
        raise EsanteReportError(f"{notebook}: not the executed notebook render published with the PDF "
                                "(render the deck again)")
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        raise EsanteReportError(f"{notebook}: executed notebook unreadable, its kept values are unknown "
                                "(render the deck again)") from None
    return kept_values(cells if isinstance(cells, list) else [])


def _link(config: Config, out_dir: Path, date: str, name: str) -> str:
    """Address of the published HTML deck when it is on the mail target as it is here, else ''."""
    from esante_report.distribute.publish import published_manifest

    if not config.mail_target:
        return ""
    target = config.targets[config.mail_target]
    base = target.public_url.strip()
    if not base.lower().startswith(("https://", "http://")):
        return ""
    rel = f"{date}/{name}.html"
    html = out_dir / rel
    entry = published_manifest(out_dir, target.name).get("files", {}).get(rel)
    if not entry or not html.is_file() or cache.file_hashes([html])[str(html.resolve())] != entry.get("sha256"):
        return ""
    return base.rstrip("/") + "/" + quote(rel)


def _build(config: Config, sender: str, row: MailRow, who: Recipients, deck: str, date: str, pdf: Path,
           figures: dict, link: str, message_id: str | None) -> EmailMessage:
    from esante_report.distribute.mailtext import fill

    subject, body = fill(_template(deck), {**figures, "link": link, "attachment": pdf.name,
                                           "attachment_size": size_fr(pdf.stat().st_size)})
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(who.to)
    if who.cc:
        msg["Cc"] = ", ".join(who.cc)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id or make_msgid(idstring=f"{date}.{row.name}", domain=sender.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = "fr"
    msg.set_content(body, charset="utf-8")
    msg.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name)
    return msg


# --------------------------------------------------------------------------- send log
def _read_log(path: Path) -> dict[str, dict]:
    """Message name → {"message_id": …, "sent": set of recipients the relay accepted}."""
    out: dict[str, dict] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise outfs.os_error(exc, path) from None
    for line in lines:
        try:
            entry = json.loads(line)
            item = out.setdefault(str(entry["name"]), {"message_id": entry.get("message_id"), "sent": set()})
            if entry.get("status") == "sent":
                item["sent"].add(str(entry["recipient"]).lower())
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a line cut by a crash: what it recorded is sent again at worst once
    return out


def _log(path: Path, **entry: object) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, (json.dumps({"time": formatdate(localtime=True), **entry}, ensure_ascii=False) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- sending
class _Relay:
    """One SMTP connection, opened on first use and again after a drop."""

    def __init__(self, smtp: Smtp):
        self.smtp, self.conn = smtp, None

    def open(self) -> smtplib.SMTP:
        if self.conn is None:
            s = self.smtp
            try:
                context = ssl.create_default_context()
                if s.cafile:
                    context.load_verify_locations(cafile=s.cafile)
                if s.security == "ssl":
                    conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
                else:
                    conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                    if s.security == "starttls":
                        conn.starttls(context=context)
                if s.username:
                    conn.login(s.username, s.password or "")
            except smtplib.SMTPAuthenticationError as exc:
                raise ConfigError(f"SMTP {s.host}:{s.port}: login refused ({exc.smtp_code}) for the user of "
                                  "[smtp] username_env (check the credential)") from None
            except (OSError, smtplib.SMTPException) as exc:
                raise ConfigError(f"SMTP {s.host}:{s.port}: cannot connect: {type(exc).__name__}: "
                                  f"{redact(str(exc))[:200]} (check [smtp] host, port and security)") from None
            self.conn = conn
        return self.conn

    def drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.conn = None


def _code_text(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())[:160]}"


def _send_one(relay: _Relay, smtp: Smtp, msg: EmailMessage, recipients: list[str], log: Path, name: str,
              sleep: Callable[[float], None]) -> tuple[list[str], dict[str, str]]:
    """Send ``msg`` to ``recipients``; (accepted, refused → reason). 4xx retried, 5xx final."""
    accepted: list[str] = []
    refused: dict[str, str] = {}
    pending = list(recipients)
    data = msg.as_bytes(policy=email.policy.SMTP)
    for attempt in range(smtp.retries + 1):
        temporary: dict[str, str] = {}
        try:
            conn = relay.open()
            bad = conn.sendmail(smtp.sender, pending, data)
        except smtplib.SMTPRecipientsRefused as exc:
            bad = exc.recipients
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError) as exc:
            relay.drop()
            temporary = {r: f"connection lost ({type(exc).__name__})" for r in pending}
            bad = None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused
            relay.drop()
            reason = _code_text(exc.smtp_code, exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                temporary = {r: reason for r in pending}
            else:
                refused.update({r: reason for r in pending})
                for r in pending:
                    _log(log, name=name, message_id=msg["Message-ID"], recipient=r, status="refused", reason=reason)
                return accepted, refused
            bad = None
        if bad is not None:
            for r in pending:
                if r not in bad:
                    accepted.append(r)
                    _log(log, name=name, message_id=msg["Message-ID"], recipient=r, status="sent")
            for r, (code, text) in bad.items():
                reason = _code_text(code, text)
                if 400 <= code < 500:
                    temporary[r] = reason
                else:
                    refused[r] = reason
                    _log(log, name=name, message_id=msg["Message-ID"], recipient=r, status="refused", reason=reason)
        pending = list(temporary)
        if not pending:
            return accepted, refused
        if attempt < smtp.retries:
            sleep(smtp.backoff * 2 ** attempt)
    refused.update({r: f"{reason} (temporary; gave up after {smtp.retries + 1} tries)" for r, reason in temporary.items()})
    return accepted, refused


# --------------------------------------------------------------------------- the command
def _selected(recipients: dict[str, Recipients], regions: list[str], known: set[str]) -> list[Recipients]:
    if "all" in regions:
        return list(recipients.values())
    out = []
    for region in dict.fromkeys(regions):
        if region not in known:
            raise ConfigError(f"--region {region!r}: unknown (expected 'all', {NATIONAL!r} or an abbreviation of "
                              "regions.csv)")
        if region in recipients:
            out.append(recipients[region])
        else:
            out.append(Recipients(region, (), (), 0))
    return out


def mail(out_dir: Path, data_dir: Path, config: Config, *, date: str, decks: list[str] | None = None,
         regions: list[str] = ("all",), send: bool = False, progress: Progress = lambda _: None,
         sleep: Callable[[float], None] = time.sleep) -> MailResult:
    """Write (and with ``send``, send) the e-mails of ``date``; see the module docstring."""
    from esante_report.contracts.regions import load_regions
    from esante_report.decks.registry import deck_names, find_deck

    out_dir = Path(out_dir)
    if send and config.smtp is None:
        where = config.path or "esante-report.toml (none found)"
        raise ConfigError(f"{where}: no [smtp] section (expected host, port, security and from to --send)")
    recipients = load_recipients(data_dir)
    known = set(load_regions(data_dir)["abbr"]) | {NATIONAL}
    chosen = _selected(recipients, list(regions), known)
    every = _mailable(deck_names())
    mailable = [d for d in (decks or every) if d in every and _template(d) is not None]
    if decks and (bad := [d for d in decks if d not in mailable]):
        raise ConfigError(f"deck {bad[0]!r} has no e-mail template (decks that can be mailed: "
                          f"{', '.join(every) or 'none'})")
    if not (out_dir / date).is_dir():
        raise EsanteReportError(f"{out_dir / date}: no decks rendered for {date} (render --date {date} first)")
    from esante_report.outdir.index import deck_file, expected, local_listing

    # the decks of that date: asked for by a render, or there
    files = [f"{name}.html" for name in expected(out_dir, date)]
    files += [rel.partition("/")[2] for rel in local_listing(out_dir) if rel.startswith(f"{date}/")]
    on_date = {deck_file(f)["deck"] for f in files}
    mailable = [d for d in mailable if d in on_date]
    if not mailable:
        raise EsanteReportError(f"{out_dir / date}: no deck of {date} has an e-mail template (decks that can be "
                                f"mailed: {', '.join(every) or 'none'})")
    sender = config.smtp.sender if config.smtp else _PLACEHOLDER_SENDER
    folder = outfs.safe_dir(outfs.safe_dir(outfs.prepare_out(out_dir) / date) / MAIL_DIR)
    log_path = folder / SEND_LOG
    result = MailResult()
    with outfs.locked(folder):
        log = _read_log(log_path)
        for deck in mailable:
            for who in chosen:
                if who.region != NATIONAL and not find_deck(deck).regional:
                    continue
                name = deck if who.region == NATIONAL else f"{deck}-{who.region}"
                result.rows.append(_prepare(config, sender, out_dir, data_dir, date, deck, name, who, log, folder))
        for row in result.rows:
            if row.eml is not None:
                progress(f"mail: wrote {row.eml}")
        if send:
            _send_all(config.smtp, result, log, log_path, progress, sleep)
    result.problems = [f"{date}/{r.name}: {r.detail}" for r in result.rows if r.status in ("not sent", "partly sent")]
    return result


def _prepare(config: Config, sender: str, out_dir: Path, data_dir: Path, date: str, deck: str, name: str,
             who: Recipients, log: dict, folder: Path) -> MailRow:
    row = MailRow(name=name, region=who.region, recipients=who.everyone)
    if not who.to:
        row.status, row.detail = "not mailed", "no recipients in recipients.csv"
        return row
    pdf, why = _passed(out_dir, date, name)
    if pdf is None:
        row.status, row.detail = "not mailed", why
        return row
    limit = (config.smtp.max_attachment_mb if config.smtp else 10) * 1024 * 1024
    if pdf.stat().st_size > limit:
        row.status = "not mailed"
        row.detail = (f"{pdf.name} is {size_fr(pdf.stat().st_size)}, over the attachment limit of "
                      f"{size_fr(int(limit))} ([smtp] max_attachment_mb)")
        return row
    previous = log.get(name, {})
    left = [r for r in who.everyone if r.lower() not in previous.get("sent", set())]
    if not left:  # the .eml already there is the message that was sent: left as it is
        row.status, row.detail = "already sent", f"sent earlier to {len(who.everyone)} recipient(s)"
        return row
    try:
        figures = _figures(out_dir, date, name, deck, data_dir)
        row.message = _build(config, sender, row, who, deck, date, pdf, figures, _link(config, out_dir, date, name),
                             previous.get("message_id"))
    except EsanteReportError as exc:
        row.status, row.detail = "not mailed", str(exc)
        return row
    row.eml = outfs.write_bytes(folder / f"{name}.eml", row.message.as_bytes(policy=email.policy.SMTP))
    row.status = "written"
    return row


def _send_all(smtp: Smtp, result: MailResult, log: dict, log_path: Path, progress: Progress,
              sleep: Callable[[float], None]) -> None:
    relay = _Relay(smtp)
    interval = 60.0 / smtp.per_minute
    last = None
    todo = [r for r in result.rows if r.status == "written"]
    try:
        for count, row in enumerate(todo, 1):
            sent = log.get(row.name, {}).get("sent", set())
            pending = [r for r in row.recipients if r.lower() not in sent]
            if last is not None and (wait := interval - (time.monotonic() - last)) > 0:
                sleep(wait)  # the relay's rate limit
            last = time.monotonic()
            progress(f"mail: sending {row.name} to {len(pending)} recipient(s) ({count}/{len(todo)})")
            accepted, refused = _send_one(relay, smtp, row.message, pending, log_path, row.name, sleep)
            if not refused:
                row.status, row.detail = "sent", f"to {', '.join(accepted)}"
            else:
                row.status = "partly sent" if accepted or len(pending) < len(row.recipients) else "not sent"
                row.detail = "refused: " + "; ".join(f"{r} ({why})" for r, why in refused.items())
    finally:
        relay.drop()


def summary_table(result: MailResult) -> str:
    """One line per message: deck file, region, recipients, status and detail."""
    rows = [("message", "region", "to+cc", "status", "detail")]
    rows += [(r.name, r.region, str(len(r.recipients)), r.status, r.detail) for r in result.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    done = sum(1 for r in result.rows if r.status in ("sent", "already sent"))
    written = sum(1 for r in result.rows if r.status == "written")
    lines.append(f"{len(result.rows)} messages: {written} written for review and not sent, {done} sent, "
                 f"{result.left} not sent or not mailed")
    return "\n".join(line.rstrip() for line in lines)
