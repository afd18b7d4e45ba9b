"""``mail``: one e-mail per region (and one for the national list) carrying that region's PDF deck.

By default nothing is sent: each message is written to ``<out>/<date>/mail/<deck>.eml`` for review.
With ``send``, messages go through the SMTP relay of the config file, once ``recipients.csv`` holds
no illustrative row and no address of an example domain. Each transaction is recorded in the send
log (:mod:`esante_report.distribute.sendlog`) before the message is handed over and once the relay answered,
so a rerun sends only what is left and nobody receives a deck twice: a message that may have been
delivered (the run stopped, or the connection dropped, after the relay had it) is named and sent
again only with ``resend``, under the same Message-ID. Temporary refusals (4xx) are retried with
back-off; a permanent one (5xx) names the recipient and the others are still sent.

Every header value goes through :func:`esante_report.distribute.mailheader.header_value`, and every message is
read back before it is written or sent (:func:`esante_report.distribute.mailheader.message_bytes`).

Subject and body come from the deck's template ``notebooks/<deck>.mail.txt`` (first line: the
subject; see :mod:`esante_report.mailtext`) filled with the values its notebook kept with
``esr.keep``, read from the published executed notebook: the figures of the e-mail are those of
the attached PDF by construction, and no code computes them a second time.
"""

from __future__ import annotations

import contextlib
import json
import re
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from esante_report.distribute import sendlog
from esante_report.distribute.config import Config, ConfigError, Smtp, redact
from esante_report.distribute.mailheader import header_value, message_bytes, set_header
from esante_report.distribute.recipients import NATIONAL, Recipients, load_recipients, not_mailboxes
from esante_report.errors import DataError, EsanteReportError
from esante_report.outdir import fs as outfs
from esante_report.outdir import versions
from esante_report.outdir.index import size_fr
from esante_report.pipeline import cache

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
    message_id: str | None = None
    message: EmailMessage | None = field(default=None, repr=False)
    #: the bytes handed to the relay: those of the .eml file
    data: bytes | None = field(default=None, repr=False)
    #: recipients to send to in this run
    pending: list[str] = field(default_factory=list)
    #: recipients that may have been delivered (not sent again without ``resend``)
    maybe: list[str] = field(default_factory=list)


@dataclass
class MailResult:
    rows: list[MailRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def left(self) -> int:
        """Messages that some recipient has not received (not sent, partly sent, not mailed)."""
        return sum(1 for r in self.rows if r.status not in ("sent", "already sent", "written"))

    @property
    def maybe(self) -> list[MailRow]:
        """Messages that may have been delivered to some recipient: the operator decides."""
        return [r for r in self.rows if r.maybe]


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
    for name, value in (("Subject", subject), ("From", sender), ("To", ", ".join(who.to)),
                        ("Cc", ", ".join(who.cc)), ("Date", formatdate(localtime=True)),
                        ("Message-ID", message_id or make_msgid(idstring=f"{date}.{row.name}",
                                                                domain=sender.rpartition("@")[2])),
                        ("Auto-Submitted", "auto-generated"), ("Content-Language", "fr")):
        if value:
            set_header(msg, name, value)
    msg.set_content(body.lstrip("\n"), charset="utf-8")
    msg.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf",
                       filename=header_value("filename", pdf.name))
    return msg


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


class _MaybeDelivered(Exception):
    """The connection failed after the relay had the whole message: it may have stored it."""


