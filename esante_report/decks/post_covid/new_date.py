"""The next point d'étape scaffolded: ``esante-report new --date D``.

From the latest earlier params file with a ``post_covid`` entry, :func:`scaffold`
writes ``params/<D>.yaml`` (next wave, the months that follow — same count —,
same issuer, the other decks' entries copied as they are) and adds the wave's
row to ``post_covid/waves.csv``. It refuses to overwrite anything and writes
nothing when any check fails. It returns what it wrote and what is still to
fill in by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from esante_report.contracts.readers import LocDict, _Loader, read_yaml
from esante_report.contracts.rewrite import Pending, commit, csv_text, read_raw_csv
from ...errors import DataError, ParamsError, Problem, _display_path
from ...fmt import fmt_date
from esante_report.contracts.params import list_dates, params_path
from .data import SUBDIR, load_post_covid, measures_for
from esante_report.paths import is_report_date

__all__ = ["Scaffold", "scaffold", "next_months"]

_MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Scaffold:
    """What ``new`` did: the files written, the new wave and what is left to do by hand."""

    date: str
    params_file: Path
    previous_file: Path
    waves_file: Path
    wave: int
    previous_wave: int
    months: list[str]
    label: str
    source: str
    source_updated: bool
    copied_decks: list[str]
    to_fill: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What the command prints."""
        out = [f"wrote {_display_path(self.params_file)} (post_covid: wave {self.wave}, months "
               f"{', '.join(self.months)}; from {_display_path(self.previous_file)})"]
        if self.copied_decks:
            out.append(f"  copied as they are from {self.previous_file.name}: {', '.join(self.copied_decks)}")
        out.append(f"added wave {self.wave} to {_display_path(self.waves_file)}: {self.date}, {self.label!r}, "
                   f"source {self.source!r}")
        out.append("still to fill in:")
        out.extend(f"  - {item}" for item in self.to_fill)
        return out


