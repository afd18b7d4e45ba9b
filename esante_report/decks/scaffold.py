"""A new deck scaffolded: ``esante-report new-deck NAME --title "…" --date D [--from-csv FILE…]``.

Writes ``notebooks/NAME.ipynb`` and its jupytext twin ``notebooks/NAME.py``, the deck's
mail template ``notebooks/NAME.mail.txt`` (quoting the figures the notebook keeps with
``esr.keep``), the data with its Table Schema, and the entry ``NAME:`` in ``params/D.yaml``
(created, or appended to, keeping the file's other content). Nothing is overwritten: any
file already there stops the scaffold before it writes.

- Without ``--from-csv``: ``data/NAME/indicateurs.csv`` holds illustrative figures for the 13
  metropolitan regions over the 3 months before D (labelled as illustrative on the slides),
  and the deck has a cover, a chart of ``valeur`` by region for the latest month, a table and
  a commentary quoting the total.
- With ``--from-csv``: the analyst's files are copied into ``data/NAME/`` and each one's
  schema is inferred (:mod:`esante_report.contracts.infer`); the slides follow the first file's
  columns: key figures, a chart of its main measure by its main category (for the latest
  period when it has one), a table and a commentary quoting the total in French format.

A name that is already a Python module's (``pandas``, ``json``…) is refused: ``notebooks/NAME.py`` would be imported in
its place by every notebook run in ``notebooks/``. The title and issuer are checked as ``check`` and the
PDF check would: plain text, short enough for the footer and the cover.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from esante_report.decks.registry import MAX_ISSUER, title_problem
from esante_report.distribute.mailtext import starting_template, template_path
from esante_report.errors import DataError, ParamsError, Problem, quote
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


def _language_info() -> dict:
    """What the project's kernel (ipykernel in this environment) reports: JupyterLab then leaves the file as written."""
    from ipykernel.ipkernel import IPythonKernel

    return json.loads(json.dumps(IPythonKernel.language_info))


def _skip(cell):
    cell.metadata["slideshow"] = {"slide_type": "skip"}
    return cell


def _params_cell(date: str, issuer: str):
    from nbformat.v4 import new_code_cell

    params = _skip(new_code_cell(
        "# Parameters (papermill). Given only report_date, the others come from params/<report_date>.yaml.\n"
        f"report_date = {date!r}\n"
        f"issuer = {issuer!r}\n"
        "data_dir = None    # default: the project's data/\n"
        "params_dir = None  # default: the project's params/"))
    params.metadata["tags"] = ["parameters"]
    return params


#: the figures the scaffolded notebooks keep for their e-mail, and what each is (for the template)
_KEPT = {"total": "Total", "periode": "Période"}


def _keep_cell(period: str | None):
    from nbformat.v4 import new_code_cell

    return _skip(new_code_cell(
        "# The figures of the deck's e-mail (notebooks/<deck>.mail.txt): kept in the executed notebook, which\n"
        "# `esante-report mail` reads, so the e-mail quotes the PDF's figures; shown on no slide\n"
        "esr.keep('date', dt.date.fromisoformat(report_date))\n"
        "esr.keep('emetteur', issuer)\n"
        "esr.keep('total', total)\n"
        f"esr.keep('periode', {period or repr('')})"))


def _finish(nb, title: str, tables: list[str]) -> str:
    import nbformat

    nb.metadata["kernelspec"] = {"display_name": "Python 3 (esante-report)", "language": "python",
                                 "name": "esante-report"}
    nb.metadata["language_info"] = _language_info()
    nb.metadata["esante_report"] = {"title": title, "tables": tables}
    return nbformat.writes(nb) + "\n"  # as nbformat.write ends the file: canonical, so opening it changes nothing


def _notebook(name: str, title: str, date: str, issuer: str):
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    skip = _skip
    params = _params_cell(date, issuer)
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
        _keep_cell("dernier_mois"),
    ]
    return _finish(new_notebook(cells=cells), title, [f"{name}/{TABLE}.csv"])