def _transaction(conn: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> dict[str, tuple[int, bytes]]:
    """MAIL, RCPT and DATA on an open connection; returns the refused recipients → (code, reply).

    Raises the ``smtplib`` errors of a refusal or a lost connection before the message was complete,
    and :class:`_MaybeDelivered` when the connection failed after the relay had all of it.
    """
    conn.ehlo_or_helo_if_needed()
    options = [f"size={len(data)}"] if conn.does_esmtp and conn.has_extn("size") else []
    code, reply = conn.mail(sender, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for rcpt in recipients:
        code, reply = conn.rcpt(rcpt)
        if code not in (250, 251):
            refused[rcpt] = (code, reply)
    if len(refused) == len(recipients):
        with contextlib.suppress(OSError, smtplib.SMTPException):
            conn.rset()
        return refused
    conn.putcmd("data")
    code, reply = conn.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    conn.send(re.sub(rb"(?m)^\.", b"..", data) + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    try:  # from here on the relay has the whole message
        code, reply = conn.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise _MaybeDelivered(f"connection lost after the relay had the whole message ({type(exc).__name__})") \
            from None
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
    return refused


def _send_one(relay: _Relay, smtp: Smtp, row: MailRow, log: Path, sleep: Callable[[float], None]) -> dict[str, str]:
    """Send ``row`` to its pending recipients; returns refused → reason. 4xx retried, 5xx final.

    Recipients the relay accepted go to ``row.recipients`` of the log as sent; those that may have
    been delivered are added to ``row.maybe`` and never retried in this run.
    """
    refused: dict[str, str] = {}
    pending = list(row.pending)
    message_id = row.message_id
    for attempt in range(smtp.retries + 1):
        temporary: dict[str, str] = {}
        conn = relay.open()
        sendlog.record(log, name=row.name, message_id=message_id, status="sending", recipients=pending)
        try:
            bad = _transaction(conn, smtp.sender, pending, row.data)
        except _MaybeDelivered as exc:
            relay.drop()
            sendlog.record(log, name=row.name, message_id=message_id, status="maybe sent", recipients=pending,
                           reason=str(exc))
            row.maybe += pending
            return refused
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError) as exc:
            relay.drop()
            temporary = {r: f"connection lost ({type(exc).__name__})" for r in pending}
            bad = {}
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused
            relay.drop()
            reason = _code_text(exc.smtp_code, exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                temporary = {r: reason for r in pending}
            else:
                refused.update({r: reason for r in pending})
                sendlog.record(log, name=row.name, message_id=message_id, status="refused", recipients=pending,
                               reason=reason)
                return refused
            bad = {}
        if not temporary:
            if accepted := [r for r in pending if r not in bad]:
                sendlog.record(log, name=row.name, message_id=message_id, status="sent", recipients=accepted)
            for r, (code, text) in bad.items():
                reason = _code_text(code, text)
                if 400 <= code < 500:
                    temporary[r] = reason
                else:
                    refused[r] = reason
                    sendlog.record(log, name=row.name, message_id=message_id, status="refused", recipients=[r],
                                   reason=reason)
        if temporary:
            sendlog.record(log, name=row.name, message_id=message_id, status="not sent", recipients=list(temporary))
        pending = list(temporary)
        if not pending:
            return refused
        if attempt < smtp.retries:
            sleep(smtp.backoff * 2 ** attempt)
    refused.update({r: f"{reason} (temporary; gave up after {smtp.retries + 1} tries)" for r, reason in temporary.items()})
    return refused


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
         regions: list[str] = ("all",), send: bool = False, resend: list[str] = (),
         progress: Progress = lambda _: None, sleep: Callable[[float], None] = time.sleep) -> MailResult:
    """Write (and with ``send``, send) the e-mails of ``date``; see the module docstring.

    ``resend`` lists the Message-IDs of messages that may have been delivered (a previous run named
    them) to send again to the recipients it is unsure of.
    """
    from esante_report.contracts.regions import load_regions
    from esante_report.decks.registry import deck_names, find_deck

    out_dir = Path(out_dir)
    if resend and not send:
        raise ConfigError("--resend: expected with --send (it sends a message again)")
    recipients = load_recipients(data_dir)
    if send and (problems := not_mailboxes(data_dir, recipients)):
        raise DataError(problems)
    if send and config.smtp is None:
        where = config.path or "esante-report.toml (none found)"
        raise ConfigError(f"{where}: no [smtp] section (expected host, port, security and from to --send)")
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
        log = sendlog.read_log(log_path)
        if unknown := [i for i in resend if not any(sendlog.same_id(i, e.message_id) and e.maybe
                                                     for e in log.values())]:
            raise ConfigError(f"--resend {unknown[0]!r}: no message of {date} with that Message-ID may have been "
                              "delivered (expected one that a previous run named)")
        for deck in mailable:
            for who in chosen:
                if who.region != NATIONAL and not find_deck(deck).regional:
                    continue
                name = deck if who.region == NATIONAL else f"{deck}-{who.region}"
                result.rows.append(_prepare(config, sender, out_dir, data_dir, date, deck, name, who,
                                            log.get(name) or sendlog.Entry(), folder, resend))
        for row in result.rows:
            if row.eml is not None:
                progress(f"mail: wrote {row.eml}")
        if send:
            _send_all(config.smtp, result, log_path, progress, sleep)
    for row in result.maybe:
        ask = f"esante-report mail --date {date} --send --resend '{row.message_id}'"
        row.detail = "; ".join(filter(None, [row.detail if row.status != "maybe sent" else "", (
            f"may have been delivered to {', '.join(row.maybe)} (the relay was handed the whole message and no "
            f"answer was recorded): check with the relay, then `{ask}` if it was not")]))
    result.problems = [f"{date}/{r.name}: {r.detail}" for r in result.rows
                       if r.status in ("not sent", "partly sent", "maybe sent")]
    return result


def _prepare(config: Config, sender: str, out_dir: Path, data_dir: Path, date: str, deck: str, name: str,
             who: Recipients, previous: sendlog.Entry, folder: Path, resend: list[str]) -> MailRow:
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
    left = [r for r in who.everyone if r.lower() not in previous.sent]
    if not left:  # the .eml already there is the message that was sent: left as it is
        row.status, row.detail = "already sent", f"sent earlier to {len(who.everyone)} recipient(s)"
        return row
    if not any(sendlog.same_id(i, previous.message_id) for i in resend):
        row.maybe = [r for r in left if r.lower() in previous.maybe]
    row.pending = [r for r in left if r not in row.maybe]
    if not row.pending:  # the .eml already there is the message the relay may have: left as it is
        row.status, row.message_id = "maybe sent", previous.message_id
        return row
    try:
        figures = _figures(out_dir, date, name, deck, data_dir)
        row.message = _build(config, sender, row, who, deck, date, pdf, figures,
                             _link(config, out_dir, date, name), previous.message_id)
        row.data = message_bytes(row.message)
        row.message_id = str(row.message["Message-ID"])
    except EsanteReportError as exc:
        row.status, row.detail = "not mailed", str(exc)
        return row
    row.eml = outfs.write_bytes(folder / f"{name}.eml", row.data)
    row.status = "written"
    return row


def _send_all(smtp: Smtp, result: MailResult, log_path: Path, progress: Progress,
              sleep: Callable[[float], None]) -> None:
    relay = _Relay(smtp)
    interval = 60.0 / smtp.per_minute
    last = None
    todo = [r for r in result.rows if r.status == "written"]
    try:
        for count, row in enumerate(todo, 1):
            if last is not None and (wait := interval - (time.monotonic() - last)) > 0:
                sleep(wait)  # the relay's rate limit
            last = time.monotonic()
            progress(f"mail: sending {row.name} to {len(row.pending)} recipient(s) ({count}/{len(todo)})")
            refused = _send_one(relay, smtp, row, log_path, sleep)
            accepted = [r for r in row.pending if r not in refused and r not in row.maybe]
            if refused:
                row.status = "partly sent" if len(refused) < len(row.recipients) else "not sent"
                row.detail = "refused: " + "; ".join(f"{r} ({why})" for r, why in refused.items())
            elif row.maybe:
                row.status = "maybe sent"
            else:
                row.status, row.detail = "sent", f"to {', '.join(accepted)}"
    finally:
        relay.drop()


def summary_table(result: MailResult) -> str:
    """One line per message: deck file, region, recipients, status and detail."""
    rows = [("message", "region", "to+cc", "status", "detail")]
    rows += [(r.name, r.region, str(len(r.recipients)), r.status, r.detail) for r in result.rows]
    from esante_report.fmt import text_table

    lines = text_table(rows)
    done = sum(1 for r in result.rows if r.status in ("sent", "already sent"))
    maybe = f", {len(result.maybe)} maybe delivered (check with the relay)" if result.maybe else ""
    written = sum(1 for r in result.rows if r.status == "written")
    lines.append(f"{len(result.rows)} messages: {written} written for review and not sent, {done} sent, "
                 f"{result.left} not sent or not mailed{maybe}")
    return "\n".join(line.rstrip() for line in lines)
