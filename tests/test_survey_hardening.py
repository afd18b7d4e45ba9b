"""Hostile or mistaken returned forms (issue 15): each is refused in one line, and nothing is written.

- zip bombs are refused from the zip's directory, before any XML is parsed (time and memory bounded);
- a count is imported only when the data contract accepts it (the loader's own parser);
- the hidden metadata must describe the form the file shows (layout, file name, header block);
- a huge cell value is quoted clipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from esante_report.decks.post_covid.data import load_post_covid

from esante_report.cli.main import main

from .conftest import DATA, PARAMS, ROOT
from .test_survey import IDF, OCC, WAVE_4_MONTHS, _csv_bytes, _fill, _run, _set_meta

MIB = 1 << 20


@pytest.fixture(scope="module")
def _cycle_once(tmp_path_factory) -> Path:
    """`new --date 2021-12-13` and the OCC and IDF forms of wave 4, made once for this module."""
    base = tmp_path_factory.mktemp("cycle")
    shutil.copytree(DATA, base / "data")
    shutil.copytree(PARAMS, base / "params")
    assert main(["new", "--date", "2021-12-13", "--params", str(base / "params"), "--data", str(base / "data")]) == 0
    assert main(["survey-form", "--wave", "4", "--months", ",".join(WAVE_4_MONTHS), "--out", str(base / "forms"),
                 "--region", "OCC", "--region", "IDF", "--data", str(base / "data")]) == 0
    return base


@pytest.fixture
def cycle(_cycle_once, tmp_path) -> tuple[Path, Path, Path]:
    """A writable copy of that cycle: (data, params, forms folder), as test_survey's fixture."""
    for name in ("data", "params", "forms"):
        shutil.copytree(_cycle_once / name, tmp_path / name)
    return tmp_path / "data", tmp_path / "params", tmp_path / "forms"


def _patients_sheet_member(form: Path) -> str:
    """The zip member of the 'Patients' sheet (xl/worksheets/sheetN.xml), from the workbook's own index."""
    with zipfile.ZipFile(form) as archive:
        names = archive.namelist()
        workbook = archive.read("xl/workbook.xml").decode()
    order = [n for n in ("Instructions", "Patients", "Cellules", "_meta")]
    assert all(f'name="{n}"' in workbook for n in order)
    member = f"xl/worksheets/sheet{order.index('Patients') + 1}.xml"
    assert member in names
    return member


def _rezip(form: Path, target: Path, replace: dict[str, object], extra: dict[str, bytes] | None = None) -> Path:
    """A copy of ``form`` with members replaced; a callable value writes the member in chunks (streamed)."""
    with zipfile.ZipFile(form) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if info.filename in replace:
                content = replace[info.filename]
                if callable(content):
                    with out.open(info.filename, "w", force_zip64=True) as handle:
                        content(handle)
                else:
                    out.writestr(info.filename, content)
            else:
                out.writestr(info, source.read(info.filename))
        for name, content in (extra or {}).items():
            out.writestr(name, content)
    return target


# --------------------------------------------------------------------------- zip bombs

_CHILD = r"""
import faulthandler, json, resource, sys
from esante_report.cli.main import main
import esante_report.decks.post_covid.survey, openpyxl, pandas   # imported before the guard: only the import is bounded
faulthandler.dump_traceback_later(5, exit=True)  # the timeout guard: more than 5 s and the run fails
code = main(sys.argv[1:])
faulthandler.cancel_dump_traceback_later()
# VmHWM: this process's own peak (ru_maxrss is kept across execve, so it would carry pytest's own peak)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"code": code, "peak_mib": int(hwm) / 1024}))
"""


