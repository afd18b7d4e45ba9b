"""Deck code of the post_covid deck: its own checks (those no Table Schema can say), data files, CSS and
commands (the survey cycle), found by the registry (see :mod:`esante_report.decks.registry`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from esante_report.contracts.readers import LocDict, kind
from ...errors import DataError, Problem

__all__ = ["check", "data_files", "add_commands", "STYLESHEET"]

STYLESHEET = Path(__file__).parent / "deck.css"
#: what the deck's notebook imports: a warm kernel of a batch imports it before the deck runs
KERNEL_IMPORTS = ("esante_report.decks.post_covid.blocks",)


def data_files(data_dir: Path) -> tuple[Path, ...]:
    from .files import data_files as files  # no pandas: the runner lists the files before any work
    return files(data_dir)


def check(params: LocDict, ctx) -> dict[str, Any] | None:
    """wave and months of the params entry, against the data (waves.csv, measures.yaml, the report date)."""
    from esante_report.contracts.boundaries import check_boundaries
    from .data import check_wave_months, load_post_covid

    path, data_dir, problems = ctx.path, ctx.data_dir, ctx.problems
    before = len(problems)
    wave = params.get("wave")
    if not isinstance(wave, int) or isinstance(wave, bool):
        problems.append(Problem(path, params.line_of("wave"), "wave", f"expected a wave number, got {kind(wave)}"))
        wave = None
    months = params.get("months")
    if not isinstance(months, list) or not months:
        problems.append(Problem(path, params.line_of("months"), "months",
                                f"expected a list of months YYYY-MM, got {kind(months)}"))
        months = []
    for i, month in enumerate(months):
        if not isinstance(month, str) or not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
            problems.append(Problem(path, months.line_of(i), "months", f"expected a month YYYY-MM, got {kind(month)}"))
    if len(set(map(str, months))) != len(months):
        problems.append(Problem(path, params.line_of("months"), "months", "expected each month once"))
    try:
        data = load_post_covid(data_dir)
    except DataError as exc:
        problems.extend(exc.problems)
        data = None
    check_boundaries(data_dir, ("regions.geojson",), problems)
    if data is not None and wave is not None:
        waves = sorted(data.waves["wave"])
        if wave not in waves:
            problems.append(Problem(path, params.line_of("wave"), "wave",
                                    f"unknown wave {wave} (expected one of {', '.join(map(str, waves))} "
                                    f"from {data_dir / 'post_covid' / 'waves.csv'})"))
        elif not any(w <= wave for w in data.measures):
            problems.append(Problem(data_dir / "post_covid" / "measures.yaml", None, "wave",
                                    f"no entry for wave {wave} or an earlier wave (a wave without its own "
                                    "entry shows the latest earlier one)"))
        elif len(problems) == before:
            problems.extend(check_wave_months(data, wave, [str(m) for m in months], ctx.report_date, path,
                                              params.line_of("months"), data_dir))
    if len(problems) > before:
        return None
    return {"wave": wave, "months": [str(m) for m in months]}


def add_commands(subparsers) -> dict:
    """The survey cycle's commands: ``new``, ``survey-form``, ``survey-import``."""
    from . import cli

    cli.add_parsers(subparsers)
    return {name: cli.run for name in cli.COMMANDS}
