"""Hardening of the input side (issue 12): every hostile or broken input gives one line per problem.

Each test feeds a broken copy of the repository's data or params to ``esante-report check`` (in process,
through ``cli.main``, so a traceback would fail the test) and asserts on what the user sees: the
``error: file:line: field 'x': …`` lines on stderr and the exit code.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from esante_report.cli.main import main
from esante_report.errors import ParamsError
from esante_report.contracts.params import notebook_parameters
from esante_report.decks.post_covid.data import data_files, load_post_covid
from esante_report.provenance import provenance

from .conftest import DATA, PARAMS, ROOT

PC = "post_covid"
CAT = "catalogue"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _check(capsys, data: Path = DATA, params: Path = PARAMS, date: str | None = "2021-11-15") -> tuple[int, list[str]]:
    """Run ``check`` in process; (exit code, stderr lines). Every stderr line must be an ``error:`` line."""
    which = ["--date", date] if date else ["--all"]
    code = main(["check", *which, "--data", str(data), "--params", str(params)])
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "Traceback" not in err
    assert all(line.startswith("error: ") for line in lines), err
    return code, lines


def _one_error(capsys, expected: str, **kwargs) -> str:
    code, lines = _check(capsys, **kwargs)
    assert code == 1
    assert len(lines) == 1, lines
    assert expected in lines[0], lines
    return lines[0]


def _params(tmp_path: Path, text: str, date: str = "2021-11-15") -> Path:
    folder = tmp_path / "params"
    folder.mkdir(exist_ok=True)
    (folder / f"{date}.yaml").write_text(text, encoding="utf-8")
    return folder


POST_COVID_PARAMS = 'post_covid:\n  wave: 3\n  months: ["2021-08", "2021-09"]\n'


# --------------------------------------------------------------------------- S2: YAML

def test_yaml_alias_bomb_is_refused_before_expanding(tmp_path, capsys):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    params = _params(tmp_path, POST_COVID_PARAMS + bomb)
    line = _one_error(capsys, "2021-11-15.yaml:4: anchor &a (expected plain values: YAML anchors and aliases are "
                              "not allowed)", params=params)
    assert len(line) < 300


def test_yaml_alias_alone_and_anchor_in_data_are_refused(tmp_path, data_copy, capsys):
    _edit(data_copy / PC / "measures.yaml", "    regions: [BRE, IDF, CVL, NOR, OCC, NAQ]",
          "    regions: *regions")
    _one_error(capsys, "measures.yaml:6: alias *regions (expected plain values", data=data_copy)


@pytest.mark.parametrize("value", ["!!python/object/apply:os.system ['echo pwned']", "!!binary aGVsbG8=",
                                   "!custom x", "!!str 3"])
def test_yaml_tags_are_refused(tmp_path, capsys, value):
    params = _params(tmp_path, POST_COVID_PARAMS + f"  issuer: {value}\n")
    _one_error(capsys, "2021-11-15.yaml:4: tag '", params=params)


@pytest.mark.parametrize("char, code", [("\x07", "U+0007"), ("\x00", "U+0000"), ("\x1b", "U+001B")])
def test_yaml_control_characters_give_their_line(tmp_path, capsys, char, code):
    params = _params(tmp_path, POST_COVID_PARAMS + f"  issuer: Minist{char}ère\n")
    _one_error(capsys, f"2021-11-15.yaml:4: control character {code} at column 17 (expected printable text)",
               params=params)


def test_params_nested_5000_deep(tmp_path, capsys):
    params = _params(tmp_path, POST_COVID_PARAMS + "  issuer: " + "[" * 5000 + "]" * 5000 + "\n")
    _one_error(capsys, "2021-11-15.yaml:4: nested deeper than 20 levels (expected at most 20)", params=params)


def test_yaml_block_nesting_and_list_nesting_in_data(data_copy, capsys):
    _edit(data_copy / PC / "measures.yaml", "    regions: [BRE, IDF, CVL, NOR, OCC, NAQ]",
          "    regions: " + "[" * 30 + "BRE" + "]" * 30)
    _one_error(capsys, "measures.yaml:6: nested deeper than 20 levels", data=data_copy)


def test_long_yaml_text_is_refused(data_copy, capsys):
    _edit(data_copy / CAT / "services.yaml", "  name: DOMOPLAIES", "  name: " + "D" * 6000)
    line = _one_error(capsys, "services.yaml:", data=data_copy, date="2020-12-08")
    assert "text too long: 6,000 characters (expected at most 5,000)" in line
    assert len(line) < 300


def test_huge_yaml_file_is_refused_by_size(tmp_path, capsys):
    params = _params(tmp_path, POST_COVID_PARAMS + "# " + "x" * (2 << 20) + "\n")
    _one_error(capsys, "2021-11-15.yaml: too large: 2,097,", params=params)


def test_one_yaml_syntax_error_is_one_line_not_a_cascade(data_copy, capsys):
    # services.yaml unreadable: indicators.csv and deployments.csv must not add one "unknown service" per row
    _edit(data_copy / CAT / "services.yaml", "- id: etapes", "- id: [etapes")
    line = _one_error(capsys, "services.yaml:", data=data_copy, date="2020-12-08")
    assert "invalid YAML" in line


def test_broken_regions_file_does_not_cascade(data_copy, capsys):
    (data_copy / "regions.csv").write_text("code,abbr\n", encoding="utf-8")
    code, lines = _check(capsys, data=data_copy)
    assert code == 1
    assert lines == [f"error: {data_copy / 'regions.csv'}:1: field 'name': missing column "
                     "(expected header code,abbr,name)"]


def test_csv_cell_over_131072_characters(data_copy, capsys):
    path = data_copy / PC / "milestones.csv"
    _edit(path, "Saisine par le MSS de la HAS à l'automne", "x" * 131_073)
    _one_error(capsys, "milestones.csv:3: field 'what': too long: 131,073 characters (expected at most 5,000)",
               data=data_copy)


def test_csv_cell_over_the_csv_module_limit(data_copy, capsys):
    path = data_copy / PC / "milestones.csv"
    _edit(path, "Saisine par le MSS de la HAS à l'automne", '"' + "x" * (2 << 20) + '"')
    line = _one_error(capsys, "milestones.csv:3: unreadable CSV: field larger than field limit", data=data_copy)
    assert len(line) < 300


# --------------------------------------------------------------------------- S5: symlinks, provenance

def test_symlink_outside_data_is_refused_without_showing_its_content(tmp_path, data_copy, capsys):
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:SECRET-CONTENT\n", encoding="utf-8")
    (data_copy / "regions.csv").unlink()
    (data_copy / "regions.csv").symlink_to(secret)
    code, lines = _check(capsys, data=data_copy)
    assert code == 1
    assert lines == [f"error: {data_copy / 'regions.csv'}: symlink to a file outside the data folder, refused "
                     "(expected a CSV file with header code,abbr,name inside the data folder)"]
    assert not any("SECRET" in line or "secret.csv" in line for line in lines)


def test_symlink_outside_data_refused_for_yaml_and_geojson(tmp_path, data_copy, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    for rel in (f"{PC}/measures.yaml", "geo/regions.geojson"):
        target = outside / Path(rel).name
        target.write_bytes((data_copy / rel).read_bytes())
        (data_copy / rel).unlink()
        (data_copy / rel).symlink_to(target)
    code, lines = _check(capsys, data=data_copy)
    assert code == 1 and len(lines) == 2, lines
    assert any("measures.yaml: symlink to a file outside the data folder, refused" in line for line in lines)
    assert any("regions.geojson: symlink to a file outside the data folder, refused" in line for line in lines)


def test_symlink_inside_data_is_accepted(data_copy, capsys):
    patients = data_copy / PC / "patients.csv"
    kept = data_copy / PC / "patients-2021.csv"
    patients.rename(kept)
    patients.symlink_to(kept)
    code, lines = _check(capsys, data=data_copy)
    assert (code, lines) == (0, [])


def test_provenance_names_paths_relative_to_data_with_their_hash(data_copy):
    prov = provenance(data_files(data_copy), data_copy)
    names = dict(prov.files)
    assert set(names) == {"regions.csv", "post_covid/waves.csv", "post_covid/patients.csv", "post_covid/cells.csv",
                          "post_covid/milestones.csv", "post_covid/measures.yaml", "geo/regions.geojson"}
    expected = hashlib.sha256((DATA / PC / "patients.csv").read_bytes()).hexdigest()[:12]
    assert names["post_covid/patients.csv"] == expected


# --------------------------------------------------------------------------- cap per file

def test_problems_are_capped_at_20_per_file(data_copy, capsys):
    path = data_copy / PC / "patients.csv"
    with path.open("a", encoding="utf-8") as handle:
        for i in range(5000):
            handle.write(f"3,IDF,2021-08,hommes,bad{i}\n")
    code, lines = _check(capsys, data=data_copy)
    assert code == 1
    assert len(lines) == 21, lines[:3]
    assert all("patients.csv:" in line and "expected an integer ≥ 0" in line for line in lines[:20])
    assert lines[20] == f"error: … and 4980 more problems in {path}"


def test_several_files_each_get_their_own_cap(data_copy, capsys):
    for name, row in (("patients.csv", "3,IDF,2021-08,hommes,x\n"), ("cells.csv", "3,IDF,fermee,1\n")):
        with (data_copy / PC / name).open("a", encoding="utf-8") as handle:
            handle.write(row * 30)
    code, lines = _check(capsys, data=data_copy)
    assert code == 1 and len(lines) == 42
    assert sum("more problems in" in line for line in lines) == 2


# --------------------------------------------------------------------------- numbers

@pytest.mark.parametrize("value, expected", [
    ("9_0000", "expected an integer ≥ 0 of at most 9 digits, got '9_0000'"),
    ("٣", "expected an integer ≥ 0 of at most 9 digits, got '٣'"),
    ("５", "expected an integer ≥ 0 of at most 9 digits, got '５'"),
    ("99999999999999999999999", "expected an integer ≥ 0 of at most 9 digits, got '99999999999999999999999'"),
    ("1e3", "expected an integer ≥ 0 of at most 9 digits, got '1e3'"),
])
def test_patient_counts_are_ascii_bounded_integers(data_copy, capsys, value, expected):
    _edit(data_copy / PC / "patients.csv", "3,IDF,2021-08,hommes,54", f"3,IDF,2021-08,hommes,{value}")
    _one_error(capsys, f"patients.csv:45: field 'patients': {expected}", data=data_copy)


@pytest.mark.parametrize("value", ["9_0000", "٩٠٠٠٠", "1e308", "-5", "1" + "0" * 400, "nan", "inf", "0x10", "1.2.3", "12.1234567"])
def test_indicator_values_are_plain_bounded_numbers(data_copy, capsys, value):
    _edit(data_copy / CAT / "indicators.csv", ",90000,", f",{value},")
    line = _one_error(capsys, "indicators.csv:2: field 'value': expected a number ≥ 0 in ASCII digits with '.' as "
                              "decimal separator and no exponent", data=data_copy, date="2020-12-08")
    assert len(line) < 400


def test_yaml_numbers_with_underscores_are_not_numbers(tmp_path, capsys):
    params = _params(tmp_path, 'post_covid:\n  wave: 0_3\n  months: ["2021-08"]\n')
    _one_error(capsys, "2021-11-15.yaml:2: field 'wave': expected a wave number, got '0_3'", params=params)


def test_huge_yaml_wave_is_bounded(tmp_path, capsys):
    params = _params(tmp_path, 'post_covid:\n  wave: 99999999999999999999999\n  months: ["2021-08"]\n')
    _one_error(capsys, "2021-11-15.yaml:2: field 'wave': expected a wave number, got '99999999999999999999999'",
               params=params)


# --------------------------------------------------------------------------- type confusion

def test_list_as_service_id(data_copy, capsys):
    _edit(data_copy / CAT / "services.yaml", "- id: etapes", "- id: [etapes]")
    _one_error(capsys, "services.yaml:25: field 'id': expected a single value, got a list", data=data_copy,
               date="2020-12-08")


def test_list_as_support_desk_id(data_copy, capsys):
    _edit(data_copy / CAT / "support.yaml", "- id: esante-occitanie", "- id: [esante-occitanie]")
    _one_error(capsys, "support.yaml:2: field 'id': expected a single value, got a list", data=data_copy,
               date="2020-12-08")


def test_list_as_catalogue_region(tmp_path, capsys):
    params = _params(tmp_path, "catalogue:\n  region: [IDF]\n", date="2020-12-08")
    _one_error(capsys, "2020-12-08.yaml:2: field 'region': expected a region abbreviation of regions.csv such as "
                       "'OCC', got a list", params=params, date="2020-12-08")


def test_list_as_financing_region(data_copy, capsys):
    _edit(data_copy / PC / "measures.yaml", "        region: IDF", "        region: [IDF]")
    _one_error(capsys, "measures.yaml:12: field 'region': expected a single value, got a list", data=data_copy)


def test_list_as_mapping_key(tmp_path, capsys):
    params = _params(tmp_path, POST_COVID_PARAMS + "? [a, b]\n: c\n")
    _one_error(capsys, "2021-11-15.yaml:4: key is a list (expected a text key such as 'title:')", params=params)


def test_text_where_a_list_is_expected_is_one_line_not_one_bullet_per_character(data_copy, capsys):
    _edit(data_copy / CAT / "services.yaml",
          "  audience:\n  - Les professionnels de santé (médecins ou pas) quel que soit leur mode d'exercice",
          "  audience: Les professionnels de santé")
    _one_error(capsys, "services.yaml:6: field 'audience': expected a list, got 'Les professionnels de santé'",
               data=data_copy, date="2020-12-08")


def test_text_where_detail_items_are_expected(data_copy, capsys):
    _edit(data_copy / CAT / "services.yaml", "    items:\n    - 5 cahiers des charges publiés\n",
          "    items: 5 cahiers des charges publiés\n    more:\n")
    code, lines = _check(capsys, data=data_copy, date="2020-12-08")
    assert code == 1
    assert any("field 'items': expected a list, got '5 cahiers des charges publiés'" in line for line in lines), lines


def test_text_where_ami_regions_are_expected(data_copy, capsys):
    _edit(data_copy / PC / "measures.yaml", "    regions: [BRE, IDF, CVL, NOR, OCC, NAQ]", "    regions: BRE")
    _one_error(capsys, "measures.yaml:6: field 'regions': expected a list, got 'BRE'", data=data_copy)


def test_months_as_text(tmp_path, capsys):
    params = _params(tmp_path, 'post_covid:\n  wave: 3\n  months: "2021-08"\n')
    _one_error(capsys, "2021-11-15.yaml:3: field 'months': expected a list of months YYYY-MM, got '2021-08'",
               params=params)


# --------------------------------------------------------------------------- GeoJSON

def test_geojson_nested_100k_deep(data_copy, capsys):
    (data_copy / "geo" / "regions.geojson").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    _one_error(capsys, "regions.geojson: invalid GeoJSON: nested too deep", data=data_copy)


def test_geojson_unknown_geometry_type(data_copy, capsys):
    path = data_copy / "geo" / "regions.geojson"
    collection = json.loads(path.read_text(encoding="utf-8"))
    collection["features"][2]["geometry"]["type"] = "Blob"
    path.write_text(json.dumps(collection), encoding="utf-8")
    code = collection["features"][2]["properties"]["code"]
    _one_error(capsys, f"regions.geojson: field 'geometry': feature 3 ('{code}'): expected a Polygon or "
                       "MultiPolygon, got 'Blob'", data=data_copy)


def test_geojson_not_json(data_copy, capsys):
    (data_copy / "geo" / "regions.geojson").write_text('{"features": [\n', encoding="utf-8")
    _one_error(capsys, "regions.geojson:2: invalid JSON (Expecting value)", data=data_copy)


# --------------------------------------------------------------------------- unreadable files, encodings

def test_folder_where_a_file_is_expected(data_copy, capsys):
    (data_copy / PC / "cells.csv").unlink()
    (data_copy / PC / "cells.csv").mkdir()
    _one_error(capsys, "cells.csv: is a folder (expected a CSV file with header wave,region,status,cells)",
               data=data_copy)


def test_permission_error_names_the_path(data_copy, capsys, monkeypatch):
    real_open = builtins.open
    target = str(data_copy / PC / "waves.csv")

    def denying_open(file, *args, **kwargs):
        if str(file) == target:
            raise PermissionError(13, "Permission denied", target)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denying_open)
    code, lines = _check(capsys, data=data_copy)
    assert code == 1
    assert any("waves.csv: cannot be read: Permission denied (expected a readable CSV file)" in line
               for line in lines), lines


def test_latin1_csv_names_line_and_field(data_copy, capsys):
    path = data_copy / PC / "milestones.csv"
    text = path.read_text(encoding="utf-8")
    path.write_bytes(text.encode("latin-1", errors="replace"))
    line = text.splitlines()[1]   # "2020-10-01,dernier trimestre 2020,MSS / … interministérielle …"
    column = next(j for j, ch in enumerate(line) if not ch.isascii()) + 1
    _one_error(capsys, f"milestones.csv:2: field 'actor': not valid UTF-8: byte 0xe9 at column {column}: the file "
                       "looks like Latin-1/Windows-1252 (Excel's plain \"CSV\"), where this byte is 'é', not UTF-8; "
                       "save as CSV UTF-8 (comma-separated)", data=data_copy)


def test_latin1_patients_cell(data_copy, capsys):
    path = data_copy / PC / "patients.csv"
    path.write_bytes(path.read_bytes().replace(b"3,IDF,2021-08,hommes,54", "3,IDF,2021-08,hommés,54".encode("latin-1")))
    _one_error(capsys, "patients.csv:45: field 'category': not valid UTF-8: byte 0xe9 at column 19: the file looks "
                       "like Latin-1/Windows-1252 (Excel's plain \"CSV\"), where this byte is 'é', not UTF-8; "
                       "save as CSV UTF-8 (comma-separated)", data=data_copy)


def test_latin1_yaml_names_the_line(tmp_path, capsys):
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "2021-11-15.yaml").write_bytes((POST_COVID_PARAMS + "  issuer: Ministère\n").encode("latin-1"))
    _one_error(capsys, "2021-11-15.yaml:4: not valid UTF-8: byte 0xe8 at column 17", params=folder)


def test_a_long_bad_value_is_quoted_clipped_with_its_length(data_copy, capsys):
    _edit(data_copy / PC / "patients.csv", "3,IDF,2021-08,hommes,54", f"3,{'Î' * 4_321},2021-08,hommes,54")
    line = _one_error(capsys, f"patients.csv:45: field 'region': unknown region {'Î' * 60!r}… (4,321 characters) "
                              "(expected one of ARA,", data=data_copy)
    assert len(line) < 400


# --------------------------------------------------------------------------- saved from Excel (issue 15)

_SEPARATOR = "separator {sep} found: save as CSV with ',' (comma-separated, UTF-8)"


def _resave(path: Path, sep: str = ",", encoding: str = "utf-8") -> None:
    """``path`` as a spreadsheet would save it with another separator or encoding (fields re-quoted)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def test_semicolon_csv_names_the_separator_in_one_line(data_copy, capsys):
    _resave(data_copy / PC / "patients.csv", ";")
    code, lines = _check(capsys, data=data_copy)
    assert code == 1
    assert lines == [f"error: {data_copy / PC / 'patients.csv'}:1: " + _SEPARATOR.format(sep="';'")]


