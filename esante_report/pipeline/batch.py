"""Batches: many dates, decks and regions rendered in parallel, cached, and summarised.

:func:`plan` turns dates, decks and regions into :class:`~esante_report.pipeline.render.Job`
objects, skipping decks whose cache record says they are up to date (without importing
papermill, nbconvert or WeasyPrint) and checking the params and data of the others.
:func:`run_jobs` runs them with :func:`~esante_report.pipeline.render.render_job` in-process, on a
local process pool (``--jobs N``) or on a Dask distributed cluster; a failed deck does
not stop the others unless ``fail_fast``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NoReturn

from esante_report.pipeline import cache
from esante_report.pipeline import interrupt
from esante_report.pipeline import kernels
from esante_report.pipeline import lifeline
from esante_report.outdir import fs as outfs
from esante_report.outdir import versions
from esante_report.decks.registry import find_deck
from esante_report.errors import EsanteReportError, ParamsError, Problem, RenderError
from esante_report.pipeline.progress import Board
from esante_report.formats.registry import DEFAULT_FORMATS
from esante_report.pipeline.progress import StderrProgress
from esante_report.pipeline.render import Job, JobResult, job_for, params_entries, render_job

__all__ = ["Plan", "plan", "run_jobs", "render_batch", "summary_table", "default_jobs", "longest_first"]

#: decks that have a regional variant (``--region``)

Report = Callable[[str], None]
#: seconds given to a Dask scheduler to answer (``--scheduler-timeout``)
SCHEDULER_TIMEOUT = 10.0


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Plan:
    """Jobs to run, decks already up to date, and decks refused before running (bad params or data)."""

    jobs: list[Job] = field(default_factory=list)
    up_to_date: list[JobResult] = field(default_factory=list)
    refused: list[JobResult] = field(default_factory=list)
    #: every problem of the refused dates, one line each (printed as they are)
    problems: list[str] = field(default_factory=list)
    #: what deserves a look but stops nothing (files in a date folder that the toolkit did not write)
    warnings: list[str] = field(default_factory=list)
    #: what went wrong after the decks ran (the index's bookkeeping)
    late_warnings: list[str] = field(default_factory=list)
    #: the readers' index, when the batch rewrote it
    index: Path | None = None


def _formats_key(formats: Iterable[str]) -> str:
    """The cache key's part for the chosen formats: none for the default, so older records stay valid."""
    formats = tuple(formats)
    return "" if formats == DEFAULT_FORMATS else "+formats=" + ",".join(formats)


def region_names(data_dir: Path, wanted: list[str]) -> list[tuple[str, str]]:
    """(abbr, name) of the regions asked for (``all`` = every region of regions.csv, in file order)."""
    from esante_report.contracts.regions import load_regions

    frame = load_regions(data_dir)
    names = dict(zip(frame["abbr"], frame["name"]))
    if "all" in wanted:
        return list(names.items())
    chosen = []
    for abbr in wanted:
        if abbr not in names:
            raise ParamsError([Problem(Path(data_dir) / "regions.csv", None, "region",
                                       f"unknown region {abbr!r} given to --region (expected 'all' or one of "
                                       f"{', '.join(names)})")])
        if abbr not in [a for a, _ in chosen]:
            chosen.append((abbr, names[abbr]))
    return chosen


def _check_regional_notebook(notebook: Path) -> None:
    """A regional deck needs a notebook that reads ``region``: else it would show national figures under a
    regional title. Its parameters cell must declare it (``region = None``)."""
    import json

    from esante_report.decks.registry import parameters_in
    from esante_report.slides.notebook import cell_tags

    try:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return  # the render reports an unreadable notebook
    source = "\n".join("".join(c.get("source", "")) for c in cells if "parameters" in cell_tags(c))
    if "region" not in parameters_in(source):
        raise RenderError(f"{notebook}: the parameters cell has no 'region' parameter, so a regional deck would show "
                          "national figures (expected a line `region = None` read by the notebook)")


