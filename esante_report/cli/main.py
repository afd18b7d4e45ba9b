"""``esante-report`` command line: parse, call the library, map errors to exit codes.

Exit codes: 0 success; 1 bad input (data, params), an output that cannot be written, or any
deck of a batch that failed (the others are still rendered, then a summary is printed);
2 wrong usage. No traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from esante_report.distribute.config import redact
from esante_report.errors import EsanteReportError
from esante_report.pipeline import interrupt
from esante_report.paths import is_report_date

__all__ = ["main", "run"]


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="esante-report", description=(
        "Render the parameterised notebooks into offline HTML (reveal.js) and 16:9 PDF slide decks."))
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    parser.add_argument("--project", type=Path, metavar="DIR",
                        help="the project folder (default: found from the current folder upwards, by a "
                             "[tool.esante-report] table in pyproject.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="render the decks of reporting dates (cached, in parallel)")
    render.add_argument("--date", action="append", metavar="YYYY-MM-DD",
                        help="reporting date: renders params/<date>.yaml (repeatable)")
    render.add_argument("--all", action="store_true", help="render every params file")
    render.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                        help="render every params file from this date (inclusive)")
    render.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                        help="render every params file up to this date (inclusive)")
    render.add_argument("--deck", action="append", metavar="NAME",
                        help="render only this deck (repeatable): notebooks/NAME.ipynb")
    render.add_argument("--region", action="append", metavar="ABBR",
                        help="render the regional decks for this region (repeatable; 'all' = every region of "
                             "regions.csv) as <deck>-<ABBR>.* instead of the national deck")
    _dirs(render)
    render.add_argument("--jobs", "-j", type=_positive, metavar="N",
                        help="decks rendered at once (default: the number of cores)")
    render.add_argument("--force", action="store_true", help="render even the decks that are up to date")
    render.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
    render.add_argument("--scheduler", metavar="ADDRESS",
                        help="send the decks to this Dask scheduler, e.g. tcp://host:8786")
    render.add_argument("--scheduler-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                        help="give up reaching --scheduler after this many seconds (default: 10)")
    render.add_argument("--dask", action="store_true", help="run the decks on a local Dask cluster")
    render.add_argument("--cell-timeout", type=_seconds, metavar="SECONDS",
                        help="stop a notebook cell running longer than this (default: 600; 0 = no limit)")
    render.add_argument("--no-index", action="store_true", help="do not rewrite <out>/index.html")
    render.add_argument("--formats", metavar="LIST",
                        help="formats to write, e.g. html,pdf (default: the project's [tool.esante-report] "
                             "formats, else html,pdf,pptx,odp)")
    render.add_argument("--no-pptx", action="store_true",
                        help="do not write the editable decks (the same as leaving pptx and odp out of --formats)")
    render.add_argument("--quiet", action="store_true", help="print only what was written and the failures")

    index = sub.add_parser("index", help="write <out>/index.html listing every rendered deck")
    index.add_argument("--out", type=Path, help="output folder (default: outputs/)")

    check = sub.add_parser("check", help="check the params and data of a date without rendering")
    which = check.add_mutually_exclusive_group(required=True)
    which.add_argument("--date")
    which.add_argument("--all", action="store_true")
    _dirs(check)

    new_deck = sub.add_parser("new-deck", help="scaffold a deck: notebook, data with its Table Schema, params entry")
    new_deck.add_argument("name", help="deck name: lower-case letters, digits and _, e.g. teleconsultations")
    new_deck.add_argument("--title", help="the deck's title (in French), shown in every footer (default: NAME)")
    new_deck.add_argument("--date", metavar="YYYY-MM-DD",
                          help="reporting date: adds NAME to params/<date>.yaml (default: today)")
    new_deck.add_argument("--from-csv", nargs="+", type=Path, metavar="FILE", dest="from_csv",
                          help="build the deck on these CSV files: copied into data/NAME/, each with an inferred "
                               "Table Schema; the slides follow the first file's columns")
    new_deck.add_argument("--issuer", default="Ministère des Solidarités et de la Santé",
                          help="the issuing body in the header band (default: %(default)s)")
    _dirs(new_deck)

    preview = sub.add_parser("preview", help="serve a deck on 127.0.0.1, rebuilt on every save, problems on their slide")
    preview.add_argument("deck", help="the deck: notebooks/DECK.ipynb")
    preview.add_argument("--date", metavar="YYYY-MM-DD", help="reporting date (default: the latest params file naming it)")
    preview.add_argument("--region", metavar="ABBR", help="the deck of this region")
    preview.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: a free one)")
    preview.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    _dirs(preview)

    from esante_report.cli import distribute as cli_distribute
    from esante_report.cli import export as cli_export
    from esante_report.decks.registry import deck_commands
    cli_export.add_parser(sub)
    cli_distribute.add_parsers(sub)
    return parser, deck_commands(sub)


def _dirs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="data folder (default: data/)")
    parser.add_argument("--params", type=Path, help="params folder (default: params/)")
    parser.add_argument("--out", type=Path, help="output folder (default: outputs/)")


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of workers ≥ 1, got {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds ≥ 0, got {text!r}")
    return value


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:.0f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def _dates(args: argparse.Namespace, params_dir: Path, parser: argparse.ArgumentParser) -> tuple[list[str], bool]:
    """The dates to render, and whether decks missing from a params file are skipped (a range of dates)."""

    from esante_report.contracts.params import list_dates

    ranged = args.date_from is not None or args.date_to is not None
    if sum((bool(args.date), args.all, ranged)) != 1:
        parser.error("render: give exactly one of --date (repeatable), --all, or --from/--to")
    for value in (*(args.date or []), args.date_from, args.date_to):
        if value is not None and not is_report_date(value):
            parser.error(f"render: expected a date YYYY-MM-DD, got {value!r}")
    if args.date:
        return list(dict.fromkeys(args.date)), False
    from esante_report.errors import RenderError

    dates = list_dates(params_dir)
    if ranged:
        dates = [d for d in dates if (args.date_from or d) <= d <= (args.date_to or d)]
    if not dates:
        where = f" between {args.date_from or 'the first'} and {args.date_to or 'the last'}" if ranged else ""
        raise RenderError(f"no params file{where} in {params_dir} (expected files named YYYY-MM-DD.yaml)")
    return dates, bool(args.deck)


def _formats(args: argparse.Namespace) -> tuple[str, ...]:
    """The formats of this command: --formats, else the project's; --no-pptx leaves the editable decks out."""
    from esante_report.formats import registry

    chosen = registry.parse_formats(args.formats) if args.formats else registry.project_formats()
    if args.no_pptx:
        chosen = [name for name in chosen if name not in ("pptx", "odp")]
    return tuple(chosen)


