"""Who receives each deck by e-mail: ``data/recipients.csv`` (optional file of the data contract).

One row per region: ``region`` (an abbreviation of ``regions.csv``, or ``national`` for the
national list), ``to`` and ``cc`` (functional mailboxes, several separated by ``;``, ``cc``
may be blank). Every problem is one line naming file, line and field.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from esante_report.contracts.readers import Column, check_unique, read_csv, shown
from esante_report.errors import DataError, Problem, ProblemList

__all__ = ["RECIPIENTS_FILE", "NATIONAL", "Recipients", "load_recipients", "valid_address"]

RECIPIENTS_FILE = "recipients.csv"
#: the ``region`` value of the national list (recipients of the national deck)
NATIONAL = "national"

# a plain address: ASCII local part of letters, digits and . _ % + -, a domain of labels and a TLD
_ADDRESS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9])?@"
                      r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}", re.ASCII)


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

    @property
    def everyone(self) -> tuple[str, ...]:
        return self.to + tuple(a for a in self.cc if a not in self.to)


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


_COLUMNS = [Column("region"), Column("to", _addresses()), Column("cc", _addresses(), blank_ok=True,
                                                                         required=False)]


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
        out[row["region"]] = Recipients(row["region"], row["to"], row.get("cc") or (), row.line)
    if problems:
        raise DataError(problems)
    return out