def plan(dates: Iterable[str], *, decks: list[str] | None, data_dir: Path, params_dir: Path, out_dir: Path,
         notebooks: Path, regions: list[str] | None = None, force: bool = False,
         only_listed: bool = False, strict: bool = False, cell_timeout: float | None = None,
         formats: tuple[str, ...] = DEFAULT_FORMATS) -> Plan:
    """What to do for ``dates``: up-to-date decks are skipped, the others are checked and become jobs.

    With ``regions``, the regional decks (metadata ``regional: true``) are rendered once per region instead of
    nationally.
    With ``strict``, the first date whose params or data are refused raises (``--debug``).
    """
    from esante_report.contracts.params import load_params

    result = Plan()
    region_list = region_names(data_dir, regions) if regions else []
    specs: dict = {}

    def spec_of(name: str):
        if name not in specs:
            specs[name] = find_deck(name, notebooks)
        return specs[name]

    checked_regional: set[str] = set()
    for date in dates:
        for path in versions.unexpected_files(Path(out_dir) / date):
            result.warnings.append(f"{os.fsdecode(path)}: unexpected file, not written by esante-report (a notebook "
                                   "cell or someone else put it there: check it and remove it)")
        entries = params_entries(params_dir, date)
        pending: list[tuple[str, str | None, str | None, str]] = []  # deck, region, region name, key
        if entries is None:
            names = list(decks or [])
        else:
            names = [n for n in entries if not decks or n in decks]
            if decks and not only_listed:
                names += [d for d in decks if d not in entries]  # load_params names them as errors
        for name in names:
            spec = spec_of(name)
            regional = spec is not None and spec.regional and bool(region_list)
            if regional and name not in checked_regional:
                _check_regional_notebook(spec.notebook)
                checked_regional.add(name)
            variants = region_list if regional else [(None, None)]
            for region, region_name in variants:
                label = f"{name}-{region}" if region else name
                key = ""
                if entries is not None and spec is not None:
                    key = cache.static_key(notebook=spec.notebook, entry=entries.get(name), date=date, name=label,
                                           region=region, deck_files=spec.own_files()) + _formats_key(formats)
                    current = cache.input_key(key, _data_hashes(spec, data_dir))  # this --data, as it is now
                    record = None if force else cache.is_up_to_date(out_dir, date, label, current)
                    if record is not None:
                        result.up_to_date.append(JobResult(date, label, "up to date", slides=record.slides))
                        continue
                pending.append((name, region, region_name, key))
        if not pending and entries is not None:
            continue
        # each deck is checked on its own, so that one deck's bad data does not stop another deck of the date;
        # a params file that cannot be read at all is checked once, for the whole date
        groups = [[p for p in pending if p[0] == name] for name in dict.fromkeys(p[0] for p in pending)] \
            if entries is not None else [pending]
        for group in groups:
            wanted = sorted({p[0] for p in group}) or decks
            try:
                runs = load_params(params_dir, date, data_dir, wanted, only_listed=only_listed, notebooks=notebooks)
            except EsanteReportError as exc:
                if strict:
                    raise
                lines = str(exc).splitlines()
                result.problems += [line for line in lines if line not in result.problems]
                for name, region, _, _ in group or [("(params)", None, None, "")]:
                    label = f"{name}-{region}" if region else name
                    result.refused.append(JobResult(date, label, "failed", error=_first(lines)))
                continue
            by_deck = {run.deck: run for run in runs}
            for name, region, region_name, key in group:
                if name in by_deck:
                    result.jobs.append(job_for(by_deck[name], date, data_dir=data_dir, out_dir=out_dir,
                                               notebooks=notebooks, region=region, region_name=region_name,
                                               key=key, cell_timeout=cell_timeout, formats=formats))
    return result


def _data_hashes(spec, data_dir: Path) -> dict[str, str | None]:
    """The files of ``data_dir`` that ``deck`` reads, hashed; {} when the deck cannot list them (the check says why)."""
    try:
        return cache.data_hashes(spec.data_files(Path(data_dir)), Path(data_dir))
    except (OSError, EsanteReportError):
        return {}


def _first(lines: list[str]) -> str:
    more = len(lines) - 1
    return lines[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else "") if lines else ""


