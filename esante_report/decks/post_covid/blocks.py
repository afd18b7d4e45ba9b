"""Building blocks of the post-COVID coordination cells deck ("point d'étape").

``PostCovidBlocks`` loads and checks the data once and gives the notebook the
figures it quotes and the blocks it places on its slides. Titles and
commentary are written in the notebook (``notebooks/post_covid.ipynb``): the
blocks here carry data, charts, tables and the data notes that must travel
with them (illustrative data, blanks never counted as zero), no slide title.

With ``region`` set (an ARS abbreviation), the same blocks show that region
next to the national picture: one deck per region from the same notebook.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from esante_report.authoring import components
from esante_report.authoring import plots
from esante_report.authoring import style
from ...authoring import change, md
from esante_report.authoring.components import Html
from ...errors import DataError, Problem
from ...fmt import NA_TEXT, fmt_date, fmt_int, fmt_long_date, fmt_month
from esante_report.authoring.geo import CREDIT, load_boundaries
from esante_report.pipeline.kernels import cached_parse
from .data import CATEGORIES, STATUSES, PostCovidData, data_files, load_post_covid, summarise_patients
from ...provenance import provenance
from . import vocabulary
from .totals import MonthHeadline, headline_totals
from .changes import Changes, compute_changes, describe, describe_region, title as changes_title_of

_render = components.renderer(Path(__file__).parent / "templates")

__all__ = ["PostCovidBlocks", "join_fr"]

#: a blank in a dense table: "n.r.", explained in the table's caption
NA_SHORT = "n.r."

#: bars one chart can hold and keep every label ≥ 12 pt; more regions go on further slides
_BARS_PER_CHART = 20
#: height of the patients chart (inches)
_CHART_HEIGHT = 4.0
#: rows of the patients table on one slide: few enough for the body text size, the rest on "(suite)" slides
_ROWS_PER_TABLE = components.LARGE_TABLE_ROWS
#: months side by side in one table (four columns each): more do not fit the slide's width at that size
_MONTHS_PER_TABLE = 2
#: monthly totals in the headline row (the latest ones)
_KPI_MONTHS = 3
#: characters of the measures' highlighted sentence on one line of the slide
_HIGHLIGHT_CHARS = 100
#: characters of an ARS name on one line of the measures' first column
_AMI_NAME_CHARS = 24


def _wrapped_lines(text: str, width: int) -> int:
    """Lines ``text`` takes when wrapped at ``width`` characters (a longer word is cut)."""
    lines, used = 1, 0
    for word in text.split():
        size = len(word)
        if used and used + 1 + size > width:
            lines, used = lines + 1, 0
        if size > width:
            lines += (size - 1) // width
            size = size % width or width
        used = used + (1 if used else 0) + size
    return lines
#: regions' changes listed on one slide (a table at the body text size)
_CHANGES_PER_SLIDE = components.LARGE_TABLE_ROWS


def join_fr(names: list[str]) -> str:
    """'a', 'a et b', 'a, b et c'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " et " + names[-1]