def test_zip_bomb_form_is_refused_fast_and_small(cycle, tmp_path):
    data, _, forms = cycle
    form = forms / "enquete-4-OCC.xlsx"
    member = _patients_sheet_member(form)
    head = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<sheetData>')
    chunk = b'<row r="7"><c r="C7" t="inlineStr"><is><t>1</t></is></c></row>' * 16_384
    tail = b"</sheetData></worksheet>"
    inflated = len(head) + 512 * len(chunk) + len(tail)   # about 500 MiB, under 1 MiB zipped

    def bomb(handle) -> None:   # a valid-looking sheet, streamed
        handle.write(head)
        for _ in range(512):
            handle.write(chunk)
        handle.write(tail)

    bad = _rezip(form, tmp_path / "enquete-4-OCC.xlsx", {member: bomb})
    assert bad.stat().st_size < 2 * MIB
    before = _csv_bytes(data)
    run = subprocess.run([sys.executable, "-c", _CHILD, "survey-import", str(bad), "--data", str(data)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]   # the child ran to the end within the guard
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["code"] == 1
    assert result["peak_mib"] < 300, result
    assert run.stderr.splitlines() == [
        f"error: enquete-4-OCC.xlsx: part {member!r} inflates to {inflated / MIB:,.1f} MiB, too large for a form (expected at most "
        "1.0 MiB per part): refused unread; expected a form written by survey-form"]
    assert _csv_bytes(data) == before


@pytest.mark.parametrize("make, expected", [
    # 200 small parts
    (lambda form, target, member: _rezip(form, target, {}, {f"xl/media/x{i}.bin": b"x" for i in range(200)}),
     "zip of 2"),
    # a 900 KiB part of zeros: under the part cap, but inflating about a thousand times
    (lambda form, target, member: _rezip(form, target, {member: b"\0" * (900 << 10)}), "inflates 1,0"),
    # twenty small parts (the ratio is not checked under 256 KiB) that inflate to 5 MiB together
    (lambda form, target, member: _rezip(form, target, {}, {f"xl/media/x{i}.bin": b"\0" * (256 << 10)
                                                             for i in range(20)}), "parts inflate to 5.0 MiB"),
])
def test_other_zip_shapes_are_refused_unread(cycle, capsys, tmp_path, make, expected):
    data, _, forms = cycle
    form = _fill(forms / "enquete-4-OCC.xlsx", tmp_path / "filled.xlsx", OCC)
    bad = make(form, tmp_path / "bad.xlsx", _patients_sheet_member(form))
    code, out, err = _run(capsys, "survey-import", bad, "--data", data)
    assert code == 1 and out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"error: {bad}: ") and expected in line
    assert line.endswith("refused unread; expected a form written by survey-form")


def test_a_large_file_is_refused_by_its_size(cycle, capsys, tmp_path):
    data, _, forms = cycle
    big = tmp_path / "enquete-4-OCC.xlsx"
    big.write_bytes((forms / "enquete-4-OCC.xlsx").read_bytes() + b"\0" * (5 * MIB))
    code, _, err = _run(capsys, "survey-import", big, "--data", data)
    assert (code, err.strip()) == (1, f"error: {big}: file of 5.0 MiB, too large for a form (expected at most "
                                      "2.0 MiB): refused unread; expected a form written by survey-form")


# --------------------------------------------------------------------------- the data contract's counts

@pytest.mark.parametrize("typed, shown", [
    ("1234567890123", "'1234567890123'"),   # 13 digits as text
    (1e20, "'1e+20'"),                     # a number Excel shows as 1E+20
    (1234567890, "'1234567890'"),          # 10 digits, a whole number
    (2 ** 63, "'9,223372036854776e+18'"),   # stored as Excel stores numbers (a double), shown as Excel does
    ("0001234567890", "'0001234567890'"),  # leading zeros do not hide 10 digits
])
def test_counts_beyond_the_contract_are_refused(cycle, capsys, typed, shown):
    data, _, forms = cycle
    bad = _fill(forms / "enquete-4-OCC.xlsx", forms.parent / "occ.xlsx", {**OCC, ("2021-10", "hommes"): typed})
    before = _csv_bytes(data)
    code, out, err = _run(capsys, "survey-import", bad, "--data", data)
    assert code == 1 and out == ""
    assert err.splitlines() == [f"error: {bad}: sheet 'Patients'!C7: field 'hommes 2021-10': expected a whole number "
                                f"≥ 0 of at most 9 digits or an empty cell, got {shown}"]
    assert _csv_bytes(data) == before


@pytest.mark.parametrize("typed", ["٣", "１２", "۷", "१०", "𝟗", "1e20", "+5", "5.", "½", "1 000", "0x1F", "１"])
def test_counts_in_other_digits_or_notations_are_refused(cycle, capsys, typed):
    data, _, forms = cycle
    bad = _fill(forms / "enquete-4-OCC.xlsx", forms.parent / "occ.xlsx", {**OCC, ("2021-11", "femmes"): typed},
                cells=typed)
    before = _csv_bytes(data)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert code == 1
    assert err.splitlines() == [
        f"error: {bad}: sheet 'Patients'!D8: field 'femmes 2021-11': expected a whole number ≥ 0 or an empty cell, "
        f"got {typed!r}",
        f"error: {bad}: sheet 'Cellules'!B7: field 'cells': expected a whole number ≥ 0 or an empty cell, "
        f"got {typed!r}"]
    assert _csv_bytes(data) == before


