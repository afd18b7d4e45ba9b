"""The survey cycle: `new` → `survey-form` → forms filled here through openpyxl → `survey-import`.

Every bad return gives one line naming file, sheet and cell, field and value, exit 1,
and leaves patients.csv and cells.csv byte for byte as they were.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from esante_report.decks.post_covid.changes import compute_changes
from esante_report.cli.main import main
from esante_report.decks.post_covid.data import load_post_covid

WAVE_4_MONTHS = ("2021-10", "2021-11")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _csv_bytes(data: Path) -> dict[str, bytes]:
    return {name: (data / "post_covid" / name).read_bytes() for name in ("patients.csv", "cells.csv", "waves.csv")}


@pytest.fixture
def cycle(tmp_path, data_copy, params_copy, capsys):
    """`new --date 2021-12-13` then `survey-form` for wave 4: returns (data, params, forms folder)."""
    code, out, err = _run(capsys, "new", "--date", "2021-12-13", "--params", params_copy, "--data", data_copy)
    assert code == 0, err
    forms = tmp_path / "forms"
    code, out, err = _run(capsys, "survey-form", "--wave", "4", "--months", ",".join(WAVE_4_MONTHS),
                          "--out", forms, "--data", data_copy)
    assert code == 0, err
    return data_copy, params_copy, forms


def _fill(form: Path, target: Path, patients: dict[tuple[str, str], object], status=None, cells=None) -> Path:
    """Type values into a form the way an ARS would (cell addresses as the form shows them)."""
    wb = load_workbook(form)
    ws = wb["Patients"]
    rows = {ws.cell(r, 1).value: r for r in range(7, 7 + len(WAVE_4_MONTHS))}
    month_row = {"2021-10": rows["octobre 2021"], "2021-11": rows["novembre 2021"]}
    cols = {ws.cell(6, c).value.lower(): c for c in range(2, 5)}
    for (month, category), value in patients.items():
        ws.cell(month_row[month], cols[category]).value = value
    if status is not None:
        wb["Cellules"]["B6"] = status
    if cells is not None:
        wb["Cellules"]["B7"] = cells
    wb.save(target)
    return target


OCC = {("2021-10", "mineurs"): 3, ("2021-10", "hommes"): 12, ("2021-10", "femmes"): 0,
       ("2021-11", "mineurs"): None, ("2021-11", "hommes"): 15, ("2021-11", "femmes"): 21}
IDF = {("2021-10", "mineurs"): 1, ("2021-10", "hommes"): 60, ("2021-10", "femmes"): 90,
       ("2021-11", "mineurs"): 2, ("2021-11", "hommes"): 61, ("2021-11", "femmes"): 95}


def test_forms_have_validation_protection_dropdown_and_hidden_metadata(cycle):
    data, _, forms = cycle
    names = sorted(p.name for p in forms.iterdir())
    assert len(names) == 18 and "enquete-4-OCC.xlsx" in names and "enquete-4-MAY.xlsx" in names
    wb = load_workbook(forms / "enquete-4-OCC.xlsx")
    assert wb.sheetnames == ["Instructions", "Patients", "Cellules", "_meta"]
    assert wb["_meta"].sheet_state == "veryHidden"
    assert wb.security.lockStructure
    pat = wb["Patients"]
    assert pat["B2"].value == "Occitanie (OCC, code INSEE 76)"
    assert pat["B3"].value == "Enquête n°4 (vague 4)"
    assert pat["B4"].value == "octobre 2021, novembre 2021"
    assert [pat.cell(6, c).value for c in range(1, 5)] == ["Mois", "Mineurs", "Hommes", "Femmes"]
    assert pat.protection.sheet and wb["Cellules"].protection.sheet and wb["Instructions"].protection.sheet
    grid = [f"{col}{row}" for row in (7, 8) for col in "BCD"]
    assert all(pat[c].protection.locked is False for c in grid)
    assert pat["A7"].protection.locked and pat["B2"].protection.locked
    (dv,) = pat.data_validations.dataValidation
    assert (dv.type, dv.operator, dv.formula1, dv.allow_blank, dv.showErrorMessage) == (
        "whole", "greaterThanOrEqual", "0", True, True)
    assert sorted(str(dv.sqref).split()) == sorted(grid)
    cel = wb["Cellules"]
    assert cel["B6"].protection.locked is False and cel["B7"].protection.locked is False
    kinds = {str(v.sqref): v for v in cel.data_validations.dataValidation}
    assert kinds["B6"].type == "list"
    assert kinds["B6"].formula1 == ('"Région avec cellules confirmées,Région en cours de remontée,'
                                    'Région ne mettant pas en place les cellules,Région en attente de réponse"')
    assert (kinds["B7"].type, kinds["B7"].operator, kinds["B7"].formula1) == ("whole", "greaterThanOrEqual", "0")
    instructions = " ".join(str(c.value) for c in wb["Instructions"]["A"] if c.value)
    assert "non renseigné" in instructions and "liste déroulante" in instructions
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(values_only=True)}
    assert (meta["wave"], meta["region"], meta["months"]) == (4, "OCC", "2021-10,2021-11")


def test_whole_cycle_imports_returns_exactly(cycle, capsys):
    data, _, forms = cycle
    occ = _fill(forms / "enquete-4-OCC.xlsx", forms / "enquete-4-OCC.xlsx", OCC,
                status="Région avec cellules confirmées", cells=9)
    idf = _fill(forms / "enquete-4-IDF.xlsx", forms / "enquete-4-IDF.xlsx", IDF,
                status="Région en cours de remontée")
    before = _csv_bytes(data)
    code, out, err = _run(capsys, "survey-import", occ, idf, "--data", data, "--wave", "4")
    assert code == 0, err
    assert "wave 4 OCC (Occitanie): new, 7 of 8 input cells filled" in out
    assert "wave 4 IDF (Île-de-France): new, 7 of 8 input cells filled" in out
    patients = (data / "post_covid" / "patients.csv").read_text(encoding="utf-8")
    old = before["patients.csv"].decode()
    # wave 3 untouched, wave 4 appended in region order of regions.csv (IDF before OCC), months, categories
    assert patients == old + (
        "4,IDF,2021-10,mineurs,1\n4,IDF,2021-10,hommes,60\n4,IDF,2021-10,femmes,90\n"
        "4,IDF,2021-11,mineurs,2\n4,IDF,2021-11,hommes,61\n4,IDF,2021-11,femmes,95\n"
        "4,OCC,2021-10,mineurs,3\n4,OCC,2021-10,hommes,12\n4,OCC,2021-10,femmes,0\n"
        "4,OCC,2021-11,mineurs,\n4,OCC,2021-11,hommes,15\n4,OCC,2021-11,femmes,21\n")
    cells = (data / "post_covid" / "cells.csv").read_text(encoding="utf-8")
    assert cells == before["cells.csv"].decode() + "4,IDF,en_cours,\n4,OCC,confirmees,9\n"
    loaded = load_post_covid(data)   # the contract still holds
    occ_rows = loaded.patients[(loaded.patients["wave"] == 4) & (loaded.patients["region"] == "OCC")]
    blank = occ_rows[(occ_rows["month"] == "2021-11") & (occ_rows["category"] == "mineurs")]["patients"]
    zero = occ_rows[(occ_rows["month"] == "2021-10") & (occ_rows["category"] == "femmes")]["patients"]
    assert blank.isna().all() and zero.tolist() == [0]   # empty stays empty, a typed 0 stays 0

    # what changed since wave 3, from the figures typed above and the seed's September
    changes = compute_changes(loaded, 4, list(WAVE_4_MONTHS))
    assert changes.previous_wave == 3
    assert [(c.region, c.old, c.new) for c in changes.status_changes if c.region in ("IDF", "OCC")] == [
        ("IDF", "confirmees", "en_cours")]
    october = changes.totals[0]
    # October 3 + 12 + 0 + 1 + 60 + 90 = 166; September (wave 3) complete for IDF 154 and OCC 48
    assert (october.total, october.regions, october.previous_wave) == (166, 2, 3)
    assert (october.common_regions, october.previous_common, october.current_common) == (["IDF", "OCC"], 202, 166)

    # the same forms again (a folder given) with a blank one: unchanged or skipped, nothing rewritten
    after = _csv_bytes(data)
    returned = forms.parent / "returned"
    returned.mkdir()
    shutil.copy(occ, returned)
    shutil.copy(idf, returned)
    shutil.copy(forms / "enquete-4-BRE.xlsx", returned)   # sent back blank
    code, out, err = _run(capsys, "survey-import", returned, "--data", data)
    assert code == 0, err
    assert "wave 4 OCC (Occitanie): unchanged" in out and "nothing to write" in out
    assert "wave 4 BRE (Bretagne): empty form, not imported, 0 of 8 input cells filled" in out
    assert _csv_bytes(data) == after


def test_changed_value_refused_without_replace_then_replaced(cycle, capsys):
    data, _, forms = cycle
    occ = _fill(forms / "enquete-4-OCC.xlsx", forms / "occ.xlsx", OCC, status="Région avec cellules confirmées")
    assert _run(capsys, "survey-import", occ, "--data", data)[0] == 0
    changed = _fill(occ, forms / "occ-v2.xlsx", {("2021-10", "hommes"): 14, ("2021-11", "mineurs"): 0},
                    status="Région en cours de remontée")
    before = _csv_bytes(data)
    code, out, err = _run(capsys, "survey-import", changed, "--data", data, "--replace", "--dry-run")
    assert code == 0 and "  changed hommes 2021-10: 12 → 14" in out and "would write " in out
    assert _csv_bytes(data) == before
    code, out, err = _run(capsys, "survey-import", changed, "--data", data)
    assert code == 1
    assert err.strip() == (f"error: {changed}: field 'region': region OCC wave 4 already imported with other values "
                           "(3 changes: hommes 2021-10: 12 → 14; mineurs 2021-11: empty → 0; "
                           "status: confirmees → en_cours); run again with --replace to overwrite them")
    assert _csv_bytes(data) == before
    code, out, err = _run(capsys, "survey-import", changed, "--data", data, "--replace")
    assert code == 0, err
    assert "wave 4 OCC (Occitanie): updated, 7 of 8 input cells filled" in out
    assert "  changed hommes 2021-10: 12 → 14" in out and "  changed status: confirmees → en_cours" in out
    text = (data / "post_covid" / "patients.csv").read_text(encoding="utf-8")
    assert "4,OCC,2021-10,hommes,14\n" in text and "4,OCC,2021-11,mineurs,0\n" in text
    assert "4,OCC,en_cours,\n" in (data / "post_covid" / "cells.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("typed, cell, field, shown", [
    ("12,5", "C7", "hommes 2021-10", "'12,5'"),      # text with a French decimal comma
    (12.5, "C7", "hommes 2021-10", "'12,5'"),        # a decimal number
    (-3, "D8", "femmes 2021-11", "'-3'"),            # negative
    ("douze", "B7", "mineurs 2021-10", "'douze'"),   # text
])
def test_bad_value_is_one_line_and_nothing_is_written(cycle, capsys, typed, cell, field, shown):
    data, _, forms = cycle
    wb = load_workbook(forms / "enquete-4-OCC.xlsx")
    wb["Patients"][cell] = typed
    bad = forms.parent / "bad.xlsx"
    wb.save(bad)
    good = _fill(forms / "enquete-4-IDF.xlsx", forms.parent / "idf.xlsx", IDF)
    before = _csv_bytes(data)
    code, out, err = _run(capsys, "survey-import", good, bad, "--data", data)
    assert code == 1
    assert err.splitlines() == [f"error: {bad}: sheet 'Patients'!{cell}: field '{field}': "
                                f"expected a whole number ≥ 0 or an empty cell, got {shown}"]
    assert "Traceback" not in err and out == ""
    assert _csv_bytes(data) == before


def test_bad_status_and_cells(cycle, capsys):
    data, _, forms = cycle
    bad = _fill(forms / "enquete-4-OCC.xlsx", forms.parent / "bad.xlsx", {}, status="Oui", cells="sept")
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith(f"error: {bad}: sheet 'Cellules'!B6: field 'status': expected one of the statuses "
                               "of the drop-down list (Région avec cellules confirmées;")
    assert lines[0].endswith("got 'Oui'")
    assert lines[1] == (f"error: {bad}: sheet 'Cellules'!B7: field 'cells': "
                        "expected a whole number ≥ 0 or an empty cell, got 'sept'")


def test_cells_without_status_is_refused(cycle, capsys):
    data, _, forms = cycle
    bad = _fill(forms / "enquete-4-OCC.xlsx", forms.parent / "bad.xlsx", OCC, cells=4)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert (code, err.strip()) == (1, f"error: {bad}: sheet 'Cellules'!B6: field 'status': empty, but the number "
                                      "of cells is filled (4); expected a status from the drop-down list")


def test_forms_of_one_wave_must_cover_the_same_months(cycle, capsys):
    data, _, forms = cycle
    other = forms.parent / "other"
    assert _run(capsys, "survey-form", "--wave", "4", "--months", "2021-11,2021-12", "--out", other,
                "--region", "BRE", "--data", data)[0] == 0
    occ = _fill(forms / "enquete-4-OCC.xlsx", forms.parent / "occ.xlsx", OCC)
    code, _, err = _run(capsys, "survey-import", occ, other / "enquete-4-BRE.xlsx", "--data", data)
    assert code == 1
    assert err.strip() == (f"error: {other / 'enquete-4-BRE.xlsx'}: field 'months': form for months 2021-11,2021-12, "
                           "but wave 4 covers 2021-10,2021-11 (expected the same months for every region)")


def _set_meta(form: Path, target: Path, key: str, value) -> Path:
    wb = load_workbook(form)
    for row in wb["_meta"].iter_rows():
        if row[0].value == key:
            row[1].value = value
    wb.save(target)
    return target


def test_wrong_wave_duplicate_and_unknown_region_are_refused(cycle, capsys):
    data, _, forms = cycle
    before = _csv_bytes(data)
    # a form of wave 3 when wave 4 is imported
    old = tmp = forms.parent / "wave3"
    assert _run(capsys, "survey-form", "--wave", "3", "--months", "2021-08,2021-09", "--out", tmp,
                "--region", "BRE", "--data", data)[0] == 0
    old = tmp / "enquete-3-BRE.xlsx"
    code, _, err = _run(capsys, "survey-import", old, "--wave", "4", "--data", data)
    assert (code, err.strip()) == (1, f"error: {old}: field 'wave': form of wave 3, expected wave 4 (--wave 4)")
    # a wave that waves.csv does not know
    w9 = _set_meta(forms / "enquete-4-OCC.xlsx", forms.parent / "w9.xlsx", "wave", 9)
    code, _, err = _run(capsys, "survey-import", w9, "--data", data)
    assert code == 1 and f"error: {w9}: field 'wave': form of wave 9, unknown in " in err
    assert "(expected one of 3, 4)" in err
    # two forms for one region
    a = _fill(forms / "enquete-4-OCC.xlsx", forms.parent / "a.xlsx", OCC)
    b = _fill(forms / "enquete-4-OCC.xlsx", forms.parent / "b.xlsx", OCC)
    code, _, err = _run(capsys, "survey-import", a, b, "--data", data)
    assert (code, err.strip()) == (1, f"error: {b}: field 'region': second form for region OCC wave 4, already "
                                      f"given by {a} (expected one form per region)")
    # a region regions.csv does not know
    xx = _set_meta(forms / "enquete-4-OCC.xlsx", forms.parent / "xx.xlsx", "region", "XX")
    code, _, err = _run(capsys, "survey-import", xx, "--data", data)
    assert code == 1 and f"error: {xx}: field 'region': unknown region 'XX' (expected one of ARA," in err
    assert _csv_bytes(data) == before


def test_not_a_form_and_formulas_are_refused(cycle, capsys, tmp_path):
    data, _, forms = cycle
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook", encoding="utf-8")
    plain = tmp_path / "plain.xlsx"
    Workbook().save(plain)
    wb = load_workbook(forms / "enquete-4-OCC.xlsx")
    wb["Patients"]["C7"] = "=2+3"    # openpyxl stores no computed value
    formula = tmp_path / "formula.xlsx"
    wb.save(formula)
    before = _csv_bytes(data)
    code, out, err = _run(capsys, "survey-import", text, plain, formula, "--data", data)
    assert code == 1 and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"error: {text}: not a readable Excel workbook (.xlsx)")
    assert lines[1] == (f"error: {plain}: not a survey form (no hidden sheet '_meta'); "
                        "expected a form written by survey-form")
    assert lines[2].startswith(f"error: {formula}: sheet 'Patients'!C7: field 'hommes 2021-10': "
                               "a formula ('=2+3'), not a typed value; expected the value itself typed in the cell")
    assert _csv_bytes(data) == before


def test_forms_are_not_overwritten_and_symlinks_not_followed(cycle, capsys, tmp_path):
    data, _, forms = cycle
    returned = _fill(forms / "enquete-4-OCC.xlsx", forms / "enquete-4-OCC.xlsx", OCC)
    content = returned.read_bytes()
    code, _, err = _run(capsys, "survey-form", "--wave", "4", "--months", "2021-10,2021-11", "--out", forms,
                        "--data", data)
    assert code == 1 and "enquete-4-OCC.xlsx: already exists; refusing to overwrite it" in err
    assert returned.read_bytes() == content
    # patients.csv as a symbolic link (to a file inside --data, which the loader accepts): refused,
    # neither replaced nor followed
    real = data / "post_covid" / "patients-real.csv"
    patients = data / "post_covid" / "patients.csv"
    shutil.move(patients, real)
    os.symlink(real, patients)
    before = real.read_bytes()
    code, _, err = _run(capsys, "survey-import", returned, "--data", data)
    assert code == 1 and "patients.csv: is a symbolic link; refusing to replace it" in err
    assert patients.is_symlink() and real.read_bytes() == before


def test_bad_months_is_a_usage_error(capsys, data_copy, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["survey-form", "--wave", "3", "--months", "2021-13", "--out", str(tmp_path), "--data", str(data_copy)])
    assert info.value.code == 2
    assert "expected a month YYYY-MM, got '2021-13'" in capsys.readouterr().err
    code, _, err = _run(capsys, "survey-form", "--wave", "7", "--months", "2021-10", "--out", tmp_path,
                        "--data", data_copy)
    assert code == 1 and "field 'wave': unknown wave 7 (expected one of 3;" in err
    code, _, err = _run(capsys, "survey-form", "--wave", "3", "--months", "2021-09,2021-10", "--out", tmp_path,
                        "--data", data_copy)
    assert code == 1 and ("patients.csv: field 'month': wave 3 already covers 2021-08,2021-09, not 2021-09,2021-10"
                          in err)
    assert not list(tmp_path.glob("*.xlsx"))


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc-nogui) not installed")
def test_form_saved_by_libreoffice_imports_the_same(cycle, capsys, tmp_path):
    data, _, forms = cycle
    filled = _fill(forms / "enquete-4-OCC.xlsx", tmp_path / "occ.xlsx", OCC, status="Région avec cellules confirmées",
                   cells=9)
    out = tmp_path / "lo"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}",
                    "--convert-to", "xlsx", "--outdir", str(out), str(filled)],
                   check=True, capture_output=True, timeout=180)
    resaved = out / "occ.xlsx"
    wb = load_workbook(resaved)
    assert wb["_meta"].sheet_state in ("hidden", "veryHidden") and wb["Patients"].protection.sheet
    assert wb["Patients"].data_validations.dataValidation[0].type == "whole"
    code, stdout, err = _run(capsys, "survey-import", resaved, "--data", data)
    assert code == 0, err
    assert "wave 4 OCC (Occitanie): new, 7 of 8 input cells filled" in stdout
    assert "4,OCC,2021-11,mineurs,\n4,OCC,2021-11,hommes,15\n" in (data / "post_covid" / "patients.csv").read_text()
