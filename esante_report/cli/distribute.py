"""``publish`` and ``mail`` commands: parse, call :mod:`esante_report.distribute.publish` or :mod:`esante_report.distribute.mail`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from esante_report.paths import is_report_date

__all__ = ["add_parsers", "run", "COMMANDS"]

COMMANDS = ("publish", "mail")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    publish = sub.add_parser("publish", help="copy the checked HTML and PDF decks and the index to a share")
    which = publish.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", action="append", metavar="YYYY-MM-DD", help="publish this date (repeatable)")
    which.add_argument("--all", action="store_true", help="publish every rendered date")
    publish.add_argument("--deck", action="append", metavar="NAME", help="only this deck (repeatable)")
    publish.add_argument("--region", action="append", metavar="ABBR",
                         help="only the regional decks of this region (repeatable; 'all' = every regional deck)")
    publish.add_argument("--to", metavar="TARGET",
                         help="a target of the config file, a folder, or an fsspec URL (webdav+https://host/path)")
    publish.add_argument("--dry-run", action="store_true", help="list what would be added, replaced, removed")
    _common(publish)

    mail = sub.add_parser("mail", help="write (or --send) one e-mail per region with its PDF deck attached")
    mail.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    mail.add_argument("--deck", action="append", metavar="NAME", help="only this deck (repeatable)")
    mail.add_argument("--region", action="append", metavar="ABBR",
                      help="'all' (default: every row of recipients.csv), 'national', or a region (repeatable)")
    mail.add_argument("--send", action="store_true", help="send through the SMTP relay of the config file")
    mail.add_argument("--resend", action="append", default=[], metavar="MESSAGE-ID",
                      help="with --send: send again a message that may have been delivered, named by a previous "
                           "run, once the relay says it was not (repeatable)")
    mail.add_argument("--data", type=Path, help="data folder (default: data/)")
    _common(mail)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (default: outputs/)")
    parser.add_argument("--config", type=Path, help="config file (default: $ESANTE_REPORT_CONFIG or "
                                                    "esante-report.toml at the project root)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary and the failures")


def _progress(quiet: bool):
    from esante_report.pipeline.progress import StderrProgress

    return StderrProgress(quiet=quiet)


def _warn(line: str) -> None:
    print(f"warning: {line}", file=sys.stderr, flush=True)


def _check_dates(dates: list[str] | None) -> None:
    from esante_report.errors import EsanteReportError

    for value in dates or []:
        if not is_report_date(value):
            raise EsanteReportError(f"expected a date YYYY-MM-DD, got {value!r}")


def run(args: argparse.Namespace) -> int:
    from esante_report.distribute.config import load_config
    from esante_report.paths import default_out_dir

    out_dir = Path(args.out or default_out_dir())
    config = load_config(args.config)
    if args.command == "publish":
        from esante_report.distribute import publish

        _check_dates(args.date)
        target = config.target(args.to)
        plan = publish.publish(out_dir, target, dates=None if args.all else list(dict.fromkeys(args.date)),
                               decks=args.deck, regions=args.region, dry_run=args.dry_run,
                               progress=_progress(args.quiet), warn=_warn)
        print(publish.summary_table(plan, args.dry_run))
        return 0
    from esante_report.distribute import mail
    from esante_report.paths import default_data_dir

    _check_dates([args.date])
    result = mail.mail(out_dir, Path(args.data or default_data_dir()), config, date=args.date, decks=args.deck,
                       regions=args.region or ["all"], send=args.send, resend=args.resend,
                       progress=_progress(args.quiet))
    print(mail.summary_table(result))
    for line in result.problems:
        print(f"error: {line}", file=sys.stderr)
    return 1 if result.left else 0