def test_counts_at_the_contract_bound_import_and_the_data_still_load(cycle, capsys):
    data, _, forms = cycle
    occ = _fill(forms / "enquete-4-OCC.xlsx", forms.parent / "occ.xlsx",
                {**OCC, ("2021-10", "hommes"): 999_999_999, ("2021-10", "mineurs"): " 007 ",
                 ("2021-11", "hommes"): 1e3}, status="Région avec cellules confirmées", cells="000999999999")
    code, out, err = _run(capsys, "survey-import", occ, "--data", data)
    assert code == 0, err
    patients = (data / "post_covid" / "patients.csv").read_text(encoding="utf-8")
    assert "4,OCC,2021-10,hommes,999999999\n" in patients and "4,OCC,2021-10,mineurs,7\n" in patients
    assert "4,OCC,2021-11,hommes,1000\n" in patients
    assert "4,OCC,confirmees,999999999\n" in (data / "post_covid" / "cells.csv").read_text(encoding="utf-8")
    loaded = load_post_covid(data)   # what the import wrote, the contract accepts
    assert loaded.cells.set_index(["wave", "region"]).loc[(4, "OCC"), "cells"] == 999_999_999
    code, _, err = _run(capsys, "check", "--all", "--data", data, "--params", ROOT / "params")
    assert "patients.csv" not in err and "cells.csv" not in err


@pytest.mark.parametrize("months", ["٢٠٢١-10,2021-11", "2021-１0,2021-11"])
def test_metadata_months_in_other_digits_are_refused(cycle, capsys, months):
    data, _, forms = cycle
    bad = _set_meta(_fill(forms / "enquete-4-OCC.xlsx", forms.parent / "occ.xlsx", OCC), forms.parent / "m.xlsx",
                    "months", months)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    first = months.split(",")[0]
    assert (code, err.strip()) == (1, f"error: {bad}: sheet '_meta': field 'months': expected a month YYYY-MM, "
                                      f"got {first!r}")


# --------------------------------------------------------------------------- tampered metadata

_TAMPERED = "refusing a form whose metadata was changed: use the form survey-form wrote for this region"


def _edit_meta(form: Path, target: Path, edit) -> Path:
    wb = load_workbook(form)
    edit(wb["_meta"])
    wb.save(target)
    return target


def _meta_row(ws, key: str):
    return next(row for row in ws.iter_rows() if row[0].value == key)


def test_occ_form_with_idf_in_its_metadata_is_refused(cycle, capsys, tmp_path):
    data, _, forms = cycle
    occ = _fill(forms / "enquete-4-OCC.xlsx", tmp_path / "filled.xlsx", OCC, status="Région avec cellules confirmées")
    named = tmp_path / "enquete-4-OCC.xlsx"
    _set_meta(occ, named, "region", "IDF")
    renamed = _set_meta(occ, tmp_path / "retour ARS.xlsx", "region", "IDF")   # the file name tells nothing
    before = _csv_bytes(data)
    code, out, err = _run(capsys, "survey-import", named, renamed, "--data", data)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"error: {named}: sheet '_meta': the file name says wave 4 region OCC, but the metadata says wave 4 region "
        f"IDF; {_TAMPERED}",
        f"error: {renamed}: sheet 'Patients'!B2: shows 'Occitanie (OCC, code INSEE 76)', but the metadata (wave 4, "
        f"region IDF, months 2021-10,2021-11) means 'Île-de-France (IDF, code INSEE 11)'; {_TAMPERED}"]
    assert _csv_bytes(data) == before


def test_metadata_of_another_wave_is_refused(cycle, capsys, tmp_path):
    data, _, forms = cycle
    bad = _set_meta(_fill(forms / "enquete-4-OCC.xlsx", tmp_path / "f.xlsx", OCC), tmp_path / "occ.xlsx", "wave", 3)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert (code, err.strip()) == (1, f"error: {bad}: sheet 'Patients'!B3: shows 'Enquête n°4 (vague 4)', but the "
                                      "metadata (wave 3, region OCC, months 2021-10,2021-11) means "
                                      f"'Enquête n°3 (vague 3)'; {_TAMPERED}")


@pytest.mark.parametrize("key, address, shown", [
    ("field patients 2021-10 hommes", "Patients!Z99", "'Patients!Z99'"),       # the finding
    ("field patients 2021-10 hommes", "Patients!D7", "'Patients!D7'"),         # another input cell: values swapped
    ("field status", "Instructions!A1", "'Instructions!A1'"),                  # another sheet
    ("field cells", "Cellules!B7 ", "'Cellules!B7 '"),                          # almost right
    ("field cells", None, "'None'"),                                            # removed
])
def test_cell_addresses_must_be_the_layouts(cycle, capsys, tmp_path, key, address, shown):
    data, _, forms = cycle
    filled = _fill(forms / "enquete-4-OCC.xlsx", tmp_path / "f.xlsx", OCC, status="Région avec cellules confirmées")

    def edit(ws):
        _meta_row(ws, key)[1].value = address

    bad = _edit_meta(filled, tmp_path / "occ.xlsx", edit)
    expected = {"field patients 2021-10 hommes": "Patients!C7", "field status": "Cellules!B6",
                "field cells": "Cellules!B7"}[key]
    before = _csv_bytes(data)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert (code, err.strip()) == (1, f"error: {bad}: sheet '_meta': the metadata gives {shown} for {key[6:]!r}, but a "
                                      f"form for 2021-10,2021-11 has it in {expected}; {_TAMPERED}")
    assert _csv_bytes(data) == before


