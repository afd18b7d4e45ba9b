"""`new --date`: the next point d'étape's params file and waves.csv row, and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from esante_report.cli.main import main
from esante_report.decks.post_covid.data import load_post_covid
from esante_report.decks.post_covid.new_date import next_months

PREVIOUS = """\
# Decks rendered for the reporting date 2021-11-15 (the file name is the date).
post_covid:
  wave: 3
  months: ["2021-08", "2021-09"]
  issuer: Ministère des Solidarités et de la Santé
# the e-health catalogue, as it was
catalogue:
  region: OCC   # Occitanie
  issuer: "ARS Occitanie: DNS"
"""


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _snapshot(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def test_new_writes_params_and_wave_row(capsys, data_copy, params_copy):
    (params_copy / "2021-11-15.yaml").write_text(PREVIOUS, encoding="utf-8")
    waves_before = (data_copy / "post_covid" / "waves.csv").read_text(encoding="utf-8")
    code, out, err = _run(capsys, "new", "--date", "2021-12-13", "--params", params_copy, "--data", data_copy)
    assert code == 0, err
    text = (params_copy / "2021-12-13.yaml").read_text(encoding="utf-8")
    assert text == (
        "# Decks rendered for the reporting date 2021-12-13 (the file name is the date).\n"
        "# Scaffolded by 'esante-report new' from 2021-11-15.yaml.\n"
        "post_covid:\n"
        "  wave: 4\n"
        '  months: ["2021-10", "2021-11"]\n'
        "  issuer: Ministère des Solidarités et de la Santé\n"
        "# the e-health catalogue, as it was\n"
        "catalogue:\n"
        "  region: OCC   # Occitanie\n"
        '  issuer: "ARS Occitanie: DNS"\n')
    assert (data_copy / "post_covid" / "waves.csv").read_text(encoding="utf-8") == waves_before + (
        '4,2021-12-13,Enquête n°4,"Enquête DGOS auprès des ARS sur les cellules de coordination post-COVID, '
        "point d'étape du 13/12/2021\",false\n")
    data = load_post_covid(data_copy)   # still within the contract
    assert data.wave(4)["label"] == "Enquête n°4" and not data.wave(4)["cells_illustrative"]
    assert "wrote " in out and "2021-12-13.yaml (post_covid: wave 4, months 2021-10, 2021-11;" in out
    assert "added wave 4 to " in out
    assert "  - send the forms: esante-report survey-form --wave 4 --months 2021-10,2021-11 --out forms/" in out
    assert "mesures inchangées depuis l'enquête n°3" in out
    assert "other decks (catalogue): copied as they are" in out
    assert "source line" not in out   # the date in the source was updated: nothing to fill there


def test_new_reports_a_source_it_could_not_date(capsys, data_copy, params_copy):
    waves = data_copy / "post_covid" / "waves.csv"
    waves.write_text("wave,date,label,source\n3,2021-11-15,Enquête n°3,Enquête DGOS auprès des ARS\n",
                     encoding="utf-8")
    code, out, err = _run(capsys, "new", "--date", "2022-01-10", "--params", params_copy, "--data", data_copy)
    assert code == 0, err
    assert waves.read_text(encoding="utf-8").endswith("4,2022-01-10,Enquête n°4,Enquête DGOS auprès des ARS\n")
    assert ("the source line of wave 4 in waves.csv was copied from wave 3 as is (it holds no date 15/11/2021 "
            "to update): 'Enquête DGOS auprès des ARS'") in out
    params = yaml.safe_load((params_copy / "2022-01-10.yaml").read_text(encoding="utf-8"))
    assert params == {"post_covid": {"wave": 4, "months": ["2021-10", "2021-11"],
                                     "issuer": "Ministère des Solidarités et de la Santé"}}


def test_new_starts_from_the_latest_earlier_file_with_post_covid(capsys, data_copy, params_copy):
    # 2021-11-20 has only the catalogue: the post_covid entry comes from 2021-11-15
    (params_copy / "2021-11-20.yaml").write_text("catalogue:\n  region: OCC\n", encoding="utf-8")
    code, out, err = _run(capsys, "new", "--date", "2021-12-13", "--params", params_copy, "--data", data_copy)
    assert code == 0, err
    params = yaml.safe_load((params_copy / "2021-12-13.yaml").read_text(encoding="utf-8"))
    assert params["post_covid"]["wave"] == 4 and "catalogue" not in params


@pytest.mark.parametrize("setup, date, message", [
    ("params", "2021-12-13", "2021-12-13.yaml: already exists; refusing to overwrite it"),
    ("wave", "2021-12-13", "waves.csv: field 'wave': wave 4 already exists (dated 2021-12-01); refusing to add it again"),
    (None, "2021-11-16x", "2021-11-16x.yaml: expected a date YYYY-MM-DD, got '2021-11-16x'"),
    (None, "2021-11-01", "no params file before 2021-11-01 with a post_covid entry"),
    ("early", "2021-11-14", "date 2021-11-14 is not after wave 3's date 2021-11-15"),
])
def test_new_refuses_and_writes_nothing(capsys, data_copy, params_copy, setup, date, message):
    if setup == "params":
        (params_copy / "2021-12-13.yaml").write_text("post_covid: {wave: 9}\n", encoding="utf-8")
    elif setup == "wave":
        waves = data_copy / "post_covid" / "waves.csv"
        waves.write_text(waves.read_text(encoding="utf-8") + "4,2021-12-01,Enquête n°4,Source,false\n",
                         encoding="utf-8")
    elif setup == "early":   # a params file dated before its own wave's survey point
        (params_copy / "2021-11-10.yaml").write_text('post_covid:\n  wave: 3\n  months: ["2021-08"]\n',
                                                     encoding="utf-8")
    before = _snapshot(data_copy, params_copy)
    code, out, err = _run(capsys, "new", "--date", date, "--params", params_copy, "--data", data_copy)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err
    assert _snapshot(data_copy, params_copy) == before


def test_next_months_roll_over_the_year():
    assert next_months(["2021-11", "2021-12"]) == ["2022-01", "2022-02"]
    assert next_months(["2021-09"]) == ["2021-10"]
    assert next_months(["2021-07", "2021-08", "2021-09"]) == ["2021-10", "2021-11", "2021-12"]
