"""``esante-report export``: a notebook already executed → the house HTML and PDF decks.

The notebook is not run again: it may come from stock papermill or from
JupyterLab (*Run All*, then save). Its slides are built exactly as ``render``
builds them (:func:`esante_report.formats.web.build`), the PDF gets the same checks,
and what cannot be placed on a slide is reported with the cell number.

The deck's header and footer need a reporting date and an issuer: they are
read from the notebook's parameters (papermill's injected cell first, then the
cell tagged ``parameters``), the issuer falling back on the params file of
that date and then on the deck's default issuer. ``--date`` overrides the date.

Outputs are written to a temporary folder first and published next to the
notebook (or into ``--out``) only when the PDF passed its checks, through the
same one-step publishing as ``render`` (:mod:`esante_report.distribute.publish`); a rejected
PDF is kept in ``<out>/failed/``, never through a link. Files already there are
otherwise untouched. ``SOURCE_DATE_EPOCH`` makes two exports byte-identical.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from esante_report.outdir import fs as outfs
from esante_report.outdir import versions
from esante_report.errors import EsanteReportError, ExportError
from esante_report.paths import is_report_date
from esante_report.slides.notebook import cell_tags

__all__ = ["ExportedDeck", "export_notebook", "notebook_parameters_of", "add_parser", "run"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExportedDeck:
    deck: str
    html: Path
    pdf: Path
    slides: int
    warnings: tuple[str, ...]
    #: format name → file written
    files: dict = field(default_factory=dict, compare=False)


def _quiet(_: str) -> None:
    return None


def _literal_assignments(source) -> dict[str, Any]:
    """The literal ``name = value`` lines of a parameters cell (anything else is left out)."""
    from esante_report.decks.registry import parameters_in

    return {name: p.default for name, p in parameters_in(source).items() if p.literal}


def notebook_parameters_of(nb) -> dict[str, Any]:
    """The parameters a notebook ran with: its ``parameters`` cell, overridden by papermill's injected cell."""
    params: dict[str, Any] = {}
    injected: dict[str, Any] = {}
    for cell in nb.cells:
        tags = cell_tags(cell)
        if cell.get("cell_type") != "code":
            continue
        if "parameters" in tags:
            params.update(_literal_assignments(cell.get("source", "")))
        elif "injected-parameters" in tags:
            injected.update(_literal_assignments(cell.get("source", "")))
    return {**params, **injected}


def _refuse_malformed(path: Path) -> None:
    """When nbformat cannot even read ``path``: name the cell that breaks the format, if the JSON parses."""
    import json

    from esante_report.slides.notebook import validate

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(raw, dict) and raw.get("nbformat") == 4:
        validate(raw, str(path))


def _read_notebook(path: Path):
    import nbformat

    if not path.is_file():
        raise ExportError(f"{path}: notebook not found (expected an executed .ipynb file)")
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # JSON, schema or encoding errors: nbformat raises many types
        _refuse_malformed(path)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{path}: cannot read the notebook ({detail[:120]}); expected a Jupyter "
                          ".ipynb file") from None
    from esante_report.slides.notebook import validate

    validate(nb, str(path))
    return nb


