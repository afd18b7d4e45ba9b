"""Vocabulary of the post_covid deck: statuses and categories, their labels, colours and hatches.

Same colours in map, legend, table and everywhere else; built on the house palette (:mod:`esante_report.authoring.style`).
"""

from esante_report.authoring.style import BLEU_FRANCE, BLEU_FRANCE_LIGHT, GREEN, ROUGE_MARIANNE

__all__ = ["STATUS_COLOURS", "STATUS_HATCHES", "STATUS_LABELS", "CATEGORY_LABELS", "CATEGORY_COLOURS",
           "CATEGORY_HATCHES"]

#: status of a region in the survey map
STATUS_COLOURS = {
    "confirmees": BLEU_FRANCE,
    "en_cours": BLEU_FRANCE_LIGHT,
    "non_mise_en_place": ROUGE_MARIANNE,
    "en_attente": "#DDDDDD",
}
STATUS_HATCHES = {"confirmees": "", "en_cours": "//", "non_mise_en_place": "xx", "en_attente": "--"}
STATUS_LABELS = {
    "confirmees": "Région avec cellules confirmées",
    "en_cours": "Région en cours de remontée",
    "non_mise_en_place": "Région ne mettant pas en place les cellules",
    "en_attente": "Région en attente de réponse",
}
CATEGORY_LABELS = {"mineurs": "Mineurs", "hommes": "Hommes", "femmes": "Femmes"}
CATEGORY_COLOURS = {"mineurs": GREEN, "hommes": BLEU_FRANCE, "femmes": BLEU_FRANCE_LIGHT}
CATEGORY_HATCHES = {"mineurs": "\\\\", "hommes": "", "femmes": "//"}
