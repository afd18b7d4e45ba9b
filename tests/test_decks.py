"""Any notebook is a deck (issue 16): new-deck, a plain notebook, Table Schema contracts, parameters
checked against the notebook, decks from other packages (entry points), a core that names no deck.

One temporary project (a folder with the ``[tool.esante-report]`` marker, found from the current
folder) is scaffolded and rendered once for the module; the commands run as an analyst runs them,
``python -m esante_report`` in the project folder.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .conftest import DATA, ROOT, normalise, pdf_pages_text

DATE = "2021-11-15"
NAME = "teleconsultations"
TITLE = "Téléconsultations par région"
PLAIN_TITLE = "Mon propre bilan régional"


def _cli(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("ESANTE_REPORT_ROOT", None)
    return subprocess.run([sys.executable, "-m", "esante_report", *args], cwd=project, env=full_env,
                          capture_output=True, text=True, timeout=900)


def _new_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.esante-report]\n", encoding="utf-8")
    (root / "data").mkdir()
    shutil.copy(DATA / "regions.csv", root / "data" / "regions.csv")
    return root


def _latest_total(csv_path: Path) -> tuple[str, int]:
    """The latest month of the CSV and the sum of its non-blank values, computed here from the file."""
    with open(csv_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    latest = max(r["mois"] for r in rows)
    return latest, sum(int(r["valeur"]) for r in rows if r["mois"] == latest and r["valeur"].strip())


def _fr_int(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _plain_notebook() -> nbformat.NotebookNode:
    """What an analyst writes with nothing of the toolkit but its house style: no esante_report metadata."""
    params = new_code_cell(f'report_date = "{DATE}"\nissuer = "ARS Bretagne"\ndata_dir = None\nparams_dir = None')
    params.metadata["tags"] = ["parameters"]
    setup = new_code_cell("import matplotlib.pyplot as plt\nimport pandas as pd\nimport esante_report.authoring as esr\n"
                          "esr.setup()")
    setup.metadata["slideshow"] = {"slide_type": "skip"}  # as docs/authoring.md says: its output is no slide
    return new_notebook(cells=[
        params,
        setup,
        new_markdown_cell(f"# {PLAIN_TITLE}"),
        new_markdown_cell("## Actes par mois\n\nLe nombre d'actes **augmente** depuis l'été."),
        new_code_cell("#| fig-alt: Courbe des actes de juillet à septembre, de 120 à 180\n"
                      "fig, ax = plt.subplots(figsize=esr.SLOT_FULL)\n"
                      "ax.plot(['juillet', 'août', 'septembre'], [120, 150, 180])\nplt.show()"),
        new_markdown_cell("## Tableau"),
        new_code_cell("pd.DataFrame({'Mois': ['juillet', 'août'], 'Actes': [120, 150]})"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    """A new project: new-deck, a plain notebook with its params entry, rendered once."""
    root = _new_project(tmp_path_factory.mktemp("decks") / "projet")
    scaffold = _cli(root, "new-deck", NAME, "--title", TITLE, "--date", DATE)
    (root / "notebooks" / "plain.ipynb").write_text(nbformat.writes(_plain_notebook()), encoding="utf-8")
    with open(root / "params" / f"{DATE}.yaml", "a", encoding="utf-8") as f:
        f.write("plain:\n  issuer: ARS Bretagne\n")
    first = _cli(root, "render", "--date", DATE, "--jobs", "2")
    second = _cli(root, "render", "--date", DATE)
    return {"root": root, "scaffold": scaffold, "first": first, "second": second,
            "out": root / "outputs" / DATE}


# --------------------------------------------------------------------------- new-deck, rendered as it is

@pytest.mark.e2e
def test_new_deck_writes_notebook_twin_data_schema_and_params_entry(project):
    root = project["root"]
    assert project["scaffold"].returncode == 0, project["scaffold"].stderr
    for path in (f"notebooks/{NAME}.ipynb", f"notebooks/{NAME}.py", f"data/{NAME}/indicateurs.csv",
                 f"data/{NAME}/indicateurs.schema.json", f"params/{DATE}.yaml"):
        assert f"wrote {root / path}" in project["scaffold"].stdout
    rows = list(csv.DictReader(open(root / "data" / NAME / "indicateurs.csv", encoding="utf-8")))
    metropolitan = [r["abbr"] for r in csv.DictReader(open(DATA / "regions.csv", encoding="utf-8"))
                    if int(r["code"]) >= 11]
    assert len(metropolitan) == 13 and sorted({r["region"] for r in rows}) == sorted(metropolitan)
    assert sorted({r["mois"] for r in rows}) == ["2021-08", "2021-09", "2021-10"] and len(rows) == 39
    assert all(r["valeur"] == "" or (r["valeur"].isdigit()) for r in rows)
    assert re.search(rf"^{NAME}:\n  issuer: ", (root / "params" / f"{DATE}.yaml").read_text(encoding="utf-8"), re.M)
    schema = json.loads((root / "data" / NAME / "indicateurs.schema.json").read_text(encoding="utf-8"))
    assert schema["primaryKey"] == ["region", "mois"] and schema["missingValues"] == [""]


@pytest.mark.e2e
def test_new_deck_renders_its_own_total_and_region_names(project):
    assert project["first"].returncode == 0, project["first"].stderr
    pages = pdf_pages_text(project["out"] / f"{NAME}.pdf")
    text = "\n".join(pages)
    latest, total = _latest_total(project["root"] / "data" / NAME / "indicateurs.csv")
    assert latest == "2021-10"
    assert f"le total des régions est de {_fr_int(total)}" in text
    for row in csv.DictReader(open(DATA / "regions.csv", encoding="utf-8")):
        if int(row["code"]) >= 11:
            assert normalise(row["name"]) in text
    assert "données illustratives" in text
    assert len(pages) == 4 and all(TITLE in page for page in pages)  # cover, chart, table, commentary
    index = (project["root"] / "outputs" / "index.html").read_text(encoding="utf-8")
    assert TITLE in index and f"{DATE}/{NAME}.pdf" in index


@pytest.mark.e2e
def test_second_render_is_up_to_date(project):
    assert project["second"].returncode == 0, project["second"].stderr
    assert re.search(rf"{DATE}\s+{NAME}\s+up to date", project["second"].stdout)
    assert re.search(rf"{DATE}\s+plain\s+up to date", project["second"].stdout)


@pytest.mark.e2e
def test_plain_notebook_renders_with_its_own_title(project):
    pages = pdf_pages_text(project["out"] / "plain.pdf")
    assert len(pages) == 3
    assert all(PLAIN_TITLE in page and "ARS BRETAGNE" in page.upper() for page in pages)
    assert "Actes par mois" in pages[1] and "augmente" in pages[1]
    assert "juillet" in pages[2] and "150" in pages[2]
    html = (project["out"] / "plain.html").read_text(encoding="utf-8")
    assert "Courbe des actes de juillet à septembre" in html and "<svg" in html


@pytest.mark.e2e
def test_export_of_an_executed_notebook_needs_no_deck(project, tmp_path):
    executed = tmp_path / "plain.ipynb"
    shutil.copy(project["out"] / "plain.ipynb", executed)
    done = _cli(project["root"], "export", str(executed), "--out", str(tmp_path / "export"))
    assert done.returncode == 0, done.stderr
    pages = pdf_pages_text(tmp_path / "export" / "plain.pdf")
    assert all(PLAIN_TITLE in page for page in pages)


@pytest.mark.e2e
def test_replacing_the_csv_changes_the_pdf(project, tmp_path):
    root = tmp_path / "projet"
    shutil.copytree(project["root"], root, ignore=shutil.ignore_patterns("outputs"))
    table = root / "data" / NAME / "indicateurs.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    table.write_text("\n".join([lines[0]] + [re.sub(r",(\d+)$", lambda m: f",{int(m[1]) * 7 + 3}", line)
                                             for line in lines[1:]]) + "\n", encoding="utf-8")
    _, total = _latest_total(table)
    _, old_total = _latest_total(project["root"] / "data" / NAME / "indicateurs.csv")
    done = _cli(root, "render", "--date", DATE, "--deck", NAME)
    assert done.returncode == 0, done.stderr
    text = "\n".join(pdf_pages_text(root / "outputs" / DATE / f"{NAME}.pdf"))
    assert f"le total des régions est de {_fr_int(total)}" in text
    assert f"le total des régions est de {_fr_int(old_total)} " not in text


def test_a_maximum_added_to_the_schema_is_enforced_with_file_and_line(project, tmp_path):
    root = tmp_path / "projet"
    shutil.copytree(project["root"], root, ignore=shutil.ignore_patterns("outputs"))
    schema_file = root / "data" / NAME / "indicateurs.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    next(f for f in schema["fields"] if f["name"] == "valeur")["constraints"]["maximum"] = 150
    schema_file.write_text(json.dumps(schema), encoding="utf-8")
    lines = (root / "data" / NAME / "indicateurs.csv").read_text(encoding="utf-8").splitlines()
    over = [(n, line.rsplit(",", 1)[1]) for n, line in enumerate(lines, 1)
            if n > 1 and line.rsplit(",", 1)[1] and int(line.rsplit(",", 1)[1]) > 150]
    assert over
    done = _cli(root, "check", "--date", DATE)
    assert done.returncode == 1
    errors = done.stderr.splitlines()
    first_line, first_value = over[0]
    assert f"error: data/{NAME}/indicateurs.csv:{first_line}: field 'valeur': expected an integer from 0 " \
           f"to 150, got '{first_value}'" in errors
    assert len([e for e in errors if "indicateurs.csv:" in e]) == min(len(over), 20)
    assert "Traceback" not in done.stderr
    rendered = _cli(root, "render", "--date", DATE, "--deck", NAME)  # refused before any notebook runs
    assert rendered.returncode == 1 and not (root / "outputs" / DATE / f"{NAME}.pdf").exists()


def test_a_blank_value_is_read_as_missing_never_zero(project):
    from esante_report.authoring import read_table

    frame = read_table(f"{NAME}/indicateurs.csv", project["root"] / "data")
    raw = list(csv.DictReader(open(project["root"] / "data" / NAME / "indicateurs.csv", encoding="utf-8")))
    blanks = [i for i, r in enumerate(raw) if r["valeur"] == ""]
    assert blanks and all(frame["valeur"].isna()[i] for i in blanks)
    assert str(frame["valeur"].dtype) == "Int64"
    occ = read_table(f"{NAME}/indicateurs.csv", project["root"] / "data", region="OCC")
    assert set(occ["region"]) == {"OCC"} and occ.attrs["scope"] == "OCC" and frame.attrs["scope"] == "national"
    from esante_report.errors import DataError
    with pytest.raises(DataError, match="outside the data folder"):
        read_table("../pyproject.toml", project["root"] / "data")


def test_a_misspelt_parameter_is_refused_with_file_and_line(project, tmp_path):
    root = tmp_path / "projet"
    shutil.copytree(project["root"], root, ignore=shutil.ignore_patterns("outputs"))
    params = root / "params" / f"{DATE}.yaml"
    text = params.read_text(encoding="utf-8").replace("plain:\n  issuer:", "plain:\n  isuer:")
    params.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  isuer: ARS Bretagne") + 1
    done = _cli(root, "check", "--date", DATE)
    assert done.returncode == 1
    assert f"error: params/{DATE}.yaml:{line}: field 'isuer': unknown parameter of deck plain (expected one of " \
           "issuer: the parameters cell of plain.ipynb)" in done.stderr.splitlines()
    params.write_text(text.replace("  isuer: ARS Bretagne", "  issuer: [1, 2]"), encoding="utf-8")
    done = _cli(root, "check", "--date", DATE)
    assert f"params/{DATE}.yaml:{line}: field 'issuer': expected text like the default 'ARS Bretagne' of " \
           "plain.ipynb, got a list" in done.stderr


def test_new_deck_refuses_to_overwrite(project):
    before = {p: p.read_bytes() for p in (project["root"] / "params").iterdir()}
    again = _cli(project["root"], "new-deck", NAME, "--title", "Autre", "--date", DATE)
    assert again.returncode == 1 and "already exists: new-deck never overwrites" in again.stderr
    assert {p: p.read_bytes() for p in (project["root"] / "params").iterdir()} == before


# --------------------------------------------------------------------------- decks from another package

def test_a_deck_of_another_package_is_found_through_its_entry_point(tmp_path):
    """An agency's own package declares its deck code (and ships its notebook) under esante_report.decks."""
    site = tmp_path / "site"
    package = site / "agency_decks"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    nb = new_notebook(cells=[new_code_cell('report_date = "2021-11-15"\nissuer = "ARS Normandie"\nseuil = 10')],
                      metadata={"esante_report": {"title": "Bilan de l'agence"}})
    nb.cells[0].metadata["tags"] = ["parameters"]
    (package / "bilan.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    (package / "bilan.py").write_text(textwrap.dedent('''
        from pathlib import Path
        from esante_report.errors import Problem

        NOTEBOOK = Path(__file__).with_name("bilan.ipynb")

        def check(params, ctx):
            if params.get("seuil", 10) > 100:
                ctx.problems.append(Problem(ctx.path, params.line_of("seuil"), "seuil", "expected at most 100"))
                return None
            return {}
        '''), encoding="utf-8")
    info = site / "agency_decks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: agency-decks\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[esante_report.decks]\nbilan = agency_decks.bilan\n", encoding="utf-8")
    root = _new_project(tmp_path / "projet")
    (root / "params").mkdir()
    (root / "params" / f"{DATE}.yaml").write_text("bilan:\n  seuil: 500\n", encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    done = _cli(root, "check", "--date", DATE, env=env)
    assert done.returncode == 1
    assert f"error: params/{DATE}.yaml:2: field 'seuil': expected at most 100" in done.stderr.splitlines()
    (root / "params" / f"{DATE}.yaml").write_text("bilan:\n  seuil: 50\n", encoding="utf-8")
    assert _cli(root, "check", "--date", DATE, env=env).stdout.strip() == f"{DATE}: OK (bilan)"


# --------------------------------------------------------------------------- the core names no deck

#: the core: every module of every subpackage (the shipped decks' folders and their list aside), and the
#: house templates and CSS
PACKAGE = ROOT / "esante_report"
CORE = sorted([*(p for p in PACKAGE.rglob("*.py") if p.parent.parent != PACKAGE / "decks"
                 and p != PACKAGE / "decks" / "__init__.py"),
               *(PACKAGE / "templates").rglob("*.*")])
#: names and vocabulary of the shipped decks
DECK_WORDS = re.compile(r"post_covid|post-covid|catalogue|patients|cellules|\bwaves?\b|survey|enquête|mineurs|"
                        r"confirmees|non_mise_en_place|services\.yaml|PostCovid|Catalogue", re.I)


def test_the_core_names_no_deck():
    assert len(CORE) > 30
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in CORE
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if DECK_WORDS.search(line)]
    assert found == []


def _css_classes(paths) -> set[str]:
    return {m for p in paths for m in re.findall(r"\besr-[a-z0-9-]+", p.read_text(encoding="utf-8"))}


def test_the_core_reads_no_deck_css_class():
    """Blocks tell the core what they are (``data-esr-role``), never through a class only a deck's CSS defines."""
    house = _css_classes((PACKAGE / "templates").rglob("*.*"))
    decks = _css_classes(p for p in (PACKAGE / "decks").rglob("*") if p.suffix in (".css", ".j2", ".py")) - house
    assert {"esr-card-grid", "esr-principle-no", "esr-map", "esr-swatch"} <= decks  # the test sees deck markup
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(c) for c in sorted(decks, key=len, reverse=True))
                         + r")(?![\w-])")
    found = [f"{p.relative_to(ROOT)}:{n}: {m.group(1)}" for p in CORE
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) for m in pattern.finditer(line)]
    assert found == []


def test_deck_commands_come_from_the_deck_and_no_import_cycle():
    code = ("import sys; import esante_report.cli.main as c; p, cmds = c._parser(); "
            "print(sorted(cmds)); print('esante_report.decks.post_covid.cli' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["['new', 'survey-form', 'survey-import']", "True"]
    cli_source = (ROOT / "esante_report" / "decks" / "post_covid" / "cli.py").read_text(encoding="utf-8")
    assert "esante_report.cli" not in cli_source and "from ...cli" not in cli_source


def test_a_deck_cache_key_is_the_core_plus_its_own_code(tmp_path):
    """Editing the catalogue's blocks changes the catalogue's key, not post_covid's (and the core changes both)."""
    package = tmp_path / "esante_report"
    shutil.copytree(ROOT / "esante_report", package, ignore=shutil.ignore_patterns("__pycache__"))
    code = textwrap.dedent(f'''
        from pathlib import Path
        from esante_report.pipeline import cache
        from esante_report.decks.registry import find_deck
        for name in ("post_covid", "catalogue"):
            spec = find_deck(name, Path({str(ROOT / "notebooks")!r}))
            print(cache.static_key(notebook=spec.notebook, entry={{}}, date="d", name=name, region=None,
                                   deck_files=spec.own_files()))
        ''')

    def keys() -> list[str]:
        return subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(tmp_path)}, cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout.split()

    before = keys()
    with open(package / "decks" / "catalogue" / "blocks.py", "a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    after_deck = keys()
    with open(package / "fmt.py", "a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    after_core = keys()
    assert after_deck[0] == before[0] and after_deck[1] != before[1]
    assert after_core[0] != after_deck[0] and after_core[1] != after_deck[1]


# --------------------------------------------------------------------------- the shipped decks' Table Schemas

SCHEMAS = sorted(DATA.rglob("*.schema.json"))


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda p: str(p.relative_to(DATA)))
def test_seed_csv_holds_to_its_table_schema(schema):
    from esante_report.contracts.schema import validate_table

    problems: list = []
    table = schema.with_name(schema.name.replace(".schema.json", ".csv"))
    assert validate_table(table, DATA, problems), [str(p) for p in problems]


def _docs_section(name: str) -> str:
    text = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    match = re.search(rf"^### `{re.escape(name)}`.*?(?=^##)", text, re.M | re.S)
    assert match, f"docs/data.md has no section ### `{name}`"
    return match.group(0)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda p: str(p.relative_to(DATA)))
def test_docs_data_md_agrees_with_the_table_schema(schema):
    """docs/data.md and the schemas never drift: same columns, same allowed values."""
    raw = json.loads(schema.read_text(encoding="utf-8"))
    section = _docs_section(schema.name.replace(".schema.json", ".csv"))
    fields = [f["name"] for f in raw["fields"]]
    for name in fields:
        assert re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", section), f"{name} not in docs/data.md"
        for value in next(f for f in raw["fields"] if f["name"] == name).get("constraints", {}).get("enum", []):
            assert f"`{value}`" in section
    table = [line for line in section.splitlines() if line.startswith("| `")]
    if table:  # a column table lists exactly the schema's fields
        documented = [n for line in table for n in re.findall(r"`([a-z_]+)`", line.split("|")[1])]
        assert sorted(documented) == sorted(fields)


def test_the_project_is_found_from_a_sub_folder_or_given(project, tmp_path):
    """Like git: from the current folder upwards by its marker; elsewhere --project DIR or ESANTE_REPORT_ROOT."""
    root = project["root"]
    assert _cli(root / "notebooks", "check", "--date", DATE).stdout.strip() == f"{DATE}: OK ({NAME}, plain)"
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    assert _cli(elsewhere, "--project", str(root), "check", "--date", DATE).stdout.strip() == \
        f"{DATE}: OK ({NAME}, plain)"
    env_run = subprocess.run([sys.executable, "-m", "esante_report", "check", "--date", DATE], cwd=elsewhere,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "ESANTE_REPORT_ROOT": str(root)},
                             capture_output=True, text=True)
    assert env_run.stdout.strip() == f"{DATE}: OK ({NAME}, plain)"


def test_new_deck_keeps_the_params_file_other_content(tmp_path):
    root = _new_project(tmp_path / "projet")
    (root / "params").mkdir()
    before = "# point du mois\nautre:\n  issuer: ARS Corse   # gardé\n"
    (root / "params" / f"{DATE}.yaml").write_text(before, encoding="utf-8")
    done = _cli(root, "new-deck", "bilan", "--title", "Bilan", "--date", DATE, "--issuer", "ARS Corse")
    assert done.returncode == 0, done.stderr
    assert (root / "params" / f"{DATE}.yaml").read_text(encoding="utf-8") == before + 'bilan:\n  issuer: "ARS Corse"\n'
