"""``esante-report`` command line: parse, call the library, map errors to exit codes.

Exit codes: 0 success; 1 bad input (data, params) or failed render/export;
2 wrong usage. No traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import EsanteReportError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="esante-report", description=(
        "Render the parameterised notebooks into offline HTML (reveal.js) and 16:9 PDF slide decks."))
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="render the decks of one reporting date (or of all)")
    which = render.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", help="reporting date YYYY-MM-DD: renders params/<date>.yaml")
    which.add_argument("--all", action="store_true", help="render every params file")
    render.add_argument("--deck", action="append", metavar="NAME",
                        help="render only this deck (repeatable), e.g. post_covid or catalogue")
    _dirs(render)
    render.add_argument("--no-index", action="store_true", help="do not rewrite <out>/index.html")
    render.add_argument("--quiet", action="store_true", help="print only what was written")

    index = sub.add_parser("index", help="write <out>/index.html listing every rendered deck")
    index.add_argument("--out", type=Path, help="output folder (default: outputs/)")

    check = sub.add_parser("check", help="check the params and data of a date without rendering")
    which = check.add_mutually_exclusive_group(required=True)
    which.add_argument("--date")
    which.add_argument("--all", action="store_true")
    _dirs(check)

    from . import cli_export
    from .cli_survey import add_parsers as add_survey_parsers
    cli_export.add_parser(sub)
    add_survey_parsers(sub)
    return parser


def _dirs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="data folder (default: data/)")
    parser.add_argument("--params", type=Path, help="params folder (default: params/)")
    parser.add_argument("--out", type=Path, help="output folder (default: outputs/)")


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:.0f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def _run(args: argparse.Namespace) -> int:
    from . import cli_export, cli_survey
    if args.command == "export":
        return cli_export.run(args)
    if args.command in cli_survey.COMMANDS:
        return cli_survey.run(args)
    from . import index as index_mod
    from .paths import default_data_dir, default_out_dir, default_params_dir
    from .render import render_all, render_date

    out_dir = args.out or default_out_dir()
    if args.command == "index":
        path = index_mod.write_index(out_dir)
        print(f"wrote {path}")
        return 0
    data_dir = args.data or default_data_dir()
    params_dir = args.params or default_params_dir()
    if args.command == "check":
        return _check(params_dir, data_dir, None if args.all else args.date)
    start = time.monotonic()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - start:5.1f}s] {message}", file=sys.stderr, flush=True)

    kwargs = dict(decks=args.deck, data_dir=data_dir, params_dir=params_dir, out_dir=out_dir, progress=progress)
    rendered = render_all(**kwargs) if args.all else render_date(args.date, **kwargs)
    for deck in rendered:
        for path in (deck.html, deck.pdf, deck.ipynb):
            print(f"wrote {path} ({_size(path)})")
    if not args.no_index:
        print(f"wrote {index_mod.write_index(out_dir)}")
    return 0


def _check(params_dir: Path, data_dir: Path, date: str | None) -> int:
    """``check``: every date (or one), each OK or its problems; 1 when any date has a problem."""
    from .errors import DataError, ParamsError
    from .params import check_params_dir, load_params

    dates = check_params_dir(params_dir) if date is None else [date]
    failed = False
    for one in dates:
        try:
            runs = load_params(params_dir, one, data_dir)
        except (ParamsError, DataError) as exc:
            failed = True
            _print_error(exc)
            continue
        print(f"{one}: OK ({', '.join(r.deck for r in runs)})")
    return 1 if failed else 0


def _print_error(exc: BaseException) -> None:
    for line in str(exc).splitlines():
        print(f"error: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except EsanteReportError as exc:
        if args.debug:
            raise
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; outputs already published are untouched", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