def run_jobs(jobs: list[Job], *, workers: int = 1, scheduler: str | None = None, dask: bool = False,
             fail_fast: bool = False, progress: StderrProgress | None = None,
             on_result: Callable[[JobResult], None] | None = None, board: Board | None = None,
             scheduler_timeout: float = 0) -> list[JobResult]:
    """Run ``jobs`` and return their results in the order of ``jobs``.

    ``workers`` > 1 uses a local process pool; ``scheduler`` (an address such as
    ``tcp://host:8786``) or ``dask`` (a LocalCluster of ``workers`` processes) a Dask cluster.
    With a ``board``, the stages of running decks are drawn on it instead of printed.
    """
    progress = progress or StderrProgress(quiet=True)
    on_result = on_result or (lambda _: None)
    if not jobs:
        return []
    order = longest_first(jobs)
    if scheduler or dask:
        results = _run_dask(jobs, order, workers, scheduler, fail_fast, progress, on_result, board,
                            scheduler_timeout or SCHEDULER_TIMEOUT)
    elif workers <= 1 or len(jobs) == 1:
        from esante_report.formats import pptx_helper

        # one deck at a time: a second process writes the PowerPoint deck while this one lays out the PDF
        with kernels.in_process(len(jobs)), pptx_helper.beside():
            results = _run_here(jobs, order, progress, on_result, board, fail_fast)
    else:
        results = _run_pool(jobs, order, workers, fail_fast, progress, on_result, board)
    return [results.get(i) or JobResult(job.date, job.name, "skipped", error="not run (--fail-fast)")
            for i, job in enumerate(jobs)]


def longest_first(jobs: list[Job]) -> list[int]:
    """The order to start ``jobs`` in (their indices): the longest first, by how long each deck's last render took
    (:func:`~esante_report.pipeline.cache.last_seconds`), so that no long deck starts last and runs alone while
    the other workers wait. A deck never rendered here goes first (it may be the longest); equal decks keep the
    plan's order."""
    expected = []
    for job in jobs:
        try:
            expected.append(cache.last_seconds(Path(job.out_dir), job.date, job.name))
        except (OSError, ValueError):  # the order is an optimisation only
            expected.append(None)
    return sorted(range(len(jobs)), key=lambda i: (expected[i] is not None, -(expected[i] or 0.0)))


def _run_here(jobs: list[Job], order: list[int], progress: StderrProgress, on_result: Callable[[JobResult], None],
              board: Board | None, fail_fast: bool) -> dict[int, JobResult]:
    results: dict[int, JobResult] = {}
    for i in order:
        job = jobs[i]
        try:
            results[i] = render_job(job, board.update if board and not progress.quiet else progress)
        except Exception as exc:  # as a pool worker would report it: that deck failed, the others go on
            import traceback

            results[i] = JobResult(job.date, job.name, "failed", error=f"{type(exc).__name__}: {exc}",
                                   traceback=traceback.format_exc())
        on_result(results[i])
        if fail_fast and results[i].status == "failed":
            break
    return results


#: times a deck is run again after the worker running it died (killed, out of memory) before it is reported
_RETRIES = 1
#: seconds a pool worker whose ``render`` is gone gets to unwind its deck before it kills what it started
_ORPHAN_GRACE = 2.0


def _run_pool(jobs: list[Job], order: list[int], workers: int, fail_fast: bool, progress: StderrProgress,
              on_result: Callable[[JobResult], None], board: Board | None) -> dict[int, JobResult]:
    """Run ``jobs`` on a pool of ``workers`` processes. A worker that dies (SIGKILL, out of memory) breaks the
    pool: a new pool runs the decks that were not finished, the dead worker's deck included, which is run again
    :data:`_RETRIES` time(s) before it is reported failed; the other decks do not count it against themselves."""
    results: dict[int, JobResult] = {}
    deaths: dict[int, int] = {}
    unexplained = 0
    warn = board.print if board is not None else (lambda line: print(line, file=sys.stderr, flush=True))
    todo = list(order)  # a pool hands its queued decks to its workers in the order they were submitted
    while todo:
        died = _pool_round(jobs, todo, workers, fail_fast, progress, on_result, board, results)
        todo = [i for i in todo if i not in results]
        if died is None or not todo or (fail_fast and any(r.status == "failed" for r in results.values())):
            break
        unexplained = unexplained + 1 if not died else 0
        for i, how in died.items():
            deaths[i] = deaths.get(i, 0) + 1
            job = jobs[i]
            if deaths[i] > _RETRIES:
                results[i] = JobResult(job.date, job.name, "failed",
                                       error=f"the worker running it died again ({how}): not run again")
                on_result(results[i])
            else:
                warn(f"warning: {job.date}/{job.name}: the worker running it died ({how}): running it again")
        if unexplained >= 2:  # workers die before any deck starts: no new pool would do better
            for i in todo:
                if i not in results:
                    results[i] = JobResult(jobs[i].date, jobs[i].name, "failed",
                                           error="worker failed: the batch's worker processes keep dying")
                    on_result(results[i])
        if fail_fast and any(r.status == "failed" for r in results.values()):
            break
        todo = [i for i in todo if i not in results]
    return results