def test_each_file_saved_with_another_separator_gets_its_own_line(data_copy, capsys):
    _resave(data_copy / PC / "cells.csv", ";")
    _resave(data_copy / PC / "waves.csv", "\t")
    _resave(data_copy / CAT / "indicators.csv", "|")
    code, lines = _check(capsys, data=data_copy, date=None)
    assert code == 1
    assert sorted(set(lines)) == sorted([
        f"error: {data_copy / PC / 'cells.csv'}:1: " + _SEPARATOR.format(sep="';'"),
        f"error: {data_copy / PC / 'waves.csv'}:1: " + _SEPARATOR.format(sep="'\\t' (tab)"),
        f"error: {data_copy / CAT / 'indicators.csv'}:1: " + _SEPARATOR.format(sep="'|'")]), lines
    assert not any("missing column" in line for line in lines)


def test_excel_french_csv_latin1_and_semicolons_is_one_line(data_copy, capsys):
    # what Excel's "CSV (séparateur : point-virgule)" writes in a French locale: Windows-1252 and ';'
    _resave(data_copy / PC / "milestones.csv", ";", "cp1252")
    _one_error(capsys, "milestones.csv:1: " + _SEPARATOR.format(sep="';'"), data=data_copy)


def test_windows_1252_byte_is_named_with_its_character(data_copy, capsys):
    _edit(data_copy / PC / "milestones.csv", "Groupe de travail", "Groupe de travail de l\u2019ARS")
    _resave(data_copy / PC / "milestones.csv", ",", "cp1252")
    line = _one_error(capsys, "milestones.csv:2: field 'actor': not valid UTF-8: byte 0xe9", data=data_copy)
    assert line.endswith("the file looks like Latin-1/Windows-1252 (Excel's plain \"CSV\"), where this byte is 'é', "
                         "not UTF-8; save as CSV UTF-8 (comma-separated)")
    path = data_copy / PC / "waves.csv"
    path.write_bytes(path.read_bytes().replace(b"Enqu", "\u2019Enqu".encode("cp1252"), 1))
    code, lines = _check(capsys, data=data_copy)
    assert any("waves.csv:" in line and "byte 0x92" in line and "where this byte is '\u2019'" in line
               and line.endswith("save as CSV UTF-8 (comma-separated)") for line in lines), lines