def _csv_notebook(name: str, title: str, date: str, issuer: str, tables: list[str], profile) -> str:
    """The notebook of a deck scaffolded from the analyst's CSV: its slides follow the first table's columns."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    table = tables[0]
    measure, period, region = profile.measure, profile.period, profile.region
    category = profile.category or period
    if category is None:
        raise DataError([Problem(profile.path, 1, None, "no column to group the figures by (expected a text column "
                                 "with a few repeated values, such as a region or a service, or a month column)")])
    if category is period:
        period = None   # the months are the chart's bars: every row counts
    cat, label = category.name, category.name
    value = measure.name if measure is not None else None
    what = value or "lignes"
    setup = [
        "import datetime as dt\n\nimport matplotlib.pyplot as plt\n\nimport esante_report.authoring as esr",
        "from esante_report.contracts.params import notebook_parameters",
    ]
    if region is not None:
        setup.append("from esante_report.contracts.regions import load_regions")
    setup.append("")
    setup.append(f"p = notebook_parameters({name!r}, report_date, data_dir=data_dir, params_dir=params_dir)")
    setup.append(f"table = esr.read_table({table!r}, p['data_dir'])  # typed by its Table Schema; a blank is <NA>")
    if period is not None:
        setup.append(f"periode = max(table[{period.name!r}])  # the latest {period.name}")
        setup.append(f"donnees = table[table[{period.name!r}] == periode]")
    else:
        setup.append("periode = None\ndonnees = table")
    if value is not None:
        setup.append(f"par_categorie = donnees.groupby({cat!r})[{value!r}].sum(min_count=1)  # blanks left out, never 0")
        setup.append(f"non_renseignes = int(donnees[{value!r}].isna().sum())")
    else:
        setup.append(f"par_categorie = donnees.groupby({cat!r}).size()")
        setup.append("non_renseignes = 0")
    if region is not None:
        setup.append(f"noms = load_regions(p['data_dir']).set_index({region.region_field!r})['name']")
        setup.append("par_categorie = par_categorie.rename(index=noms.to_dict())")
    elif category.type == "yearmonth":
        setup.append("par_categorie = par_categorie.rename(index=esr.fr)")
    setup.append("total = par_categorie.sum()")
    setup.append("esr.setup()")
    # text from the CSV's column names goes into the code as Python literals (repr), never spliced into one
    when = " + f' en {esr.fr(periode)}'" if period is not None else ""
    caption = repr(f"{what} par {label}") + when
    chart = (
        "serie = par_categorie.dropna().sort_values(ascending=False).head(15).sort_values()\n"
        "fig, ax = plt.subplots(figsize=esr.SLOT_FULL)\n"
        "ax.barh([str(k) for k in serie.index], serie.astype(float))\n"
        f"ax.set_xlabel({what!r})\n"
        "plt.close(fig)  # shown once, by esr.chart\n"
        f"esr.chart(fig, alt={caption} + f' : le total est de {{esr.fr(total)}}.', caption={caption})")
    tableau = (
        f"tableau = par_categorie.rename({what!r}).rename_axis({label!r}).reset_index()\n"
        f"esr.table_slides(tableau, {repr(f'{what} par {label} : tableau')}, rows_per_slide=13, index=False,\n"
        f"                 caption={caption} + (' ; blanc = non renseigné' if non_renseignes else ''))")
    kpis = (
        f"esr.kpis([(total, {repr(f'{what} au total')}{when}),\n"
        f"          (int(par_categorie.notna().sum()), {repr(f'{label} avec une valeur')}),\n"
        "          (non_renseignes, 'valeur(s) non renseignée(s)')])")
    text = ("Au total" + (", en {periode}," if period is not None else "") + " **{total}** (" + what.replace("{", "")
            + ") pour {n} (" + label.replace("{", "") + ") avec une valeur.")
    comment = (
        f"esr.md({text!r}\n"
        "       + (' {blancs} valeur(s) non renseignée(s), jamais comptée(s) comme 0.' if non_renseignes else ''),\n"
        "       total=total, n=int(par_categorie.notna().sum()), blancs=non_renseignes"
        + (", periode=periode)" if period is not None else ")"))
    cells = [
        _skip(new_markdown_cell(
            f"# {title}\n\nNotebook written by `esante-report new-deck {name} --from-csv`; `esante-report render "
            "--date YYYY-MM-DD` makes it an HTML and a PDF deck (see `docs/authoring.md`). A `#` heading starts the "
            "cover, a `##` heading a slide; whatever a cell displays goes on the slide above it.\n\n"
            f"The data are {', '.join(f'`data/{t}`' for t in tables)}; their contracts (`.schema.json` beside each) "
            "were inferred from the files: read them again.")),
        _params_cell(date, issuer),
        _skip(new_code_cell("\n".join(setup))),
        new_markdown_cell(f"# {title}"),
        new_code_cell("esr.md('Point au {date}', date=dt.date.fromisoformat(report_date))"),
        new_markdown_cell("## Chiffres clés"),
        new_code_cell(kpis),
        new_markdown_cell(f"## {what[:1].upper()}{what[1:]} par {label}"),
        new_code_cell(chart),
        new_code_cell(tableau),
        new_markdown_cell("## Commentaire"),
        new_code_cell(comment),
        _keep_cell("periode" if period is not None else None),
    ]
    return _finish(new_notebook(cells=cells), title, tables)


def _table_name(path: Path) -> str:
    """The file name a CSV gets in data/NAME/: lower-case letters, digits and _."""
    import unicodedata

    ascii_stem = unicodedata.normalize("NFKD", Path(path).stem.lower()).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9_]+", "_", ascii_stem).strip("_")
    return (stem if stem and stem[0].isalpha() else f"table_{stem}".rstrip("_"))[:60]


def _from_csv(name: str, title: str, date: str, issuer: str, csv_files: list[Path], folder: Path,
              regions) -> dict[Path, str | bytes]:
    """The files of a deck scaffolded from the analyst's CSV: the copies, their schemas, the notebook."""
    from esante_report.contracts.infer import profile_csv
    from esante_report.errors import ProblemList

    known = {"abbr": set(regions["abbr"]), "code": set(regions["code"])}
    problems: list[Problem] = ProblemList()
    profiles, names = [], []
    for path in csv_files:
        try:
            profiles.append(profile_csv(Path(path), known))
        except DataError as exc:
            problems.extend(exc.problems)
            continue
        table = _table_name(path)
        if table in names:
            problems.append(Problem(path, None, None, f"two files would both be data/{folder.name}/{table}.csv "
                                    "(rename one)"))
        names.append(table)
    if problems:
        raise DataError(problems)
    files: dict[Path, str | bytes] = {}
    for path, table, profile in zip(csv_files, names, profiles):
        files[folder / f"{table}.csv"] = Path(path).read_bytes()
        files[folder / f"{table}.schema.json"] = json.dumps(profile.schema(f"{title} : {Path(path).name}"),
                                                            ensure_ascii=False, indent=2) + "\n"
    tables = [f"{folder.name}/{table}.csv" for table in names]
    files[folder.parent.parent / "notebooks" / f"{name}.ipynb"] = _csv_notebook(name, title, date, issuer, tables,
                                                                               profiles[0])
    return files


