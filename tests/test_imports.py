"""No import waste (issue 17, item 2): the notebook's set-up imports load no heavy module they do not use.

``nbformat`` pulls in ``jsonschema`` (and ``rfc3987_syntax``, which builds a grammar when imported: about
1.4 s); the export stages (WeasyPrint, PDFium) belong to ``render``, never to the kernel. A fresh interpreter
says which modules an import loaded: a property that a timed test could only approximate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import ROOT

HEAVY = ("nbformat", "jsonschema", "rfc3987_syntax", "weasyprint", "pypdfium2", "pdfplumber", "papermill",
         "nbclient", "jupyter_client")


def _loaded(code: str) -> dict[str, bool]:
    script = code + f"\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True,
                         cwd=str(ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_authoring_api_imports_no_heavy_module():
    loaded = _loaded("import esante_report.authoring")
    assert not any(loaded.values()), [m for m, v in loaded.items() if v]


def test_the_notebooks_set_up_imports_load_no_heavy_module():
    # the set-up cell of notebooks/post_covid.ipynb and of notebooks/catalogue.ipynb, and the house style
    loaded = _loaded("import matplotlib.pyplot\nimport esante_report.authoring as esr\n"
                     "from esante_report.contracts.params import notebook_parameters\n"
                     "from esante_report.decks.post_covid.blocks import PostCovidBlocks\n"
                     "from esante_report.decks.catalogue.blocks import CatalogueBlocks\nesr.setup()")
    assert not any(loaded.values()), [m for m, v in loaded.items() if v]


def test_listing_a_decks_data_files_loads_no_data_library():
    # what a batch worker does before the notebook runs (the cache key, provenance): no pandas, no numpy
    script = ("from pathlib import Path\nfrom esante_report.decks.registry import find_deck, deck_names\n"
              f"root = Path({str(ROOT)!r})\n"
              "files = [f for name in deck_names(root / 'notebooks') "
              "for f in find_deck(name, root / 'notebooks').data_files(root / 'data')]\n"
              "assert any(f.name == 'patients.csv' for f in files), files\n"
              "import json, sys\nprint(json.dumps({m: m in sys.modules for m in ('pandas', 'numpy', 'shapely')}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=str(ROOT))
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert not any(loaded.values()), loaded
