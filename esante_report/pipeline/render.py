"""Render decks: run each notebook with papermill, export HTML and PDF, check, publish.

Everything is written to a temporary folder inside ``<out>`` first (the notebook runs
there) and published into ``<out>/<date>/`` in one atomic step (:mod:`esante_report.distribute.publish`)
only when the deck is complete and its PDF passed its checks, so a failure never touches decks
already published. A notebook that
fails while running leaves its partly executed copy in ``<out>/<date>/failed/``.

:func:`render_job` renders one :class:`Job` (one date, one deck, maybe one region). It is
the only function the local process pool and a Dask cluster run, so both paths behave
the same; :mod:`esante_report.pipeline.batch` plans the jobs and gathers their results.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from esante_report.pipeline import cache
from esante_report.pipeline import kernels
from esante_report.pipeline.kernels import KERNEL_NAME
from esante_report.outdir import fs as outfs
from esante_report.outdir import versions
from esante_report.decks.registry import DeckSpec, find_deck
from esante_report.errors import EsanteReportError, ExportError, RenderError
from esante_report.contracts.params import DeckRun, list_dates, load_params
from esante_report.formats.registry import DEFAULT_FORMATS
from esante_report.pipeline import stages
from esante_report.pipeline.progress import StderrProgress
from esante_report.slides.notebook import lighter_imports

__all__ = ["RenderedDeck", "Job", "JobResult", "render_date", "render_all", "render_job", "job_for",
           "deck_title", "params_entries", "StderrProgress", "KERNEL_NAME"]

#: stages of a render, in order (progress display and per-stage timings)
STAGES = ("execute", "html", "pptx", "pdf", "check", "odp", "publish")

Progress = Callable[[str], None]
#: seconds a notebook cell may run (``--cell-timeout``; a deck may carry its own ``cell_timeout``)
DEFAULT_CELL_TIMEOUT = 600.0


@dataclass(frozen=True)
class RenderedDeck:
    deck: str
    date: str
    html: Path
    pdf: Path
    ipynb: Path
    slides: int
    #: deck name on disk: the deck, or ``<deck>-<REGION>`` for a regional deck
    name: str = ""
    #: seconds per stage (execute, html, pptx, pdf, check, odp, publish)
    timings: dict = field(default_factory=dict, compare=False)
    #: format name → published file
    files: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Job:
    """One deck of one date (of one region), with everything a worker needs; paths are absolute."""

    date: str
    deck: str
    parameters: dict[str, Any]
    data_dir: str
    out_dir: str
    notebooks: str
    region: str | None = None
    region_name: str | None = None
    key: str = ""
    #: seconds a cell may run before the render stops it (0: no limit)
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    #: the formats to write (:mod:`esante_report.formats.registry`), in the project's order
    formats: tuple[str, ...] = DEFAULT_FORMATS

    @property
    def name(self) -> str:
        return f"{self.deck}-{self.region}" if self.region else self.deck

    @property
    def title(self) -> str:
        return deck_title(self.deck, self.region_name, notebooks=Path(self.notebooks))

    @property
    def label(self) -> str:
        return f"{self.date}/{self.name}"


@dataclass(frozen=True)
class JobResult:
    """What became of a job: ``rendered``, ``up to date`` or ``failed`` (with its one-line error)."""

    date: str
    name: str
    status: str
    seconds: float = 0.0
    slides: int | None = None
    error: str = ""
    deck: RenderedDeck | None = None
    #: the Python traceback of a failure (shown with ``--debug``)
    traceback: str = ""


def _quiet(_: str) -> None:
    return None


def deck_spec(deck: str, notebooks: Path | None = None) -> DeckSpec:
    """The registry entry of ``deck``; RenderError when the project has no such deck."""
    spec = find_deck(deck, notebooks)
    if spec is None:
        where = Path(notebooks) if notebooks is not None else Path("notebooks")
        raise RenderError(f"{where / (str(deck) + '.ipynb')}: notebook of deck {deck!r} not found (expected a "
                          "notebook with a cell tagged 'parameters')")
    return spec


def deck_title(deck: str, region_name: str | None = None, *, notebooks: Path | None = None) -> str:
    title = deck_spec(deck, notebooks).title
    return f"{title} — {region_name}" if region_name else title


def job_for(run: DeckRun, date: str, *, data_dir: Path, out_dir: Path, notebooks: Path,
            region: str | None = None, region_name: str | None = None, key: str = "",
            cell_timeout: float | None = None, formats: tuple[str, ...] = DEFAULT_FORMATS) -> Job:
    """The job of ``run``; ``cell_timeout`` (seconds, 0 = none) defaults to the deck's own, else 600 s."""
    parameters = dict(run.parameters)
    if region:
        parameters["region"] = region
    if cell_timeout is None:
        cell_timeout = getattr(find_deck(run.deck, notebooks), "cell_timeout", None) or DEFAULT_CELL_TIMEOUT
    return Job(date=date, deck=run.deck, parameters=parameters, data_dir=str(Path(data_dir).resolve()),
               out_dir=str(Path(out_dir).resolve()), notebooks=str(Path(notebooks).resolve()),
               region=region, region_name=region_name, key=key, cell_timeout=float(cell_timeout),
               formats=tuple(formats))


