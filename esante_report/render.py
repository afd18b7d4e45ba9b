"""Render decks: run each notebook with papermill, export HTML and PDF, check, publish.

Everything is written to a temporary folder inside ``<out>`` first and moved
into ``<out>/<date>/`` only when the deck is complete and its PDF passed its
checks, so a failure never touches decks already published. A notebook that
fails while running leaves its partly executed copy in ``<out>/<date>/failed/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import nbformat

from . import export, pdfcheck
from .decks import DECKS
from .errors import ExportError, RenderError
from .fmt import fmt_date
from .params import DeckRun, list_dates, load_params
from .paths import default_data_dir, default_out_dir, default_params_dir, notebooks_dir
from .provenance import git_commit, package_version, provenance

__all__ = ["RenderedDeck", "render_date", "render_all", "KERNEL_NAME"]

#: the kernel papermill starts: the Python of the environment esante-report runs in
KERNEL_NAME = "python3"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RenderedDeck:
    deck: str
    date: str
    html: Path
    pdf: Path
    ipynb: Path
    slides: int


def _quiet(_: str) -> None:
    return None


def render_date(date: str, *, decks: list[str] | None = None, data_dir: Path | None = None,
                params_dir: Path | None = None, out_dir: Path | None = None,
                notebooks: Path | None = None, progress: Progress = _quiet,
                only_listed: bool = False) -> list[RenderedDeck]:
    """Render every deck (or ``decks``) of the params file of ``date``.

    With ``only_listed``, decks of ``decks`` that the params file lacks are skipped
    instead of being an error (``--all --deck NAME``).
    """
    data_dir = Path(data_dir or default_data_dir())
    params_dir = Path(params_dir or default_params_dir())
    out_dir = Path(out_dir or default_out_dir())
    notebooks = Path(notebooks or notebooks_dir())
    progress(f"{date}: checking parameters and data")
    runs = load_params(params_dir, date, data_dir, decks, only_listed=only_listed)
    out_dir.mkdir(parents=True, exist_ok=True)
    rendered = []
    for run in runs:
        rendered.append(_render_one(run, date, data_dir, out_dir, notebooks, progress))
    return rendered


def render_all(*, data_dir: Path | None = None, params_dir: Path | None = None, out_dir: Path | None = None,
               decks: list[str] | None = None, progress: Progress = _quiet, **kwargs) -> list[RenderedDeck]:
    """Render every params file of ``params_dir``, oldest date first."""
    params_dir = Path(params_dir or default_params_dir())
    dates = list_dates(params_dir)
    if not dates:
        raise RenderError(f"no params file in {params_dir} (expected files named YYYY-MM-DD.yaml)")
    out = []
    for date in dates:
        out += render_date(date, decks=decks, data_dir=data_dir, params_dir=params_dir, out_dir=out_dir,
                           progress=progress, only_listed=bool(decks), **kwargs)
    return out


def _render_one(run: DeckRun, date: str, data_dir: Path, out_dir: Path, notebooks: Path,
                progress: Progress) -> RenderedDeck:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    deck = DECKS[run.deck]
    source = notebooks / deck.notebook
    if not source.is_file():
        raise RenderError(f"{source}: notebook of deck {run.deck!r} not found")
    final_dir = out_dir / date
    with tempfile.TemporaryDirectory(prefix=f".render-{date}-{run.deck}-", dir=out_dir) as tmp:
        tmp = Path(tmp)
        executed = tmp / f"{run.deck}.ipynb"
        progress(f"{date}/{run.deck}: running {source.name}")
        kernel_log = tmp / "kernel.log"
        try:
            with _stderr_to(kernel_log):  # the kernel's own start-up chatter is not the user's business
                pm.execute_notebook(str(source), str(executed), parameters=run.parameters, kernel_name=KERNEL_NAME,
                                    cwd=str(notebooks), progress_bar=False, log_output=False,
                                    report_mode=False, request_save_on_cell_execute=False)
        except PapermillExecutionError as exc:
            kept = _keep_failed(executed, final_dir, run.deck)
            raise RenderError(f"{source.name} failed at cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                              f"(partly executed notebook kept in {kept})") from exc
        except Exception as exc:  # kernel died, notebook unreadable, ...
            kept = _keep_failed(executed, final_dir, run.deck)
            where = f" (partly executed notebook kept in {kept})" if kept else ""
            log = kernel_log.read_text(errors="replace").strip().splitlines()[-1:] if kernel_log.exists() else []
            detail = f"; kernel said: {log[0]}" if log else ""
            raise RenderError(f"{source.name} could not run: {type(exc).__name__}: {exc}{where}{detail}") from exc
        nb = nbformat.read(executed, as_version=4)
        meta = _meta(run, deck.title, data_dir)
        progress(f"{date}/{run.deck}: writing HTML")
        decks = export.build(nb, meta)
        for warning in decks.warnings:
            progress(f"{date}/{run.deck}: warning: {source.name}: {warning}")
        html = tmp / f"{run.deck}.html"
        html.write_text(decks.html, encoding="utf-8")
        progress(f"{date}/{run.deck}: writing PDF")
        pdf = tmp / f"{run.deck}.pdf"
        export.write_pdf(decks.print_html, pdf)
        slides = decks.slides
        progress(f"{date}/{run.deck}: checking PDF ({slides} slides)")
        try:
            pdfcheck.check_pdf(pdf, slides, decks.expected_chars, decks.slide_cells)
        except ExportError as exc:
            _keep_failed(executed, final_dir, run.deck)
            kept = _keep_failed(pdf, final_dir, run.deck, suffix=".pdf")
            raise ExportError(f"{exc} (rejected PDF and executed notebook kept in {kept.parent})") from exc
        final_dir.mkdir(parents=True, exist_ok=True)
        for path in (executed, html, pdf):
            os.replace(path, final_dir / path.name)
    for stale in (final_dir / "failed").glob(f"{run.deck}.*"):
        stale.unlink()
    if (final_dir / "failed").is_dir() and not any((final_dir / "failed").iterdir()):
        (final_dir / "failed").rmdir()
    return RenderedDeck(run.deck, date, final_dir / f"{run.deck}.html", final_dir / f"{run.deck}.pdf",
                        final_dir / f"{run.deck}.ipynb", slides)


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send file descriptor 2 (inherited by the kernel process) to ``path`` for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "ab") as log:
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _keep_failed(path: Path, final_dir: Path, deck: str, suffix: str = ".ipynb") -> Path | None:
    """Copy the evidence of a failure to ``<out>/<date>/failed/``; published decks are not touched."""
    if not path.exists():
        return None
    target = final_dir / "failed" / f"{deck}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target


def _meta(run: DeckRun, title: str, data_dir: Path) -> export.DeckMeta:
    prov = provenance(DECKS[run.deck].files(data_dir), data_dir)
    date = fmt_date(run.report_date)
    commit = git_commit()
    return export.DeckMeta(
        title=title, issuer=run.parameters["issuer"], date=date,
        subject=f"{title} — date de référence {date}",
        keywords=prov.text(),
        created=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        generator=f"esante-report {package_version()}" + (f" ({commit})" if commit else ""))
