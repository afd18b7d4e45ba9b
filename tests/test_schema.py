"""Table Schemas are checked as schemas before they are used, and ``check`` enforces every one the decks declare.

Each test writes its own hostile schema into a copy of ``data/`` and asserts on what the user sees: the
``error:`` lines of ``esante-report check`` (in process through ``cli.main``, so a traceback fails the
test, or in a subprocess for the command as an analyst runs it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from esante_report.cli.main import main
from esante_report.errors import ProblemList
from esante_report.contracts.schema import validate_table

from .conftest import PARAMS, ROOT

PATIENTS_SCHEMA = Path("post_covid") / "patients.schema.json"


def _check(capsys, data: Path, date: str = "2021-11-15") -> tuple[int, list[str]]:
    code = main(["check", "--date", date, "--data", str(data), "--params", str(PARAMS)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert all(line.startswith("error: ") for line in lines), err
    return code, lines


def _one_error(capsys, data: Path, date: str = "2021-11-15") -> str:
    code, lines = _check(capsys, data, date)
    assert code == 1 and len(lines) == 1, lines
    return lines[0]


def _edit_schema(data: Path, table: Path, change) -> Path:
    path = data / table
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return path


def _field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_a_misspelt_key_is_refused_naming_the_nearest_valid_key(data_copy, capsys):
    def typo(schema):
        patients = _field(schema, "patients")
        patients["contraints"] = patients.pop("constraints")
    _edit_schema(data_copy, PATIENTS_SCHEMA, typo)
    line = _one_error(capsys, data_copy)
    assert "patients.schema.json: field 'patients': unknown key 'contraints'" in line
    assert "did you mean 'constraints'?" in line


@pytest.mark.parametrize("where, key, value, nearest", [
    ("type", "type", "intger", "did you mean 'integer'?"),
    ("constraint", "maximun", 10, "did you mean 'maximum'?"),
])
def test_a_misspelt_type_or_constraint_is_refused_naming_the_nearest(data_copy, capsys, where, key, value, nearest):
    def typo(schema):
        patients = _field(schema, "patients")
        if where == "type":
            patients["type"] = value
        else:
            patients["constraints"][key] = value
    _edit_schema(data_copy, PATIENTS_SCHEMA, typo)
    line = _one_error(capsys, data_copy)
    assert "patients.schema.json: field 'patients':" in line and nearest in line


def test_frictionless_descriptive_properties_stay_allowed_and_the_rules_beside_them_apply(data_copy, capsys):
    def describe(schema):
        schema["$schema"] = "https://datapackage.org/profiles/2.0/tableschema.json"
        schema["description"] = "Patients pris en charge"
        _field(schema, "patients").update({"title": "Patients", "example": "12",
                                            "rdfType": "https://schema.org/Number"})
        _field(schema, "patients")["constraints"]["maximum"] = 10
    _edit_schema(data_copy, PATIENTS_SCHEMA, describe)
    code, lines = _check(capsys, data_copy)
    assert code == 1 and lines
    assert all(f"{data_copy / 'post_covid' / 'patients.csv'}:" in line and "from 0 to 10" in line for line in lines)


@pytest.mark.parametrize("resource", ["../../../../../../../../etc/passwd", "/etc/passwd", "SECRET_ABSOLUTE",
                                      "../secret.csv"])
def test_a_foreign_key_leaving_the_data_folder_is_refused_unread(data_copy, capsys, tmp_path, resource):
    secret = tmp_path / "secret.csv"
    secret.write_text("abbr\nSECRET-LINE-1\nSECRET-LINE-2\n", encoding="utf-8")
    resource = str(secret) if resource == "SECRET_ABSOLUTE" else resource

    def point_out(schema):
        schema["foreignKeys"][0]["reference"]["resource"] = resource
    _edit_schema(data_copy, PATIENTS_SCHEMA, point_out)
    line = _one_error(capsys, data_copy)
    assert "patients.schema.json: field 'foreignKeys':" in line and "leaves the data folder, refused" in line
    passwd = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()
    assert "SECRET-LINE" not in line
    assert not any(entry.split(":")[0] + ":" in line for entry in passwd if entry.strip())


def test_a_foreign_key_to_a_symlink_leaving_the_data_folder_is_refused_unread(data_copy, capsys, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("abbr\nSECRET-LINE-1\n", encoding="utf-8")
    (data_copy / "elsewhere.csv").symlink_to(secret)

    def point_out(schema):
        schema["foreignKeys"][0]["reference"]["resource"] = "elsewhere.csv"
    _edit_schema(data_copy, PATIENTS_SCHEMA, point_out)
    line = _one_error(capsys, data_copy)
    assert "elsewhere.csv: symlink to a file outside the data folder, refused" in line
    assert "SECRET" not in line


@pytest.mark.parametrize("table, name, key, value, expected", [
    (PATIENTS_SCHEMA, "category", "enum", 5, "constraint 'enum' expects a non-empty list of values, got 5"),
    (PATIENTS_SCHEMA, "patients", "minimum", "abc", "constraint 'minimum' expects an integer (the field's type), "
                                                    "got the text 'abc'"),
    (PATIENTS_SCHEMA, "region", "maxLength", "5", "constraint 'maxLength' expects a whole number ≥ 0, got the "
                                                  "text '5'"),
    (PATIENTS_SCHEMA, "region", "minimum", 0, "constraint 'minimum' does not apply to a field of type 'string'"),
    (Path("post_covid") / "waves.schema.json", "cells_illustrative", "trueValues", 5,
     "'trueValues' expects a list of texts such as [\"oui\", \"1\"], got 5"),
])
def test_a_constraint_of_the_wrong_type_is_one_line(data_copy, capsys, table, name, key, value, expected):
    def wrong(schema):
        if key == "trueValues":
            _field(schema, name)[key] = value
        else:
            _field(schema, name).setdefault("constraints", {})[key] = value
    _edit_schema(data_copy, table, wrong)
    line = _one_error(capsys, data_copy)
    assert f"{table.name}: field {name!r}: {expected}" in line


def test_an_enum_given_as_a_text_is_refused_not_a_substring_test(data_copy, capsys):
    def as_text(schema):
        _field(schema, "category")["constraints"]["enum"] = "mineurs hommes femmes"
    _edit_schema(data_copy, PATIENTS_SCHEMA, as_text)
    line = _one_error(capsys, data_copy)
    assert "patients.schema.json: field 'category': constraint 'enum' expects a non-empty list of values, got " \
           "the text 'mineurs hommes femmes'" in line


def test_a_schema_nested_hundreds_of_thousands_deep_is_one_line(data_copy, capsys):
    (data_copy / PATIENTS_SCHEMA).write_text("[" * 300_000 + "]" * 300_000, encoding="utf-8")
    line = _one_error(capsys, data_copy)
    assert "patients.schema.json:1: nested deeper than 10 levels" in line


def _alarm(signum, frame):
    raise TimeoutError("the pattern took more than 10 s")


def test_a_pattern_with_catastrophic_backtracking_completes(tmp_path):
    (tmp_path / "codes.csv").write_text("code\n" + "A" * 31 + "!\nAAA\n", encoding="utf-8")
    (tmp_path / "codes.schema.json").write_text(json.dumps({"fields": [
        {"name": "code", "type": "string", "constraints": {"pattern": "(A+)+$"}}]}), encoding="utf-8")
    problems = ProblemList()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(10)
    try:
        ok = validate_table(tmp_path / "codes.csv", tmp_path, problems)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    # the pattern matches the whole value: 'A…A!' is refused, 'AAA' accepted
    assert not ok and [str(p).split(": ", 1)[1] for p in problems] == [
        f"field 'code': expected text matching (A+)+$, got {'A' * 31 + '!'!r}"]
    assert str(problems[0]).startswith(f"{tmp_path / 'codes.csv'}:2:")


def test_a_maximum_added_to_patients_schema_is_enforced_by_check(data_copy):
    def at_most_ten(schema):
        _field(schema, "patients")["constraints"]["maximum"] = 10
    _edit_schema(data_copy, PATIENTS_SCHEMA, at_most_ten)
    result = subprocess.run([sys.executable, "-m", "esante_report", "check", "--date", "2021-11-15", "--data",
                             str(data_copy), "--params", str(PARAMS)], capture_output=True, text=True, cwd=ROOT,
                            timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    patients = (data_copy / "post_covid" / "patients.csv").read_text(encoding="utf-8").splitlines()
    first = next(n for n, row in enumerate(patients, 1) if n > 1 and row.split(",")[-1].isdigit()
                 and int(row.split(",")[-1]) > 10)
    assert (f"error: {data_copy / 'post_covid' / 'patients.csv'}:{first}: field 'patients': expected an integer "
            f"from 0 to 10, got {patients[first - 1].split(',')[-1]!r}") in result.stderr.splitlines()


def test_regions_without_a_schema_beside_them_are_checked_against_the_toolkits(data_copy, capsys):
    from esante_report.contracts.schema import _REGIONS_SCHEMA

    assert _REGIONS_SCHEMA.read_bytes() == (ROOT / "data" / "regions.schema.json").read_bytes()
    (data_copy / "regions.schema.json").unlink()
    regions = data_copy / "regions.csv"
    regions.write_text(regions.read_text(encoding="utf-8").replace("76,OCC,", "7x,OCC,"), encoding="utf-8")
    line = _one_error(capsys, data_copy)
    assert f"{regions}:" in line and "field 'code': expected text matching [0-9]{2}, got '7x'" in line