def test_utf16_csv_says_utf16(data_copy, capsys):
    # Excel's "Unicode Text" (UTF-16 with a byte order mark)
    path = data_copy / PC / "cells.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    _one_error(capsys, "cells.csv:1: not valid UTF-8: byte 0xff at column 1: the file is UTF-16 (Excel's "
                       "\"Unicode Text\"), not UTF-8; save as CSV UTF-8 (comma-separated)", data=data_copy)


# --------------------------------------------------------------------------- check command

def test_check_all_with_missing_params_folder(capsys):
    code, lines = _check(capsys, params=Path("/nonexistent"), date=None)
    assert code == 1
    assert lines == ["error: /nonexistent: params folder not found (expected a folder of YYYY-MM-DD.yaml files; "
                     "see --params)"]


def test_check_all_with_empty_params_folder(tmp_path, capsys):
    (tmp_path / "params").mkdir()
    code, lines = _check(capsys, params=tmp_path / "params", date=None)
    assert code == 1 and len(lines) == 1
    assert "no params file (expected files named YYYY-MM-DD.yaml)" in lines[0]


def test_check_all_reports_every_date_and_exits_1(tmp_path, capsys):
    params = tmp_path / "params"
    params.mkdir()
    (params / "2020-12-08.yaml").write_text("catalogue:\n  region: OCC\n", encoding="utf-8")
    (params / "2021-11-15.yaml").write_text("post_covid:\n  wave: 9\n  months: ['2021-08']\n", encoding="utf-8")
    code = main(["check", "--all", "--params", str(params)])
    out = capsys.readouterr()
    assert code == 1
    assert "2020-12-08: OK (catalogue)" in out.out
    assert "2021-11-15.yaml:2: field 'wave': unknown wave 9" in out.err