def render_date(date: str, *, decks: list[str] | None = None, data_dir: Path | None = None,
                params_dir: Path | None = None, out_dir: Path | None = None,
                notebooks: Path | None = None, progress: Progress = _quiet,
                only_listed: bool = False, cell_timeout: float | None = None) -> list[RenderedDeck]:
    """Render every deck (or ``decks``) of the params file of ``date``, one after another.

    With ``only_listed``, decks of ``decks`` that the params file lacks are skipped
    instead of being an error (``--all --deck NAME``). Raises at the first failure;
    :func:`esante_report.pipeline.batch.render_batch` keeps going, runs in parallel and caches.
    """
    from esante_report.paths import default_data_dir, default_out_dir, default_params_dir, notebooks_dir

    data_dir = Path(data_dir or default_data_dir())
    params_dir = Path(params_dir or default_params_dir())
    out_dir = outfs.prepare_out(Path(out_dir or default_out_dir()))
    notebooks = Path(notebooks or notebooks_dir())
    progress(f"{date}: checking parameters and data")
    runs = load_params(params_dir, date, data_dir, decks, only_listed=only_listed, notebooks=notebooks)
    outfs.remove_stale_temp(out_dir)
    entries = params_entries(params_dir, date)
    rendered = []
    for run in runs:
        spec = deck_spec(run.deck, notebooks)
        key = cache.static_key(notebook=spec.notebook, entry=entries.get(run.deck), date=date, name=run.deck,
                               region=None, deck_files=spec.own_files()) if entries is not None else ""
        job = job_for(run, date, data_dir=data_dir, out_dir=out_dir, notebooks=notebooks, key=key,
                      cell_timeout=cell_timeout)
        rendered.append(_render(job, progress))
    return rendered


def params_entries(params_dir: Path, date: str) -> dict | None:
    """The params file of ``date`` as parsed (the cache key hashes a deck's entry), None when unreadable."""
    from esante_report.contracts.readers import LocDict, read_yaml
    from esante_report.contracts.params import params_path

    problems: list = []
    data = read_yaml(params_path(params_dir, date), problems)
    return data if not problems and isinstance(data, LocDict) else None


