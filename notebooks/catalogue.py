# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (esante-report)
#     language: python
#     name: esante-report
# ---

# %% [markdown] slideshow={"slide_type": "skip"}
# # Point e-santé — catalogue des services régionaux
#
# Analyst notebook rendered by `esante-report render --date YYYY-MM-DD` into an HTML and a PDF slide deck (see `docs/authoring.md`). The services shown, and their indicators, follow the date rules of the data contract (`docs/data.md`): a service is listed from its `since` date, an indicator from the date it was known.
#
# A Markdown heading starts a slide (`##` a content slide); slides whose number follows the data (one per service) are displayed from code with `esr.slide(...)`.

# %% slideshow={"slide_type": "skip"} tags=["parameters"]
# Parameters (papermill). Given only report_date, the others come from params/<report_date>.yaml.
report_date = "2020-12-08"
region = None      # the region whose departments are mapped (params: catalogue.region)
issuer = None
data_dir = None    # default: the project's data/ (never the current directory)
params_dir = None  # default: the project's params/

# %% slideshow={"slide_type": "skip"}
import esante_report.authoring as esr
from esante_report.contracts.params import notebook_parameters
from esante_report.decks.catalogue.blocks import CatalogueBlocks

p = notebook_parameters("catalogue", report_date, region=region, issuer=issuer, data_dir=data_dir,
                        params_dir=params_dir)
deck = CatalogueBlocks.load(p["data_dir"], report_date=p["report_date"], region=p["region"],
                          issuer=p["issuer"])
esr.setup()  # house style for every chart, and the slides' look in this notebook

# %%
# the cover: the source's own title (data/catalogue/deck.yaml)
esr.slide(deck.title, deck.cover(), layout="cover")

# %% [markdown] slideshow={"slide_type": "notes"}
# Version du catalogue des services numériques mobilisables pendant la crise COVID.

# %%
esr.slide(deck.principles_title, deck.principles())

# %%
# one divider per section, then one card per service of the section
for section in ("cadre_national", "usage_direct", "usage_mixte"):
    deck.section_slides(section)

# %% [markdown] slideshow={"slide_type": "notes"}
# Une fiche par service : public, objectif, indicateurs d'usage connus à la date de la version, contacts.

# %% [markdown]
# ## Synthèse du catalogue

# %%
deck.summary()

# %% [markdown]
# ## Les services et leur statut

# %%
deck.service_list()

# %% [markdown]
# ## Assistance technique

# %%
deck.support()

# %% [markdown]
# ## Sources et notes

# %%
deck.sources()

# %% [markdown]
# ## Provenance des données

# %%
deck.provenance()
