"""The ARS survey as spreadsheets: one form out per region, the returned forms merged into the data.

:func:`write_forms` writes one ``.xlsx`` per region (openpyxl): a header block,
a patients grid month × category that accepts only whole numbers ≥ 0 or a blank
(Excel data validation; a blank is "non renseigné"), the cells status as a
drop-down list and the number of cells, a protected structure where only the
input cells can be edited, and an instructions sheet in French. A very hidden
sheet ``_meta`` carries what the import needs (wave, region, months and the
address of every input cell), so the import never relies on visible text.

:func:`import_forms` reads returned forms, checks every value and merges them
into ``post_covid/patients.csv`` and ``cells.csv``. Any problem means nothing is
written; otherwise both files are rewritten atomically in the contract's order.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..._rewrite import Pending, RawCsv, commit, csv_text, read_raw_csv
from ...errors import DataError, Problem, _display_path
from ...fmt import fmt_month
from .data import CATEGORIES, SUBDIR, PostCovidData, load_post_covid

__all__ = ["FormProblem", "FormReturn", "RegionImport", "write_forms", "read_form", "import_forms",
           "form_name", "parse_months", "STATUS_CHOICES", "SHEET_PATIENTS", "SHEET_CELLS", "SHEET_META"]

SHEET_INSTRUCTIONS = "Instructions"
SHEET_PATIENTS = "Patients"
SHEET_CELLS = "Cellules"
SHEET_META = "_meta"
FORM_KIND = "esante-report post_covid survey form"
FORM_VERSION = 1

#: status code → the French label of the drop-down list (the legend of the source's map)
STATUS_CHOICES = {
    "confirmees": "Région avec cellules confirmées",
    "en_cours": "Région en cours de remontée",
    "non_mise_en_place": "Région ne mettant pas en place les cellules",
    "en_attente": "Région en attente de réponse",
}
_CATEGORY_LABELS = {"mineurs": "Mineurs", "hommes": "Hommes", "femmes": "Femmes"}
_MONTH_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_INPUT_FILL = "FFF5D6"


@dataclass(frozen=True)
class FormProblem(Problem):
    """A problem in a returned form: ``file.xlsx: sheet 'Patients'!C7: field 'x': ...``."""

    where: str | None = None

    def __str__(self) -> str:
        text = _display_path(self.path)
        if self.where:
            text += f": {self.where}"
        if self.field:
            text += f": field {self.field!r}"
        return f"{text}: {self.message}"


def _problem(path: Path, message: str, *, sheet: str | None = None, cell: str | None = None,
             field: str | None = None) -> FormProblem:
    where = None
    if sheet:
        where = f"sheet {sheet!r}" + (f"!{cell}" if cell else "")
    return FormProblem(path, None, field, message, where)


def parse_months(text: str) -> list[str]:
    """``'2021-10,2021-11'`` → ``['2021-10', '2021-11']``; ValueError names what was expected."""
    months = [m.strip() for m in str(text).split(",") if m.strip()]
    if not months:
        raise ValueError("expected months YYYY-MM separated by commas, e.g. 2021-10,2021-11")
    for month in months:
        if not _MONTH_RE.fullmatch(month):
            raise ValueError(f"expected a month YYYY-MM, got {month!r}")
    if len(set(months)) != len(months):
        raise ValueError(f"expected each month once, got {','.join(months)}")
    return months


def form_name(wave: int, region: str) -> str:
    """File name of a region's form: ``enquete-4-OCC.xlsx``."""
    return f"enquete-{wave}-{region}.xlsx"


# --------------------------------------------------------------------------- forms out

def _wave_row(data: PostCovidData, wave: int, data_dir: Path) -> Any:
    waves = sorted(int(w) for w in data.waves["wave"])
    if wave not in waves:
        raise DataError([Problem(Path(data_dir) / SUBDIR / "waves.csv", None, "wave",
                                 f"unknown wave {wave} (expected one of {', '.join(map(str, waves))}; "
                                 "'esante-report new --date YYYY-MM-DD' adds the next one)")])
    return data.wave(wave)