def _render(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from esante_report.pipeline.batch import default_jobs, render_batch, summary_table
    from esante_report.paths import default_data_dir, default_out_dir, default_params_dir, notebooks_dir
    from esante_report.pipeline.progress import StderrProgress

    out_dir = Path(args.out or default_out_dir())
    data_dir = Path(args.data or default_data_dir())
    params_dir = Path(args.params or default_params_dir())
    dates, only_listed = _dates(args, params_dir, parser)
    progress = StderrProgress(quiet=args.quiet)
    the_plan, results = render_batch(
        dates, decks=args.deck, data_dir=data_dir, params_dir=params_dir, out_dir=out_dir,
        notebooks=notebooks_dir(), regions=args.region, force=args.force, only_listed=only_listed,
        formats=_formats(args), index=not args.no_index,
        workers=args.jobs or default_jobs(), scheduler=args.scheduler, dask=args.dask, fail_fast=args.fail_fast,
        progress=progress, report=lambda line: print(line, flush=True) if not args.quiet else None,
        strict=args.debug, live=sys.stderr.isatty() and not args.quiet, cell_timeout=args.cell_timeout,
        scheduler_timeout=args.scheduler_timeout)
    for line in the_plan.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in the_plan.problems:
        print(f"error: {line}", file=sys.stderr)
    for result in results:
        if args.debug and result.traceback:
            print(f"{result.date}/{result.name}:\n{result.traceback}", file=sys.stderr)
        if result.deck is not None:
            for path in (*result.deck.files.values(), result.deck.ipynb):
                print(f"wrote {path} ({_size(path)})")
    everything = the_plan.up_to_date + the_plan.refused + results
    failed = [r for r in everything if r.status not in ("rendered", "up to date")]
    if everything and (not args.quiet or failed):
        print(summary_table(sorted(everything, key=lambda r: (r.date, r.name))))
    for line in the_plan.late_warnings:
        print(f"warning: {line}", file=sys.stderr)
    if the_plan.index is not None:
        from esante_report.outdir.feed import FEED_NAME

        print(f"wrote {the_plan.index}\nwrote {the_plan.index.parent / FEED_NAME}")
    return 1 if failed else 0


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser, commands: dict) -> int:
    from esante_report.cli import distribute as cli_distribute
    from esante_report.cli import export as cli_export
    if args.command == "export":
        return cli_export.run(args)
    if args.command in cli_distribute.COMMANDS:
        return cli_distribute.run(args)
    if args.command in commands:
        return commands[args.command](args)
    from esante_report.paths import default_data_dir, default_out_dir, default_params_dir

    if args.command == "index":
        from esante_report.outdir import index as index_mod

        path = index_mod.write_index(args.out or default_out_dir(), force=True)
        print(f"wrote {path}\nwrote {path.parent / index_mod.FEED_NAME}")
        return 0
    if args.command == "render":
        return _render(args, parser)
    if args.command == "preview":
        from esante_report.paths import notebooks_dir
        from esante_report.preview.run import preview

        if args.date is not None and not is_report_date(args.date):
            parser.error(f"preview: expected a date YYYY-MM-DD, got {args.date!r}")
        return preview(args.deck, date=args.date, region=args.region, port=args.port, browser=not args.no_browser,
                       data_dir=args.data or default_data_dir(), params_dir=args.params or default_params_dir(),
                       notebooks=notebooks_dir())
    data_dir = args.data or default_data_dir()
    params_dir = args.params or default_params_dir()
    if args.command == "check":
        return _check(params_dir, data_dir, None if args.all else args.date)
    if args.command == "new-deck":
        from esante_report.decks.scaffold import new_deck

        import datetime as dt

        title = args.title if args.title is not None else args.name.replace("_", " ").capitalize()
        for path in new_deck(args.name, title=title, date=args.date or dt.date.today().isoformat(),
                             data_dir=data_dir, params_dir=params_dir, issuer=args.issuer, csv_files=args.from_csv):
            print(f"wrote {path}")
        return 0
    return 2


