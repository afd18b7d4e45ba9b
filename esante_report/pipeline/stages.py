"""The stages every way of making a deck walks: slides, then each chosen format and its checks.

``render`` (a notebook it runs), ``export`` (a notebook already run) and ``preview`` call
:func:`write_formats` with an executed notebook and its :class:`~esante_report.formats.web.DeckMeta`,
and publish what it returns in one atomic switch (:func:`esante_report.outdir.versions.switch`): the
two commands cannot drift. :func:`deck_meta` is the one place a deck's header, footer and document
metadata are put together.

Formats are called only through :mod:`esante_report.formats.registry`. A required format (html, pdf)
that fails or fails its check stops the deck; an optional one (pptx, odp) is skipped with a warning
line, and the deck is published without it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from esante_report.errors import CheckFailed, EsanteReportError, ExportError
from esante_report.formats import registry
from esante_report.pipeline import interrupt
from esante_report.formats.registry import Build, Format, Pending

__all__ = ["Written", "CheckFailed", "write_formats", "deck_meta", "warm"]

Stage = Callable[[str, str], None]

#: what the progress line says while a format is written
_DOING = {"html": "writing HTML", "pdf": "writing PDF", "pptx": "writing PowerPoint deck",
          "odp": "converting to Impress"}


@dataclass(frozen=True)
class Written:
    """The files of one deck written into its build folder, and what the slides stage found."""

    #: format name → file, for the chosen formats only (a format written because another needs it is left out)
    files: dict[str, Path]
    slides: int
    warnings: tuple[str, ...]
    rendered: Any
    #: format name → what its writer learnt of its file (:attr:`~esante_report.formats.registry.Build.facts`)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        return list(self.files.values())


def _quiet_stage(name: str, message: str) -> None:
    return None


def warm(formats: Iterable[str]) -> None:
    """Load what the chosen formats need; errors are left to the stages."""
    for fmt in registry.choose(formats):
        try:
            fmt.warm()
        except Exception:  # noqa: BLE001 - warming is an optimisation only
            continue


def write_formats(nb, meta, folder: Path, name: str, formats: Iterable[str], *,
                  stage: Stage = _quiet_stage, warn: Callable[[str], None] = lambda message: None,
                  checks: bool = True) -> Written:
    """Build the slides of the executed ``nb`` and write each of ``formats`` as ``folder/<name><suffix>``.

    ``stage(name, message)`` marks the start of each stage (progress and timings); ``warn`` gets one line per
    warning (a cell's output that cannot be placed, an optional format skipped). Raises
    :class:`CheckFailed` when a required format's file fails its check, :class:`ExportError` when it cannot
    be written. With ``checks=False`` the files are written unchecked (preview reads the findings itself).
    """
    from esante_report.formats import web

    chosen = list(formats)
    stage("html" if "html" in chosen else "slides", _DOING["html"])
    rendered = web.build(nb, meta)
    for warning in rendered.warnings:
        warn(warning)
    build = Build(rendered=rendered, meta=meta, folder=Path(folder), name=name,
                  progress=lambda message: warn(message.removeprefix("warning: ")))
    pending: list[tuple[Format, Pending]] = []
    skipped: set[str] = set()
    try:
        for fmt in _writing_order(registry.choose(chosen)):
            if any(need in skipped for need in fmt.needs) or (why := fmt.unavailable()):
                skipped.add(fmt.name)
                if fmt.name in chosen and not any(need in skipped for need in fmt.needs):
                    warn(why)
                continue
            if fmt.name != "html":
                stage(fmt.name, _DOING.get(fmt.name, f"writing {fmt.label or fmt.name}"))
            result = _write(fmt, build, warn)
            interrupt.check()  # a library may have swallowed Ctrl-C or SIGTERM while the file was written
            if result is None:
                skipped.add(fmt.name)
            elif isinstance(result, Pending):
                build.pending[fmt.name] = result
                pending.append((fmt, result))
            else:
                build.files[fmt.name] = result
                if checks:
                    _check(fmt, build, result, stage, warn, skipped)
        for fmt, job in pending:  # in the order they started: a file another one needs comes first
            stage(fmt.name, f"finishing the {fmt.description or fmt.name} copy")
            path = job.finish()
            interrupt.check()
            if path is None:
                if not any(need in skipped for need in fmt.needs):  # else the file it needed said why
                    warn(getattr(job, "skipped", None) or f"the {fmt.name} copy was skipped")
                skipped.add(fmt.name)
                continue
            del build.pending[fmt.name]
            build.files[fmt.name] = path
            if checks:
                _check(fmt, build, path, stage, warn, skipped)
        interrupt.check()  # nothing is returned, so nothing published, once the command was interrupted
    except BaseException:
        for _, job in pending:
            job.abandon()
        raise
    files = {n: build.files[n] for n in chosen if n in build.files}
    return Written(files=files, slides=rendered.slides, warnings=rendered.warnings, rendered=rendered,
                   facts=dict(build.facts))


def _writing_order(formats: list[Format]) -> list[Format]:
    """Formats written in the background (the Impress copy) start before the PDF is laid out: the PPTX they
    need is written first, right after the HTML."""
    early = {"html": 0}
    background = {f.name for f in formats if f.needs}
    needed = {n for f in formats if f.needs for n in f.needs}
    for f in formats:
        if f.name in needed:
            early.setdefault(f.name, 1)
        elif f.name in background:
            early.setdefault(f.name, 2)
    return sorted(formats, key=lambda f: early.get(f.name, 3))


def _write(fmt: Format, build: Build, warn: Callable[[str], None]):
    try:
        return fmt.write(build)
    except Exception as exc:
        if not fmt.optional:
            if isinstance(exc, EsanteReportError):
                raise
            raise ExportError(f"{build.name}{fmt.suffix}: could not be written ({type(exc).__name__}: "
                              f"{_short(exc)})") from exc
        with contextlib.suppress(OSError):
            build.path(fmt.suffix).unlink(missing_ok=True)
        warn(f"the {fmt.description or fmt.name} copy was skipped: {type(exc).__name__}: {_short(exc)}")
        return None


def _check(fmt: Format, build: Build, path: Path, stage: Stage, warn: Callable[[str], None],
           skipped: set[str]) -> None:
    if type(fmt).check is Format.check:
        return
    stage("check", f"checking {fmt.label or fmt.name} ({build.rendered.slides} slides)")
    try:
        fmt.check(build, path)
    except ExportError as exc:
        interrupt.check()  # a file cut short by an interruption is not rejected, and not kept in failed/
        if not fmt.optional:
            raise CheckFailed(str(exc), fmt, path) from exc
        warn(f"the {fmt.description or fmt.name} copy was skipped: {_short(exc)}")
        build.files.pop(fmt.name, None)
        skipped.add(fmt.name)


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def deck_meta(spec, *, date: dt.date, issuer: str | None, data_dir: Path, title: str | None = None,
              alternative: str = ""):
    """The header, footer and document metadata of a deck: the one place render, export and preview get it.

    ``title`` defaults to the deck's; ``issuer`` may be empty (the header then names none); the keywords
    record where the data came from (each data file's fingerprint).
    """
    from esante_report.fmt import fmt_date
    from esante_report.formats.web import DeckMeta
    from esante_report.outdir import versions
    from esante_report.provenance import git_commit, package_version, provenance

    title = title or spec.title
    try:
        keywords = provenance(spec.data_files(Path(data_dir)), Path(data_dir)).text()
    except (OSError, EsanteReportError):
        keywords = ""
    day = fmt_date(date)
    commit = git_commit()
    return DeckMeta(
        title=title, issuer=issuer if isinstance(issuer, str) else "", date=day,
        subject=f"{title} — date de référence {day}", keywords=keywords, created=versions.created(),
        generator=f"esante-report {package_version()}" + (f" ({commit})" if commit else ""),
        alternative=alternative, css=spec.stylesheet())