def _pool_round(jobs: list[Job], todo: list[int], workers: int, fail_fast: bool, progress: StderrProgress,
                on_result: Callable[[JobResult], None], board: Board | None,
                results: dict[int, JobResult]) -> dict[int, str] | None:
    """Run the decks ``todo`` on a new pool, adding to ``results`` those that end. None when the pool ran to
    the end; else (a worker died) ``{deck index: how its worker died}`` of the decks whose own worker died."""
    import multiprocessing
    import queue as queue_mod
    from concurrent.futures.process import BrokenProcessPool

    # spawn: workers start clean (no inherited threads or locks); each job starts its own kernel anyway.
    # Everything shared is new for each pool: a worker killed while holding a lock of it would block the next.
    context = multiprocessing.get_context("spawn")
    messages = context.Queue() if board is not None and not progress.quiet else None
    # more decks than workers: each worker warms its next deck's kernel while one runs (kernels.py)
    remaining = context.Value("i", len(todo)) if len(todo) > workers else None
    started = context.Array("i", len(jobs), lock=False)  # the pid of the worker that started each deck
    pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context, initializer=_worker_init,
                               initargs=(messages, remaining, started, os.getpid()))
    broken = False
    processes: dict = {}
    try:
        futures = {pool.submit(_pool_job, i, jobs[i], progress): i for i in todo}
        processes = dict(getattr(pool, "_processes", None) or {})  # all started by the submissions
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.25 if messages is not None else None,
                                 return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done if not f.cancelled()):
                broken = True
                done |= wait(pending)[0]  # the pool fails every deck it still had at once
                pending = set()
            while messages is not None:
                try:
                    board.update(messages.get_nowait().getMessage())
                except queue_mod.Empty:
                    break
            for future in done:
                i = futures[future]
                if future.cancelled() or isinstance(future.exception(), BrokenProcessPool):
                    continue
                results[i] = _result_of(future, jobs[i])
                on_result(results[i])
                if fail_fast and results[i].status == "failed":
                    for other in pending:
                        other.cancel()
                    pending = {f for f in pending if not f.cancelled()}
    except BaseException:  # Ctrl-C, SIGTERM: the workers stop too, each removing its build folder
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if not broken:
        return None
    died = {}
    for pid, process in processes.items():
        code = process.exitcode
        if code in (0, 143, -signal.SIGTERM):  # ended by the pool itself, at its end or when it broke
            continue
        for i in todo:
            if started[i] == pid and i not in results:
                died[i] = _how_it_ended(code)
    return died