def test_an_extra_metadata_field_is_refused(cycle, capsys, tmp_path):
    data, _, forms = cycle
    filled = _fill(forms / "enquete-4-OCC.xlsx", tmp_path / "f.xlsx", OCC)

    def edit(ws):
        ws.append(["field patients 2021-12 hommes", "Patients!C9"])

    bad = _edit_meta(filled, tmp_path / "occ.xlsx", edit)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert (code, err.strip()) == (1, f"error: {bad}: sheet '_meta': the metadata has an entry "
                                      "'field patients 2021-12 hommes' that a form for 2021-10,2021-11 does not have; "
                                      f"{_TAMPERED}")


def test_visible_month_labels_must_match_the_metadata(cycle, capsys, tmp_path):
    data, _, forms = cycle
    wb = load_workbook(_fill(forms / "enquete-4-OCC.xlsx", tmp_path / "f.xlsx", OCC))
    wb["Patients"]["A8"] = "décembre 2021"   # the grid row the ARS filled says another month
    bad = tmp_path / "occ.xlsx"
    wb.save(bad)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert (code, err.strip()) == (1, f"error: {bad}: sheet 'Patients'!A8: shows 'décembre 2021', but the metadata "
                                      "(wave 4, region OCC, months 2021-10,2021-11) means 'novembre 2021'; "
                                      f"{_TAMPERED}")


def test_genuine_forms_with_their_own_names_still_import(cycle, capsys, tmp_path):
    data, _, forms = cycle
    occ = _fill(forms / "enquete-4-OCC.xlsx", tmp_path / "enquete-4-OCC (retour).xlsx", OCC)
    idf = _fill(forms / "enquete-4-IDF.xlsx", tmp_path / "Enquete-4-idf.xlsx", IDF)
    code, out, err = _run(capsys, "survey-import", occ, idf, "--data", data)
    assert code == 0, err
    assert "wave 4 OCC (Occitanie): new" in out and "wave 4 IDF (Île-de-France): new" in out


# --------------------------------------------------------------------------- long values

# openpyxl, like Excel, keeps at most 32,767 characters of a cell: that is what the import reads

def test_a_huge_cell_value_is_quoted_clipped(cycle, capsys, tmp_path):
    data, _, forms = cycle
    bad = _fill(forms / "enquete-4-OCC.xlsx", tmp_path / "occ.xlsx", {("2021-10", "hommes"): "9" * 60 + "x" * 99_940},
                status="S" * 30_000)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 2 and all(len(line) < 400 for line in lines), [len(line) for line in lines]
    assert lines[0] == (f"error: {bad}: sheet 'Patients'!C7: field 'hommes 2021-10': expected a whole number ≥ 0 or an "
                        f"empty cell, got {'9' * 60!r}… (32,767 characters)")
    assert lines[1].endswith(f"got {'S' * 60!r}… (30,000 characters)")


def test_a_huge_metadata_value_is_quoted_clipped(cycle, capsys, tmp_path):
    data, _, forms = cycle
    bad = _set_meta(forms / "enquete-4-OCC.xlsx", tmp_path / "occ.xlsx", "region", "R" * 50_000)
    code, _, err = _run(capsys, "survey-import", bad, "--data", data)
    assert code == 1
    (line,) = err.splitlines()
    assert len(line) < 400 and f"unknown region {'R' * 60!r}… (32,767 characters) (expected one of ARA," in line


def test_each_form_is_loaded_once_read_only(cycle, capsys, tmp_path, monkeypatch):
    import openpyxl

    data, _, forms = cycle
    occ = _fill(forms / "enquete-4-OCC.xlsx", tmp_path / "occ.xlsx", OCC, status="Région avec cellules confirmées")
    idf = _fill(forms / "enquete-4-IDF.xlsx", tmp_path / "idf.xlsx", IDF)
    real, calls = openpyxl.load_workbook, []

    def counting(*args, **kwargs):
        calls.append(kwargs.get("read_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", counting)
    code, out, err = _run(capsys, "survey-import", occ, idf, "--data", data)
    assert code == 0, err
    assert calls == [True, True]   # one read-only load per form (the finding: two full loads each)