def test_check_with_missing_data_folder(tmp_path, capsys):
    _one_error(capsys, "data folder not found", data=tmp_path / "nowhere")


def test_subprocess_check_has_no_traceback(tmp_path):
    params = _params(tmp_path, POST_COVID_PARAMS + "  issuer: " + "[" * 5000 + "]" * 5000 + "\n")
    result = subprocess.run([sys.executable, "-m", "esante_report", "check", "--date", "2021-11-15",
                             "--params", str(params)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "nested deeper than 20 levels" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- what the notebook will need

def _wave4(data: Path, patients: str = "") -> None:
    with (data / PC / "waves.csv").open("a", encoding="utf-8") as handle:
        handle.write("4,2021-12-13,Enquête n°4,Enquête DGOS n°4,false\n")
    measures = (data / PC / "measures.yaml").read_text(encoding="utf-8")
    entry = measures[measures.index("- wave: 3"):].replace("- wave: 3", "- wave: 4", 1)
    (data / PC / "measures.yaml").write_text(measures + entry, encoding="utf-8")
    if patients:
        with (data / PC / "patients.csv").open("a", encoding="utf-8") as handle:
            handle.write(patients)


def test_header_only_milestones(data_copy, capsys):
    (data_copy / PC / "milestones.csv").write_text("date,date_label,actor,title,what\n", encoding="utf-8")
    _one_error(capsys, "milestones.csv: no rows, only a header (expected at least one milestone)", data=data_copy)


def test_header_only_patients(data_copy, capsys):
    (data_copy / PC / "patients.csv").write_text("wave,region,month,category,patients\n", encoding="utf-8")
    _one_error(capsys, "patients.csv: no rows, only a header (expected one row per wave, region, month and "
                       "category)", data=data_copy)


def test_wave_without_patients_rows(tmp_path, data_copy, capsys):
    _wave4(data_copy)
    params = _params(tmp_path, 'post_covid:\n  wave: 4\n  months: ["2021-10"]\n', date="2021-12-13")
    _one_error(capsys, "patients.csv: field 'wave': no patients rows for wave 4", data=data_copy, params=params,
               date="2021-12-13")


def test_params_month_without_patients_rows(tmp_path, data_copy, capsys):
    _wave4(data_copy, "".join(f"4,{r},2021-10,{c},1\n" for r in ("IDF", "OCC") for c in ("mineurs", "hommes", "femmes")))
    params = _params(tmp_path, 'post_covid:\n  wave: 4\n  months: ["2021-10", "2021-11"]\n', date="2021-12-13")
    _one_error(capsys, "2021-12-13.yaml:3: field 'months': no patients rows for 2021-11 in wave 4",
               data=data_copy, params=params, date="2021-12-13")


def test_missing_patients_row_is_refused_but_an_empty_cell_is_fine(tmp_path, data_copy, capsys):
    rows = "".join(f"4,{r},{m},{c},1\n" for r in ("IDF", "OCC") for m in ("2021-10", "2021-11")
                   for c in ("mineurs", "hommes", "femmes") if (r, m, c) != ("OCC", "2021-11", "hommes"))
    _wave4(data_copy, rows.replace("4,IDF,2021-11,femmes,1", "4,IDF,2021-11,femmes,"))
    params = _params(tmp_path, 'post_covid:\n  wave: 4\n  months: ["2021-10", "2021-11"]\n', date="2021-12-13")
    _one_error(capsys, "patients.csv: field 'patients': missing row wave=4, region=OCC, month=2021-11, "
                       "category=hommes", data=data_copy, params=params, date="2021-12-13")
    with (data_copy / PC / "patients.csv").open("a", encoding="utf-8") as handle:
        handle.write("4,OCC,2021-11,hommes,\n")
    assert _check(capsys, data=data_copy, params=params, date="2021-12-13") == (0, [])


def test_milestones_after_the_report_date_are_not_shown(data_copy):
    with (data_copy / PC / "milestones.csv").open("a", encoding="utf-8") as handle:
        handle.write("2099-01-01,,Futur,Jalon futur,Ne doit pas paraître\n")
    data = load_post_covid(data_copy)
    assert "Jalon futur" in set(data.milestones["title"])
    shown = data.as_of(dt.date(2021, 11, 15)).milestones
    assert "Jalon futur" not in set(shown["title"])
    assert len(shown) == len(data.milestones) - 1


def test_no_milestone_before_the_report_date_is_refused(tmp_path, data_copy, capsys):
    (data_copy / PC / "milestones.csv").write_text("date,date_label,actor,title,what\n"
                                                   "2099-01-01,,Futur,Jalon futur,Plus tard\n", encoding="utf-8")
    _one_error(capsys, "milestones.csv: field 'date': no milestone dated on or before the report date 2021-11-15",
               data=data_copy)


# --------------------------------------------------------------------------- notebook_parameters

def test_notebook_parameters_fill_from_the_params_file():
    got = notebook_parameters("post_covid", "2021-11-15")
    assert got == {"report_date": "2021-11-15", "data_dir": str(DATA.resolve()), "wave": 3,
                   "months": ["2021-08", "2021-09"], "issuer": "Ministère des Solidarités et de la Santé",
                   "region": None}
    assert notebook_parameters("catalogue", "2020-12-08") == {
        "report_date": "2020-12-08", "data_dir": str(DATA.resolve()), "region": "OCC", "issuer": "ARS Occitanie"}


def test_notebook_parameters_do_not_depend_on_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert notebook_parameters("post_covid", "2021-11-15")["wave"] == 3


def test_notebook_parameters_accept_agreeing_values():
    got = notebook_parameters("post_covid", "2021-11-15", wave=3, months=("2021-08", "2021-09"), issuer=None)
    assert got["wave"] == 3


@pytest.mark.parametrize("given, expected", [
    ({"wave": 4}, "parameter 'wave' = 4 disagrees with params/2021-11-15.yaml (wave: 3)"),
    ({"months": ["2021-09"]}, "parameter 'months' = ['2021-09'] disagrees with params/2021-11-15.yaml "
                              "(months: ['2021-08', '2021-09'])"),
    ({"issuer": "ARS Bretagne"}, "parameter 'issuer' = 'ARS Bretagne' disagrees with params/2021-11-15.yaml"),
])
def test_notebook_parameters_refuse_disagreeing_values(given, expected):
    with pytest.raises(ParamsError) as info:
        notebook_parameters("post_covid", "2021-11-15", **given)
    assert len(info.value.problems) == 1
    assert expected in str(info.value)


def test_notebook_parameters_refuse_a_date_without_params_file():
    with pytest.raises(ParamsError, match=r"2021-12-13\.yaml: file not found \(expected a params file"):
        notebook_parameters("post_covid", "2021-12-13", wave=3)


def test_notebook_parameters_region_of_a_post_covid_deck():
    assert notebook_parameters("post_covid", "2021-11-15", region="OCC")["region"] == "OCC"
    with pytest.raises(ParamsError, match=r"field 'region': unknown region 'XYZ' \(expected None for the national "
                                          r"deck or one of ARA, "):
        notebook_parameters("post_covid", "2021-11-15", region="XYZ")


def test_notebook_parameters_refuse_unknown_deck_and_parameter():
    with pytest.raises(ParamsError, match="unknown deck 'bilan'"):
        notebook_parameters("bilan", "2021-11-15")
    with pytest.raises(ParamsError, match="field 'vague': unknown parameter of deck post_covid"):
        notebook_parameters("post_covid", "2021-11-15", vague=3)


def test_notebook_parameters_check_the_data(data_copy, params_copy):
    _edit(data_copy / PC / "patients.csv", "3,IDF,2021-08,hommes,54", "3,IDF,2021-08,hommes,-54")
    with pytest.raises(ParamsError, match=r"patients\.csv:45: field 'patients': expected an integer ≥ 0 of at most 9 digits, got '-54'"):
        notebook_parameters("post_covid", "2021-11-15", params_dir=params_copy, data_dir=data_copy)


def test_issuer_longer_than_a_header_is_refused(tmp_path, capsys):
    params = _params(tmp_path, POST_COVID_PARAMS + "  issuer: " + "Ministère " * 30 + "\n")
    _one_error(capsys, "2021-11-15.yaml:4: field 'issuer': expected the issuing body as text of at most 200 "
                       "characters", params=params)


def test_symlink_loop_is_one_line(data_copy, capsys):
    path = data_copy / PC / "cells.csv"
    path.unlink()
    path.symlink_to(path)
    code, lines = _check(capsys, data=data_copy)
    assert code == 1 and len(lines) == 1, lines
    assert "cells.csv: cannot be read: " in lines[0]
    assert "symlink loop" in lines[0] or "Too many levels of symbolic links" in lines[0]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_ends_keep_their_line_numbers(data_copy, capsys, newline):
    path = data_copy / PC / "patients.csv"
    text = path.read_text(encoding="utf-8").replace("3,IDF,2021-08,hommes,54", "3,IDF,2021-08,hommes,x")
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    _one_error(capsys, "patients.csv:45: field 'patients': expected an integer ≥ 0 of at most 9 digits, got 'x'", data=data_copy)
