"""Who receives each deck by e-mail: ``data/recipients.csv`` (optional file of the data contract).

One row per region: ``region`` (an abbreviation of ``regions.csv``, or ``national`` for the
national list), ``to`` and ``cc`` (functional mailboxes, several separated by ``;``, ``cc``
may be blank), and ``illustrative`` (optional: ``true`` on a row whose addresses are examples,
not mailboxes). Every problem is one line naming file, line and field.

An address is compared without regard to case (as relays deliver it): the same mailbox in ``to``
and ``cc`` receives one copy. :func:`not_mailboxes` lists what ``mail --send`` refuses to send to:
rows marked illustrative and addresses of the reserved example domains (RFC 2606, RFC 6761).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from esante_report.contracts.readers import Column, check_unique, parse_bool, read_csv, shown
from esante_report.errors import DataError, Problem, ProblemList

__all__ = ["RECIPIENTS_FILE", "NATIONAL", "Recipients", "load_recipients", "valid_address", "reserved_domain",
           "not_mailboxes"]

RECIPIENTS_FILE = "recipients.csv"
#: the ``region`` value of the national list (recipients of the national deck)
NATIONAL = "national"

# a plain address: ASCII local part of letters, digits and . _ % + -, a domain of labels and a TLD
_ADDRESS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9])?@"
                      r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}", re.ASCII)


#: domains reserved for examples and tests (RFC 2606, RFC 6761): no mailbox can exist there
_RESERVED = ("example", "example.com", "example.net", "example.org", "test", "invalid", "localhost")


def reserved_domain(address: str) -> str | None:
    """The reserved example domain (``example.org``, ``test`` …) ``address`` belongs to, or None."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    return next((r for r in _RESERVED if domain == r or domain.endswith("." + r)), None)


def valid_address(text: str) -> bool:
    """True for a bare e-mail address (no display name, no comment, no two dots in a row)."""
    name, address = parseaddr(text, strict=True) if _STRICT_PARSEADDR else parseaddr(text)
    return (not name and address == text and ".." not in text and len(text) <= 254
            and _ADDRESS.fullmatch(text) is not None)


#: Python versions with the fix for CVE-2023-27043 parse strictly when asked
_STRICT_PARSEADDR = "strict" in inspect.signature(parseaddr).parameters


@dataclass(frozen=True)
class Recipients:
    """The mailboxes of one region (or of the national list)."""

    region: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    line: int
    illustrative: bool = False

    @property
    def everyone(self) -> tuple[str, ...]:
        """Every mailbox once: ``to``, then the ``cc`` not already there (whatever the case)."""
        seen: set[str] = set()
        return tuple(a for a in self.to + self.cc if not (a.lower() in seen or seen.add(a.lower())))


def _addresses():
    def parse(text: str) -> tuple[str, ...]:
        parts = [p.strip() for p in text.split(";")]
        if any(not p for p in parts):
            raise ValueError(f"expected addresses separated by ';' with none empty, got {shown(text)}")
        for part in parts:
            if not valid_address(part):
                raise ValueError(f"expected a functional mailbox such as 'ars-oc-esante@ars.sante.fr', "
                                 f"got {shown(part)}")
        if len(set(p.lower() for p in parts)) != len(parts):
            raise ValueError(f"the same address twice in {shown(text)}")
        return tuple(parts)
    return parse


_COLUMNS = [Column("region"), Column("to", _addresses()),
            Column("cc", _addresses(), blank_ok=True, required=False),
            Column("illustrative", parse_bool, blank_ok=True, required=False)]


def load_recipients(data_dir: Path) -> dict[str, Recipients]:
    """Region (or ``national``) → its recipients; raises :class:`DataError` listing every problem."""
    from esante_report.contracts.regions import read_regions

    data_dir = Path(data_dir)
    path = data_dir / RECIPIENTS_FILE
    problems: list[Problem] = ProblemList()
    regions = read_regions(data_dir, problems)
    known = set(regions["abbr"]) | {NATIONAL}
    rows = read_csv(path, _COLUMNS, problems, root=data_dir)
    check_unique(rows, ("region",), path, problems)
    out = {}
    for row in rows:
        if row["region"] not in known:
            problems.append(Problem(path, row.line, "region", f"unknown region {shown(row['region'])} (expected "
                                    f"{NATIONAL!r} or an abbreviation of regions.csv: {', '.join(regions['abbr'])})"))
            continue
        to = row["to"]
        cc = tuple(a for a in row.get("cc") or () if a.lower() not in {t.lower() for t in to})
        out[row["region"]] = Recipients(row["region"], to, cc, row.line, bool(row.get("illustrative")))
    if problems:
        raise DataError(problems)
    return out


def not_mailboxes(data_dir: Path, recipients: dict[str, Recipients]) -> list[Problem]:
    """One problem per row marked illustrative and per address of a reserved example domain."""
    path = Path(data_dir) / RECIPIENTS_FILE
    problems: list[Problem] = ProblemList()
    for who in recipients.values():
        if who.illustrative:
            problems.append(Problem(path, who.line, "illustrative", f"the row of {who.region!r} is marked "
                                    "illustrative: its addresses are examples (replace them with the real "
                                    "mailboxes and clear the column before mail --send)"))
            continue
        for column, addresses in (("to", who.to), ("cc", who.cc)):
            for address in addresses:
                if domain := reserved_domain(address):
                    problems.append(Problem(path, who.line, column, f"{shown(address)} is an address of the "
                                            f"reserved example domain {domain!r}, not a mailbox (replace it "
                                            "before mail --send)"))
    return problems