def _form_workbook(*, wave: int, label: str, region: dict[str, str], months: list[str]) -> bytes:
    """The form of one region as .xlsx bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    bold = Font(bold=True)
    title_font = Font(bold=True, size=14, color="000091")
    fill = PatternFill("solid", start_color=_INPUT_FILL, end_color=_INPUT_FILL)
    unlocked = Protection(locked=False)
    thin = Side(style="thin", color="929292")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    region_text = f"{region['name']} ({region['abbr']}, code INSEE {region['code']})"
    months_text = ", ".join(fmt_month(m) for m in months)
    fields: list[tuple[str, str, str]] = []   # (field key, sheet, cell)

    wb = Workbook()
    ins = wb.active
    ins.title = SHEET_INSTRUCTIONS
    pat = wb.create_sheet(SHEET_PATIENTS)
    cel = wb.create_sheet(SHEET_CELLS)
    meta = wb.create_sheet(SHEET_META)

    def header(ws, title: str) -> None:
        ws["A1"] = title
        ws["A1"].font = title_font
        for row, (key, value) in enumerate((("Région", region_text), ("Enquête", f"{label} (vague {wave})"),
                                            ("Mois", months_text)), start=2):
            ws.cell(row, 1, key).font = bold
            ws.cell(row, 2, value)
        ws.column_dimensions["A"].width = 42

    # Patients: header block rows 1-4, grid header row 6, one row per month from row 7
    header(pat, "Patients post-COVID en situation complexe pris en charge")
    pat.cell(6, 1, "Mois").font = bold
    for j, category in enumerate(CATEGORIES, start=2):
        pat.cell(6, j, _CATEGORY_LABELS[category]).font = bold
        pat.column_dimensions[pat.cell(6, j).column_letter].width = 14
    whole = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                           showErrorMessage=True, errorStyle="stop", errorTitle="Valeur refusée",
                           error="Saisir un nombre entier positif ou nul, ou laisser vide (non renseigné).",
                           showInputMessage=True, promptTitle="Nombre de patients",
                           prompt="Nombre entier ≥ 0. Laisser vide si la donnée n'est pas connue.")
    pat.add_data_validation(whole)
    for i, month in enumerate(months):
        row = 7 + i
        pat.cell(row, 1, fmt_month(month))
        for j, category in enumerate(CATEGORIES, start=2):
            cell = pat.cell(row, j)
            cell.protection, cell.fill, cell.border = unlocked, fill, box
            whole.add(cell.coordinate)
            fields.append((f"patients {month} {category}", SHEET_PATIENTS, cell.coordinate))
    note = 7 + len(months) + 1
    pat.cell(note, 1, "Case vide = non renseigné (jamais comptée comme 0). Saisir 0 seulement si aucun patient.")
    pat.cell(note, 1).alignment = Alignment(wrap_text=False)

    # Cells: header block, status drop-down (B6) and number of cells (B7)
    header(cel, "Cellules de coordination post-COVID")
    cel.column_dimensions["B"].width = 46
    cel.cell(6, 1, "Statut de la région").font = bold
    cel.cell(7, 1, "Nombre de cellules identifiées").font = bold
    status = DataValidation(type="list", formula1='"' + ",".join(STATUS_CHOICES.values()) + '"',
                            allow_blank=True, showErrorMessage=True, errorStyle="stop",
                            errorTitle="Statut refusé", error="Choisir un statut dans la liste.",
                            showInputMessage=True, promptTitle="Statut", prompt="Choisir dans la liste.")
    cells_dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                              showErrorMessage=True, errorStyle="stop", errorTitle="Valeur refusée",
                              error="Saisir un nombre entier positif ou nul, ou laisser vide (non renseigné).")
    cel.add_data_validation(status)
    cel.add_data_validation(cells_dv)
    for coord, dv, key in (("B6", status, "status"), ("B7", cells_dv, "cells")):
        cel[coord].protection, cel[coord].fill, cel[coord].border = unlocked, fill, box
        dv.add(coord)
        fields.append((key, SHEET_CELLS, coord))

    # Instructions, in French
    ins.column_dimensions["A"].width = 105
    lines = [
        (f"{label} auprès des ARS — cellules de coordination post-COVID", title_font),
        (f"Région : {region_text}", bold),
        (f"Mois couverts : {months_text}", bold),
        ("", None),
        ("1. Onglet « Patients » : pour chaque mois, saisir le nombre de patients post-COVID en situation "
         "complexe pris en charge, par catégorie (mineurs, hommes, femmes).", None),
        ("2. Saisir uniquement des nombres entiers positifs ou nuls, sans décimale ni texte.", None),
        ("3. Laisser la case vide si la donnée n'est pas connue : une case vide signifie « non renseigné » "
         "et n'est jamais comptée comme 0. Saisir 0 seulement si aucun patient n'a été pris en charge.", None),
        ("4. Onglet « Cellules » : choisir le statut de la région dans la liste déroulante et indiquer le "
         "nombre de cellules de coordination identifiées.", None),
        ("5. Seules les cases colorées sont modifiables. Le formulaire est propre à cette région et à cette "
         "enquête : ne pas le réutiliser pour une autre région ou une autre enquête.", None),
        ("6. Enregistrer au format Excel (.xlsx), depuis Excel ou LibreOffice, et renvoyer le fichier.", None),
    ]
    for row, (text, font) in enumerate(lines, start=1):
        cell = ins.cell(row, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ins.row_dimensions[row].height = 16 * max(1, -(-len(text) // 95))   # wrapped lines are not auto-sized
        if font is not None:
            cell.font = font

    # Machine-readable metadata, very hidden: what the import trusts
    rows = [("kind", FORM_KIND), ("version", FORM_VERSION), ("wave", wave), ("region", region["abbr"]),
            ("months", ",".join(months))] + [(f"field {key}", f"{sheet}!{coord}") for key, sheet, coord in fields]
    for row, (key, value) in enumerate(rows, start=1):
        meta.cell(row, 1, key)
        meta.cell(row, 2, value)
    meta.sheet_state = "veryHidden"

    for ws in (ins, pat, cel, meta):
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True   # printed: one page wide
        ws.protection.sheet = True
        ws.protection.formatCells = False  # column widths stay adjustable
    wb.active = 1
    wb.security = WorkbookProtection(lockStructure=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_forms(data_dir: Path, wave: int, months: list[str], out_dir: Path, *,
                regions: list[str] | None = None, force: bool = False) -> list[Path]:
    """Write one form per region (all of ``regions.csv`` unless ``regions``) into ``out_dir``.

    Refuses to overwrite an existing form unless ``force`` (a returned form may
    have been saved there), and writes nothing when any is refused.
    """
    data = load_post_covid(data_dir)
    row = _wave_row(data, wave, data_dir)
    in_data = sorted(set(data.patients.loc[data.patients["wave"] == wave, "month"]))
    if in_data and in_data != sorted(months):
        raise DataError([Problem(Path(data_dir) / SUBDIR / "patients.csv", None, "month",
                                 f"wave {wave} already covers {','.join(in_data)}, not {','.join(months)} "
                                 "(expected the same months for every region of a wave)")])
    known = list(data.regions["abbr"])
    chosen = known if not regions else regions
    unknown = [r for r in chosen if r not in known]
    if unknown:
        raise DataError([Problem(Path(data_dir) / "regions.csv", None, "region",
                                 f"unknown region {', '.join(map(repr, unknown))} (expected one of {', '.join(known)})")])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_abbr = data.regions.set_index("abbr")
    pending = []
    for abbr in chosen:
        region = {"abbr": abbr, "code": str(by_abbr.loc[abbr, "code"]), "name": str(by_abbr.loc[abbr, "name"])}
        content = _form_workbook(wave=wave, label=str(row["label"]), region=region, months=months)
        pending.append(Pending(out_dir / form_name(wave, abbr), content, must_not_exist=not force))
    commit(pending)
    return [p.path for p in pending]


# --------------------------------------------------------------------------- returns in

@dataclass(frozen=True)
class FormReturn:
    """The values of one returned form (None = left blank, "non renseigné")."""

    path: Path
    wave: int
    region: str
    months: tuple[str, ...]
    patients: dict[tuple[str, str], int | None]   # (month, category) → value
    status: str | None
    cells: int | None

    @property
    def filled(self) -> int:
        values = [*self.patients.values(), self.status, self.cells]
        return sum(v is not None for v in values)

    @property
    def inputs(self) -> int:
        return len(self.patients) + 2


def _shown(value: Any) -> str:
    """A cell value as the analyst saw it, for messages (French decimal comma)."""
    if isinstance(value, float):
        text = repr(value)
        text = text[:-2] if text.endswith(".0") else text
        return repr(text.replace(".", ","))
    if isinstance(value, (dt.datetime, dt.date)):
        return repr(value.isoformat())
    return repr(str(value))


def _whole(value: Any) -> int | None:
    """A typed whole number ≥ 0, or None for a blank; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    expected = f"expected a whole number ≥ 0 or an empty cell, got {_shown(value)}"
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime, dt.time)):
        raise ValueError(expected)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(expected)
        return value
    if isinstance(value, float):
        if value != value or not value.is_integer() or value < 0:
            raise ValueError(expected)
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    raise ValueError(expected)