def render_all(*, data_dir: Path | None = None, params_dir: Path | None = None, out_dir: Path | None = None,
               decks: list[str] | None = None, progress: Progress = _quiet, **kwargs) -> list[RenderedDeck]:
    """Render every params file of ``params_dir``, oldest date first."""
    from esante_report.paths import default_params_dir

    params_dir = Path(params_dir or default_params_dir())
    dates = list_dates(params_dir)
    if not dates:
        raise RenderError(f"no params file in {params_dir} (expected files named YYYY-MM-DD.yaml)")
    out = []
    for date in dates:
        out += render_date(date, decks=decks, data_dir=data_dir, params_dir=params_dir, out_dir=out_dir,
                           progress=progress, only_listed=bool(decks), **kwargs)
    return out


def render_job(job: Job, progress: Progress | None = None) -> JobResult:
    """Render ``job`` and report what became of it; never raises for a user error (the result says it)."""
    progress = progress or _quiet
    start = time.monotonic()
    try:
        deck = _render(job, progress)
    except Exception as exc:  # noqa: BLE001 - a toolkit bug fails this deck only, its traceback kept for --debug
        with contextlib.suppress(OSError):
            cache.forget(Path(job.out_dir), job.date, job.name)
        import traceback

        error = _one_line(str(exc)) if isinstance(exc, EsanteReportError) else (
            f"{type(exc).__name__}: {_one_line(str(exc))} (an error of esante-report itself; "
            "--debug shows its traceback)")
        return JobResult(job.date, job.name, "failed", time.monotonic() - start, error=error,
                         traceback=traceback.format_exc())
    return JobResult(job.date, job.name, "rendered", time.monotonic() - start, deck.slides, deck=deck)


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else "unknown error"
    if len(lines) > 1:
        text += f" (and {len(lines) - 1} more line{'s' if len(lines) > 2 else ''})"
    return text


def _render(job: Job, progress: Progress) -> RenderedDeck:
    try:
        return _render_unguarded(job, progress)
    except OSError as exc:
        if isinstance(exc, EsanteReportError):
            raise
        raise outfs.os_error(exc) from None


def _render_unguarded(job: Job, progress: Progress) -> RenderedDeck:
    deck = deck_spec(job.deck, Path(job.notebooks))
    source = deck.notebook
    out_dir = Path(job.out_dir)
    final_dir = out_dir / job.date
    failed_dir = final_dir / "failed"
    outfs.safe_dir(final_dir, create=False)  # links are refused before any work
    outfs.safe_dir(failed_dir, create=False)
    # the cache folder is checked before any work: a link there is refused before anything is published
    outfs.safe_dir(out_dir / cache.CACHE_DIR, create=False)
    outfs.safe_dir(out_dir / cache.CACHE_DIR / job.date, create=False)
    data_hashes = cache.data_hashes(deck.data_files(Path(job.data_dir)), Path(job.data_dir))  # before running
    timings: dict[str, float] = {}
    current, clock = "", time.monotonic()

    def stage(name: str, message: str) -> None:
        nonlocal current, clock
        now = time.monotonic()
        if current:  # a stage may come back (a file written in the background, then finished)
            timings[current] = timings.get(current, 0.0) + now - clock
        current, clock = name, now
        progress(f"{job.label}: {message}")

    with outfs.build_folder(out_dir, f"{job.date}-{job.name}") as tmp:
        stage("execute", f"running {source.name}")
        executed = execute(job, source, tmp, final_dir)
        import nbformat

        nb = nbformat.read(executed, as_version=4)
        try:
            written = stages.write_formats(
                nb, job_meta(job), tmp, job.name, job.formats, stage=stage,
                warn=lambda message: progress(f"{job.label}: warning: {source.name}: {message}"))
        except stages.CheckFailed as exc:
            kept, note = _try_keep_failed(executed, final_dir, job.name)
            if kept:
                kept_file, note = _try_keep_failed(exc.path, final_dir, job.name, suffix=exc.format.suffix)
                if kept_file:
                    note = f"rejected {exc.format.label} and executed notebook kept in {kept_file.parent}"
            raise ExportError(f"{exc} ({note})") from exc
        slides = written.slides
        stage("publish", "publishing")
        outputs = versions.switch([executed, *written.paths], final_dir, job.name)  # one atomic switch
    _clear_failed(failed_dir, job.name)
    timings[current] = timings.get(current, 0.0) + time.monotonic() - clock
    cache.write_record(out_dir, job.date, job.name, cache.Record(
        key=cache.input_key(job.key, data_hashes), data=data_hashes, outputs=outputs, slides=slides, title=job.title,
        seconds=round(sum(timings.values()), 2)))  # the next batch starts its longest decks first
    files = {name: final_dir / path.name for name, path in written.files.items()}
    return RenderedDeck(job.deck, job.date, final_dir / f"{job.name}.html", final_dir / f"{job.name}.pdf",
                        final_dir / f"{job.name}.ipynb", slides, name=job.name, timings=timings, files=files)


