"""Loader and date rules of the catalogue data; each breach of the contract is named."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from esante_report.decks.catalogue.data import load_catalogue
from esante_report.errors import DataError
from esante_report.decks.catalogue.blocks import period_label

from .conftest import DATA

SEED_SERVICES = {
    "Le cadre national télésanté COVID", "Télésurveillance médicale « ETAPES »", "Médicam – Téléconsultation",
    "Téléo – Téléconsultation Directe", "Téléexpertise programmée PASTEL",
    "Plateforme adressage – mise en relation soins infirmiers (inzee.care)", "DOMOPLAIES", "COVHO",
    "Réunion collégiale – Soins palliatifs avec les EHPADs", "SPICO - Télésurveillance des patients COVID",
    "SPICO – Discussions", "ViaTrajectoire SANITAIRE: orientation des patients COVID",
    "BAL ORG – Messagerie sécurisée de santé (offre régionale MSSanté)",
    "Monitoring du capacitaire et des disponibilités des ES en lits critiques",
}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _messages(data_dir: Path) -> str:
    with pytest.raises(DataError) as info:
        load_catalogue(data_dir)
    return "\n".join(str(p) for p in info.value.problems)


def test_seed_catalogue_loads_with_every_service_and_figure():
    data = load_catalogue(DATA)
    assert {s.name for s in data.services} == SEED_SERVICES
    values = set(data.indicators["value"].dropna())
    for figure in (90000, 5000, 50000, 8500, 3840, 500, 400, 250, 300, 60, 678, 549, 634, 2571, 1200, 20356, 4265,
                   85, 28430, 395, 588, 79, 33149, 95, 685, 12, 3834, 1991, 93, 13, 285, 90):
        assert figure in values, figure
    assert sorted(data.deployments["departement"]) == ["09", "11", "30", "32", "46", "66", "81", "82"]
    assert data.service("medicam").name_source and data.service("bal-org-mssante").name_source


def test_no_personal_email_addresses_in_the_catalogue():
    text = "\n".join(p.read_text(encoding="utf-8") for p in (DATA / "catalogue").iterdir())
    emails = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text))
    functional = {"ars-oc-covid19-esante@ars.sante.fr", "etapes.occitanie@ars.sante.fr",
                  "ars-oc-ddp-si-sante@ars.sante.fr", "support@inzee.care", "contact@cicat-occitanie.org",
                  "assistance@esante-occitanie.fr"}
    assert emails == functional
    for name in ("Bouscarain", "Iazza"):
        assert name not in text


def test_date_rules_services_and_indicators():
    data = load_catalogue(DATA)
    before = data.as_of(dt.date(2020, 10, 15))
    assert "spico-discussions" not in {s.id for s in before.services}   # since 2020-11-01
    assert before.indicators.empty                                       # every figure known on 2020-12-08
    on_date = data.as_of(dt.date(2020, 12, 8))
    assert "spico-discussions" in {s.id for s in on_date.services}
    assert len(on_date.indicators) == len(data.indicators)


@pytest.mark.parametrize("file, old, new, expected", [
    ("services.yaml", "section: cadre_national", "section: national",
     r"services\.yaml:\d+: field 'section': expected one of cadre_national, usage_direct, usage_mixte; got 'national'"),
    ("services.yaml", "status: production", "status: live",
     r"services\.yaml:\d+: field 'status': expected one of production, stand_by, non_precise; got 'live'"),
    ("services.yaml", "- id: etapes", "- id: cadre-national-telesante",
     r"services\.yaml:\d+: field 'id': duplicate id 'cadre-national-telesante', already on line 2"),
    ("services.yaml", "  name: DOMOPLAIES\n", "",
     r"services\.yaml:\d+: field 'name': missing \(every service needs id, name, section, status\)"),
    ("services.yaml", "  since: 2020-11-01", "  since: 2020-13-01",
     r"services\.yaml:\d+: field 'since': expected a date YYYY-MM-DD, got '2020-13-01'"),
    ("services.yaml", "  tagline:", "  tag_line:",
     r"services\.yaml:\d+: field 'tag_line': unknown key \(expected one of .*tagline"),
    ("services.yaml", "  support: esante-occitanie", "  support: helpdesk",
     r"services\.yaml:\d+: field 'support': unknown support desk 'helpdesk'"),
    ("indicators.csv", "\ncovho,", "\ncovhoo,",
     r"indicators\.csv:\d+: field 'service': unknown service 'covhoo' \(expected an id of services\.yaml"),
    ("indicators.csv", "viatrajectoire,2020-12-08,2020-04-01,2020-08-31,demandes_creees",
     "viatrajectoire,2020-12-08,2020-09-01,2020-08-31,demandes_creees",
     r"indicators\.csv:\d+: field 'period_end': 2020-08-31 is before period_start 2020-09-01"),
    ("indicators.csv", "covho,2020-12-08,,,fiches_total", "covho,08/12/2020,,,fiches_total",
     r"indicators\.csv:\d+: field 'as_of': expected a date YYYY-MM-DD, got '08/12/2020'"),
    ("deployments.csv", "pastel,2020-12-08,09,deploye", "pastel,2020-12-08,9,deploye",
     r"deployments\.csv:3: field 'departement': expected text matching \[0-9\]\{2\}\|2\[AB\]\|97\[0-9\], got '9'"),
])
def test_bad_catalogue_input_is_named(data_copy, file, old, new, expected):
    _edit(data_copy / "catalogue" / file, old, new)
    messages = _messages(data_copy)
    assert re.search(expected, messages), messages


def test_yaml_syntax_error_names_the_line(data_copy):
    path = data_copy / "catalogue" / "services.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5] + " ["
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert re.search(r"services\.yaml:\d+: invalid YAML", _messages(data_copy))


@pytest.mark.parametrize("start, end, label", [
    (dt.date(2020, 4, 1), dt.date(2020, 4, 30), "avril 2020"),
    (dt.date(2020, 3, 24), dt.date(2020, 3, 24), "24/03/2020"),
    (dt.date(2020, 4, 1), dt.date(2020, 8, 31), "01/04/2020 – 31/08/2020"),
    (None, None, ""),
])
def test_period_labels(start, end, label):
    assert period_label(start, end) == label
