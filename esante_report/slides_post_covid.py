"""Slides of the post-COVID coordination cells deck ("point d'étape").

``PostCovidDeck`` loads and checks the data once; each method returns one
slide's content as :class:`~esante_report.components.Html`. All figures come
from ``data/``; the reporting date, wave and months come from the parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from . import components, plots, style
from .errors import DataError, Problem
from .fmt import NA_TEXT, fmt_date, fmt_int, fmt_long_date, fmt_month
from .geo import CREDIT, load_boundaries
from .post_covid import CATEGORIES, STATUSES, PostCovidData, load_post_covid, summarise_patients
from .provenance import provenance

__all__ = ["PostCovidDeck", "TITLE"]

TITLE = "Déploiement des cellules de coordination post-COVID et autres démarches post-COVID"


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " et " + names[-1]


@dataclass
class PostCovidDeck:
    data: PostCovidData
    data_dir: Path
    report_date: dt.date
    wave: int
    months: list[str]
    issuer: str

    @classmethod
    def load(cls, data_dir: str | Path, *, report_date: str | dt.date, wave: int, months: list[str],
             issuer: str = "Ministère des Solidarités et de la Santé") -> "PostCovidDeck":
        data_dir = Path(data_dir)
        data = load_post_covid(data_dir)
        if wave not in set(data.waves["wave"]):
            raise DataError([Problem(data_dir / "post_covid" / "waves.csv", None, "wave",
                                     f"no wave {wave} (expected one of {sorted(data.waves['wave'])})")])
        if isinstance(report_date, str):
            report_date = dt.date.fromisoformat(report_date)
        return cls(data, data_dir, report_date, int(wave), list(months), issuer)

    # ------------------------------------------------------------------ helpers
    @property
    def _wave(self):
        return self.data.wave(self.wave)

    def _name(self, abbr: str) -> str:
        names = dict(zip(self.data.regions["abbr"], self.data.regions["name"]))
        return names.get(abbr, abbr)

    def _boundaries(self):
        """Region boundaries, read once per deck (two slides draw maps)."""
        if not hasattr(self, "_regions_geo"):
            self._regions_geo = load_boundaries(self.data_dir / "geo" / "regions.geojson")
        return self._regions_geo

    # ------------------------------------------------------------------ slides
    def cover(self) -> components.Html:
        wave = self._wave
        return components.render(
            "cover.html.j2", kicker=self.issuer, title=TITLE,
            subtitle=f"Point d'étape – {fmt_date(self.report_date)}",
            meta=[f"Retour sur l'enquête auprès des ARS : {wave['label']} du {fmt_date(wave['date'])}"])

    def timeline(self) -> components.Html:
        ms = self.data.milestones
        whens = [m.date_label if isinstance(m.date_label, str) and m.date_label else fmt_long_date(m.date)
                 for m in ms.itertuples()]
        alt = (f"Frise chronologique de {len(ms)} jalons, de {whens[0]} à {whens[-1]} : "
               + " ; ".join(f"{w}, {m.title} ({m.actor})" for w, m in zip(whens, ms.itertuples())) + ".")
        table = components.table(["Date", "Acteur", "Jalon", "Détail"],
                                 [[w, m.actor, m.title, m.what] for w, m in zip(whens, ms.itertuples())])
        fig = plots.timeline_figure(ms, height=3.3)
        return components.render(
            "post_covid_timeline.html.j2", title="Mobilisation sanitaire et en formation",
            figure=components.figure(fig, alt=alt, data_table=table),
            milestones=[{"when": w, "what": m.what} for w, m in zip(whens, ms.itertuples())])

    def cells_map(self) -> components.Html:
        wave = self._wave
        cells = self.data.cells[self.data.cells["wave"] == self.wave]
        boundaries = self._boundaries()
        legend, alt_parts = [], []
        for status in STATUSES:
            part = cells[cells["status"] == status]
            regions = list(part["region"])
            total = part["cells"].sum(skipna=True) if part["cells"].notna().any() else None
            legend.append({"status": status, "label": style.STATUS_LABELS[status],
                           "colour": style.STATUS_COLOURS[status], "count": fmt_int(len(regions)),
                           "regions": ", ".join(regions) or "aucune",
                           "cells": fmt_int(total) if total is not None else NA_TEXT})
            if regions:
                detail = ", ".join(f"{r} {fmt_int(c, na='')}".strip() for r, c in zip(part["region"], part["cells"]))
                alt_parts.append(f"{len(regions)} {style.STATUS_LABELS[status].lower().replace('région', 'région(s)')} ({detail})")
        known = cells["cells"].sum(skipna=True)
        illustrative = bool(wave["cells_illustrative"])
        alt = ("Carte des régions selon l'état de déploiement des cellules de coordination post-COVID"
               + (" (données illustratives)" if illustrative else "") + " : " + " ; ".join(alt_parts)
               + f". Total des cellules renseignées : {fmt_int(known)}.")
        no_data = [r for r in self.data.regions["abbr"] if r not in set(cells["region"])]
        if no_data:
            alt += f" Régions absentes de l'enquête : {', '.join(no_data)}."
        fig = plots.status_map_figure(cells, self.data.regions, boundaries, width=6.6, height=4.45)
        table = components.table(["Région", "Statut", "Cellules"],
                                 [[self._name(r.region), style.STATUS_LABELS[r.status], fmt_int(r.cells)]
                                  for r in cells.itertuples()], numeric=[False, False, True])
        return components.render(
            "post_covid_map.html.j2", title="Retour sur l'enquête auprès des ARS",
            lede=(f"Nombre de cellules de coordination post-COVID identifiées par l'ARS au "
                  f"{fmt_date(wave['date'])} ({wave['label']})"),
            illustrative=("Données illustratives : la carte de l'enquête source ne portait pas de valeurs "
                          "par région ; statuts et nombres de cellules à remplacer par les remontées des ARS.")
            if illustrative else None,
            figure=components.figure(fig, alt=alt, credit=CREDIT, data_table=table),
            legend=legend, na=NA_TEXT)

    def measures(self) -> components.Html:
        if self.wave not in self.data.measures:
            raise DataError([Problem(self.data_dir / "post_covid" / "measures.yaml", None, "wave",
                                     f"no entry for wave {self.wave} (expected one entry per wave shown)")])
        m = self.data.measures[self.wave]
        boundaries = self._boundaries()
        names = [f"ARS {self._name(r)}" for r in m["ami"]["regions"]]
        fig = plots.highlight_map_figure(m["ami"]["regions"], self.data.regions, boundaries, width=3.4, height=3.0)
        alt = (f"Carte des {len(names)} régions dont l'ARS a lancé un appel à manifestation d'intérêt "
               f"post-COVID : {_join([self._name(r) for r in m['ami']['regions']])}.")
        return components.render(
            "post_covid_measures.html.j2", title="Mesures d'accompagnement post-COVID",
            ami={"title": m["ami"]["title"], "names": names,
                 "figure": components.figure(fig, alt=alt, credit=CREDIT)},
            financing=m["financing"], actions=m["actions"])

    def _summary(self):
        return summarise_patients(self.data.patients, self.wave, self.months)

    def _months_text(self) -> str:
        return _join([fmt_month(m) for m in self.months])

    def _reporting_note(self, summary) -> str:
        parts = [f"{len(summary.regions_reporting[m])} régions sur {len(summary.regions_shown)} en {fmt_month(m)}"
                 for m in self.months]
        return ("Régions ayant renseigné au moins une donnée : " + " ; ".join(parts) + ". "
                f"Une case vide de l'enquête est « {NA_TEXT} » (n.r. sur le graphique), jamais comptée comme 0 : "
                "les totaux ne portent que sur les régions ayant répondu.")

    def patients_chart(self) -> components.Html:
        s = self._summary()
        data = self.data.patients[self.data.patients["wave"] == self.wave]
        fig = plots.stacked_bars_figure(data, s.regions_shown, self.months, CATEGORIES, height=4.95)
        totals = {m: int(s.totals.loc[m].sum()) for m in self.months}
        best = None
        for region in s.regions_shown:
            for m in self.months:
                values = s.table.loc[region, m]
                if values.notna().any():
                    total = int(values.sum(skipna=True))
                    if best is None or total > best[0]:
                        best = (total, region, m)
        missing = {m: [r for r in s.regions_shown if r not in s.regions_reporting[m]] for m in self.months}
        alt = (f"Histogramme empilé des patients post-COVID en situation complexe pris en charge, par région et par "
               f"mois ({self._months_text()}), réparti entre mineurs, hommes et femmes. "
               + " ".join(f"Total {fmt_month(m)} : {fmt_int(totals[m])} patients dans "
                          f"{len(s.regions_reporting[m])} régions ayant répondu"
                          + (f" (sans réponse : {', '.join(missing[m])})" if missing[m] else "") + "."
                          for m in self.months)
               + (f" Valeur la plus haute : {best[1]} en {fmt_month(best[2])}, {fmt_int(best[0])} patients." if best else ""))
        return components.render(
            "post_covid_patients_chart.html.j2", title="Retour sur l'enquête auprès des ARS",
            lede=f"Nombre de patients post-COVID en situation complexe pris en charge au cours des mois de {self._months_text()}",
            figure=components.figure(fig, alt=alt, data_table=self._patients_table_markup(s)),
            note=self._reporting_note(s))

    def _patients_rows(self, s):
        rows = [{"region": r, "cells": [fmt_int(s.table.loc[r, (m, c)]) for m in self.months for c in CATEGORIES]}
                for r in s.regions_shown]
        totals = [fmt_int(s.totals.loc[m, c]) for m in self.months for c in CATEGORIES]
        reporting = [fmt_int(s.reporting.loc[m, c]) for m in self.months for c in CATEGORIES]
        return rows, totals, reporting

    def _patients_table_markup(self, s):
        rows, totals, reporting = self._patients_rows(s)
        return components.table(
            ["Région"] + [f"{fmt_month(m)} – {style.CATEGORY_LABELS[c].lower()}" for m in self.months for c in CATEGORIES],
            [[r["region"], *r["cells"]] for r in rows], numeric=[False] + [True] * (len(rows[0]["cells"]) if rows else 0),
            footer=[["Total des régions ayant répondu", *totals], ["Régions ayant répondu", *reporting]])

    def patients_table(self) -> components.Html:
        s = self._summary()
        rows, totals, reporting = self._patients_rows(s)
        return components.render(
            "post_covid_patients_table.html.j2", title="Patients post-COVID en situation complexe pris en charge",
            caption=f"Par région, mois et catégorie — {self._wave['label']}",
            months=[fmt_month(m) for m in self.months], categories=[style.CATEGORY_LABELS[c] for c in CATEGORIES],
            rows=rows, totals=totals, reporting=reporting, na=NA_TEXT, note=self._reporting_note(s))

    def closing(self) -> components.Html:
        wave = self._wave
        notes = [f"Patients : {NA_TEXT} = case laissée vide par la région dans l'enquête ; elle n'est jamais "
                 "comptée comme 0.",
                 "Dates des jalons : « dernier trimestre 2020 » et « automne 2020 » sont placés au début de la période."]
        if bool(wave["cells_illustrative"]):
            notes.insert(0, "Carte des cellules : données illustratives (la carte source ne portait pas de "
                            "valeurs par région).")
        return components.render(
            "closing.html.j2", title="Sources et notes",
            sources=[wave["source"], CREDIT],
            notes=notes, report_date=fmt_date(self.report_date),
            provenance=provenance(self.data.files, self.data_dir))