def _warm_up(formats: tuple[str, ...]) -> threading.Thread:
    """Load what the chosen formats need (WeasyPrint, PDFium, the subset fonts, reveal.js, and for the Impress
    copy the process's LibreOffice) while the kernel runs the notebook in its own process: the formats are
    then written at once."""
    thread = threading.Thread(target=stages.warm, args=(formats,), name="esante-report-warm-up", daemon=True)
    thread.start()
    return thread


#: kernel start-ups tried before a render gives up, and what a failed start-up says
_KERNEL_STARTS = 3
_KERNEL_START_FAILED = re.compile(r"Kernel died before replying to kernel_info|Kernel didn't respond|"
                                  r"kernel_info_reply|Kernel .* failed to start")


def _run_papermill(job: Job, source: Path, tmp: Path, executed: Path, kernel_log: Path, warm: bool = False) -> None:
    """Run ``source`` with papermill in the build folder ``tmp``; the executed notebook is written to ``executed``
    whatever happens (finished, failed, timed out), when papermill saved one."""
    import papermill as pm

    # papermill records both paths in the notebook's JSON, which cannot hold a non-UTF-8 byte of a file name:
    # such paths go through an in-memory I/O handler instead (the notebook then records fixed names)
    prepared = with_record_cells(source)
    if prepared is not None and _utf8(tmp):
        # the notebook with render's cells, beside its run in the build folder: papermill reads a plain file
        source = tmp / f".{job.name}.source.ipynb"  # the build folder is this render's own
        source.write_text(prepared, encoding="utf-8")
        prepared = None
    if _utf8(source) and _utf8(executed) and prepared is None:
        notebook, target = str(source), str(executed)
    else:
        notebook, target = _BuildIO.source(source, prepared), _BuildIO.target(job.name)
    state: dict[str, Any] = {}

    def notebook_started(notebook=None, **_) -> None:  # nbclient hooks (nbclient >= 0.6)
        state["nb"] = notebook

    def cell_started(cell=None, cell_index=None, **_) -> None:
        state["cell"] = cell_index

    km = kernels.take(tmp) if warm else None  # a batch: a kernel warmed while the last deck ran
    try:
        with _stderr_to(kernel_log):  # the kernel's own start-up chatter is not the user's business
            # the notebook runs in its own build folder: what a cell writes there goes with it
            pm.execute_notebook(notebook, target, parameters=job.parameters,
                                kernel_name=KERNEL_NAME, cwd=str(tmp), progress_bar=False,
                                log_output=False, report_mode=False, request_save_on_cell_execute=False,
                                execution_timeout=job.cell_timeout or None,
                                on_notebook_start=notebook_started, on_cell_start=cell_started,
                                **({"km": km} if km is not None else {}))
    except TimeoutError as exc:
        exc.esante_cell_index = state.get("cell")  # type: ignore[attr-defined]
        raise
    finally:
        kernels.release(km)  # one deck per kernel
        saved = _BuildIO.take(target)
        if saved is None and state.get("nb") is not None and not executed.exists():
            # stopped (timeout) before papermill saved: keep what ran
            import nbformat

            with contextlib.suppress(Exception):
                saved = nbformat.writes(state["nb"])
        if saved is not None:
            outfs.write_text(executed, saved)


