"""A deck's e-mail: the text file ``notebooks/<deck>.mail.txt`` beside its notebook, filled with kept values.

The first line is the subject, then a blank line, then the body (plain text). ``{{ name }}``
placeholders take the values the notebook kept with ``esr.keep(name, value)`` (in French format, read
from the published executed notebook, so they are the figures of the attached PDF), and three that
``mail`` gives: ``link`` (the published HTML deck, or empty), ``attachment`` (the PDF's file name) and
``attachment_size``. A line holding a placeholder whose value is empty is left out: keeping an empty
value makes a line optional (``link`` when the deck is not published).
"""

from __future__ import annotations

import re
from pathlib import Path

from esante_report.errors import EsanteReportError

__all__ = ["TEMPLATE_SUFFIX", "BUILT_IN", "template_path", "fill", "starting_template", "MailTemplateError"]

TEMPLATE_SUFFIX = ".mail.txt"
#: the values ``mail`` gives every template
BUILT_IN = ("link", "attachment", "attachment_size")
_PLACEHOLDER = re.compile(r"\{\{(.{0,200}?)\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
#: characters a kept value never brings into a message (control characters; the body keeps its line breaks)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
MAX_TEMPLATE_BYTES = 64 * 1024


class MailTemplateError(EsanteReportError, ValueError):
    """A mail template that cannot be filled: names the file, the line and the placeholder."""


def template_path(notebook: Path) -> Path:
    """Where the mail template of the deck whose notebook is ``notebook`` lives."""
    return Path(notebook).with_name(Path(notebook).stem + TEMPLATE_SUFFIX)


def _clean(value: str, *, one_line: bool) -> str:
    value = _CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    return " ".join(value.split()) if one_line else value


def fill(path: Path, values: dict[str, str]) -> tuple[str, str]:
    """``(subject, body)`` of the template ``path`` filled with ``values``; MailTemplateError otherwise."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_TEMPLATE_BYTES:
            raise MailTemplateError(f"{path}: too large ({len(raw):,} bytes; expected a mail template of at most "
                                    f"{MAX_TEMPLATE_BYTES:,} bytes)")
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MailTemplateError(f"{path}: not valid UTF-8 (save the mail template as UTF-8)") from None
    except OSError as exc:
        raise MailTemplateError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    lines = text.replace("\r\n", "\n").split("\n")
    out = []
    for number, line in enumerate(lines, start=1):
        empty = False

        def value(match: re.Match, number: int = number) -> str:
            nonlocal empty
            name = match.group(1).strip()
            if not _NAME.fullmatch(name):
                raise MailTemplateError(f"{path}:{number}: {{{{ {name[:60]} }}}}: a placeholder is the name of a "
                                        "value the notebook keeps, e.g. {{ total }} for esr.keep('total', total)")
            if name not in values:
                kept = ", ".join(sorted(n for n in values if n not in BUILT_IN)) or "none"
                raise MailTemplateError(f"{path}:{number}: {{{{ {name} }}}}: the notebook keeps no value of that "
                                        f"name (add esr.keep({name!r}, value) to it, then render again; "
                                        f"kept: {kept}; given by mail: {', '.join(BUILT_IN)})")
            filled = _clean(str(values[name]), one_line=number == 1)
            empty = empty or not filled.strip()
            return filled

        filled = _PLACEHOLDER.sub(value, line)
        if not empty:
            out.append(filled)
    subject, _, body = "\n".join(out).partition("\n")
    subject = " ".join(subject.split())
    if not subject:
        raise MailTemplateError(f"{path}:1: the first line is the subject and is empty (write the subject there, "
                                "then a blank line, then the body)")
    return subject, body.lstrip("\n")


def starting_template(title: str, kept: dict[str, str]) -> str:
    """A first mail template for a new deck quoting the values ``kept`` (name → what it is)."""
    quoted = "\n".join(f"- {label} : {{{{ {name} }}}}" for name, label in kept.items())
    return (f"{title} : point au {{{{ date }}}}\n\n"
            "Madame, Monsieur,\n\n"
            f"Vous trouverez ci-joint la présentation « {title} » du {{{{ date }}}}.\n\n"
            f"{quoted}\n\n"
            "La présentation est aussi consultable en ligne (diaporama HTML) : {{ link }}\n"
            "Pièce jointe : {{ attachment }} (PDF, {{ attachment_size }}).\n\n"
            "Ce message est envoyé à une liste de boîtes fonctionnelles ; merci de ne pas y répondre directement.\n\n"
            "{{ emetteur }}\n")