def _status(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    for code, label in STATUS_CHOICES.items():
        if text.casefold() in (code.casefold(), label.casefold()):
            return code
    raise ValueError(f"expected one of the statuses of the drop-down list ({'; '.join(STATUS_CHOICES.values())}), "
                     f"got {_shown(value)}")


def _load_books(path: Path):
    """The workbook twice: computed values, and formulas (to tell a blank from an uncomputed formula)."""
    from openpyxl import load_workbook

    with warnings.catch_warnings():   # openpyxl warns about extensions it ignores (LibreOffice, Excel add-ins)
        warnings.simplefilter("ignore")
        return load_workbook(path, data_only=True), load_workbook(path, data_only=False)


def read_form(path: Path, problems: list[Problem]) -> FormReturn | None:
    """Read one returned form; every problem is appended (one per cell), None when unusable."""
    path = Path(path)
    if not path.is_file():
        problems.append(_problem(path, "file not found (expected a form written by survey-form)"))
        return None
    try:
        values_book, formula_book = _load_books(path)
    except Exception as exc:  # an untrusted file: whatever openpyxl raises, it is not a form we can read
        problems.append(_problem(path, f"not a readable Excel workbook (.xlsx): {type(exc).__name__}; "
                                 "expected a form written by survey-form, saved as .xlsx"))
        return None
    if SHEET_META not in values_book.sheetnames:
        problems.append(_problem(path, f"not a survey form (no hidden sheet {SHEET_META!r}); "
                                 "expected a form written by survey-form"))
        return None
    meta: dict[str, Any] = {}
    for key, value, *_ in values_book[SHEET_META].iter_rows(min_col=1, max_col=2, values_only=True):
        if key is not None:
            meta[str(key)] = value
    before = len(problems)
    if meta.get("kind") != FORM_KIND or meta.get("version") != FORM_VERSION:
        problems.append(_problem(path, f"not a survey form of this version (expected kind {FORM_KIND!r}, "
                                 f"version {FORM_VERSION})", sheet=SHEET_META))
        return None
    wave = meta.get("wave")
    if not isinstance(wave, int) or isinstance(wave, bool):
        problems.append(_problem(path, f"expected a wave number, got {wave!r}", sheet=SHEET_META, field="wave"))
    region = meta.get("region")
    if not isinstance(region, str) or not region:
        problems.append(_problem(path, f"expected a region abbreviation, got {region!r}", sheet=SHEET_META,
                                 field="region"))
    try:
        months = parse_months(meta.get("months") or "")
    except ValueError as exc:
        problems.append(_problem(path, str(exc), sheet=SHEET_META, field="months"))
        months = []
    if len(problems) > before:
        return None

    def cell(key: str) -> tuple[str, str, Any, Any] | None:
        address = meta.get(f"field {key}")
        match = re.fullmatch(r"([^!]+)!([A-Z]{1,3}[1-9]\d*)", str(address or ""))
        if not match or match.group(1) not in values_book.sheetnames:
            problems.append(_problem(path, f"the form's metadata has no valid cell for {key!r}; "
                                     "expected a form written by survey-form", sheet=SHEET_META))
            return None
        sheet, coord = match.groups()
        return sheet, coord, values_book[sheet][coord].value, formula_book[sheet][coord].value

    def value_of(key: str, label: str, parse) -> Any:
        found = cell(key)
        if found is None:
            return None
        sheet, coord, value, formula = found
        if value is None and isinstance(formula, str) and formula.startswith("="):
            problems.append(_problem(path, f"a formula without a computed value ({formula!r}); expected a typed "
                                     "value (or open and save the file in Excel or LibreOffice)",
                                     sheet=sheet, cell=coord, field=label))
            return None
        try:
            return parse(value)
        except ValueError as exc:
            problems.append(_problem(path, str(exc), sheet=sheet, cell=coord, field=label))
            return None

    patients = {(m, c): value_of(f"patients {m} {c}", f"{c} {m}", _whole) for m in months for c in CATEGORIES}
    status = value_of("status", "status", _status)
    cells = value_of("cells", "cells", _whole)
    if cells is not None and status is None and len(problems) == before:
        sheet, coord = str(meta.get("field status")).split("!")
        problems.append(_problem(path, f"empty, but the number of cells is filled ({cells}); expected a status "
                                 "from the drop-down list", sheet=sheet, cell=coord, field="status"))
    if len(problems) > before:
        return None
    return FormReturn(path, wave, region, tuple(months), patients, status, cells)


# --------------------------------------------------------------------------- merge

@dataclass(frozen=True)
class RegionImport:
    """What one form did: ``state`` is new, unchanged, updated or "empty form, not imported";
    ``changes`` lists old → new values."""

    path: Path
    wave: int
    region: str
    name: str
    state: str
    filled: int
    inputs: int
    changes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"wave {self.wave} {self.region} ({self.name}): {self.state}, "
                f"{self.filled} of {self.inputs} input cells filled ({_display_path(self.path)})")


