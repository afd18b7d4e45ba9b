"""E-mail header values: the one check every header of a message goes through, and the read-back of the message.

A mail program decodes encoded words (RFC 2047) before it shows a header, and Python's email
package does the same to a value it is given: ``=?utf-8?q?=0D=0A?=`` becomes a line break that
the generator writes as the end of the header (the class of CVE-2024-6923). A value is therefore
judged as it reads once decoded, again and again until decoding changes nothing:

- free text (the subject) has its line breaks and other control characters turned into spaces;
- any other value (addresses, Message-ID, date, file name) holding one is refused, as Django
  refuses a header with a line break (``BadHeaderError``).

:func:`message_bytes` then serialises the message and reads it back: a header that was not set, or
one missing (a header block ended early), refuses the message before anyone sees it.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

from esante_report.errors import EsanteReportError

__all__ = ["HeaderError", "header_value", "set_header", "message_bytes"]

#: C0 and C1 controls (CR, LF, tab, NUL, ESC, NEL …), DEL, Unicode line and paragraph separators, BOM
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
#: headers whose value is prose: cleaned rather than refused
_FREE_TEXT = frozenset({"subject"})
#: encoded words inside encoded words: deeper than this is refused
_MAX_ROUNDS = 8


class HeaderError(EsanteReportError, ValueError):
    """A header value that would not stay one line of plain text, or a message that does not read back as built."""


def _decoded(value: str) -> str:
    """``value`` as a mail program shows it: its encoded words decoded (by the parser Python itself applies)."""
    try:
        return str(email.policy.default.header_factory("X-Check", value))
    except Exception as exc:  # the parser records defects; anything it raises is a value it cannot read
        raise HeaderError(f"header value {value[:80]!r} cannot be read as a header ({type(exc).__name__})") from None


def header_value(name: str, value: object) -> str:
    """``value`` made safe for the header ``name``: one line of plain text whatever its encoded words.

    Raises :class:`HeaderError` when a value other than free text holds a control character,
    before or after decoding.
    """
    text = str(value)
    free = name.lower() in _FREE_TEXT
    for _ in range(_MAX_ROUNDS):
        shown = _CONTROL.sub(" ", _decoded(text))
        if free:
            shown = " ".join(shown.split())
        if shown == text:
            return text
        if not free:
            raise HeaderError(f"header {name}: {str(value)[:120]!r} holds a line break or a control character once "
                              "decoded (RFC 2047); expected one line of plain text")
        text = shown
    raise HeaderError(f"header {name}: {str(value)[:120]!r} nests encoded words {_MAX_ROUNDS} deep "
                      "(expected plain text)")


def set_header(msg: EmailMessage, name: str, value: object) -> None:
    """Set ``msg[name]`` to ``value`` through :func:`header_value` (the only way a header is set)."""
    del msg[name]
    msg[name] = header_value(name, value)


def _shape(msg: email.message.Message) -> list[list[str]]:
    """The header names of each MIME part, in order."""
    return [[key.lower() for key in part.keys()] for part in msg.walk()]


def message_bytes(msg: EmailMessage) -> bytes:
    """The bytes of ``msg`` for the relay and the ``.eml`` file, once they read back with the headers it was built with.

    Raises :class:`HeaderError` when reading them back gives another set of headers or parts.
    """
    data = msg.as_bytes(policy=email.policy.SMTP)
    back = email.message_from_bytes(data, policy=email.policy.default)
    built, read = _shape(msg), _shape(back)
    if built != read:
        extra = next((k for got, want in zip(read, built) for k in got if k not in want), None)
        missing = next((k for got, want in zip(read, built) for k in want if k not in got), None)
        what = f"an extra header {extra!r}" if extra else f"no header {missing!r}" if missing else "other parts"
        raise HeaderError(f"the message reads back with {what} (a header value broke its line): not written, "
                          "not sent")
    return data