def _check(params_dir: Path, data_dir: Path, date: str | None) -> int:
    """``check``: every date (or one), each OK or its problems; 1 when any date has a problem."""
    from esante_report.errors import DataError, ParamsError
    from esante_report.contracts.params import check_params_dir, load_params

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


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: temporary folders are removed on the way out."""


def _terminate(signum, frame) -> None:
    raise interrupt.record(Terminated())


def _interrupt(signum, frame) -> None:
    raise interrupt.record(KeyboardInterrupt())


@contextlib.contextmanager
def _signals_as_interrupt():
    """While the command runs, SIGTERM unwinds like Ctrl-C (build folders removed, one line, exit 143); both
    are recorded too, so that one a library swallows still stops the command (see ``pipeline.interrupt``)."""
    interrupt.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    previous_int = signal.signal(signal.SIGINT, _interrupt) if signal.getsignal(signal.SIGINT) is \
        signal.default_int_handler else None
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)


class _QuietAsyncio:
    """Without ``--debug``, what asyncio reports (a kernel's task cut short by Ctrl-C or SIGTERM is reported
    as "Task exception was never retrieved", with its traceback, when it is collected) is one line, and
    nothing once the command was interrupted: its one ``error:`` line says all."""

    interrupted = False

    def filter(self, record) -> bool:
        if self.interrupted:
            return False
        record.msg, record.args = record.getMessage().splitlines()[0] if record.getMessage() else "", ()
        record.exc_info = record.exc_text = record.stack_info = None
        return True


_quiet_asyncio = _QuietAsyncio()


def _traceback(exc: BaseException) -> int:
    """``--debug``: the traceback on stderr, with every credential hidden as in all other output."""
    import traceback

    print(redact("".join(traceback.format_exception(exc))), end="", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a path with a non-UTF-8 byte is printed as the bytes it has
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="surrogateescape" if stream is sys.stdout else "backslashreplace")
    parser, commands = _parser()
    args = parser.parse_args(argv)
    import logging

    _quiet_asyncio.interrupted = False
    (logging.getLogger("asyncio").removeFilter if args.debug else logging.getLogger("asyncio").addFilter)(
        _quiet_asyncio)
    try:
        if args.project is not None:
            from esante_report.paths import use_project
            use_project(args.project)
        with _signals_as_interrupt():
            return _run(args, parser, commands)
    except EsanteReportError as exc:
        if args.debug:
            return _traceback(exc)
        for line in str(exc).splitlines():
            print(f"error: {redact(line)}", file=sys.stderr)
        return 1
    except OSError as exc:  # permissions, disk full, read-only file system: one line naming the path
        if args.debug:
            return _traceback(exc)
        from esante_report.outdir.fs import os_error

        print(f"error: {redact(os_error(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            return _traceback(exc)
        raise
    except KeyboardInterrupt as exc:
        _quiet_asyncio.interrupted = True
        if isinstance(exc, Terminated):
            print("error: terminated (SIGTERM); outputs already published are untouched", file=sys.stderr)
            return 143
        print("error: interrupted; outputs already published are untouched", file=sys.stderr)
        return 130


def run() -> None:
    """The ``esante-report`` command: :func:`main`, then out at once.

    Every file is written and every kernel and LibreOffice stopped when :func:`main` returns; what the
    interpreter would do next (tearing down some 1,700 modules and their objects, 0.3–0.4 s of a render) is
    skipped: the standard streams are flushed and the ``atexit`` functions run, then the process ends. An
    exception :func:`main` lets through still ends the usual way, with its traceback.
    """
    import atexit
    import os

    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away (``| head``)
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