def with_record_cells(source: Path) -> str | None:
    """The notebook to run for ``source`` when it needs cells of render's (else None: the file as it is).

    After each Markdown cell with ``{{ name }}`` placeholders, a hidden cell records their values at that
    point of the run; at the end, one reports the building blocks built but never displayed. Both are
    tagged :data:`~esante_report.records.INJECTED_TAG`: left out of the cell count, shown on no slide.
    """
    import nbformat

    from esante_report.slides import records

    text = source.read_text(encoding="utf-8")
    if "esante_report" not in text and "{{" not in text:
        return None  # a notebook that uses no building block and quotes no value
    nb = nbformat.reads(text, as_version=4)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.get("cell_type") == "markdown":
            expressions = records.placeholders(cell.get("source", ""))
            if expressions:
                cells.append(_record_cell(records.values_cell_source(expressions), f"values-{len(cells)}"))
    cells.append(_record_cell(records.finish_cell_source(), "finish"))
    nb.cells = cells
    return nbformat.writes(nb)


def _record_cell(source: str, key: str):
    from nbformat.v4 import new_code_cell

    from esante_report.slides.records import INJECTED_TAG

    cell = new_code_cell(source)
    cell.id = f"esante-report-{key}"
    cell.metadata["tags"] = [INJECTED_TAG]
    cell.metadata["slideshow"] = {"slide_type": "skip"}
    return cell


def execute(job: Job, source: Path, tmp: Path, final_dir: Path) -> Path:
    """Run the notebook ``source`` of ``job`` in the build folder ``tmp``; the executed notebook.

    Raises :class:`RenderError` naming the cell as JupyterLab numbers it; the partly executed notebook is kept
    in ``final_dir/failed/``."""
    lighter_imports()
    from papermill.exceptions import PapermillExecutionError

    warm = _warm_up(job.formats)

    executed = tmp / f"{job.name}.ipynb"
    kernel_log = tmp / "kernel.log"
    try:
        for attempt in range(1, _KERNEL_STARTS + 1):
            try:
                _run_papermill(job, source, tmp, executed, kernel_log, warm=attempt == 1)
                break
            except RuntimeError as exc:
                # a kernel that dies while starting ran no cell: start another (kernels started at the
                # same moment by parallel workers can race for their ports)
                if (isinstance(exc, PapermillExecutionError) or attempt == _KERNEL_STARTS
                        or not _KERNEL_START_FAILED.search(str(exc))):
                    raise
    except PapermillExecutionError as exc:
        kept, note = _try_keep_failed(executed, final_dir, job.name)
        evalue = _one_line(str(exc.evalue)) if str(exc.evalue).strip() else ""
        raise RenderError(f"{source.name} failed at cell {lab_cell_number(executed, exc.cell_index)} "
                          f"(In [{exc.exec_count}]): {exc.ename}{': ' + evalue if evalue else ''} ({note})") from exc
    except TimeoutError as exc:  # nbclient's CellTimeoutError: --cell-timeout
        kept, note = _try_keep_failed(executed, final_dir, job.name)
        index = getattr(exc, "esante_cell_index", None)
        index = _running_cell(executed) if index is None else index
        cell = f"cell {lab_cell_number(executed, index)}" if index is not None else "a cell"
        raise RenderError(f"{source.name}: {cell} still running after {job.cell_timeout:g} s, stopped "
                          f"(give more time with --cell-timeout SECONDS) ({note})") from None
    except Exception as exc:  # kernel died, notebook unreadable, ...
        kept, note = _try_keep_failed(executed, final_dir, job.name)
        log = kernel_log.read_text(errors="replace").strip().splitlines()[-1:] if kernel_log.exists() else []
        detail = f"; kernel said: {log[0]}" if log else ""
        where = f" ({note})" if kept or "could not" in note else ""
        raise RenderError(f"{source.name} could not run: {type(exc).__name__}: {_one_line(str(exc))}"
                          f"{where}{detail}") from exc
    finally:
        warm.join()
    return executed


