"""Survey-cycle commands of ``esante-report``: ``new``, ``survey-form``, ``survey-import``.

:func:`add_parsers` adds the three subcommands to the main CLI's subparsers and
:func:`run` runs one of them; the deck code (``deck.py``) contributes them to the CLI.
Each command parses, calls one function of the library and prints its result.
"""

from __future__ import annotations

import argparse
from pathlib import Path


__all__ = ["COMMANDS", "add_parsers", "run"]

COMMANDS = ("new", "survey-form", "survey-import")


def _months(text: str) -> list[str]:
    from .survey import parse_months

    try:
        return parse_months(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add ``new``, ``survey-form`` and ``survey-import`` to the CLI's subparsers."""
    new = subparsers.add_parser("new", help="scaffold the next point d'étape: params file and waves.csv row")
    new.add_argument("--date", required=True, help="date of the new point d'étape, YYYY-MM-DD")
    new.add_argument("--params", type=Path, help="params folder (default: params/)")
    new.add_argument("--data", type=Path, help="data folder (default: data/)")

    form = subparsers.add_parser("survey-form", help="write one .xlsx survey form per region")
    form.add_argument("--wave", type=int, required=True, help="survey wave (a row of post_covid/waves.csv)")
    form.add_argument("--months", type=_months, required=True, help="months asked, e.g. 2021-10,2021-11")
    form.add_argument("--out", type=Path, required=True, help="folder to write the forms into")
    form.add_argument("--region", action="append", metavar="ABBR",
                      help="only this region (repeatable; default: every region of regions.csv)")
    form.add_argument("--force", action="store_true", help="overwrite forms already in --out")
    form.add_argument("--data", type=Path, help="data folder (default: data/)")

    imp = subparsers.add_parser("survey-import", help="merge returned forms into patients.csv and cells.csv")
    imp.add_argument("forms", nargs="+", type=Path, help="returned .xlsx forms, or folders holding them")
    imp.add_argument("--wave", type=int, help="refuse any form of another wave")
    imp.add_argument("--replace", action="store_true",
                     help="overwrite regions already imported with other values (prints what changed)")
    imp.add_argument("--dry-run", action="store_true", help="check and print what would change, write nothing")
    imp.add_argument("--data", type=Path, help="data folder (default: data/)")


def _forms(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for its .xlsx files (office lock files skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.glob("*.xlsx") if not p.name.startswith(("~$", ".~lock"))))
        else:
            out.append(path)
    return out


def run(args: argparse.Namespace) -> int:
    """Run the survey command ``args.command``; returns the exit code (errors raise EsanteReportError)."""
    from ...errors import _display_path
    from ...paths import default_data_dir, default_params_dir

    data_dir = args.data or default_data_dir()
    if args.command == "new":
        from .new_date import scaffold

        result = scaffold(args.date, args.params or default_params_dir(), data_dir)
        print("\n".join(result.lines()))
        return 0
    if args.command == "survey-form":
        from .survey import write_forms

        written = write_forms(data_dir, args.wave, args.months, args.out, regions=args.region, force=args.force)
        for path in written:
            print(f"wrote {_display_path(path)}")
        print(f"{len(written)} form{'s' * (len(written) > 1)} for wave {args.wave}, months {', '.join(args.months)}")
        return 0
    if args.command == "survey-import":
        from .survey import import_forms

        results, written = import_forms(_forms(args.forms), data_dir, wave=args.wave, replace=args.replace,
                                        dry_run=args.dry_run)
        for result in results:
            print(result.line())
            for change in result.changes:
                print(f"  changed {change}")
        for path in written:
            print(f"{'would write' if args.dry_run else 'wrote'} {_display_path(path)}")
        if not written:
            print("nothing to write: the data already hold these values")
        return 0
    raise ValueError(f"not a survey command: {args.command!r}")

