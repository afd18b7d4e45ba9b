"""Slides of the regional e-santé service catalogue deck ("Point e-santé").

``CatalogueBlocks`` applies the date rules of the reporting date (services in the
catalogue on that date, indicators known on that date) and returns one
:class:`~esante_report.authoring.components.Html` per slide.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from esante_report.authoring import components
from esante_report.authoring import plots
from esante_report.authoring import style
from ...authoring import md, slide
from .data import SECTIONS, SECTIONS_SHORT, STATUSES, CatalogueData, Service, load_catalogue
from ...fmt import fmt_date, fmt_int, fmt_month, fmt_number
from esante_report.authoring.geo import CREDIT, load_boundaries
from ...provenance import provenance

_render = components.renderer(Path(__file__).parent / "templates")

__all__ = ["CatalogueBlocks", "period_label", "indicator_label"]

#: text lines a card's first slide holds at the house size (22 px); beyond, its indicators continue
_CARD_LINES = 13


def _card_lines(service: Service, texts: list[str]) -> int:
    """Rough count of the lines a card's first slide needs beyond a one-line title and contact line.

    The PDF check remains the judge; this only decides what goes on the "(suite)" slide.
    """
    def lines(items, chars):
        return sum(-(-len(str(t)) // chars) for t in items)
    contacts = " · ".join(f"{c.get('label', '')} {c.get('email', '')} {c.get('phone', '')} {c.get('url', '')}"
                          for c in service.contacts) + " ".join(f"{link.get('label', '')} {link.get('url', '')}" for link in service.links)
    extra = (lines([service.name], 45) - 1) + lines([service.tagline or ""], 95) + (lines([contacts], 95) - 1)
    return max(lines(service.audience, 48), lines(service.purpose, 48)) + (lines(texts, 95) or 1) + max(extra, 0)


def _details_lines(service: Service) -> int:
    """Rough count of the lines the source's further blocks need."""
    total = 0
    for block in service.details:
        items = sum(-(-len(t) // 95) for t in block["items"])
        total += 2 + (items + 1) // 2 if len(block["items"]) > 4 else 2 + items
    return total


#: largest ratio between the figures of one bar chart; beyond it they are shown as a table
_CHART_SPAN = 10


def period_label(start, end) -> str:
    """French label of an indicator's period: 'avril 2020', '24/03/2020', '01/04/2020 – 31/08/2020'."""
    if start is None or pd.isna(start):
        return "" if end is None or pd.isna(end) else f"jusqu'au {fmt_date(end)}"
    if end is None or pd.isna(end):
        return f"depuis le {fmt_date(start)}"
    if start == end:
        return fmt_date(start)
    next_month = (end.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    if start.day == 1 and (next_month - dt.timedelta(days=1)) == end and (start.year, start.month) == (end.year, end.month):
        return fmt_month(f"{start.year}-{start.month:02d}")
    return f"{fmt_date(start)} – {fmt_date(end)}"


def indicator_label(slug: str) -> str:
    """'demandes_plan_blanc_et_covid_plus' → 'demandes plan blanc et covid +'."""
    text = slug.replace("_", " ")
    text = re.sub(r"\bplus\b", "+", text)
    text = re.sub(r"\b(min|max|part|environ)\b", "", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class CatalogueBlocks:
    data: CatalogueData      # already restricted to the reporting date
    data_dir: Path
    report_date: dt.date
    region: str
    issuer: str

    @classmethod
    def load(cls, data_dir: str | Path, *, report_date: str | dt.date, region: str = "OCC",
             issuer: str = "ARS Occitanie") -> "CatalogueBlocks":
        if isinstance(report_date, str):
            report_date = dt.date.fromisoformat(report_date)
        data = load_catalogue(data_dir)
        return cls(data.as_of(report_date), Path(data_dir), report_date, region, issuer)

    # ------------------------------------------------------------------ helpers
    def _services(self, section: str) -> list[Service]:
        return [s for s in self.data.services if s.section == section]

    def _region_name(self) -> str:
        regions = self.data.regions
        match = regions[regions["abbr"] == self.region]
        return match["name"].iloc[0] if len(match) else self.region

    def _indicators(self, service_id: str) -> pd.DataFrame:
        return self.data.indicators[self.data.indicators["service"] == service_id]

    def _chart(self, service: Service):
        """The service's first chart group (indicators sharing a ``chart`` name), or None."""
        ind = self._indicators(service.id)
        charted = ind[ind["chart"].notna() & (ind["chart"] != "") & ind["value"].notna()]
        if charted.empty:
            return None
        title = charted["chart"].iloc[0]
        rows = charted[charted["chart"] == title].sort_values(["period_start", "line"], na_position="last",
                                                               kind="stable")
        periods = list(dict.fromkeys(period_label(r.period_start, r.period_end) for r in rows.itertuples()))
        colours = {p: style.SERIES[i % len(style.SERIES)] for i, p in enumerate(periods)}
        labels = [self._label(r) for r in rows.itertuples()]
        row_periods = [period_label(r.period_start, r.period_end) for r in rows.itertuples()]
        if len(periods) == 1:  # one period: it goes in the caption, not on every bar
            legend = None
        else:
            legend = {p or "période non précisée": colours[p] for p in periods}
        values = [float(v) for v in rows["value"]]
        value_labels = [fmt_number(v) for v in rows["value"]]
        # several periods: each bar names its period too, so that colour is never the only key
        bar_labels = [f"{lab} ({p})" if legend and p else lab for lab, p in zip(labels, row_periods)]
        fig = plots.bars_figure(bar_labels, values, title, value_labels=value_labels,
                                colours=[colours[p] for p in row_periods], legend=legend,
                                width=11.0, height=min(0.8 + 0.4 * len(values) + (0.5 if legend else 0), 3.8))
        if max(values) > _CHART_SPAN * max(min(values), 1e-9):
            # figures of very different sizes (a daily peak beside a total): bars would hide the small
            # ones and mix kinds of figures on one axis, so they are shown as a table of key figures
            rows_ = [[lab, p or "—", v, r.unit] for lab, p, v, r in
                     zip(labels, row_periods, value_labels, rows.itertuples())]
            caption = f"{title} — chiffres connus au {fmt_date(self.report_date)}"
            return components.table(["Indicateur", "Période", "Valeur", "Unité"], rows_, caption=caption,
                                    numeric=[False, False, True, False], css_class="esr-figures")
        top = values.index(max(values))
        alt = (f"Graphique en barres « {title} », {service.name} : "
               + " ; ".join(f"{lab}{f' ({p})' if p else ''} {v}"
                            for lab, p, v in zip(labels, row_periods, value_labels))
               + f". Valeur la plus haute : {value_labels[top]} ({labels[top]}).")
        table = components.table(["Indicateur", "Période", "Valeur", "Unité"],
                                 [[lab, p, v, r.unit] for lab, p, v, r in
                                  zip(labels, row_periods, value_labels, rows.itertuples())],
                                 numeric=[False, False, True, False])
        caption = f"{title}" + (f", {periods[0]}" if len(periods) == 1 and periods[0] else "")
        return components.figure(fig, alt=alt, data_table=table,
                                 caption=f"{caption} — chiffres connus au {fmt_date(self.report_date)}")

    def _indicator_lines(self, service_id: str) -> list[str]:
        """The sentences of the source, newest first; a figure no sentence states is shown as 'label : value'."""
        ind = self._indicators(service_id)
        has_text = ind["text"].map(lambda t: isinstance(t, str) and bool(t))
        stated = {(r.as_of, r.period_start, r.period_end) for r in ind[has_text].itertuples()}
        lines = []
        for r in ind.itertuples():
            if isinstance(r.text, str) and r.text:
                lines.append(r.text)
            elif pd.notna(r.value) and (r.as_of, r.period_start, r.period_end) not in stated:
                period = period_label(r.period_start, r.period_end)
                lines.append(f"{self._label(r)} : {fmt_number(r.value)} {r.unit}" + (f" ({period})" if period else ""))
        return lines

    @staticmethod
    def _label(row) -> str:
        return row.label if isinstance(row.label, str) and row.label else indicator_label(row.indicator)

    def _deployment_map(self, service: Service):
        dep = self.data.deployments[self.data.deployments["service"] == service.id]
        if dep.empty:
            return None
        regions = load_boundaries(self.data_dir / "geo" / "regions.geojson")
        departments = load_boundaries(self.data_dir / "geo" / "departements.geojson")
        code = self.data.regions.set_index("abbr")["code"].get(self.region)
        if code not in regions:
            return None
        region_geom = regions[code][1]
        inside = {c: v for c, v in departments.items() if region_geom.contains(v[1].representative_point())}
        marked = sorted(set(dep["departement"]) & set(inside))
        names = {c: n for c, (n, _) in inside.items()}
        # the narrow column is 370 px (3.85 in) wide: drawn at scale 1, padding included
        fig = plots.departments_map_figure(inside, marked, width=3.75, height=3.45)
        alt = (f"Carte des {len(inside)} départements de la région {self._region_name()} : {len(marked)} "
               f"départements déployés à 100 % ({', '.join(f'{names[c]} ({c})' for c in marked)}) ; "
               f"non déployés : {', '.join(f'{names[c]} ({c})' for c in sorted(set(inside) - set(marked))) or 'aucun'}.")
        table = components.table(["Département", "Code", "Déployé à 100 %"],
                                 [[names[c], c, "oui" if c in marked else "non"] for c in sorted(inside)])
        return components.figure(fig, alt=alt, credit=CREDIT, data_table=table,
                                 caption=f"Départements déployés à 100 % (✓), connus au {fmt_date(self.report_date)}")

    # ------------------------------------------------------------------ slides
    @property
    def title(self) -> str:
        """The deck's title, from ``deck.yaml`` (the source's own title)."""
        return str(self.data.deck["title"])

    def cover(self) -> components.Html:
        """The cover lines under the title: subtitle and version date."""
        subtitle = self.data.deck.get("subtitle", "")
        return md(("**{subtitle}**\n\n" if subtitle else "") + "Version au {date}", subtitle=subtitle,
                  date=self.report_date)

    def principles(self) -> components.Html:
        return _render("catalogue_principles.html.j2", principles=self.data.principles["principles"])

    @property
    def principles_title(self) -> str:
        return str(self.data.principles["title"])

    def section_slides(self, section: str) -> None:
        """Display the section's divider then one card per service (nothing when the section is empty)."""
        services = self._services(section)
        if not services:
            return
        n = len(services)
        slide(SECTIONS[section], md(f"{n} service{'s' if n > 1 else ''} au {fmt_date(self.report_date)}"),
              layout="divider")
        for service in services:
            for part in self.card(service):
                slide(None, part)

    def card(self, service: Service | str) -> list[components.Html]:
        """The service's card: one slide, and a second one "(suite)" for the further blocks of the source."""
        if isinstance(service, str):
            service = self.data.service(service)
        texts = self._indicator_lines(service.id)
        dmap = self._deployment_map(service)
        figure = dmap or self._chart(service)
        is_table = figure is not None and "esr-figures" in figure.html[:200]
        # a map stays beside the text; a bar chart or a long table of key figures goes on the
        # "(suite)" slide, with the source's further blocks, where it has the room to be read
        later = figure is not None and dmap is None and (not is_table or figure.html.count("<tr>") > 4)
        support = self.data.support.get(service.support) if service.support else None
        table_rows = figure.html.count("<tr>") if is_table and not later else 0
        # too many lines for one slide at the house text size: the indicators continue on the "(suite)" slide
        lines = _card_lines(service, texts) + table_rows
        move = lines > _CARD_LINES
        # short further blocks stay on the card; longer ones continue on the "(suite)" slide
        details_here = bool(service.details) and not move and not later and \
            lines + _details_lines(service) <= _CARD_LINES
        suite = bool((service.details and not details_here) or later or move)
        common = dict(s=service, section=SECTIONS_SHORT[service.section], status=STATUSES[service.status],
                      as_of=fmt_date(self.report_date), suite=suite, details_here=details_here)
        parts = [_render("catalogue_card.html.j2", part="main", texts=None if move else texts,
                                   moved=move, figure=dmap,
                                   figures=figure if is_table and not later and not move else None,
                                   support=support, **common)]
        moved_figures = figure if (later or (move and is_table)) else None
        if move or moved_figures is not None:  # the indicators continue on their own slide
            parts.append(_render("catalogue_card.html.j2", part="details", texts=texts if move else None,
                                           figures=moved_figures, show_details=False, **common))
        if service.details and not details_here:  # then the source's further blocks
            parts.append(_render("catalogue_card.html.j2", part="details", texts=None, figures=None,
                                           show_details=True, **common))
        return parts

    def summary(self) -> components.Html:
        """Services by section and status (table), then the list of services with their status."""
        statuses = list(STATUSES)
        rows, totals = [], [0] * len(statuses)
        for section in SECTIONS:
            counts = [sum(1 for s in self._services(section) if s.status == st) for st in statuses]
            totals = [a + b for a, b in zip(totals, counts)]
            rows.append({"section": SECTIONS[section], "counts": [fmt_int(c) for c in counts],
                         "total": fmt_int(sum(counts))})
        return _render(
            "catalogue_summary.html.j2",
            lede=f"{fmt_int(sum(totals))} services au catalogue au {fmt_date(self.report_date)}, par section et par statut",
            statuses=[STATUSES[s] for s in statuses], rows=rows, totals=[fmt_int(t) for t in totals],
            grand_total=fmt_int(sum(totals)))

    def service_list(self) -> components.Html:
        """Every service of the catalogue with its status."""
        return _render("catalogue_services.html.j2", services=[
            {"name": s.name, "status": s.status, "status_label": STATUSES[s.status]} for s in self.data.services])

    def support(self) -> components.Html:
        desks = []
        for desk_id, desk in self.data.support.items():
            users = [s.name for s in self.data.services if s.support == desk_id]
            desks.append({**desk, "services": ", ".join(users) or "aucun à cette date"})
        return _render("catalogue_support.html.j2", desks=desks)

    def sources(self) -> components.Html:
        """Sources and the data notes that travel with the figures."""
        return _render(
            "closing.html.j2", sources=[self.data.deck["source"], CREDIT],
            notes=["Indicateurs : chiffres connus à la date de la version (colonne as_of de indicators.csv) ; "
                   "les plus récents d'abord.",
                   "Contacts : boîtes fonctionnelles et guichets seulement ; les personnes nommées dans la "
                   "source sont remplacées par leur fonction et leur organisme.",
                   "Deux services n'avaient qu'un logo pour titre : leur nom est établi d'après la diapositive "
                   "(voir la mention « Nom » sur leur fiche)."])

    def provenance(self) -> components.Html:
        """The reference date, the fingerprint of every data file read, and the version that drew the deck."""
        return _render("provenance.html.j2", report_date=fmt_date(self.report_date),
                       provenance=provenance(self.data.files, self.data_dir))
