"""The send log ``<out>/<date>/mail/sent.jsonl``: what the relay was handed, and what became of it.

One JSON line per event, appended and flushed to disk (fsync) before the next step:

- ``sending``: written *before* the message's SMTP transaction, with its Message-ID and recipients;
- ``sent``: the relay accepted the message for these recipients (one line for the whole transaction);
- ``refused``: refused for good (5xx); ``not sent``: not delivered (refused for now, or the
  connection failed before the relay had the whole message), so it may be sent again;
- ``maybe sent``: the connection failed after the relay had the whole message.

A recipient of a ``sending`` line with no later outcome (the process died after handing the message
over), like one of a ``maybe sent`` line, *may have been delivered*: it is never sent again silently.
The operator checks with the relay, then asks for it again with ``--resend MESSAGE-ID``; the
message keeps its Message-ID, so that a receiver can tell it is the same one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from esante_report.outdir import fs as outfs

__all__ = ["Entry", "read_log", "record", "same_id"]


@dataclass
class Entry:
    """What the log says of one message (a deck file name): its Message-ID and its recipients' fate."""

    message_id: str | None = None
    #: recipients (lower case) the relay accepted
    sent: set[str] = field(default_factory=set)
    #: recipients (lower case) that may have been delivered: handed over, no answer recorded
    maybe: set[str] = field(default_factory=set)


def same_id(a: str | None, b: str | None) -> bool:
    """True when two Message-IDs are the same, with or without their angle brackets."""
    return bool(a and b) and a.strip().strip("<>") == b.strip().strip("<>")


def read_log(path: Path) -> dict[str, Entry]:
    """Message name → :class:`Entry`, from the log at ``path`` (none yet: empty)."""
    out: dict[str, Entry] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise outfs.os_error(exc, path) from None
    for line in lines:
        try:
            entry = json.loads(line)
            item = out.setdefault(str(entry["name"]), Entry())
            if item.message_id is None and isinstance(entry.get("message_id"), str):
                item.message_id = entry["message_id"]
            who = entry["recipients"] if "recipients" in entry else [entry["recipient"]]
            who = {str(r).lower() for r in who}
            status = entry.get("status")
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a line cut by a crash: its "sending" line, written before, stands
        if status in ("sending", "maybe sent"):
            item.maybe |= who - item.sent
        elif status == "sent":
            item.sent |= who
            item.maybe -= who
        elif status in ("refused", "not sent"):
            item.maybe -= who
    return out


def record(path: Path, **entry: object) -> None:
    """Append one event to the log and flush it to disk before returning."""
    line = json.dumps({"time": formatdate(localtime=True), **entry}, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