def _how_it_ended(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit status {code}"


#: a pool worker's state: the deck running (``busy``), the shared table of started decks, its ``render``
_worker: dict = {"busy": False, "started": None, "terminated": False}


def _worker_init(messages, remaining, started, parent: int) -> None:
    """Pool worker: progress to ``messages`` (when a board draws them), warm kernels while more decks are
    queued (``remaining``, see :mod:`esante_report.pipeline.kernels`), the pid of this worker in ``started`` for each deck
    it starts; SIGTERM unwinds like Ctrl-C, and then ends the worker. It ends with its ``render`` (``parent``),
    however that ends: SIGTERM then (the parent-death signal), and whatever it started is killed if the deck
    does not unwind within :data:`_ORPHAN_GRACE` seconds."""
    _worker["started"] = started

    def terminate(signum, frame):
        if _worker["terminated"]:
            return  # unwinding already: a second interruption would cut the clean-up short
        _worker["terminated"] = True
        if _worker["busy"]:
            raise interrupt.record(KeyboardInterrupt("terminated"))
        raise SystemExit(143)  # waiting for a deck: the worker ends, its finalizers stop its kernels and LibreOffice

    signal.signal(signal.SIGTERM, terminate)
    try:
        # the pool starts its workers from the main thread of render, which lives as long as render
        lifeline.set_death_signal(signal.SIGTERM)
        if os.getppid() != parent:  # gone already: the signal will not come
            _end_worker()
        lifeline.watch_parent(parent, _orphaned)
        kernels.worker_init(messages, remaining)
    except SystemExit:  # terminated while starting
        _end_worker()


def _orphaned() -> None:
    """In the parent watch thread of a pool worker whose ``render`` is gone: the deck unwinds (SIGTERM, unless
    the parent-death signal came), else everything the worker started is killed and the worker ends."""
    time.sleep(0.2)
    if not _worker["terminated"]:
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(_ORPHAN_GRACE)
    from esante_report.formats import soffice

    kernels.kill_now()
    soffice.kill_now()
    os._exit(143)


def _pool_job(index: int, job: Job, progress: StderrProgress) -> JobResult:
    """One deck in a pool worker. Interrupted (SIGTERM: the batch stops, its pool broke or its ``render`` is
    gone; or Ctrl-C), the deck unwinds and the worker ends instead of taking another deck."""
    try:
        _worker["busy"] = True
        if _worker["terminated"]:
            raise KeyboardInterrupt("terminated")
        if _worker["started"] is not None:
            _worker["started"][index] = os.getpid()
        return render_job(job, progress)
    except (KeyboardInterrupt, SystemExit):
        _end_worker()
    finally:
        _worker["busy"] = False


def _end_worker() -> NoReturn:
    """End this pool worker now, as a worker ends: its finalizers stop its kernels and its LibreOffice."""
    from multiprocessing import util

    with contextlib.suppress(BaseException):
        util._exit_function()  # what multiprocessing runs when a process ends: the finalizers
    with contextlib.suppress(BaseException):
        sys.stderr.flush()
    os._exit(143)


def _result_of(future, job: Job) -> JobResult:
    try:
        return future.result()
    except Exception as exc:  # a worker died (killed, out of memory): that deck failed, the others go on
        import traceback

        return JobResult(job.date, job.name, "failed", error=f"worker failed: {type(exc).__name__}: {exc}",
                         traceback=traceback.format_exc())


def _run_dask(jobs: list[Job], order: list[int], workers: int, scheduler: str | None, fail_fast: bool,
              progress: StderrProgress,
              on_result: Callable[[JobResult], None], board: Board | None,
              timeout: float = 0) -> dict[int, JobResult]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise RenderError("Dask is not installed (expected the 'dask[distributed]' package: run `make setup`)") \
            from None
    results: dict[int, JobResult] = {}
    cluster = None
    try:
        if scheduler:
            check_scheduler(scheduler, timeout or SCHEDULER_TIMEOUT)
            client = Client(scheduler, timeout=f"{timeout or SCHEDULER_TIMEOUT}s")
        else:
            cluster = LocalCluster(n_workers=min(workers, len(jobs)), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
    except OSError as exc:
        raise RenderError(f"cannot reach the Dask scheduler {scheduler or 'LocalCluster'}: {exc}") from None
    if cluster is not None and len(jobs) > workers:
        client.run(kernels.enable_on_dask_worker)  # our own workers: each warms its next deck's kernel
    try:
        # the longest first: submitted first, and with a higher priority, which Dask runs first
        futures = {client.submit(render_job, jobs[i], progress, pure=False, priority=len(order) - rank,
                                 key=f"render-{jobs[i].label}-{time.time_ns()}"): i
                   for rank, i in enumerate(order)}
        for i in order:
            (board.update if board else progress)(f"{jobs[i].label}: sent to the Dask cluster")
        for future in as_completed(list(futures)):
            i = futures[future]
            results[i] = _result_of(future, jobs[i])
            on_result(results[i])
            if fail_fast and results[i].status == "failed":
                for other in futures:
                    if not other.done():
                        other.cancel()
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results


def check_scheduler(address: str, timeout: float) -> None:
    """Make sure ``address`` answers as a Dask scheduler within ``timeout`` seconds, else one-line RenderError.

    ``distributed.Client`` waits without end on a port that accepts and says nothing, and a port that answers
    something else can make it try to allocate exabytes; a bounded handshake of our own comes first.
    """
    import asyncio

    from distributed.comm import connect

    async def identity():
        comm = await connect(address, timeout=timeout, deserialize=False)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), timeout))
    except (TimeoutError, asyncio.TimeoutError):
        raise RenderError(f"{address}: no answer from a Dask scheduler within {timeout:g} s (expected the address "
                          "of a running `dask scheduler`; give more time with --scheduler-timeout)") from None
    except OSError as exc:
        raise RenderError(f"cannot reach the Dask scheduler {address}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - whatever a service that is not Dask makes the protocol raise
        raise RenderError(f"{address}: not a Dask scheduler ({type(exc).__name__}; expected the address of a "
                          "running `dask scheduler`)") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise RenderError(f"{address}: not a Dask scheduler (it answered {type(reply).__name__}; expected the "
                          "address of a running `dask scheduler`)")


def summary_table(results: list[JobResult]) -> str:
    """A plain-text table: date, deck, status, seconds, pages (or the one-line error)."""
    rows = [("date", "deck", "status", "seconds", "pages / error")]
    for r in results:
        detail = r.error if r.status in ("failed", "skipped") else (str(r.slides) if r.slides is not None else "")
        seconds = f"{r.seconds:.1f}" if r.status in ("rendered", "failed") and r.seconds else "-"
        rows.append((r.date, r.name, r.status, seconds, detail))
    from esante_report.fmt import text_table

    return "\n".join(text_table(rows, right=(3,)))


def render_batch(dates: list[str], *, decks: list[str] | None = None, data_dir: Path, params_dir: Path,
                 out_dir: Path, notebooks: Path, regions: list[str] | None = None, force: bool = False,
                 only_listed: bool = False, workers: int = 1, scheduler: str | None = None, dask: bool = False,
                 fail_fast: bool = False, progress: StderrProgress | None = None,
                 report: Report | None = None, strict: bool = False, live: bool = False,
                 cell_timeout: float | None = None,
                 scheduler_timeout: float | None = None, formats: tuple[str, ...] = DEFAULT_FORMATS,
                 index: bool = True) -> tuple[Plan, list[JobResult]]:
    """Plan and run; ``report`` receives a line per deck as it ends (``up to date``, ``rendered …``).

    With ``live`` (stderr is a terminal), a :class:`~esante_report.pipeline.progress.Board` shows the running decks.
    """
    report = report or (lambda _: None)
    out_dir = outfs.prepare_out(out_dir)
    outfs.remove_stale_temp(out_dir)
    the_plan = plan(dates, decks=decks, data_dir=data_dir, params_dir=params_dir, out_dir=out_dir,
                    notebooks=notebooks, regions=regions, force=force, only_listed=only_listed, strict=strict,
                    cell_timeout=cell_timeout, formats=tuple(formats))
    for result in the_plan.up_to_date:
        report(f"{result.date}/{result.name}: up to date")
    if fail_fast and the_plan.refused:
        return the_plan, []
    board = Board(len(the_plan.jobs)) if live and len(the_plan.jobs) > 1 else None

    def on_result(result: JobResult) -> None:
        if board is not None:
            board.finish(f"{result.date}/{result.name}", result.status == "failed")
        if result.status == "rendered" and result.deck is not None:
            line = f"{result.date}/{result.name}: rendered in {result.seconds:.1f}s"
            if board is not None:
                board.clear()
            report(line)
            if board is not None:
                board.draw()
        elif result.status == "failed":
            line = f"error: {result.date}/{result.name}: {result.error}"
            if board is not None:
                board.print(line)
            else:
                print(line, file=sys.stderr, flush=True)

    try:
        results = run_jobs(the_plan.jobs, workers=workers, scheduler=scheduler, dask=dask, fail_fast=fail_fast,
                           progress=progress, on_result=on_result, board=board,
                           scheduler_timeout=scheduler_timeout or SCHEDULER_TIMEOUT)
    finally:
        if board is not None:
            board.close()
    _record_expected(the_plan, results, dates, params_dir, out_dir)
    if index:
        from esante_report.outdir import index as index_mod

        the_plan.index = index_mod.write_index(out_dir, force=False)
    return the_plan, results


def _record_expected(the_plan: Plan, results: list[JobResult], dates: Iterable[str], params_dir: Path,
                     out_dir: Path) -> None:
    """The decks asked for, per date: the index shows those that are not there as missing."""
    from esante_report.outdir import index as index_mod

    everything = the_plan.up_to_date + the_plan.refused + results
    titles = {(job.date, job.name): job.title for job in the_plan.jobs}
    named = {d: set(entries) for d in dates if (entries := params_entries(params_dir, d)) is not None}
    try:
        index_mod.remember_expected(out_dir, [(r.date, r.name, titles.get((r.date, r.name), "")) for r in everything],
                                    named)
    except OSError as exc:  # bookkeeping: the render's own outcome is already reported
        the_plan.late_warnings.append(f"the decks expected on each date were not recorded: {outfs.os_error(exc)}")