def _report_date(path: Path, date: str | None, params: dict[str, Any]) -> dt.date:
    given = date if date is not None else params.get("report_date")
    if given is None:
        raise ExportError(f"{path}: no reporting date in the notebook's parameters: give --date YYYY-MM-DD")
    text = str(given)
    try:
        if not is_report_date(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        where = "--date" if date is not None else f"{path}: parameter 'report_date'"
        raise ExportError(f"{where}: expected a date YYYY-MM-DD, got {text!r}") from None


def _issuer(deck, day: dt.date, params: dict[str, Any], data_dir: Path) -> str:
    issuer = params.get("issuer")
    if isinstance(issuer, str) and issuer.strip():
        return issuer
    from esante_report.contracts.params import load_params
    from esante_report.paths import default_params_dir

    params_dir = Path(params.get("params_dir") or default_params_dir())
    try:
        runs = load_params(params_dir, day.isoformat(), data_dir, [deck.name])
        return runs[0].parameters["issuer"]
    except (EsanteReportError, KeyError, IndexError):
        return deck.default_issuer or ""


def _title(spec, params: dict[str, Any], data_dir: Path) -> str:
    """The deck's title, with its region's name for a regional deck (``region`` among its parameters)."""
    region = params.get("region")
    if not isinstance(region, str) or not region:
        return spec.title
    from esante_report.pipeline.batch import region_names

    try:
        names = dict(region_names(data_dir, [region]))
    except (OSError, EsanteReportError):
        return spec.title
    return f"{spec.title} — {names[region]}" if region in names else spec.title


def export_notebook(notebook: Path | str, deck: str | None = None, *, date: str | None = None,
                    out_dir: Path | str | None = None, formats: tuple[str, ...] | list[str] | None = None,
                    progress: Progress = _quiet) -> ExportedDeck:
    """Write the decks of the executed ``notebook`` as deck ``deck``, through the same stages as ``render``.

    Without ``deck``, the notebook is its own deck: title and issuer from its metadata and parameters.
    ``formats`` defaults to the project's (:func:`esante_report.formats.registry.project_formats`).

    Raises :class:`ExportError` (one line) for an unknown deck, an unreadable or
    unexecuted notebook (or one whose papermill run failed), a bad date, or a file that fails its checks.
    """
    from esante_report.decks.registry import DeckSpec, deck_names, find_deck, spec_from_notebook
    from esante_report.formats import registry
    from esante_report.paths import default_data_dir
    from esante_report.pipeline import stages
    from esante_report.slides.notebook import refuse_unexecuted

    notebook = Path(notebook)
    chosen = tuple(formats) if formats is not None else tuple(registry.project_formats())
    spec = find_deck(deck) if deck is not None else None
    if deck is not None and spec is None:
        raise ExportError(f"unknown deck {deck!r} (expected one of {', '.join(deck_names()) or 'none'}, or no "
                          "--deck: the notebook is then its own deck)")
    nb = _read_notebook(notebook)
    if spec is None:
        spec = spec_from_notebook(notebook.stem, notebook, nb) or DeckSpec(notebook.stem, notebook, notebook.stem, None)
    refuse_unexecuted(nb, str(notebook))
    params = notebook_parameters_of(nb)
    day = _report_date(notebook, date, params)
    out_dir = outfs.prepare_out(Path(out_dir) if out_dir is not None else notebook.resolve().parent)
    outfs.safe_dir(out_dir / "failed", create=False)  # a link there is refused before any work
    stem = notebook.stem
    data_dir = Path(params.get("data_dir") or default_data_dir())
    meta = stages.deck_meta(spec, date=day, issuer=_issuer(spec, day, params, data_dir), data_dir=data_dir,
                            title=_title(spec, params, data_dir), alternative=f"{stem}.html")
    progress(f"{notebook.name}: building slides")
    outfs.remove_stale_temp(out_dir)
    with outfs.build_folder(out_dir, f"export-{stem}") as tmp:
        try:
            written = stages.write_formats(
                nb, meta, tmp, stem, chosen, stage=lambda _, message: progress(f"{notebook.name}: {message}"),
                warn=lambda message: progress(f"warning: {notebook.name}: {message}"))
        except stages.CheckFailed as exc:
            _, note = versions.try_keep_failed(exc.path, out_dir, stem, suffix=exc.format.suffix)
            raise ExportError(f"{exc} ({note})") from exc
        versions.switch(written.paths, out_dir, stem)  # the same atomic switch as render
    files = {name: out_dir / path.name for name, path in written.files.items()}
    return ExportedDeck(spec.name, out_dir / f"{stem}.html", out_dir / f"{stem}.pdf", written.slides,
                        written.warnings, files)


# --------------------------------------------------------------------------- command line

def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``export`` sub-command, added to the ``esante-report`` parser."""
    parser = subparsers.add_parser(
        "export", help="turn a notebook already executed (papermill, JupyterLab) into the HTML and PDF decks",
        description="Build the house HTML and PDF decks of an executed notebook without running it again.")
    parser.add_argument("notebook", type=Path, help="the executed notebook (.ipynb)")
    parser.add_argument("--deck", metavar="NAME",
                        help="its deck (default: the notebook is its own deck, titled by its metadata)")
    parser.add_argument("--date", help="reporting date YYYY-MM-DD (default: the notebook's report_date)")
    parser.add_argument("--out", type=Path, help="output folder (default: the notebook's folder)")
    parser.add_argument("--formats", metavar="LIST",
                        help="formats to write, e.g. html,pdf (default: the project's, else html,pdf,pptx,odp)")
    parser.add_argument("--no-pptx", action="store_true", help="leave the editable decks (pptx, odp) out")
    parser.add_argument("--quiet", action="store_true", help="print only what was written")
    return parser


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:.0f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def run(args: argparse.Namespace) -> int:
    """Run ``export``; errors are raised as :class:`EsanteReportError` for ``cli.main`` to print."""
    quiet = getattr(args, "quiet", False)

    def progress(message: str) -> None:
        if not quiet or message.startswith("warning: "):
            print(message, file=sys.stderr, flush=True)

    from esante_report.cli.main import _formats

    done = export_notebook(args.notebook, args.deck, date=args.date, out_dir=args.out, formats=_formats(args),
                           progress=progress)
    for path in done.files.values():
        print(f"wrote {path} ({_size(path)})")
    return 0
