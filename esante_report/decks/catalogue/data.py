"""Data of the e-santé service catalogue deck (``data/catalogue/``).

Contract (``docs/data.md``): ``services.yaml`` (one mapping per service),
``support.yaml`` (support desks), ``principles.yaml``, ``indicators.csv`` and
``deployments.csv``. :func:`load_catalogue` checks everything and raises one
:class:`DataError` listing every problem with file, line and field.
:meth:`CatalogueData.as_of` applies the date rules of a reporting date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from esante_report.contracts.readers import (
    LocDict,
    LocList,
    check_keys,
    check_unique,
    choice,
    parse_date,
    read_yaml,
    shown,
    string_list,
    yaml_value,
)
from ...errors import DataError, Problem, ProblemList
from esante_report.contracts.regions import read_regions
from esante_report.contracts.schema import Tables
from .files import SUBDIR, data_files
from .files import files as _files

__all__ = ["CatalogueData", "Service", "load_catalogue", "data_files", "SECTIONS", "STATUSES", "SUBDIR"]

SECTIONS = {
    "cadre_national": "Le cadre national",
    "usage_direct": "Services à usage direct et exclusif par les professionnels terrain et les patients",
    "usage_mixte": "Services à usage mixte : professionnels et autorités sanitaires",
}
#: the section as the kicker of a card says it (short enough for one line at the body size)
SECTIONS_SHORT = {
    "cadre_national": "Cadre national",
    "usage_direct": "Usage direct : professionnels et patients",
    "usage_mixte": "Usage mixte : professionnels et autorités",
}
STATUSES = {
    "production": "Service en production",
    "stand_by": "Service en stand by, à relancer si demande",
    "non_precise": "Statut non précisé",
}
_SERVICE_KEYS = ("id", "name", "section", "status")
_SERVICE_OPTIONAL = ("since", "until", "audience", "purpose", "contacts", "links", "support", "name_source",
                     "tagline", "details")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    section: str
    status: str
    line: int
    since: dt.date | None = None
    until: dt.date | None = None
    audience: tuple[str, ...] = ()
    purpose: tuple[str, ...] = ()
    contacts: tuple[dict, ...] = ()
    links: tuple[dict, ...] = ()
    support: str | None = None
    name_source: str | None = None
    tagline: str | None = None
    details: tuple[dict, ...] = ()

    def visible_on(self, date: dt.date) -> bool:
        """In the catalogue on ``date``: entered on or before it, not left before it."""
        return (self.since is None or self.since <= date) and (self.until is None or self.until >= date)


@dataclass(frozen=True)
class CatalogueData:
    regions: pd.DataFrame
    services: tuple[Service, ...]
    support: dict[str, dict]
    principles: dict
    indicators: pd.DataFrame     # service, as_of, period_start, period_end, indicator, value, unit, label,
                                 # chart, text, line
    deployments: pd.DataFrame    # service, as_of, departement, status
    deck: dict = field(default_factory=dict)   # title, subtitle, source (deck.yaml)
    files: tuple[Path, ...] = field(default=())

    def as_of(self, date: dt.date) -> "CatalogueData":
        """The catalogue a reader sees on ``date``.

        Services with ``since`` ≤ date (or none) and no ``until`` before it;
        indicators and deployments known on that date (``as_of`` ≤ date), newest
        first; a figure known at several dates keeps only its newest value.
        """
        services = tuple(s for s in self.services if s.visible_on(date))
        ids = {s.id for s in services}
        ind = self.indicators[(self.indicators["as_of"] <= date) & self.indicators["service"].isin(ids)]
        ind = ind.sort_values(["as_of", "line"], ascending=[False, True], kind="stable")
        ind = ind.drop_duplicates(["service", "indicator", "period_start", "period_end"], keep="first")
        dep = self.deployments[(self.deployments["as_of"] <= date) & self.deployments["service"].isin(ids)]
        dep = dep.sort_values("as_of", ascending=False, kind="stable").drop_duplicates(["service", "departement"])
        return CatalogueData(self.regions, services, self.support, self.principles, ind.reset_index(drop=True),
                             dep.reset_index(drop=True), self.deck, self.files)

    def service(self, service_id: str) -> Service:
        return next(s for s in self.services if s.id == service_id)


def load_catalogue(data_dir: Path | str) -> CatalogueData:
    """Read and check ``<data_dir>/regions.csv`` and ``<data_dir>/catalogue/*``.

    Every file must lie inside ``data_dir`` (a symlink leading out is refused).
    When services.yaml has problems, the service ids of the CSV files are not
    checked against it (one broken file, not one more line per row of the others).
    """
    data_dir = Path(data_dir)
    files = _files(data_dir)
    problems: list[Problem] = ProblemList()
    tables = Tables(data_dir, problems)
    regions = read_regions(data_dir, problems, tables)
    support = _read_support(files["support"], problems, data_dir)
    support_unusable = any(p.path == files["support"] for p in problems)
    services = _read_services(files["services"], None if support_unusable else set(support), problems, data_dir)
    principles = _read_principles(files["principles"], problems, data_dir)
    deck = read_yaml(files["deck"], problems, what="a YAML mapping with title, subtitle, source", root=data_dir)
    if deck is not None and not isinstance(deck, LocDict):
        problems.append(Problem(files["deck"], getattr(deck, "line", 1), None,
                                "expected a mapping with title, subtitle, source"))
        deck = None
    if deck is not None and not check_keys(deck, files["deck"], problems, required=("title", "source"),
                                           optional=("subtitle",), what="deck file"):
        deck = None
    ids = sorted(s.id for s in services)
    hint = ", ".join(ids) if len(ids) <= 20 else "an id of services.yaml"
    # services.yaml with problems: its ids are not a reliable reference, so they are checked next run
    services_unusable = any(p.path == files["services"] for p in problems)

    def unknown_services(rows: list, path: Path) -> None:
        if services_unusable:
            return
        for row in rows:
            if row["service"] not in ids:
                problems.append(Problem(path, row.line, "service", f"unknown service {shown(row['service'])} "
                                        f"(expected an id of services.yaml: {hint})"))

    ind_rows = tables.rows(files["indicators"])
    unknown_services(ind_rows, files["indicators"])
    for row in ind_rows:
        if row["period_start"] and row["period_end"] and row["period_end"] < row["period_start"]:
            problems.append(Problem(files["indicators"], row.line, "period_end",
                                    f"{row['period_end']} is before period_start {row['period_start']} "
                                    "(expected period_end ≥ period_start)"))
        if row["value"] is None and not row["text"]:
            problems.append(Problem(files["indicators"], row.line, "value",
                                    "empty, and so is text (expected a value, a text, or both)"))
        if row["value"] is not None and not row["unit"]:
            problems.append(Problem(files["indicators"], row.line, "unit", "empty (a value needs its unit)"))
        if row["chart"] and row["value"] is None:
            problems.append(Problem(files["indicators"], row.line, "chart",
                                    f"{row['chart']!r} names a chart but value is empty (expected a value to plot)"))
    # a period may be left blank, so this key cannot be the schema's primary key (whose fields are required)
    check_unique(ind_rows, ("service", "as_of", "period_start", "period_end", "indicator"), files["indicators"],
                 problems)
    dep_rows = tables.rows(files["deployments"])
    unknown_services(dep_rows, files["deployments"])
    if problems:
        raise DataError(problems)
    indicators = pd.DataFrame([{**r, "line": r.line} for r in ind_rows],
                              columns=["service", "as_of", "period_start", "period_end", "indicator", "value",
                                       "unit", "label", "chart", "text", "line"])
    deployments = pd.DataFrame([dict(r) for r in dep_rows], columns=["service", "as_of", "departement", "status"])
    return CatalogueData(regions, tuple(services), support, principles, indicators, deployments,
                         {k: str(v) for k, v in (deck or {}).items()}, data_files(data_dir))


def _entries(path: Path, data, problems: list[Problem], what: str) -> list[tuple[int, LocDict]]:
    if data is None:
        return []
    if not isinstance(data, LocList):
        problems.append(Problem(path, getattr(data, "line", 1), None, f"expected a list of {what}"))
        return []
    out = []
    for i, entry in enumerate(data):
        if not isinstance(entry, LocDict):
            problems.append(Problem(path, data.line_of(i), None, f"expected a mapping (one {what[:-1]})"))
        else:
            out.append((data.line_of(i), entry))
    return out


def _read_support(path: Path, problems: list[Problem], data_dir: Path) -> dict[str, dict]:
    if not path.exists() and not path.is_symlink():
        return {}
    desks = {}
    for _, entry in _entries(path, read_yaml(path, problems, what="a YAML list of support desks", root=data_dir),
                             problems, "support desks"):
        if not check_keys(entry, path, problems, required=("id", "name"),
                          optional=("email", "url", "phone", "phone_note", "description"), what="support desk"):
            continue
        if str(entry["id"]) in desks:
            problems.append(Problem(path, entry.line_of("id"), "id", f"duplicate id {shown(entry['id'])} (expected unique ids)"))
        desks[str(entry["id"])] = {k: (str(v) if v is not None else None) for k, v in entry.items()}
    return desks


def _mapping_list(entry: LocDict, key: str, path: Path, problems: list[Problem], required: tuple[str, ...],
                  optional: tuple[str, ...], lists: tuple[str, ...] = ()) -> tuple[dict, ...]:
    value = entry.get(key)
    if value is None:
        return ()
    if not isinstance(value, LocList):
        return ()   # reported by check_keys(lists=...)
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, LocDict):
            problems.append(Problem(path, value.line_of(i), key, f"expected a mapping with {', '.join(required + optional)}"))
            continue
        if check_keys(item, path, problems, required=required, optional=optional, what=f"{key} item", lists=lists):
            out.append({k: (string_list(item, k, path, problems) if k in lists else str(v)) for k, v in item.items()
                        if v is not None})
    return tuple(out)


def _read_services(path: Path, desks: set[str] | None, problems: list[Problem], data_dir: Path) -> list[Service]:
    """Services of services.yaml; ``desks`` None when support.yaml has problems (support ids unchecked)."""
    services: list[Service] = []
    seen: dict[str, int] = {}
    data = read_yaml(path, problems, what="a YAML list of services", root=data_dir)
    for line, entry in _entries(path, data, problems, "services"):
        ok = check_keys(entry, path, problems, required=_SERVICE_KEYS, optional=_SERVICE_OPTIONAL, what="service",
                        lists=("audience", "purpose", "contacts", "links", "details"))
        if isinstance(entry.get("id"), (list, dict)):
            continue   # reported by check_keys
        sid = str(entry.get("id") or "")
        if sid and not _SLUG.match(sid):
            problems.append(Problem(path, entry.line_of("id"), "id",
                                    f"expected a slug of lowercase letters, digits and hyphens, got {shown(sid)}"))
            ok = False
        if sid in seen:
            problems.append(Problem(path, entry.line_of("id"), "id",
                                    f"duplicate id {shown(sid)}, already on line {seen[sid]} (expected unique ids)"))
            ok = False
        elif sid:
            seen[sid] = entry.line_of("id")
        section = yaml_value(entry, "section", choice(*SECTIONS), path, problems)
        status = yaml_value(entry, "status", choice(*STATUSES), path, problems)
        since = yaml_value(entry, "since", parse_date, path, problems)
        until = yaml_value(entry, "until", parse_date, path, problems)
        if since and until and until < since:
            problems.append(Problem(path, entry.line_of("until"), "until",
                                    f"{until} is before since {since} (expected until ≥ since)"))
            ok = False
        support = entry.get("support")
        if isinstance(support, (list, dict)):
            support, ok = None, False   # reported by check_keys
        if support is not None and desks is not None and str(support) not in desks:
            problems.append(Problem(path, entry.line_of("support"), "support",
                                    f"unknown support desk {shown(support)} (expected an id of support.yaml: "
                                    f"{', '.join(sorted(desks)) or 'none defined'})"))
            ok = False
        details = _mapping_list(entry, "details", path, problems, ("title",), ("items",), lists=("items",))
        for d in details:
            d.setdefault("items", [])
        service_fields = dict(
            audience=tuple(string_list(entry, "audience", path, problems) if _is_list(entry, "audience") else ()),
            purpose=tuple(string_list(entry, "purpose", path, problems) if _is_list(entry, "purpose") else ()),
            contacts=_mapping_list(entry, "contacts", path, problems, ("label",), ("email", "phone", "url")),
            links=_mapping_list(entry, "links", path, problems, ("label", "url"), ()),
            details=details,
        )
        if not ok or section is None or status is None:
            continue
        services.append(Service(id=sid, name=str(entry["name"]), section=section, status=status, line=line,
                                since=since, until=until, support=str(support) if support is not None else None,
                                name_source=entry.get("name_source"), tagline=entry.get("tagline"), **service_fields))
    return services


def _is_list(entry: LocDict, key: str) -> bool:
    """A list, or absent; anything else was reported by check_keys(lists=...)."""
    return entry.get(key) is None or isinstance(entry.get(key), list)


def _read_principles(path: Path, problems: list[Problem], data_dir: Path) -> dict:
    data = read_yaml(path, problems, what="a YAML mapping with title and principles", root=data_dir)
    if data is None:
        return {"title": "", "principles": []}
    if not isinstance(data, LocDict):
        problems.append(Problem(path, getattr(data, "line", 1), None, "expected a mapping with title and principles"))
        return {"title": "", "principles": []}
    if not check_keys(data, path, problems, required=("title", "principles"), what="principles file",
                      lists=("principles",)):
        return {"title": "", "principles": []}
    out = []
    for _, item in _entries(path, data["principles"], problems, "principles"):
        if check_keys(item, path, problems, required=("number", "title"), optional=("items", "commitment"),
                      what="principle", lists=("items",)):
            out.append({"number": item["number"], "title": str(item["title"]),
                        "items": string_list(item, "items", path, problems), "commitment": item.get("commitment")})
    return {"title": str(data["title"]), "principles": out}
