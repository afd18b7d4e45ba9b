"""Refuse a zip container (.xlsx) that would inflate past what a small form can hold.

An ``.xlsx`` is a zip of XML parts. A hostile one can declare parts that inflate
a thousand times (an 89 MB file whose sheet inflates to 1.17 GB), which any XML
reader would then try to parse. :func:`zip_refusal` reads only the zip's central
directory (no part is inflated) and checks the file size, the number of parts,
each part's and the total inflated size and each large part's compression
ratio. Python's :mod:`zipfile` never inflates a part past the size its directory
declares (a part that lies fails its CRC check), so checking the declared sizes
bounds what a reader of the file will ever inflate.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["ZipLimits", "FORM_LIMITS", "zip_refusal"]

_MIB = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """Caps for one kind of zip file (sizes in bytes)."""

    file_bytes: int
    members: int
    member_bytes: int
    total_bytes: int
    #: inflated / compressed size allowed for a part larger than ``ratio_from`` bytes
    ratio: float
    ratio_from: int


#: a data-entry form holds a few hundred cells: about 10 KiB zipped, 30 KiB inflated, its largest part
#: (theme or styles, written by openpyxl, Excel or LibreOffice) about 10 KiB; the caps leave a hundred
#: times more room. The part cap also bounds the time a reader spends on a sheet (openpyxl parses a
#: whole row even when a few of its cells are read: a 1 MiB row of cells takes about 2 s).
FORM_LIMITS = ZipLimits(file_bytes=2 * _MIB, members=100, member_bytes=_MIB, total_bytes=4 * _MIB,
                        ratio=100.0, ratio_from=256 << 10)


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < _MIB else f"{n / _MIB:,.1f} MiB"


def zip_refusal(handle: BinaryIO, limits: ZipLimits = FORM_LIMITS, what: str = "a form") -> str | None:
    """Why the open file ``handle`` is refused (one line), or None when its zip stays within ``limits``.

    Only the zip's directory is read. A file that is not a zip at all is not
    refused here (the reader that follows says what it is not). The caller then
    reads the same open file (rewinding it), so what was checked is what is read.
    """
    size = os.fstat(handle.fileno()).st_size
    if size > limits.file_bytes:
        return (f"file of {_size(size)}, too large for {what} (expected at most {_size(limits.file_bytes)}): "
                "refused unread")
    try:
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return None
    finally:
        handle.seek(0)
    if len(members) > limits.members:
        return (f"zip of {len(members):,} parts, too many for {what} (expected at most {limits.members}): "
                "refused unread")
    total = 0
    for member in members:
        name = member.filename[:60]
        if member.file_size > limits.member_bytes:
            return (f"part {name!r} inflates to {_size(member.file_size)}, too large for {what} "
                    f"(expected at most {_size(limits.member_bytes)} per part): refused unread")
        if member.file_size > limits.ratio_from and member.file_size > limits.ratio * max(member.compress_size, 1):
            return (f"part {name!r} inflates {member.file_size / max(member.compress_size, 1):,.0f} times "
                    f"(expected at most {limits.ratio:,.0f} times for {what}): refused unread")
        total += member.file_size
    if total > limits.total_bytes:
        return (f"parts inflate to {_size(total)} in all, too large for {what} "
                f"(expected at most {_size(limits.total_bytes)}): refused unread")
    return None