def next_months(months: list[str]) -> list[str]:
    """The ``len(months)`` months that follow the last of ``months``."""
    year, mon = (int(x) for x in max(months).split("-"))
    out = []
    for _ in months:
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
        out.append(f"{year}-{mon:02d}")
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when it reads back identical, double-quoted otherwise."""
    try:
        if "#" not in text and yaml.safe_load(f"k: {text}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def _blocks(text: str, data: LocDict) -> dict[str, str] | None:
    """Top-level entries of a block-style params file as their verbatim text (comments above kept)."""
    lines = text.splitlines()
    starts = []
    for key in data:
        line = data.line_of(key)
        if not (1 <= line <= len(lines)) or not re.match(rf"[\"']?{re.escape(str(key))}[\"']?\s*:", lines[line - 1]):
            return None
        starts.append((line - 1, str(key)))
    starts.sort()
    out: dict[str, str] = {}
    for i, (start, key) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(lines)
        first = start
        floor = starts[i - 1][0] + 1 if i else 0
        while first > floor and lines[first - 1].startswith("#") and not _is_header_comment(lines, first - 1, i):
            first -= 1
        body = lines[first:end]
        while body and (not body[-1].strip() or body[-1].startswith("#")):
            body.pop()
        out[key] = "\n".join(body)
    return out


def _is_header_comment(lines: list[str], index: int, block: int) -> bool:
    """The comment lines at the very top of the file describe the file, not the first entry."""
    return block == 0 and all(line.startswith("#") or not line.strip() for line in lines[: index + 1])


def _post_covid_block(entry: LocDict, wave: int, months: list[str]) -> str:
    lines = ["post_covid:", f"  wave: {wave}", f"  months: [{', '.join(json.dumps(m) for m in months)}]"]
    for key, value in entry.items():
        if key in ("wave", "months"):
            continue
        if key == "issuer" and isinstance(value, str):
            lines.append(f"  issuer: {_scalar(value)}")
            continue
        dumped = yaml.safe_dump({key: _plain(value)}, allow_unicode=True, default_flow_style=False, sort_keys=False)
        lines.extend("  " + line for line in dumped.rstrip("\n").splitlines())
    return "\n".join(lines)


def _previous(params_dir: Path, date: str) -> tuple[Path, LocDict, str]:
    for earlier in reversed([d for d in list_dates(params_dir) if d < date]):
        path = params_path(params_dir, earlier)
        problems: list[Problem] = []
        data = read_yaml(path, problems)
        if problems:
            raise ParamsError(problems)
        if isinstance(data, LocDict) and isinstance(data.get("post_covid"), LocDict):
            return path, data, path.read_text(encoding="utf-8")
    raise ParamsError([Problem(params_dir, None, None, f"no params file before {date} with a post_covid entry "
                               "(expected one to start from, e.g. params/2021-11-15.yaml)")])


def scaffold(date: str, params_dir: Path, data_dir: Path) -> Scaffold:
    """Write ``params/<date>.yaml`` and the next wave's ``waves.csv`` row; see the module docstring."""
    params_dir, data_dir = Path(params_dir), Path(data_dir)
    target = params_dir / f"{date}.yaml"
    try:
        if not is_report_date(date):
            raise ValueError
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise ParamsError([Problem(target, None, None, f"expected a date YYYY-MM-DD, got {date!r}")]) from None
    existing = params_path(params_dir, date)
    if existing.exists():
        raise ParamsError([Problem(existing, None, None, "already exists; refusing to overwrite it "
                                   "(edit it, or delete it to scaffold it again)")])
    prev_path, prev, prev_text = _previous(params_dir, date)
    entry = prev["post_covid"]
    wave, months = entry.get("wave"), entry.get("months")
    problems: list[Problem] = []
    if not isinstance(wave, int) or isinstance(wave, bool):
        problems.append(Problem(prev_path, entry.line_of("wave"), "wave", f"expected a wave number, got {wave!r}"))
    if not isinstance(months, list) or not months or not all(isinstance(m, str) and _MONTH_RE.fullmatch(m)
                                                             for m in months):
        problems.append(Problem(prev_path, entry.line_of("months"), "months",
                                f"expected a list of months YYYY-MM, got {months!r}"))
    if problems:
        raise ParamsError(problems)

    data = load_post_covid(data_dir)
    waves_path = data_dir / SUBDIR / "waves.csv"
    raw = read_raw_csv(waves_path)
    known = {int(r["wave"]): r for r in raw.rows}
    new_wave = wave + 1
    if new_wave in known:
        raise DataError([Problem(waves_path, None, "wave", f"wave {new_wave} already exists "
                                 f"(dated {known[new_wave]['date']}); refusing to add it again")])
    if wave not in known:
        raise DataError([Problem(waves_path, None, "wave", f"wave {wave} of {_display_path(prev_path)} not found "
                                 "(expected its row, to copy its source line)")])
    prev_row = known[wave]
    prev_day = dt.date.fromisoformat(prev_row["date"])
    if day <= prev_day:
        raise ParamsError([Problem(target, None, None, f"date {date} is not after wave {wave}'s date "
                                   f"{prev_row['date']} (expected the date of the next point d'étape)")])

    new_months = next_months(months)
    label = f"Enquête n°{new_wave}"
    source, updated = prev_row["source"], False
    for old, new in ((fmt_date(prev_day), fmt_date(day)), (prev_day.isoformat(), date)):
        if old in source:
            source, updated = source.replace(old, new), True
    row = {name: "" for name in raw.header}
    row.update({"wave": str(new_wave), "date": date, "label": label, "source": source})
    if "cells_illustrative" in raw.header:
        row["cells_illustrative"] = "false"
    raw.rows.append(row)
    waves_text = csv_text(raw, lambda r: int(r["wave"]))

    blocks = _blocks(prev_text, prev)
    new_block = _post_covid_block(entry, new_wave, new_months)
    header = (f"# Decks rendered for the reporting date {date} (the file name is the date).\n"
              f"# Scaffolded by 'esante-report new' from {prev_path.name}.\n")
    if blocks is not None:
        body = "\n".join(new_block if key == "post_covid" else text for key, text in blocks.items())
    else:
        others = {k: _plain(v) for k, v in prev.items() if k != "post_covid"}
        body = new_block + ("\n" + yaml.safe_dump(others, allow_unicode=True, sort_keys=False).rstrip("\n")
                            if others else "")
    params_text = header + body + "\n"
    check = _plain(yaml.load(params_text, Loader=_Loader))  # the loader render uses: dates stay text
    expected = {k: _plain(v) for k, v in prev.items() if k != "post_covid"}
    if {k: v for k, v in check.items() if k != "post_covid"} != expected or check["post_covid"]["wave"] != new_wave:
        raise ParamsError([Problem(prev_path, None, None, "could not copy its entries faithfully "
                                   "(write the new params file by hand)")])

    commit([Pending(target, params_text, must_not_exist=True), Pending(waves_path, waves_text)])

    to_fill = [
        f"send the forms: esante-report survey-form --wave {new_wave} --months {','.join(new_months)} --out forms/",
        "import the returns: esante-report survey-import forms/*.xlsx",
    ]
    if not updated:
        to_fill.append(f"the source line of wave {new_wave} in {waves_path.name} was copied from wave {wave} as is "
                       f"(it holds no date {fmt_date(prev_day)} to update): {source!r}")
    if new_wave not in data.measures:
        try:
            _, since = measures_for(data, new_wave)
            to_fill.append(f"measures: measures.yaml has no entry for wave {new_wave}, so the deck shows wave "
                           f"{since}'s (\"mesures inchangées depuis l'enquête n°{since}\"); add a '- wave: "
                           f"{new_wave}' entry if they changed")
        except DataError:
            to_fill.append(f"measures: add a '- wave: {new_wave}' entry to measures.yaml")
    to_fill.append("milestones: add any new milestone to milestones.csv")
    copied = [k for k in prev if k != "post_covid"]
    if copied:
        to_fill.append(f"other decks ({', '.join(copied)}): copied as they are; check they still fit {date}")
    return Scaffold(date=date, params_file=target, previous_file=prev_path, waves_file=waves_path, wave=new_wave,
                    previous_wave=wave, months=new_months, label=label, source=source, source_updated=updated,
                    copied_decks=copied, to_fill=to_fill)
