"""One deck kept up to date while the analyst edits it: what ``esante-report preview`` shows.

:class:`Session` watches what the deck's cache key covers (the notebook and its jupytext twin, the deck's
data files, the params file, the deck's own code, CSS and templates), and on each change:

1. keeps the notebook and its twin in sync, whichever one was saved;
2. runs the notebook again in a warm kernel (:mod:`esante_report.pipeline.kernels`), unless only Markdown
   cells changed: their new text then replaces the old in the last executed notebook;
3. builds the HTML deck through the same stages as ``render`` (:mod:`esante_report.pipeline.stages`);
4. then, in the background, lays out the PDF and runs its checks (layout, readability, PDF/UA), and
   attaches each finding to the slide it names.

Every state has a version number that only grows; a background check whose version is no longer the
current one is dropped, so an older deck never replaces a newer one.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from esante_report.errors import EsanteReportError

__all__ = ["Session", "State", "latest_date"]

#: how often a notebook caught half-written is read again, and for how long in all (seconds)
_RETRY_EVERY, _RETRY_FOR = 0.2, 5.0


@dataclass
class State:
    """What the browser shows: the last good deck, and the problems found on it (each with its slide)."""

    version: int = 0
    html: str = ""
    #: grows with each new HTML deck (the page reloads its frame only then)
    deck: int = 0
    #: "building", "ready", "failed" (the deck shown is the last good one)
    status: str = "building"
    #: the error of the last build, one line (a failed cell, a data file that breaks its schema)
    error: str = ""
    #: (slide number or None, text) of warnings and check findings
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    #: True while the PDF checks of this version run
    checking: bool = False

    def public(self) -> dict:
        return {"version": self.version, "deck": self.deck, "status": self.status, "error": self.error, "checking": self.checking,
                "problems": [{"slide": n, "text": text} for n, text in self.problems]}


def latest_date(deck: str, params_dir: Path) -> str | None:
    """The latest reporting date whose params file names ``deck``."""
    from esante_report.contracts.params import list_dates
    from esante_report.pipeline.render import params_entries

    for date in reversed(list_dates(params_dir)):
        entries = params_entries(params_dir, date)
        if isinstance(entries, dict) and deck in entries:
            return date
    return None


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _cell_sources(nb, kind: str) -> list[str]:
    return [c.get("source", "") for c in nb.get("cells", []) if c.get("cell_type") == kind]


class Session:
    """The deck ``deck`` of ``date`` (of ``region``), rebuilt on every change; ``on_change`` is called (from
    the session's threads) each time :attr:`state` changes."""

    def __init__(self, deck: str, date: str, *, region: str | None = None, data_dir: Path, params_dir: Path,
                 notebooks: Path, on_change: Callable[[], None] = lambda: None) -> None:
        from esante_report.pipeline.batch import plan

        self.deck, self.date, self.region = deck, date, region
        self.data_dir, self.params_dir, self.notebooks = Path(data_dir), Path(params_dir), Path(notebooks)
        self.on_change = on_change
        self.state = State()
        self.folder = Path(tempfile.mkdtemp(prefix="esr-preview-"))
        the_plan = plan([date], decks=[deck], data_dir=self.data_dir, params_dir=self.params_dir,
                        out_dir=self.folder / "out", notebooks=self.notebooks,
                        regions=[region] if region else None, force=True, formats=("html", "pdf"))
        if the_plan.problems or not the_plan.jobs:
            raise EsanteReportError(the_plan.problems[0] if the_plan.problems else
                                    f"{deck}: no deck to preview for {date}")
        self.job = the_plan.jobs[0]
        from esante_report.pipeline.render import deck_spec

        self.spec = deck_spec(deck, self.notebooks)
        self.notebook = Path(self.spec.notebook)
        self.twin = self.notebook.with_suffix(".py")
        self._executed = None   # the last executed notebook (nbformat node)
        self._code: list[str] | None = None  # the code cells it ran
        self._source_cells: list = []        # the cells of the notebook it came from
        self._seen: dict[Path, str | None] = {}
        self._lock = threading.Lock()
        self._builds = 0
        self.closed = False

    # ------------------------------------------------------------------ what is watched

    def watched(self) -> list[Path]:
        """Every file the deck depends on, as the cache key counts them."""
        from esante_report.contracts.params import params_path

        files = [self.notebook, self.twin, *self.spec.data_files(self.data_dir), *self.spec.own_files()]
        with contextlib.suppress(Exception):
            files.append(params_path(self.params_dir, self.date))
        return list(dict.fromkeys(Path(f).resolve() for f in files))

    def folders(self) -> list[Path]:
        return sorted({p.parent for p in self.watched() if p.parent.is_dir()})

    def changed(self, paths: set[Path]) -> set[Path]:
        """Of ``paths``, those the deck depends on whose content really changed (an editor's save often
        touches a file without changing it, and the twin written by this session is no change either)."""
        out = set()
        watched = set(self.watched())
        for path in paths:
            path = Path(path).resolve()
            if path not in watched:
                continue
            digest = _digest(path)
            if self._seen.get(path, "unseen") != digest:
                self._seen[path] = digest
                out.add(path)
        return out

    def remember(self) -> None:
        for path in self.watched():
            self._seen[path] = _digest(path)

    # ------------------------------------------------------------------ building

    def _read_notebook(self):
        """The notebook as saved; one caught half-written is read again for a few seconds."""
        import nbformat

        deadline = time.monotonic() + _RETRY_FOR
        while True:
            try:
                return nbformat.read(str(self.notebook), as_version=4)
            except Exception:  # noqa: BLE001 - JSON cut short by a save in progress
                if time.monotonic() > deadline:
                    raise
                time.sleep(_RETRY_EVERY)

    def _sync_twin(self, changed: set[Path]) -> None:
        """The notebook and its jupytext twin stay the same whichever one was saved."""
        import jupytext

        if self.twin.resolve() in changed and self.notebook.resolve() not in changed and self.twin.is_file():
            from_twin = jupytext.read(str(self.twin))
            current = self._read_notebook()
            if _cell_sources(from_twin, "code") + _cell_sources(from_twin, "markdown") != \
                    _cell_sources(current, "code") + _cell_sources(current, "markdown"):
                jupytext.write(from_twin, str(self.notebook))
        elif self.notebook.resolve() in changed and self.twin.is_file():
            jupytext.write(self._read_notebook(), str(self.twin), fmt="py:percent")
        self.remember()

    def build(self, changed: set[Path] | None = None) -> None:
        """Build the deck again after ``changed`` (None: the first build); never raises for a bad input."""
        with self._lock:
            self._builds += 1
            try:
                self._build(changed)
            except EsanteReportError as exc:
                self._failed(str(exc))
            except Exception as exc:  # noqa: BLE001 - a preview stays up whatever the notebook does
                self._failed(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")

    def _failed(self, message: str) -> None:
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        self.state = State(version=self.state.version + 1, html=self.state.html, deck=self.state.deck, status="failed",
                           error=lines[0] if lines else "unknown error", problems=[])
        self.on_change()

    def _build(self, changed: set[Path] | None) -> None:
        import nbformat

        from esante_report.pipeline import render, stages

        if changed:
            self._sync_twin(changed)
        else:
            self.remember()
        self._check_data()
        source = self._read_notebook()
        only_text = (changed is not None and self._executed is not None and changed <= {self.notebook.resolve(),
                     self.twin.resolve()} and _cell_sources(source, "code") == self._code
                     and [c.cell_type for c in source.cells] == [c.cell_type for c in self._source_cells]
                     and _quoted(source.cells) == _quoted(self._source_cells))
        self.state = State(version=self.state.version + 1, html=self.state.html, deck=self.state.deck,
                           status="building", problems=self.state.problems)
        self.on_change()
        build = self.folder / f"build-{self._builds}"
        build.mkdir()
        if only_text:  # Markdown only: nothing that executes changed
            executed = self._with_text_of(source)
        else:
            path = render.execute(self.job, self.notebook, build, self.folder / "failed")
            executed = nbformat.read(str(path), as_version=4)
            self._executed, self._code, self._source_cells = executed, _cell_sources(source, "code"), source.cells
        warnings: list[str] = []
        written = stages.write_formats(executed, render.job_meta(self.job), build, self.job.name, ["html"],
                                       warn=warnings.append)
        html = written.files["html"].read_text(encoding="utf-8")
        problems = [(self._slide_of(w, written.rendered.slide_cells), w) for w in warnings]
        self.state = State(version=self.state.version + 1, html=html, deck=self.state.deck + 1, status="ready",
                           problems=problems, checking=True)
        version = self.state.version
        self.on_change()
        threading.Thread(target=self._check, args=(executed, build, version), name="esante-report-preview-check",
                         daemon=True).start()

    def _with_text_of(self, source):
        """The last executed notebook with the Markdown cells of ``source`` (same cells, same order)."""
        import copy

        from esante_report.slides.notebook import is_injected

        executed = copy.deepcopy(self._executed)
        own = [i for i, c in enumerate(executed.cells)   # the cells papermill and render added aside
               if not is_injected(c)]
        for i, cell in zip(own, source.cells):
            if cell.cell_type == "markdown":
                executed.cells[i].source = cell.source
                if "attachments" in cell:
                    executed.cells[i]["attachments"] = cell["attachments"]
        return executed

    def _check_data(self) -> None:
        """A data file that breaks its Table Schema is the one-line error ``check`` prints."""
        from esante_report.pipeline.batch import plan

        the_plan = plan([self.date], decks=[self.deck], data_dir=self.data_dir, params_dir=self.params_dir,
                        out_dir=self.folder / "out", notebooks=self.notebooks,
                        regions=[self.region] if self.region else None, force=True, formats=("html",))
        if the_plan.problems:
            raise EsanteReportError(the_plan.problems[0])

    @staticmethod
    def _slide_of(text: str, slide_cells) -> int | None:
        match = re.search(r"\bcells? (\d+)", text)
        if not match:
            return None
        cell = int(match.group(1))
        for n, cells in enumerate(slide_cells, start=1):
            if cell in cells:
                return n
        return None

    def _check(self, executed, build: Path, version: int) -> None:
        """The PDF and its checks, in the background; their findings join the slides they name."""
        from esante_report.checks import layout, pdfua
        from esante_report.checks.reading import PdfReading
        from esante_report.pipeline import render, stages

        found: list[tuple[int | None, str]] = []
        try:
            folder = build / "pdf"
            folder.mkdir()
            written = stages.write_formats(executed, render.job_meta(self.job), folder, self.job.name, ["pdf"],
                                           warn=lambda message: None, checks=False)
            reading = PdfReading(written.files["pdf"], structure=written.facts.get("pdf"))  # read once for both
            rendered = written.rendered
            found += layout.findings(reading, rendered.slides, rendered.expected_chars, rendered.slide_cells,
                                     rendered.charts)
            found += [(_slide_number(p), p) for p in pdfua.problems(reading)]
        except Exception as exc:  # noqa: BLE001 - shown, never fatal to the preview
            found.append((None, f"the PDF could not be laid out: {' '.join(str(exc).split())[:300]}"))
        if self.state.version != version or self.closed:
            return  # a newer deck is already shown (its own check will report), or the preview stopped
        self.state = State(version=self.state.version + 1, html=self.state.html, deck=self.state.deck,
                           status=self.state.status, error=self.state.error, problems=self.state.problems + found,
                           checking=False)
        self.on_change()

    def close(self) -> None:
        self.closed = True
        self.on_change = lambda: None
        shutil.rmtree(self.folder, ignore_errors=True)


def _quoted(cells) -> list[list[str]]:
    """The ``{{ name }}`` placeholders of each Markdown cell: their values come from a run, so new ones need one."""
    from esante_report.slides.records import placeholders

    return [placeholders(c.source) for c in cells if c.cell_type == "markdown"]


def _slide_number(text: str) -> int | None:
    match = re.search(r"\bslide (\d+)", text)
    return int(match.group(1)) if match else None