def _utf8(path: Path) -> bool:
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _BuildIO:
    """papermill I/O handler for ``esante-report:`` paths, used when a path is not UTF-8: the notebook is read
    from its file and the executed copy kept in memory, then written by :func:`_run_papermill` (to any path,
    whatever bytes it holds). The executed notebook records these fixed names."""

    SCHEME = "esante-report:"
    _sources: dict[str, Path | str] = {}
    _saved: dict[str, str] = {}

    @classmethod
    def register(cls) -> None:
        from papermill.iorw import papermill_io

        if not any(scheme == cls.SCHEME for scheme, _ in papermill_io._handlers):
            papermill_io.register(cls.SCHEME, cls)

    @classmethod
    def source(cls, path: Path, text: str | None = None) -> str:
        """The name papermill reads ``path`` by (or ``text``, the notebook to run instead of the file's)."""
        cls.register()
        name = f"{cls.SCHEME}notebooks/{Path(path).name.encode('ascii', 'replace').decode()}"
        cls._sources[name] = Path(path) if text is None else text
        return name

    @classmethod
    def target(cls, deck_name: str) -> str:
        name = f"{cls.SCHEME}build/{deck_name}.ipynb"
        cls._saved.pop(name, None)
        return name

    @classmethod
    def take(cls, name: str) -> str | None:
        return cls._saved.pop(name, None)

    @classmethod
    def read(cls, path: str) -> str:
        source = cls._sources[path]
        return source if isinstance(source, str) else source.read_text(encoding="utf-8")

    @classmethod
    def write(cls, buf: str, path: str) -> None:
        cls._saved[path] = buf

    @classmethod
    def listdir(cls, path: str) -> list:
        return []

    @classmethod
    def pretty_path(cls, path: str) -> str:
        return path


def _cells(executed: Path) -> list:
    import json

    try:
        cells = json.loads(Path(executed).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []
    return cells if isinstance(cells, list) else []


def lab_cell_number(executed: Path, cell_index: int) -> int:
    """The number JupyterLab shows for cell ``cell_index`` of the executed notebook file."""
    from esante_report.slides.notebook import lab_number

    return lab_number(_cells(executed), cell_index)


def _running_cell(executed: Path) -> int | None:
    """Index of the cell that was running when execution stopped: the last one papermill started."""
    started = [i for i, c in enumerate(_cells(executed))
               if isinstance(c, dict) and c.get("metadata", {}).get("papermill", {}).get("start_time")]
    return started[-1] if started else None


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


_try_keep_failed = versions.try_keep_failed


def _clear_failed(failed_dir: Path, name: str) -> None:
    """Remove the evidence of an earlier failure of this deck; ``failed/`` itself when it is left empty."""
    if not os.path.lexists(failed_dir):
        return
    outfs.safe_dir(failed_dir, create=False)  # never delete through a link
    for entry in os.scandir(failed_dir):
        stem, dot, _ = entry.name.rpartition(".")
        if dot and stem == name:
            os.unlink(entry.path)
    with contextlib.suppress(OSError):
        os.rmdir(failed_dir)  # only when empty


def job_meta(job: Job):
    """The header, footer and document metadata of ``job``'s deck (:func:`~esante_report.pipeline.stages.deck_meta`)."""
    spec = deck_spec(job.deck, Path(job.notebooks))
    issuer = job.parameters.get("issuer")
    if not isinstance(issuer, str) or not issuer.strip():
        issuer = spec.default_issuer or ""
    return stages.deck_meta(spec, date=dt.date.fromisoformat(job.date), issuer=issuer,
                            data_dir=Path(job.data_dir), title=job.title, alternative=f"{job.name}.html")
