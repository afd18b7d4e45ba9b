"""Profile one deck's render in this process (cProfile): seconds per stage, then the costliest functions.

    python bench/profile_render.py [--deck post_covid|catalogue] [--top 25]

The notebook runs in its kernel (another process): its time shows as waiting in papermill.
Prints figures, asserts nothing.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deck", choices=sorted(SEEDS), default="post_covid")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="esr-profile-") as tmp:
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        [deck] = render_date(SEEDS[args.deck], decks=[args.deck], out_dir=Path(tmp))
        profile.disable()
        total = time.perf_counter() - start
    print(f"{args.deck}: {total:.2f} s in all, {deck.slides} slides")
    for stage, seconds in deck.timings.items():
        print(f"  {stage:<8} {seconds:6.2f} s")
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(args.top)
    print(text.getvalue())


if __name__ == "__main__":
    main()
