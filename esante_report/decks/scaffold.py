"""A new deck scaffolded: ``esante-report new-deck NAME --title "…" --date D``.

Writes ``notebooks/NAME.ipynb`` and its jupytext twin ``notebooks/NAME.py``,
``data/NAME/indicateurs.csv`` (illustrative figures for the 13 metropolitan regions
over the 3 months before D, labelled as illustrative on the slides) with its
Table Schema ``indicateurs.schema.json``, and the entry ``NAME:`` in
``params/D.yaml`` (created, or appended to, keeping the file's other content).
Nothing is overwritten: any file already there stops the scaffold before it writes. A name that is
already a Python module's (``pandas``, ``json``…) is refused: ``notebooks/NAME.py`` would be imported in
its place by every notebook run in ``notebooks/``. The title and issuer are checked as ``check`` and the
PDF check would: plain text, short enough for the footer and the cover.
Rendered as it is, the deck has a cover, a chart of ``valeur`` by region for the
latest month, a table and a commentary quoting the total.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from esante_report.decks.registry import MAX_ISSUER, title_problem
from esante_report.errors import ParamsError, Problem, quote
from esante_report.slides.sanitize import text_problem

__all__ = ["new_deck", "shadowed_module", "NAME_RE"]

NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
TABLE = "indicateurs"
#: INSEE codes of the metropolitan regions start at 11 (overseas regions: 01 to 06)
_METROPOLITAN_MIN_CODE = 11


def _months_before(day: dt.date, count: int = 3) -> list[str]:
    year, month = day.year, day.month
    out = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year:04d}-{month:02d}")
    return out[::-1]


def _schema(regions_file: str) -> dict:
    return {
        "title": "Indicateurs par région et par mois",
        "description": "Données illustratives écrites par `esante-report new-deck` : à remplacer par les vraies.",
        "fields": [
            {"name": "region", "type": "string", "title": "Région",
             "description": "abréviation de la région (colonne abbr de regions.csv)",
             "constraints": {"required": True, "pattern": "[A-Z]{2,4}"}},
            {"name": "mois", "type": "yearmonth", "title": "Mois", "description": "mois AAAA-MM",
             "constraints": {"required": True}},
            {"name": "valeur", "type": "integer", "title": "Valeur",
             "description": "nombre entier ≥ 0 ; vide = non renseigné (jamais 0)",
             "constraints": {"minimum": 0}},
        ],
        "missingValues": [""],
        "primaryKey": ["region", "mois"],
        "foreignKeys": [{"fields": ["region"], "reference": {"resource": regions_file, "fields": ["abbr"]}}],
    }


def _rows(regions: list[str], months: list[str]) -> list[str]:
    """Illustrative figures, the same on every run: whole numbers ≥ 0; one blank to show "non renseigné"."""
    lines = ["region,mois,valeur"]
    for i, abbr in enumerate(regions):
        for j, month in enumerate(months):
            value = "" if (i, j) == (1, 0) else str(40 + (i * 37 + j * 11) % 160)
            lines.append(f"{abbr},{month},{value}")
    return lines


def shadowed_module(name: str) -> str | None:
    """What ``notebooks/<name>.py`` would hide from a kernel started in ``notebooks/`` (its folder comes first on
    ``sys.path``): a module of the standard library or of an installed distribution; None when nothing."""
    import importlib.machinery
    import os
    import sys
    from importlib.metadata import packages_distributions

    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return "a module of Python's standard library"
    if name in packages_distributions():
        return "a module installed in this environment"
    here = os.path.realpath(os.getcwd())
    path = [p for p in sys.path if p and os.path.realpath(p) != here]  # the working folder is no installation
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is not None and spec.origin not in (None, "namespace"):  # a plain folder of that name hides nothing
        return "a module installed in this environment"
    return None


def _notebook(name: str, title: str, date: str, issuer: str):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    def skip(cell):
        cell.metadata["slideshow"] = {"slide_type": "skip"}
        return cell

    params = skip(new_code_cell(
        "# Parameters (papermill). Given only report_date, the others come from params/<report_date>.yaml.\n"
        f"report_date = {date!r}\n"
        f"issuer = {issuer!r}\n"
        "data_dir = None    # default: the project's data/\n"
        "params_dir = None  # default: the project's params/"))
    params.metadata["tags"] = ["parameters"]
    cells = [
        skip(new_markdown_cell(
            f"# {title}\n\nNotebook written by `esante-report new-deck {name}`; `esante-report render --date "
            "YYYY-MM-DD` makes it an HTML and a PDF deck (see `docs/authoring.md`). A `#` heading starts the "
            "cover, a `##` heading a slide; whatever a cell displays goes on the slide above it.\n\n"
            f"The figures of `data/{name}/{TABLE}.csv` are **illustrative**: replace them with the real ones "
            f"(their contract is `data/{name}/{TABLE}.schema.json`).")),
        params,
        skip(new_code_cell(
            "import datetime as dt\n\nimport matplotlib.pyplot as plt\n\n"
            "import esante_report.authoring as esr\n"
            "from esante_report.contracts.params import notebook_parameters\n"
            "from esante_report.contracts.regions import load_regions\n\n"
            f"p = notebook_parameters({name!r}, report_date, data_dir=data_dir, params_dir=params_dir)\n"
            f"indicateurs = esr.read_table({name + '/' + TABLE + '.csv'!r}, p['data_dir'])  # typed; a blank is <NA>\n"
            "regions = load_regions(p['data_dir']).set_index('abbr')['name']\n"
            "dernier_mois = max(indicateurs['mois'])\n"
            "dernier = indicateurs[indicateurs['mois'] == dernier_mois].assign(nom=lambda d: d['region'].map(regions))\n"
            "total = dernier['valeur'].sum()        # the blanks are left out, never counted as 0\n"
            "non_renseignes = int(dernier['valeur'].isna().sum())\n"
            "esr.setup()")),
        new_markdown_cell(f"# {title}"),
        new_code_cell("esr.md('Point au {date} — **données illustratives**', date=dt.date.fromisoformat(report_date))"),
        new_markdown_cell("## Valeur par région"),
        new_code_cell(
            "connus = dernier.dropna(subset=['valeur']).sort_values('valeur')\n"
            "fig, ax = plt.subplots(figsize=esr.SLOT_FULL)\n"
            "ax.barh(connus['nom'], connus['valeur'])\n"
            "ax.set_xlabel('valeur')\n"
            "plt.close(fig)  # shown once, by esr.chart\n"
            "esr.chart(fig, alt=f\"Valeur par région en {esr.fr(dernier_mois)} : le total est {esr.fr(total)}.\",\n"
            "          caption=f\"Valeur par région, {esr.fr(dernier_mois)} (données illustratives)\")"),
        new_markdown_cell("## Tableau par région"),
        new_code_cell(
            "tableau = dernier[['nom', 'valeur']].rename(columns={'nom': 'Région', 'valeur': 'Valeur'})\n"
            "esr.table(tableau, caption=f\"{esr.fr(dernier_mois)} (données illustratives)\", index=False)"),
        new_markdown_cell("## Commentaire"),
        new_code_cell(
            "esr.md('En {mois}, le total des régions est de **{total}** (données illustratives).'\n"
            "       + (' {n} région(s) non renseignée(s).' if non_renseignes else ''),\n"
            "       mois=dernier_mois, total=total, n=non_renseignes)"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (esante-report)", "language": "python",
                                 "name": "esante-report"}
    nb.metadata["esante_report"] = {"title": title, "tables": [f"{name}/{TABLE}.csv"]}
    return nbformat.writes(nb)


def new_deck(name: str, *, title: str, date: str, data_dir: Path, params_dir: Path,
             notebooks: Path | None = None, issuer: str = "Ministère des Solidarités et de la Santé") -> list[Path]:
    """Scaffold the deck ``name``; returns the files written. ParamsError (nothing written) on any problem."""
    from esante_report.contracts.params import params_path
    from esante_report.paths import notebooks_dir
    from esante_report.contracts.regions import load_regions

    notebooks = Path(notebooks or notebooks_dir())
    data_dir, params_dir = Path(data_dir), Path(params_dir)
    problems: list[Problem] = []
    if not NAME_RE.fullmatch(name):
        problems.append(Problem("new-deck", None, "name", f"expected lower-case letters, digits and _ starting with "
                                f"a letter (at most 40), e.g. teleconsultations; got {quote(name, 40)}"))
    elif (module := shadowed_module(name)) is not None:
        problems.append(Problem("new-deck", None, "name", f"{name!r} is the name of {module}: notebooks/{name}.py "
                                f"would be imported in its place by every notebook; choose another name, e.g. "
                                f"bilan_{name}"))
    problem = title_problem(title)
    if problem is not None:
        problems.append(Problem("new-deck", None, "title", f"{problem} (the deck's title is on its cover and in "
                                "the footer of every slide)"))
    problem = text_problem(issuer, MAX_ISSUER)
    if problem is not None:
        problems.append(Problem("new-deck", None, "issuer", f"{problem} (the issuing body, in the header of every "
                                "slide)"))
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date):
            raise ValueError
        day = dt.date.fromisoformat(date)
    except ValueError:
        problems.append(Problem("new-deck", None, "date", f"expected a date YYYY-MM-DD, got {date!r}"))
        day = None
    if problems:
        raise ParamsError(problems)
    regions = load_regions(data_dir)  # DataError when regions.csv is missing or bad
    metropolitan = [abbr for code, abbr in zip(regions["code"], regions["abbr"])
                    if int(code) >= _METROPOLITAN_MIN_CODE]
    folder = data_dir / name
    files = {
        notebooks / f"{name}.ipynb": _notebook(name, title.strip(), date, issuer),
        folder / f"{TABLE}.csv": "\n".join(_rows(metropolitan, _months_before(day))) + "\n",
        folder / f"{TABLE}.schema.json": json.dumps(_schema("regions.csv"), ensure_ascii=False, indent=2) + "\n",
    }
    import jupytext

    files[notebooks / f"{name}.py"] = jupytext.writes(jupytext.reads(files[notebooks / f"{name}.ipynb"], fmt="ipynb"),
                                                       fmt="py:percent")
    params_file = params_path(params_dir, date)
    existing = params_file.read_text(encoding="utf-8") if params_file.is_file() else None
    for path in files:
        if path.exists() or path.is_symlink():
            problems.append(Problem(path, None, None, "already exists: new-deck never overwrites (choose another "
                                    "name, or remove it)"))
    if existing is not None and re.search(rf"^{re.escape(name)}\s*:", existing, re.M):
        problems.append(Problem(params_file, None, name, "this date already has an entry for the deck"))
    if problems:
        raise ParamsError(problems)
    entry = f"{name}:\n  issuer: {json.dumps(issuer, ensure_ascii=False)}\n"
    if existing is None:
        params_text = f"# Decks rendered for the reporting date {date} (the file name is the date).\n{entry}"
    else:
        params_text = existing + ("" if existing.endswith("\n") or not existing else "\n") + entry
    written = []
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as handle:  # "x": never replaces a file that appeared meanwhile
            handle.write(text)
        written.append(path)
    params_dir.mkdir(parents=True, exist_ok=True)
    tmp = params_file.with_name(f".{params_file.name}.new")
    tmp.write_text(params_text, encoding="utf-8")
    tmp.replace(params_file)
    written.append(params_file)
    return written
