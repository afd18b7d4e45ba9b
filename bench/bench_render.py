"""Times each stage of rendering the seed decks and prints the figures (no assertion).

Run with `make bench`. Stages: data checks, notebook execution (papermill), HTML export, PDF layout
(WeasyPrint), PDF checks. Outputs go to a temporary folder.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat
import papermill as pm

from esante_report import export, pdfcheck
from esante_report.params import load_params
from esante_report.paths import default_data_dir, default_params_dir, notebooks_dir
from esante_report.render import KERNEL_NAME, _meta
from esante_report.decks import DECKS


def main() -> None:
    data, params = default_data_dir(), default_params_dir()
    print(f"{'date':<11} {'deck':<11} {'check':>7} {'execute':>8} {'html':>7} {'pdf':>7} {'pdfcheck':>9} {'slides':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for date in ("2021-11-15", "2020-12-08"):
            t0 = time.perf_counter()
            runs = load_params(params, date, data)
            t_check = time.perf_counter() - t0
            for run in runs:
                target = Path(tmp) / f"{run.deck}.ipynb"
                t = time.perf_counter()
                pm.execute_notebook(str(notebooks_dir() / DECKS[run.deck].notebook), str(target),
                                    parameters=run.parameters, kernel_name=KERNEL_NAME, cwd=str(notebooks_dir()),
                                    progress_bar=False)
                t_exec = time.perf_counter() - t
                nb = nbformat.read(target, as_version=4)
                meta = _meta(run, DECKS[run.deck].title, data)
                t = time.perf_counter()
                export.export_html(nb, meta)
                t_html = time.perf_counter() - t
                t = time.perf_counter()
                pdf = Path(tmp) / f"{run.deck}.pdf"
                export.write_pdf(export.export_print_html(nb, meta), pdf)
                t_pdf = time.perf_counter() - t
                t = time.perf_counter()
                slides = export.count_slides(nb)
                pdfcheck.check_pdf(pdf, slides)
                t_checkpdf = time.perf_counter() - t
                print(f"{date:<11} {run.deck:<11} {t_check:7.2f} {t_exec:8.2f} {t_html:7.2f} {t_pdf:7.2f} "
                      f"{t_checkpdf:9.2f} {slides:7d}")


if __name__ == "__main__":
    main()