def _text(value: int | str | None) -> str:
    return "empty" if value is None else str(value)


def _old_values(data: PostCovidData, ret: FormReturn):
    p = data.patients
    rows = p[(p["wave"] == ret.wave) & (p["region"] == ret.region) & (p["month"].isin(ret.months))]
    old_patients = {(r.month, r.category): None if pd.isna(r.patients) else int(r.patients)
                    for r in rows.itertuples()}
    c = data.cells
    crow = c[(c["wave"] == ret.wave) & (c["region"] == ret.region)]
    old_cells = None
    if len(crow):
        r = crow.iloc[0]
        old_cells = (r["status"], None if pd.isna(r["cells"]) else int(r["cells"]))
    return old_patients, old_cells


def _changes(data: PostCovidData, ret: FormReturn) -> tuple[bool, list[str]]:
    """(anything already imported?, the differences old → new)."""
    old_patients, old_cells = _old_values(data, ret)
    changes = []
    for (month, category), new in ret.patients.items():
        old = old_patients.get((month, category))
        if (month, category) in old_patients and old != new:
            changes.append(f"{category} {month}: {_text(old)} → {_text(new)}")
    new_cells = None if ret.status is None and ret.cells is None else (ret.status, ret.cells)
    if old_cells != new_cells:
        if old_cells is None or new_cells is None:
            if old_cells is not None or old_patients:
                changes.append(f"cells row: {'absent' if old_cells is None else ', '.join(map(_text, old_cells))}"
                               f" → {'absent' if new_cells is None else ', '.join(map(_text, new_cells))}")
        else:
            for label, old, new in (("status", old_cells[0], new_cells[0]), ("cells", old_cells[1], new_cells[1])):
                if old != new:
                    changes.append(f"{label}: {_text(old)} → {_text(new)}")
    return bool(old_patients) or old_cells is not None, changes


