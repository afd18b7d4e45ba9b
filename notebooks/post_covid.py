# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (esante-report)
#     language: python
#     name: esante-report
# ---

# %% [markdown] slideshow={"slide_type": "skip"}
# # Cellules de coordination post-COVID — point d'étape
#
# Analyst notebook rendered by `esante-report render --date YYYY-MM-DD` into an HTML and a PDF slide deck (see `docs/authoring.md`).
#
# - A Markdown heading starts a slide: `#` the cover, `##` a content slide titled by it.
# - Markdown cells and whatever code cells display (charts, tables, `esr.*` blocks) go on the slide above them.
# - Cells of type *Skip* (like this one) never reach a deck; cells of type *Notes* are speaker notes.
#
# Given only `report_date`, the parameters come from `params/<report_date>.yaml`; `region` (e.g. `"OCC"`) gives that region's deck.

# %% slideshow={"slide_type": "skip"} tags=["parameters"]
# Parameters (papermill). Given only report_date, the others come from params/<report_date>.yaml.
report_date = "2021-11-15"
region = None      # an ARS abbreviation, e.g. "OCC": that region's deck
wave = None
months = None
issuer = None
data_dir = None    # default: the project's data/ (never the current directory)
params_dir = None  # default: the project's params/

# %% slideshow={"slide_type": "skip"}
import matplotlib.pyplot as plt

import esante_report.authoring as esr
from esante_report.contracts.params import notebook_parameters
from esante_report.decks.post_covid.blocks import PostCovidBlocks

p = notebook_parameters("post_covid", report_date, region=region, wave=wave, months=months, issuer=issuer,
                        data_dir=data_dir, params_dir=params_dir)
deck = PostCovidBlocks.load(**p)
esr.setup()  # house style for every chart, and the slides' look in this notebook

# %% [markdown]
# # Déploiement des cellules de coordination post-COVID et autres démarches post-COVID

# %%
deck.cover()

# %% [markdown] slideshow={"slide_type": "notes"}
# Point d'étape sur le déploiement des cellules de coordination post-COVID, à partir de l'enquête mensuelle menée auprès des ARS.

# %% [markdown]
# ## Mobilisation sanitaire et en formation

# %%
deck.timeline()

# %% [markdown] slideshow={"slide_type": "notes"}
# Rappeler les recommandations de la HAS et du ministère qui fondent l'organisation territoriale.

# %% [markdown]
# ## Où en sont les cellules de coordination ?

# %%
esr.md("Nombre de cellules de coordination post-COVID identifiées par les ARS au {date} ({enquete})",
       date=deck.wave_date, enquete=deck.wave_label)

# %%
deck.cells_map()

# %% [markdown]
# ## Mesures d'accompagnement post-COVID

# %%
deck.measures()

# %% [markdown]
# ## Patients post-COVID en situation complexe pris en charge

# %%
deck.patients_kpis()

# %%
deck.patients_chart()

# %% [markdown] slideshow={"slide_type": "notes"}
# Les régions sans réponse sont marquées n.r. : ne pas les lire comme zéro. Un astérisque signale une réponse partielle.

# %%
# a wave with many regions and months needs more than one chart: the next ones, titled (suite)
for part in range(1, deck.patients_chart_parts()):
    esr.slide("Patients post-COVID en situation complexe pris en charge (suite)", deck.patients_chart(part))

# %% [markdown]
# ## Patients pris en charge : détail par région, mois et catégorie

# %%
deck.patients_table()

# %%
for part in range(1, len(deck.patients_table_parts())):
    esr.slide("Patients pris en charge : détail (suite)", deck.patients_table(part))

# %%
# a regional deck: the region next to the national total, and its share
deck.region_share() if deck.region else None

# %%
# what changed since the previous point d'étape (the title says since when), then each region
esr.slide(deck.changes_title(), deck.changes_block())
for part in range(deck.region_changes_parts()):
    esr.slide(f"{deck.changes_title()} : par région" + (" (suite)" if part else ""),
              deck.region_changes(part))

# %% [markdown]
# ## Sources et notes

# %%
deck.sources()

# %% [markdown]
# ## Provenance des données

# %%
deck.provenance()

# %% slideshow={"slide_type": "skip"}
# The figures of this deck's e-mail (notebooks/post_covid.mail.txt), as the slides above computed them:
# kept in the executed notebook, which `esante-report mail` reads; shown on no slide
national = {t.month: t for t in deck.month_totals()}
lines = []
for t in deck.month_totals(deck.region):
    nat = national[t.month]
    if deck.region:
        own = esr.fr(t.total if t.regions else None) + (" (réponse partielle)" if t.partial else "")
        share = esr.pct(100 * t.total / nat.total) if t.regions and nat.total else "non calculable"
        lines.append(f"- {esr.fr(t.month)} : {own} (national : {esr.fr(nat.total)}, soit {share} du total national)")
    else:
        partial = ", dont des réponses partielles" if t.partial else ""
        lines.append(f"- {esr.fr(t.month)} : {esr.fr(t.total if t.regions else None)} "
                     f"({esr.fr(len(nat.regions))} régions ayant répondu{partial})")
where = f" en {deck.region_name()}" if deck.region else ""
esr.keep("objet", (f"{deck.region_name()} — " if deck.region else "")
         + f"Cellules de coordination post-COVID : point d'étape du {esr.fr(deck.report_date)}")
esr.keep("presentation", f"la présentation régionale ({deck.region_name()})" if deck.region
         else "la présentation nationale")
esr.keep("date", deck.report_date)
esr.keep("vague", deck.wave_label)
esr.keep("patients", f"Patients pris en charge{where} :\n" + "\n".join(lines))
esr.keep("emetteur", deck.issuer)