def new_deck(name: str, *, title: str, date: str, data_dir: Path, params_dir: Path,
             notebooks: Path | None = None, issuer: str = "Ministère des Solidarités et de la Santé",
             csv_files: list[Path] | None = None) -> list[Path]:
    """Scaffold the deck ``name``; returns the files written. ParamsError or DataError (nothing written) on any
    problem. With ``csv_files``, the deck is built on the analyst's own tables (see the module docstring)."""
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
    if csv_files:
        files = _from_csv(name, title.strip(), date, issuer, list(csv_files), folder, regions)
        files = {(notebooks / p.name if p.suffix == ".ipynb" else p): text for p, text in files.items()}
    else:
        files = {
            notebooks / f"{name}.ipynb": _notebook(name, title.strip(), date, issuer),
            folder / f"{TABLE}.csv": "\n".join(_rows(metropolitan, _months_before(day))) + "\n",
            folder / f"{TABLE}.schema.json": json.dumps(_schema("regions.csv"), ensure_ascii=False, indent=2) + "\n",
        }
    files[template_path(notebooks / f"{name}.ipynb")] = starting_template(title.strip(), _KEPT)
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
        if isinstance(text, bytes):  # the analyst's CSV, copied as it is
            with open(path, "xb") as handle:
                handle.write(text)
        else:
            with open(path, "x", encoding="utf-8") as handle:  # "x": never replaces a file that appeared meanwhile
                handle.write(text)
        written.append(path)
    params_dir.mkdir(parents=True, exist_ok=True)
    from esante_report.outdir.fs import write_text

    write_text(params_file, params_text)  # atomic, under a temporary name of its own: never a fixed one
    written.append(params_file)
    return written
