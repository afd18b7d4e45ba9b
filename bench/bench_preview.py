"""Preview benchmark: from a save to the slide showing it, beside a cold render and bare papermill (`make bench`).

In a copy of the project, ``esante-report preview post_covid`` runs; headless Chromium shows it. The
benchmark then saves (a) a heading edit in the notebook (Markdown only: no cell runs again) and (b) a figure
changed in the deck's CSV (the notebook runs again, in a warm kernel), and waits in the page until the slide
shows the change. In the same run, on the same machine: bare papermill of the notebook, and a cold
``render`` with every format and with HTML and PDF only. Prints a Markdown table; asserts nothing.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DATE = "2021-11-15"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _project(tmp: Path) -> Path:
    root = tmp / "projet"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.esante-report]\n", encoding="utf-8")
    for name in ("notebooks", "data", "params"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns(".*"))
    return root


def _seconds(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - start


def _papermill(root: Path, tmp: Path) -> float:
    from esante_report.contracts.params import load_params

    [run] = load_params(root / "params", DATE, root / "data", ["post_covid"])
    (tmp / "p.json").write_text(json.dumps(run.parameters), encoding="utf-8")
    code = ("import json, sys, papermill as pm; pm.execute_notebook(sys.argv[1], sys.argv[2], "
            "parameters=json.load(open(sys.argv[3])), kernel_name='esante-report', progress_bar=False)")
    return _seconds([sys.executable, "-c", code, str(root / "notebooks" / "post_covid.ipynb"),
                     str(tmp / "out.ipynb"), str(tmp / "p.json")], root)


def _save_to_slide(page, save, expect: str) -> float:
    before = page.evaluate("() => window.esrPreview().shownDeck")
    start = time.perf_counter()
    save()
    page.wait_for_function("v => window.esrPreview().shownDeck > v", arg=before, timeout=300_000, polling="raf")
    page.wait_for_function("t => (document.getElementById('deck').contentDocument?.body?.textContent || '')"
                           ".replace(/[\\s\\u202f\\u00a0]/g, ' ').includes(t)", arg=expect, timeout=300_000,
                           polling="raf")
    return time.perf_counter() - start


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-preview-") as folder:
        tmp = Path(folder)
        root = _project(tmp)
        rows: dict[str, float] = {}
        rows["bare papermill"] = _papermill(root, tmp)
        cold = [sys.executable, "-m", "esante_report", "render", "--date", DATE, "--deck", "post_covid", "--force",
                "--quiet", "--no-index"]
        rows["render, cold, 4 formats"] = _seconds([*cold, "--out", str(tmp / "o1")], root)
        rows["render, cold, HTML and PDF"] = _seconds([*cold, "--formats", "html,pdf", "--out", str(tmp / "o2")], root)
        process = subprocess.Popen([sys.executable, "-m", "esante_report", "preview", "post_covid", "--date", DATE,
                                    "--no-browser"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        url = process.stdout.readline().strip()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                                     headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_function("() => { const s = window.esrPreview && window.esrPreview();"
                                       " return s && s.slide !== null; }", timeout=300_000)
                rows["preview, first deck shown"] = time.perf_counter() - start
                notebook = root / "notebooks" / "post_covid.ipynb"
                for n in range(1, 4):
                    def heading(n=n):
                        nb = nbformat.read(notebook, 4)
                        cell = next(c for c in nb.cells if c.source.startswith("## Mesures d'accompagnement"))
                        cell.source = f"## Mesures d'accompagnement post-COVID (version {n})"
                        nbformat.write(nb, notebook)
                    rows[f"preview, heading saved → slide ({n})"] = _save_to_slide(page, heading, f"(version {n})")
                patients = root / "data" / "post_covid" / "patients.csv"
                rows_csv = list(csv.reader(patients.read_text(encoding="utf-8").splitlines()))
                target = next(i for i, r in enumerate(rows_csv) if i and r[3] == "hommes" and r[4].strip())
                for n in range(1, 3):
                    rows_csv[target][4] = f"{7770 + n}"

                    def data(rows_csv=rows_csv):
                        patients.write_text("\n".join(",".join(r) for r in rows_csv) + "\n", encoding="utf-8")
                    rows[f"preview, CSV figure saved → slide ({n})"] = _save_to_slide(page, data, f"7 77{n}")
                browser.close()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)
    base, cold4 = rows["bare papermill"], rows["render, cold, 4 formats"]
    print(f"post_covid {DATE}, {platform.node()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}\n")
    print("| work | seconds | × bare papermill | × cold render |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f} | {seconds / cold4:.2f} |")


if __name__ == "__main__":
    main()