@dataclass
class PostCovidBlocks:
    #: every region's data (the national picture); :attr:`data` is the deck's own (the region's)
    national: PostCovidData
    data_dir: Path
    report_date: dt.date
    wave: int
    months: list[str]
    issuer: str
    region: str | None = None

    @classmethod
    def load(cls, data_dir: str | Path, *, report_date: str | dt.date, wave: int, months: list[str],
             issuer: str = "Ministère des Solidarités et de la Santé", region: str | None = None,
             **_: object) -> "PostCovidBlocks":
        data_dir = Path(data_dir)
        # parsed once per batch worker (same file contents), else read here
        data = cached_parse(data_files(data_dir)[:-1], lambda: load_post_covid(data_dir), "post_covid")
        if wave not in set(data.waves["wave"]):
            raise DataError([Problem(data_dir / "post_covid" / "waves.csv", None, "wave",
                                     f"no wave {wave} (expected one of {sorted(data.waves['wave'])})")])
        if region is not None and region not in set(data.regions["abbr"]):
            raise DataError([Problem(data_dir / "regions.csv", None, "region",
                                     f"unknown region {region!r} (expected one of {', '.join(data.regions['abbr'])})")])
        if isinstance(report_date, str):
            report_date = dt.date.fromisoformat(report_date)
        return cls(data, data_dir, report_date, int(wave), list(months), issuer, region)

    # ------------------------------------------------------------------ facts the notebook quotes
    @property
    def data(self) -> PostCovidData:
        """The deck's own data: the region's rows in a regional deck (``national`` holds every region's)."""
        if self.region is None:
            return self.national
        if not hasattr(self, "_own_data"):
            d = self.national
            self._own_data = dataclasses.replace(
                d, patients=d.patients[d.patients["region"] == self.region].reset_index(drop=True),
                cells=d.cells[d.cells["region"] == self.region].reset_index(drop=True),
                regions=d.regions[d.regions["abbr"] == self.region].reset_index(drop=True))
        return self._own_data

    @property
    def has_rows(self) -> bool:
        """False for a regional deck whose region sent no patients row for the wave."""
        return self.region is None or self.region in self._summary().regions_shown

    def _national_deck(self) -> "PostCovidBlocks":
        """The national deck of the same point (a region without rows shows the national picture)."""
        if not hasattr(self, "_national_view"):
            self._national_view = dataclasses.replace(self, region=None)
            # under the note: a shorter chart
            self._national_view._chart_height = _CHART_HEIGHT - 0.5
            for cached in ("_patients_summary", "_changes", "_regions_geo"):
                if hasattr(self, cached):
                    setattr(self._national_view, cached, getattr(self, cached))
        return self._national_view

    def no_returns_note(self) -> Html:
        """A region without rows: says so above the national figures shown instead."""
        text = f"{self.region_name()} : aucune remontée pour cette enquête ; ci-dessous, les chiffres nationaux."
        return Html(f'<p class="esr-highlight">{components.escape_text(text)}</p>')

    @property
    def wave_info(self) -> pd.Series:
        return self.national.wave(self.wave)

    @property
    def wave_label(self) -> str:
        return str(self.wave_info["label"])

    @property
    def wave_date(self) -> dt.date:
        return self.wave_info["date"]

    def region_name(self, abbr: str | None = None) -> str:
        abbr = abbr or self.region
        names = dict(zip(self.national.regions["abbr"], self.national.regions["name"]))
        return names.get(abbr, abbr or "")

    def _boundaries(self):
        """Region boundaries, read once per deck (several slides draw maps)."""
        if not hasattr(self, "_regions_geo"):
            path = self.data_dir / "geo" / "regions.geojson"
            self._regions_geo = cached_parse([path], lambda: load_boundaries(path), "boundaries")
        return self._regions_geo

    def _summary(self):
        """Region × month × category table of the wave (computed once: every patients block reads it)."""
        if not hasattr(self, "_patients_summary"):
            self._patients_summary = summarise_patients(self.national.patients, self.wave, self.months)
        return self._patients_summary

    def month_totals(self, region: str | None = None) -> list[MonthHeadline]:
        """Per month, the total of all categories (nationally, or of ``region``) and who is behind it."""
        return headline_totals(self.national, self.wave, self.months, [region] if region else None)

    def expected_regions(self) -> list[str]:
        """Regions of the wave (with a patients row), the denominator of "n régions sur N"."""
        return [self.region] if self.region else self._summary().regions_shown

    @property
    def changes(self) -> Changes:
        """What changed since the previous point (computed once)."""
        if not hasattr(self, "_changes"):
            self._changes = compute_changes(self.national, self.wave, self.months)
        return self._changes

    # ------------------------------------------------------------------ blocks
    def cover(self) -> Html:
        """The cover lines under the deck title: date, region, survey."""
        lines = "**Point d'étape – {date}**"
        if self.region:
            lines += "\n\nRégion {region} ({abbr})"
        lines += "\n\nRetour sur l'enquête auprès des ARS : {label} du {wave_date}"
        return md(lines, date=self.report_date, region=self.region_name(), abbr=self.region or "",
                  label=self.wave_label, wave_date=self.wave_date)

    def timeline(self) -> Html:
        """Milestones on a time axis; under each, who acted and the source's sentence."""
        ms = self.national.milestones[self.national.milestones["date"] <= self.report_date]
        whens = [m.date_label if isinstance(m.date_label, str) and m.date_label else fmt_long_date(m.date)
                 for m in ms.itertuples()]
        alt = (f"Frise chronologique de {len(ms)} jalons, de {whens[0]} à {whens[-1]} : "
               + " ; ".join(f"{w}, {m.title} ({m.actor})" for w, m in zip(whens, ms.itertuples())) + "."
               if len(ms) else "Frise chronologique sans jalon à cette date.")
        fig = plots.timeline_figure(ms, height=2.35)
        steps = "".join(f"<li><strong>{components.escape_text(m.actor)}</strong> — "
                        f"{components.escape_text(m.what)}</li>" for m in ms.itertuples())
        return Html(components.figure(fig, alt=alt).html + f'<ol class="esr-steps">{steps}</ol>')

    def cells_map(self) -> Html:
        """Map of the regions by status (the region highlighted in a regional deck), and its legend."""
        cells = self.national.cells[self.national.cells["wave"] == self.wave]
        legend, alt_parts = [], []
        for status in STATUSES:
            part = cells[cells["status"] == status]
            regions = list(part["region"])
            total = part["cells"].sum(skipna=True) if part["cells"].notna().any() else None
            legend.append({"status": status, "label": vocabulary.STATUS_LABELS[status],
                           "colour": vocabulary.STATUS_COLOURS[status], "count": fmt_int(len(regions)),
                           "regions": ", ".join(regions) or "aucune",
                           "cells": fmt_int(total) if total is not None else NA_TEXT})
            if regions:
                detail = ", ".join(f"{r} {fmt_int(c, na='')}".strip() for r, c in zip(part["region"], part["cells"]))
                alt_parts.append(f"{len(regions)} {vocabulary.STATUS_LABELS[status].lower().replace('région', 'région(s)')} ({detail})")
        illustrative = bool(self.wave_info["cells_illustrative"])
        alt = ("Carte des régions selon l'état de déploiement des cellules de coordination post-COVID"
               + (" (données illustratives)" if illustrative else "") + " : " + " ; ".join(alt_parts)
               + f". Total des cellules renseignées : {fmt_int(cells['cells'].sum(skipna=True))}.")
        no_data = [r for r in self.national.regions["abbr"] if r not in set(cells["region"])]
        if no_data:
            alt += f" Régions absentes de l'enquête : {', '.join(no_data)}."
        if self.region:
            alt += f" La région {self.region_name()} est entourée."
        fig = plots.status_map_figure(cells, self.national.regions, self._boundaries(), width=6.2, height=3.75,
                                      highlight=self.region, colours=vocabulary.STATUS_COLOURS,
                                      hatches=vocabulary.STATUS_HATCHES)
        table = components.table(["Région", "Statut", "Cellules"],
                                 [[self.region_name(r.region), vocabulary.STATUS_LABELS[r.status], fmt_int(r.cells)]
                                  for r in cells.itertuples()], numeric=[False, False, True])
        own = None
        if self.region:
            row = cells[cells["region"] == self.region]
            own = ({"label": vocabulary.STATUS_LABELS[row["status"].iloc[0]], "cells": fmt_int(row["cells"].iloc[0])}
                   if len(row) else None)
        return _render(
            "post_covid_map.html.j2",
            illustrative=("Données illustratives : la carte de l'enquête source ne portait pas de valeurs "
                          "par région ; statuts et nombres de cellules à remplacer par les remontées des ARS.")
            if illustrative else None,
            figure=components.figure(fig, alt=alt, credit=CREDIT, data_table=table),
            legend=legend, na=NA_TEXT, region=self.region_name() if self.region else None, own=own)

    def measures_entry(self) -> tuple[dict, int]:
        """This wave's measures, or the latest earlier wave's when it has none (and that wave)."""
        from .data import measures_for

        return measures_for(self.national, self.wave)

    def measures(self) -> Html:
        """The three columns of measures, the AMI map (a regional deck says whether its ARS is among them)."""
        m, since = self.measures_entry()
        names = [f"ARS {self.region_name(r)}" for r in m["ami"]["regions"]]
        unchanged = None
        if since != self.wave:
            label = self.national.wave(since)["label"]
            unchanged = f"Mesures inchangées depuis l'{label[0].lower()}{label[1:]}" \
                if label[:1] in "EÉAIOU" else f"Mesures inchangées depuis {label}"
        own = None
        if self.region:
            own = (f"L'ARS {self.region_name()} a lancé un appel à manifestation d'intérêt post-COVID."
                   if self.region in m["ami"]["regions"] else
                   f"L'ARS {self.region_name()} ne figure pas parmi les ARS ayant lancé un appel à manifestation "
                   "d'intérêt post-COVID.")
        # the map shrinks by one line's height for each line of the sentence above the columns
        # (a long region name wraps it) and for each line the list of ARS takes beyond six
        lines = math.ceil(len(f"{unchanged or ''}. {own or ''}") / _HIGHLIGHT_CHARS) if unchanged or own else 0
        shrink = 0.3 * (lines + max(0, sum(_wrapped_lines(n, _AMI_NAME_CHARS) for n in names) - 6))
        height = max(1.3, 2.5 - shrink)
        fig = plots.highlight_map_figure(m["ami"]["regions"], self.national.regions, self._boundaries(),
                                         width=round(1.3 * height, 2), height=round(height, 2))
        alt = (f"Carte des {len(names)} régions dont l'ARS a lancé un appel à manifestation d'intérêt "
               f"post-COVID : {join_fr([self.region_name(r) for r in m['ami']['regions']])}.")
        return _render(
            "post_covid_measures.html.j2",
            ami={"title": m["ami"]["title"], "names": names,
                 "figure": components.figure(fig, alt=alt, credit=CREDIT)},
            financing=m["financing"], actions=m["actions"], unchanged=unchanged, own=own,
            region=self.region)

    # -- patients
    def patients_kpis(self) -> Html:
        """Headline: all categories per month, the regions behind each total, the change at constant scope."""
        from ...authoring import kpis

        if not self.has_rows:
            return Html(self.no_returns_note().html + self._national_deck().patients_kpis().html)
        expected = len(self.expected_regions())
        by_month = {c.month: c for c in self.changes.totals}
        totals = self.month_totals(self.region)[-_KPI_MONTHS:]
        items = []
        for t in totals:
            label = fmt_month(t.month)
            if not t.regions:
                items.append((None, f"patients en {label} : aucune remontée"))
                continue
            who = (f"{len(t.regions)} région{'s' if len(t.regions) > 1 else ''} sur {expected}"
                   if not self.region else self.region_name())
            if not t.partial:
                partial = ""
            elif self.region:  # the region's own answer
                partial = ", réponse partielle"
            else:
                partial = f", dont {len(t.partial)} partielle{'s' if len(t.partial) > 1 else ''}"
            items.append((t.total, f"patients en {label} ({who}{partial})"))
        last = self.months[-1]
        if self.region:
            r = self.changes.region(self.region)
            if r is not None and r.comparable and r.month == last:
                items.append((change(r.value, r.previous), f"sur {fmt_month(r.previous_month)}"))
        else:
            c = by_month.get(last)
            if c is not None and c.comparable and c.previous_common:
                items.append((change(c.current_common, c.previous_common),
                              f"sur {fmt_month(c.previous_month)}, à périmètre constant "
                              f"({len(c.common_regions)} régions)"))
        return kpis(items)

    def changes_title(self) -> str:
        """"Évolutions depuis le point du 15/11/2021" (or: first point)."""
        return changes_title_of(self.changes)

    def changes_block(self) -> Html:
        """What changed since the previous point: statuses, reporting regions, national totals.

        A regional deck gets its own line (status, change, or why it is not comparable).
        The regions' changes of a national deck are in :meth:`region_changes`.
        """
        ch = self.changes
        if self.region:
            lines = [describe_region(ch, self.region)]
            status = next((c for c in ch.status_changes if c.region == self.region), None)
            if status is not None:
                lines.insert(0, f"Statut : {vocabulary.STATUS_LABELS.get(status.old, 'aucune réponse')} → "
                                f"{vocabulary.STATUS_LABELS.get(status.new, 'aucune réponse')}.")
            if ch.first:
                lines.insert(0, "Premier point d'étape : pas de point antérieur auquel le comparer.")
        else:
            region_lines = {describe_region(ch, r.region) for r in ch.regions}
            lines = [line for line in describe(ch) if line not in region_lines
                     and not line.startswith("Non comparables")]
        items = "".join(f"<li>{components.escape_text(line)}</li>" for line in lines)
        return Html(f'<ul class="esr-changes">{items}</ul>')

    def region_changes_parts(self) -> int:
        """Slides the regions' changes need (none for a regional deck or a first point)."""
        if self.region or self.changes.first or not self.changes.regions:
            return 0
        return math.ceil(len(self.changes.regions) / _CHANGES_PER_SLIDE)

    def region_changes(self, part: int = 0) -> Html:
        """Each region's change for the latest month: "non comparable" unless both months are complete."""
        ch = self.changes
        size = math.ceil(len(ch.regions) / self.region_changes_parts())  # even parts: no near-empty "(suite)"
        rows = []
        for r in ch.regions[part * size:(part + 1) * size]:
            why = None if r.comparable else ("non renseigné" if r.reason.startswith("missing") else "incomplet")
            rows.append([f"{self.region_name(r.region)} ({r.region})",
                         fmt_int(r.previous, na="n.r."), fmt_int(r.value, na="n.r."),
                         str(change(r.value, r.previous)) if r.comparable else f"non comparable ({why})"])
        first = ch.regions[0] if ch.regions else None
        head = ["Région", fmt_month(first.previous_month) if first else "", fmt_month(first.month) if first else "",
                "Évolution"]
        return components.table(head, rows, numeric=[False, True, True, True],
                                caption="Patients, toutes catégories, régions complètes les deux mois ; "
                                        "n.r. = non renseigné ou incomplet")

    def _chart_regions(self) -> list[list[str]]:
        s = self._summary()
        regions = [self.region] if self.region else s.regions_shown
        per = max(1, _BARS_PER_CHART // max(len(self.months), 1))
        chunks = math.ceil(len(regions) / per) or 1
        size = math.ceil(len(regions) / chunks) if regions else 0
        return [regions[i * size:(i + 1) * size] for i in range(chunks)] if regions else [[]]

    def patients_chart(self, part: int = 0) -> Html:
        """Stacked bars per region and month (``part`` of them when all regions do not fit one chart)."""
        if not self.has_rows:
            return self._national_deck().patients_chart(part)
        s = self._summary()
        regions = self._chart_regions()[part]
        data = self.national.patients[self.national.patients["wave"] == self.wave]
        shown = s.table.loc[[self.region] if self.region else s.regions_shown]
        ymax = max((int(shown[m].sum(axis=1, skipna=True).max()) for m in self.months), default=0) or None
        fig = plots.stacked_bars_figure(data, regions, self.months, CATEGORIES,
                                        height=getattr(self, "_chart_height", _CHART_HEIGHT),
                                        width=style.FULL_WIDTH_IN if not self.region else 7.0, ymax=ymax, value="patients",
                                        ylabel="Patients pris en charge", colours=vocabulary.CATEGORY_COLOURS,
                                        hatches=vocabulary.CATEGORY_HATCHES, labels=vocabulary.CATEGORY_LABELS)
        totals = self.month_totals(self.region)
        everyone = [self.region] if self.region else s.regions_shown
        missing = {m: [r for r in everyone if r not in s.regions_reporting[m]] for m in self.months}
        best = max(((int(s.table.loc[r, m].sum(skipna=True)), r, m) for r in regions for m in self.months
                    if s.table.loc[r, m].notna().any()), default=None)
        alt = (f"Histogramme empilé des patients post-COVID en situation complexe pris en charge, par région et par "
               f"mois ({join_fr([fmt_month(m) for m in self.months])}), réparti entre mineurs, hommes et femmes, "
               f"pour {join_fr(regions)}. "
               + " ".join(f"Total {fmt_month(t.month)} : {fmt_int(t.total)} patients dans {len(t.regions)} régions "
                          "ayant répondu" + (f" (sans réponse : {', '.join(missing[t.month])})" if missing[t.month] else "")
                          + "." for t in totals)
               + (f" Valeur la plus haute : {best[1]} en {fmt_month(best[2])}, {fmt_int(best[0])} patients." if best else ""))
        note = self.reporting_note()
        return Html(components.figure(fig, alt=alt, data_table=self._patients_table(regions)).html
                    + f'<p class="esr-note">{components.escape_text(note)}</p>')

    def patients_chart_parts(self) -> int:
        return len(self._chart_regions()) if self.has_rows else self._national_deck().patients_chart_parts()

    def reporting_note(self) -> str:
        """The chart's key to its marks: n.r. is never 0; * is a partial answer."""
        partial = sorted({r for t in self.month_totals(self.region) for r in t.partial})
        text = "n.r. : non renseigné, jamais compté comme 0 ; les totaux ne portent que sur les régions ayant répondu."
        if partial:
            text += f" * : réponse partielle ({', '.join(partial)}), total de la barre incomplet."
        return text

    def _patients_table(self, regions: list[str], months: list[str] | None = None, footer: bool = True) -> Html:
        s = self._summary()
        months = months or self.months
        labels = [vocabulary.CATEGORY_LABELS[c] for c in CATEGORIES] + ["Total"]
        rows = [[r, *self._row_cells(s, r, months)] for r in regions]
        foot = []
        if footer:
            by_month = {t.month: t for t in self.month_totals(self.region)}
            totals, reporting = [], []
            for m in months:
                totals += [fmt_int(s.totals.loc[m, c]) for c in CATEGORIES] + [fmt_int(by_month[m].total)]
                reporting += [fmt_int(s.reporting.loc[m, c]) for c in CATEGORIES] + [fmt_int(len(by_month[m].regions))]
            if not self.region:
                foot = [["Total des régions ayant répondu", *totals], ["Régions ayant répondu", *reporting]]
        return components.table(
            ["Région"] + [f"{fmt_month(m)} – {lab.lower()}" for m in months for lab in labels], rows,
            numeric=[False] + [True] * (len(months) * len(labels)), footer=foot)

    def patients_table_parts(self) -> list[tuple[list[str], list[str], bool]]:
        """(regions, months, with totals) of each slide of the patients table."""
        if not self.has_rows:
            return self._national_deck().patients_table_parts()
        s = self._summary()
        regions = [self.region] if self.region else s.regions_shown
        month_groups = [self.months[i:i + _MONTHS_PER_TABLE] for i in range(0, len(self.months), _MONTHS_PER_TABLE)]
        n = max(1, math.ceil(len(regions) / _ROWS_PER_TABLE))
        size = math.ceil(len(regions) / n) if regions else 0
        chunks = [regions[i * size:(i + 1) * size] for i in range(n)] if regions else [[]]
        return [(chunk, months, i == len(chunks) - 1) for months in month_groups for i, chunk in enumerate(chunks)]

    def patients_table(self, part: int = 0) -> Html:
        """The region × month × category table (``part`` of it: it is split over slides when long)."""
        if not self.has_rows:
            table = self._national_deck().patients_table(part)
            return Html(self.no_returns_note().html + table.html)
        regions, months, footer = self.patients_table_parts()[part]
        s = self._summary()
        by_month = {t.month: t for t in self.month_totals(self.region)}
        return _render(
            "post_covid_patients_table.html.j2", css_class=components.table_class("esr-patients", len(regions)),
            caption=(f"{self.wave_label} — « Total » = toutes catégories ; n.r. = non renseigné (jamais compté "
                     "comme 0) ; * = réponse partielle"),
            months=[fmt_month(m) for m in months],
            categories=[vocabulary.CATEGORY_LABELS[c] for c in CATEGORIES] + ["Total"],
            rows=[{"region": r, "partial": any(r in by_month[m].partial for m in months),
                   "cells": self._row_cells(s, r, months)} for r in regions],
            totals=[*(v for m in months for v in ([fmt_int(s.totals.loc[m, c]) for c in CATEGORIES]
                                                  + [fmt_int(by_month[m].total)]))] if footer and not self.region else None,
            reporting=[*(v for m in months for v in ([fmt_int(s.reporting.loc[m, c]) for c in CATEGORIES]
                                                     + [fmt_int(len(by_month[m].regions))]))] if footer and not self.region else None,
            na=NA_SHORT)

    @staticmethod
    def _row_cells(s, region: str, months: list[str]) -> list[str]:
        cells = []
        for m in months:
            values = s.table.loc[region, m]
            cells += [fmt_int(values[c], na=NA_SHORT) for c in CATEGORIES]
            if values.notna().any():
                cells.append(fmt_int(int(values.sum(skipna=True))) + (" *" if values.isna().any() else ""))
            else:
                cells.append(NA_SHORT)
        return cells

    def region_share(self) -> Html:
        """A regional deck: the region's monthly totals beside the national ones, and its share.

        Nothing for a region without rows: the slide above already says so and shows the national table.
        """
        if not self.has_rows:
            return Html("")
        national = {t.month: t for t in self.month_totals()}
        rows = []
        for t in self.month_totals(self.region):
            nat = national[t.month]
            share = (f"{fmt_int(round(100 * t.total / nat.total))}\u00a0%" if t.regions and nat.total
                     else "non calculable")
            own = NA_TEXT if not t.regions else fmt_int(t.total) + (" (partiel)" if t.partial else "")
            rows.append([fmt_month(t.month), own, fmt_int(nat.total), fmt_int(len(nat.regions)), share])
        # the region by its abbreviation: a long name as a column head pushes the last column off the slide
        return components.table(["Mois", self.region, "National", "Régions ayant répondu", "Part de la région"],
                                rows, numeric=[False, True, True, True, True],
                                caption=f"{self.region_name()} ({self.region}) et national (régions ayant "
                                        "répondu) : patients, toutes catégories")

    # -- closing
    def sources(self) -> Html:
        """Sources and the data notes that travel with the figures."""
        notes = [f"Patients : {NA_TEXT} (n.r.) = case laissée vide par la région dans l'enquête ; elle n'est jamais "
                 "comptée comme 0. * = réponse partielle (certaines catégories non renseignées).",
                 "Dates des jalons : « dernier trimestre 2020 » et « automne 2020 » sont placés au début de la période.",
                 "Régions : " + ", ".join(f"{a} {n}" for a, n in zip(self.national.regions["abbr"], self.national.regions["name"]))
                 + "."]
        if bool(self.wave_info["cells_illustrative"]):
            notes.insert(0, "Carte des cellules : données illustratives (la carte source ne portait pas de "
                            "valeurs par région).")
        return _render("closing.html.j2", sources=[self.wave_info["source"], CREDIT], notes=notes)

    def provenance(self) -> Html:
        """The reference date, the fingerprint of every data file read, and the version that drew the deck."""
        return _render("provenance.html.j2", report_date=fmt_date(self.report_date),
                       provenance=provenance(self.national.files, self.data_dir))
