"""Profile one deck's render in this process (cProfile): seconds per stage, then the costliest functions.

    python bench/profile_render.py [--deck post_covid|catalogue] [--top 25]
    python bench/profile_render.py --warm --by-stage [--cpu] [--top 12]

The notebook runs in its kernel (another process): its time shows as waiting in papermill.
``--warm`` profiles the third regional post-COVID deck (OCC) of an in-process worker that rendered two
before it (NOR, NAQ), as a batch renders it; ``--by-stage`` prints the costliest functions of each stage
(execute, html, pptx, pdf, check, odp, publish) apart; ``--cpu`` counts CPU time of this process instead of
wall time (figures that hold on a machine other work is loading). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path

from esante_report.pipeline.render import render_date

SEEDS = {"post_covid": "2021-11-15", "catalogue": "2020-12-08"}
ROOT = Path(__file__).resolve().parent.parent
#: the start of a progress message → the stage it opens
_STAGE_OF = (("running ", "execute"), ("writing HTML", "html"), ("writing PowerPoint", "pptx"),
             ("writing PDF", "pdf"), ("checking ", "check"), ("finishing the", "odp"), ("publishing", "publish"))


class _ByStage:
    """A progress callback that profiles each stage of the decks it is told about with its own profiler."""

    quiet = True

    def __init__(self, timer, watch: str | None):
        self.timer, self.watch = timer, watch
        self.profiles: dict[str, cProfile.Profile] = {}
        self.current: cProfile.Profile | None = None

    def __call__(self, message: str) -> None:
        label, _, text = message.partition(": ")
        if text.startswith("warning"):
            return
        stage = next((name for start, name in _STAGE_OF if text.startswith(start)), None)
        if stage is None:
            return
        if self.current is not None:
            self.current.disable()
            self.current = None
        if self.watch is None or label.endswith(self.watch):
            self.current = self.profiles.setdefault(stage, cProfile.Profile(self.timer))
            self.current.enable()

    def stop(self) -> None:
        if self.current is not None:
            self.current.disable()
            self.current = None


def _print(profile: cProfile.Profile, top: int, sort: str) -> str:
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    stats.sort_stats(sort).print_stats(top)
    lines = text.getvalue().splitlines()
    # keep the total line and the table, without pstats' preamble
    return "\n".join(line for line in lines if line.strip() and not line.strip().startswith("Ordered by"))


def _warm(args, timer) -> None:
    from esante_report.pipeline.batch import plan, run_jobs

    watcher = _ByStage(timer, "-OCC")
    with tempfile.TemporaryDirectory(prefix="esr-profile-") as tmp:
        jobs = plan(["2021-11-15"], decks=["post_covid"], data_dir=ROOT / "data", params_dir=ROOT / "params",
                    out_dir=Path(tmp), notebooks=ROOT / "notebooks", regions=["NOR", "NAQ", "OCC"],
                    force=True, formats=tuple(args.formats.split(","))).jobs
        results = run_jobs(jobs, workers=1, progress=watcher)
        watcher.stop()
    last = [r for r in results if r.name.endswith("-OCC")][0]
    if last.status != "rendered":
        raise SystemExit(f"{last.name}: {last.status}: {last.error}")
    print(f"{last.name}: {last.seconds:.2f} s wall, {last.slides} slides; formats {args.formats}")
    for stage, seconds in last.deck.timings.items():
        spent = ""
        if stage in watcher.profiles:
            total = pstats.Stats(watcher.profiles[stage]).total_tt
            spent = f"   ({'CPU' if args.cpu else 'profiled'} {total:.2f} s)"
        print(f"  {stage:<8} {seconds:6.2f} s wall{spent}")
    for stage, profile in watcher.profiles.items():
        print(f"\n=== {stage}: top {args.top} by own time ===")
        print(_print(profile, args.top, "tottime"))
        print(f"\n=== {stage}: top {args.top} by cumulative time ===")
        print(_print(profile, args.top, "cumulative"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deck", choices=sorted(SEEDS), default="post_covid")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--warm", action="store_true", help="the third regional deck of a warm worker")
    parser.add_argument("--by-stage", action="store_true", help="one profile per stage (with --warm)")
    parser.add_argument("--cpu", action="store_true", help="CPU time of this process, not wall time")
    parser.add_argument("--formats", default="html,pdf,pptx,odp")
    args = parser.parse_args()
    timer = time.process_time if args.cpu else time.perf_counter
    if args.warm or args.by_stage:
        _warm(args, timer)
        return
    with tempfile.TemporaryDirectory(prefix="esr-profile-") as tmp:
        profile = cProfile.Profile(timer)
        start = time.perf_counter()
        profile.enable()
        [deck] = render_date(SEEDS[args.deck], decks=[args.deck], out_dir=Path(tmp))
        profile.disable()
        total = time.perf_counter() - start
    print(f"{args.deck}: {total:.2f} s in all, {deck.slides} slides")
    for stage, seconds in deck.timings.items():
        print(f"  {stage:<8} {seconds:6.2f} s")
    print(_print(profile, args.top, "cumulative"))


if __name__ == "__main__":
    main()