def _merge(raw_patients: RawCsv, raw_cells: RawCsv, returns: list[FormReturn],
           data: PostCovidData) -> tuple[str, str]:
    order = {abbr: i for i, abbr in enumerate(data.regions["abbr"])}
    cat_order = {c: i for i, c in enumerate(CATEGORIES)}
    replaced = {(r.wave, r.region, m) for r in returns for m in r.months}
    raw_patients.rows = [row for row in raw_patients.rows
                         if (int(row["wave"]), row["region"], row["month"]) not in replaced]
    for ret in returns:
        for (month, category), value in ret.patients.items():
            raw_patients.rows.append({"wave": str(ret.wave), "region": ret.region, "month": month,
                                      "category": category, "patients": "" if value is None else str(value)})
    returned = {(r.wave, r.region) for r in returns}
    raw_cells.rows = [row for row in raw_cells.rows if (int(row["wave"]), row["region"]) not in returned]
    for ret in returns:
        if ret.status is not None:
            raw_cells.rows.append({"wave": str(ret.wave), "region": ret.region, "status": ret.status,
                                   "cells": "" if ret.cells is None else str(ret.cells)})
    patients_text = csv_text(raw_patients, lambda r: (int(r["wave"]), order.get(r["region"], len(order)),
                                                      r["month"], cat_order.get(r["category"], 9)))
    cells_text = csv_text(raw_cells, lambda r: (int(r["wave"]), order.get(r["region"], len(order))))
    return patients_text, cells_text


def import_forms(paths: list[Path], data_dir: Path, *, wave: int | None = None, replace: bool = False,
                 dry_run: bool = False) -> tuple[list[RegionImport], list[Path]]:
    """Check the returned forms and merge them into ``patients.csv`` and ``cells.csv``.

    Returns (one :class:`RegionImport` per form, the files rewritten — or that
    would be, with ``dry_run``). Raises :class:`DataError` listing every
    problem; then nothing is written.
    """
    data_dir = Path(data_dir)
    data = load_post_covid(data_dir)
    waves_path = data_dir / SUBDIR / "waves.csv"
    known_waves = sorted(int(w) for w in data.waves["wave"])
    names = dict(zip(data.regions["abbr"], data.regions["name"]))
    problems: list[Problem] = []
    if not paths:
        raise DataError([Problem("survey-import", None, None, "no form given (expected .xlsx files or a folder)")])
    returns: list[FormReturn] = []
    for path in paths:
        ret = read_form(Path(path), problems)
        if ret is None:
            continue
        ok = True
        if ret.wave not in known_waves:
            problems.append(_problem(ret.path, f"form of wave {ret.wave}, unknown in {_display_path(waves_path)} "
                                     f"(expected one of {', '.join(map(str, known_waves))})", field="wave"))
            ok = False
        elif wave is not None and ret.wave != wave:
            problems.append(_problem(ret.path, f"form of wave {ret.wave}, expected wave {wave} (--wave {wave})",
                                     field="wave"))
            ok = False
        if ret.region not in names:
            problems.append(_problem(ret.path, f"unknown region {ret.region!r} (expected one of {', '.join(names)})",
                                     field="region"))
            ok = False
        if ok:
            returns.append(ret)

    seen: dict[tuple[int, str], FormReturn] = {}
    for ret in returns:
        key = (ret.wave, ret.region)
        if key in seen:
            problems.append(_problem(ret.path, f"second form for region {ret.region} wave {ret.wave}, already given "
                                     f"by {_display_path(seen[key].path)} (expected one form per region)",
                                     field="region"))
        else:
            seen[key] = ret
    months_of_wave: dict[int, tuple[str, ...]] = {}
    for ret in returns:
        in_data = tuple(sorted(set(data.patients.loc[data.patients["wave"] == ret.wave, "month"])))
        expected = months_of_wave.setdefault(ret.wave, in_data or tuple(sorted(ret.months)))
        if tuple(sorted(ret.months)) != expected:
            problems.append(_problem(ret.path, f"form for months {','.join(ret.months)}, but wave {ret.wave} "
                                     f"covers {','.join(expected)} (expected the same months for every region)",
                                     field="months"))

    results: list[RegionImport] = []
    for ret in returns:
        if ret.filled == 0:   # a form sent back blank (or the outgoing copy): never turns into blank rows
            results.append(RegionImport(ret.path, ret.wave, ret.region, names[ret.region], "empty form, not imported",
                                        0, ret.inputs))
            continue
        imported, changes = _changes(data, ret)
        state = "new" if not imported else ("updated" if changes else "unchanged")
        if changes and not replace:
            shown = "; ".join(changes[:3]) + ("; …" if len(changes) > 3 else "")
            problems.append(_problem(ret.path, f"region {ret.region} wave {ret.wave} already imported with other "
                                     f"values ({len(changes)} change{'s' * (len(changes) > 1)}: {shown}); "
                                     "run again with --replace to overwrite them", field="region"))
        results.append(RegionImport(ret.path, ret.wave, ret.region, names[ret.region], state, ret.filled,
                                    ret.inputs, changes))
    if problems:
        raise DataError(problems)

    files = {"patients": data_dir / SUBDIR / "patients.csv", "cells": data_dir / SUBDIR / "cells.csv"}
    raw_patients, raw_cells = read_raw_csv(files["patients"]), read_raw_csv(files["cells"])
    patients_text, cells_text = _merge(raw_patients, raw_cells, [r for r in returns if r.filled], data)
    pending = [Pending(path, text) for path, text in ((files["patients"], patients_text), (files["cells"], cells_text))
               if path.read_text(encoding="utf-8") != text]
    if not dry_run:
        commit(pending)
    return results, [p.path for p in pending]
