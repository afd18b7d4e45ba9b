"""The ARS survey as spreadsheets: one form out per region, the returned forms merged into the data.

:func:`write_forms` writes one ``.xlsx`` per region (openpyxl): a header block,
a patients grid month × category that accepts only whole numbers ≥ 0 or a blank
(Excel data validation; a blank is "non renseigné"), the cells status as a
drop-down list and the number of cells, a protected structure where only the
input cells can be edited, and an instructions sheet in French. A very hidden
sheet ``_meta`` carries what the import needs (wave, region, months and the
address of every input cell); the import checks that it describes the form the
file shows (layout, file name, header block) and refuses a form that disagrees.

:func:`import_forms` reads returned forms (zip checked first, one read-only load,
only the layout's cells), checks every value with the data contract's own parsers
and merges them into ``post_covid/patients.csv`` and ``cells.csv``. Any problem
means nothing is written; otherwise both files are rewritten atomically in the
contract's order.
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

from esante_report.contracts.readers import MAX_INT_DIGITS, OutOfBounds, parse_int_ge0, parse_month
from esante_report.contracts.rewrite import Pending, RawCsv, commit, csv_text, read_raw_csv
from esante_report.contracts.zipguard import zip_refusal
from ...errors import DataError, Problem, _clip, _display_path, _one_line, quote
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
_INPUT_FILL = "FFF5D6"
#: columns of the patients grid, one per category from B
_GRID_COLUMNS = "BCDEFGHIJ"[:len(CATEGORIES)]
#: most months one form asks for (a wave covers a few); bounds the cells a form is read for
MAX_FORM_MONTHS = 36
#: rows of the metadata sheet read: its fixed keys, one per input cell, and one more to see extra rows
_META_ROWS = 5 + len(CATEGORIES) * MAX_FORM_MONTHS + 2 + 1
#: a returned form's file name as survey-form wrote it (an ARS may add a suffix, or rename it)
_FORM_NAME = re.compile(r"enquete-([0-9]+)-([A-Za-z]+)(?![A-Za-z])", re.IGNORECASE)


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
        return f"{text}: {_clip(_one_line(self.message), 600)}"


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
    if len(months) > MAX_FORM_MONTHS:
        raise ValueError(f"expected at most {MAX_FORM_MONTHS} months, got {len(months):,}")
    for month in months:
        parse_month(month)   # the data contract's own rule (ASCII digits)
    if len(set(months)) != len(months):
        raise ValueError(f"expected each month once, got {','.join(months)}")
    return months


def form_name(wave: int, region: str) -> str:
    """File name of a region's form: ``enquete-4-OCC.xlsx``."""
    return f"enquete-{wave}-{region}.xlsx"


def _layout(months: list[str] | tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Field key → (sheet, cell) of every input cell of a form asking for ``months``.

    The form is written from it and the import recomputes it, so a metadata
    sheet pointing anywhere else is refused.
    """
    fields = {f"patients {month} {category}": (SHEET_PATIENTS, f"{_GRID_COLUMNS[j]}{7 + i}")
              for i, month in enumerate(months) for j, category in enumerate(CATEGORIES)}
    fields["status"] = (SHEET_CELLS, "B6")
    fields["cells"] = (SHEET_CELLS, "B7")
    return fields


def _region_text(region: dict[str, str]) -> str:
    return f"{region['name']} ({region['abbr']}, code INSEE {region['code']})"


def _header_rows(*, wave: int, label: str, region: dict[str, str], months: list[str] | tuple[str, ...]):
    """The visible header block of each data sheet: rows 2-4, (key in A, value in B)."""
    return (("Région", _region_text(region)), ("Enquête", f"{label} (vague {wave})"),
            ("Mois", ", ".join(fmt_month(m) for m in months)))


def _shown_cells(*, wave: int, label: str, region: dict[str, str],
                 months: list[str] | tuple[str, ...]) -> dict[tuple[str, str], str]:
    """(sheet, cell) → the text a form shows there: header blocks, grid labels (what the import checks)."""
    shown: dict[tuple[str, str], str] = {}
    for sheet in (SHEET_PATIENTS, SHEET_CELLS):
        for row, (key, value) in enumerate(_header_rows(wave=wave, label=label, region=region, months=months),
                                           start=2):
            shown[(sheet, f"A{row}")], shown[(sheet, f"B{row}")] = key, value
    shown[(SHEET_PATIENTS, "A6")] = "Mois"
    for j, category in enumerate(CATEGORIES):
        shown[(SHEET_PATIENTS, f"{_GRID_COLUMNS[j]}6")] = _CATEGORY_LABELS[category]
    for i, month in enumerate(months):
        shown[(SHEET_PATIENTS, f"A{7 + i}")] = fmt_month(month)
    return shown


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
    region_text = _region_text(region)
    months_text = ", ".join(fmt_month(m) for m in months)
    layout = _layout(months)

    wb = Workbook()
    ins = wb.active
    ins.title = SHEET_INSTRUCTIONS
    pat = wb.create_sheet(SHEET_PATIENTS)
    cel = wb.create_sheet(SHEET_CELLS)
    meta = wb.create_sheet(SHEET_META)

    def header(ws, title: str) -> None:
        ws["A1"] = title
        ws["A1"].font = title_font
        for row, (key, value) in enumerate(_header_rows(wave=wave, label=label, region=region, months=months),
                                           start=2):
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
        for category in CATEGORIES:
            cell = pat[layout[f"patients {month} {category}"][1]]
            cell.protection, cell.fill, cell.border = unlocked, fill, box
            whole.add(cell.coordinate)
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
    for dv, key in ((status, "status"), (cells_dv, "cells")):
        coord = layout[key][1]
        cel[coord].protection, cel[coord].fill, cel[coord].border = unlocked, fill, box
        dv.add(coord)

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
            ("months", ",".join(months))] + [(f"field {key}", f"{sheet}!{coord}") for key, (sheet, coord) in layout.items()]
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
    """A cell value as the analyst saw it, for messages (French decimal comma), clipped (see ``quote``)."""
    if isinstance(value, float):
        text = repr(value)
        text = text[:-2] if text.endswith(".0") else text
        return quote(text.replace(".", ","))
    if isinstance(value, (dt.datetime, dt.date)):
        return quote(value.isoformat())
    return quote(value)


def _whole(value: Any) -> int | None:
    """A typed whole number ≥ 0 that the data contract accepts, or None for a blank; ValueError otherwise.

    The cell's value is turned into the text it would be in ``patients.csv`` and
    checked by the contract's own parser (ASCII digits, at most 9 of them): the
    import never writes what the loader refuses.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    expected = f"expected a whole number ≥ 0 or an empty cell, got {_shown(value)}"
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime, dt.time)):
        raise ValueError(expected)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
            raise ValueError(expected)
        text = str(int(value))   # 1e20 typed in a cell → '100000000000000000000', refused below
    else:
        text = str(value).strip()
    try:
        return parse_int_ge0(text)
    except OutOfBounds:
        raise ValueError(f"expected a whole number ≥ 0 of at most {MAX_INT_DIGITS} digits or an empty cell, "
                         f"got {_shown(value)}") from None
    except ValueError:
        raise ValueError(expected) from None


def _status(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    for code, label in STATUS_CHOICES.items():
        if text.casefold() in (code.casefold(), label.casefold()):
            return code
    raise ValueError(f"expected one of the statuses of the drop-down list ({'; '.join(STATUS_CHOICES.values())}), "
                     f"got {_shown(value)}")


class _Unreadable(Exception):
    """openpyxl failed on the file (it reads sheets lazily, so this can happen after loading)."""


@dataclass(frozen=True)
class _Cell:
    value: Any
    formula: bool


def _load_book(handle):
    """The workbook, loaded once in read-only mode (sheets are parsed lazily, row by row, when read)."""
    from openpyxl import load_workbook

    with warnings.catch_warnings():   # openpyxl warns about extensions it ignores (LibreOffice, Excel add-ins)
        warnings.simplefilter("ignore")
        return load_workbook(handle, read_only=True, data_only=False, keep_links=False)


def _grid(book, sheet: str, max_row: int, max_col: int) -> dict[str, _Cell]:
    """The cells A1 … (max_col, max_row) of ``sheet``: at most that many are read, whatever the sheet holds."""
    from openpyxl.utils import get_column_letter

    cells: dict[str, _Cell] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r, row in enumerate(book[sheet].iter_rows(min_row=1, max_row=max_row, min_col=1, max_col=max_col),
                                    start=1):
                for c, cell in enumerate(row, start=1):
                    value = getattr(cell, "value", None)
                    cells[f"{get_column_letter(c)}{r}"] = _Cell(value, getattr(cell, "data_type", None) == "f")
    except Exception as exc:  # an untrusted file: whatever openpyxl raises while parsing a sheet
        raise _Unreadable(type(exc).__name__) from None
    return cells


def read_form(path: Path, problems: list[Problem], data: PostCovidData | None = None) -> FormReturn | None:
    """Read one returned form; every problem is appended (one per cell), None when unusable.

    The zip is checked before any XML is parsed (:func:`~esante_report.contracts.zipguard.zip_refusal`),
    the workbook is loaded once, read-only, and only the cells of the form's layout are read.
    The metadata sheet must describe exactly the form the file shows: its cell addresses are
    those the layout of its months defines, its wave and region those of the file name (when it
    has survey-form's pattern) and, with ``data``, of the visible header block.
    """
    path = Path(path)
    if not path.is_file():
        problems.append(_problem(path, "file not found (expected a form written by survey-form)"))
        return None
    try:
        handle = open(path, "rb")   # one open file: the zip checked is the zip read
    except OSError as exc:
        problems.append(_problem(path, f"cannot be read: {exc.strerror or type(exc).__name__} "
                                 "(expected a form written by survey-form)"))
        return None
    with handle:
        refusal = zip_refusal(handle)
        if refusal:
            problems.append(_problem(path, f"{refusal}; expected a form written by survey-form"))
            return None
        try:
            book = _load_book(handle)
        except Exception as exc:  # an untrusted file: whatever openpyxl raises, it is not a form we can read
            problems.append(_problem(path, f"not a readable Excel workbook (.xlsx): {type(exc).__name__}; "
                                     "expected a form written by survey-form, saved as .xlsx"))
            return None
        try:
            return _read_book(path, book, problems, data)
        except _Unreadable as exc:
            problems.append(_problem(path, f"not a readable Excel workbook (.xlsx): {exc}; "
                                     "expected a form written by survey-form, saved as .xlsx"))
            return None
        finally:
            book.close()   # a read-only workbook keeps its zip open


def _read_book(path: Path, book, problems: list[Problem], data: PostCovidData | None) -> FormReturn | None:
    if SHEET_META not in book.sheetnames:
        problems.append(_problem(path, f"not a survey form (no hidden sheet {SHEET_META!r}); "
                                 "expected a form written by survey-form"))
        return None
    meta: dict[str, Any] = {}
    grid = _grid(book, SHEET_META, _META_ROWS, 2)
    for row in range(1, _META_ROWS + 1):
        key = grid.get(f"A{row}", _Cell(None, False)).value
        if key is not None:
            meta[str(key)] = grid[f"B{row}"].value if f"B{row}" in grid else None
    before = len(problems)
    if meta.get("kind") != FORM_KIND or meta.get("version") != FORM_VERSION:
        problems.append(_problem(path, f"not a survey form of this version (expected kind {FORM_KIND!r}, "
                                 f"version {FORM_VERSION})", sheet=SHEET_META))
        return None
    wave = meta.get("wave")
    if not isinstance(wave, int) or isinstance(wave, bool):
        problems.append(_problem(path, f"expected a wave number, got {_shown(wave)}", sheet=SHEET_META, field="wave"))
    region = meta.get("region")
    if not isinstance(region, str) or not region:
        problems.append(_problem(path, f"expected a region abbreviation, got {_shown(region)}", sheet=SHEET_META,
                                 field="region"))
    try:
        months = parse_months(meta.get("months") or "")
    except ValueError as exc:
        problems.append(_problem(path, str(exc), sheet=SHEET_META, field="months"))
        months = []
    if len(problems) > before:
        return None
    if data is not None and not _known(path, wave, region, data, problems):
        return None
    missing = [name for name in (SHEET_PATIENTS, SHEET_CELLS) if name not in book.sheetnames]
    if missing:
        problems.append(_problem(path, f"no sheet {missing[0]!r}; expected a form written by survey-form"))
        return None
    # the only cells read: the header blocks and the grid of the form's layout (a few dozen)
    sheets = {SHEET_PATIENTS: _grid(book, SHEET_PATIENTS, 6 + len(months), 1 + len(CATEGORIES)),
              SHEET_CELLS: _grid(book, SHEET_CELLS, 7, 2)}
    if not _metadata_matches(path, sheets, meta, wave, region, months, data, problems):
        return None

    layout = _layout(months)

    def value_of(key: str, label: str, parse) -> Any:
        sheet, coord = layout[key]
        cell = sheets[sheet].get(coord, _Cell(None, False))
        if cell.formula:
            problems.append(_problem(path, f"a formula ({_shown(cell.value)}), not a typed value; expected the value "
                                     "itself typed in the cell (copy the cell and paste it as a value)",
                                     sheet=sheet, cell=coord, field=label))
            return None
        try:
            return parse(cell.value)
        except ValueError as exc:
            problems.append(_problem(path, str(exc), sheet=sheet, cell=coord, field=label))
            return None

    patients = {(m, c): value_of(f"patients {m} {c}", f"{c} {m}", _whole) for m in months for c in CATEGORIES}
    status = value_of("status", "status", _status)
    cells = value_of("cells", "cells", _whole)
    if cells is not None and status is None and len(problems) == before:
        sheet, coord = layout["status"]
        problems.append(_problem(path, f"empty, but the number of cells is filled ({cells}); expected a status "
                                 "from the drop-down list", sheet=sheet, cell=coord, field="status"))
    if len(problems) > before:
        return None
    return FormReturn(path, wave, region, tuple(months), patients, status, cells)


def _known(path: Path, wave: int, region: str, data: PostCovidData, problems: list[Problem]) -> bool:
    """The form's wave and region exist in the data (one problem each otherwise)."""
    known_waves = sorted(int(w) for w in data.waves["wave"])
    names = list(data.regions["abbr"])
    ok = True
    if wave not in known_waves:
        waves_path = next(f for f in data.files if Path(f).name == "waves.csv")
        problems.append(_problem(path, f"form of wave {wave}, unknown in {_display_path(waves_path)} "
                                 f"(expected one of {', '.join(map(str, known_waves))})", field="wave"))
        ok = False
    if region not in names:
        problems.append(_problem(path, f"unknown region {_shown(region)} (expected one of {', '.join(names)})",
                                 field="region"))
        ok = False
    return ok


_TAMPERED = "refusing a form whose metadata was changed: use the form survey-form wrote for this region"


def _metadata_matches(path: Path, sheets: dict[str, dict[str, _Cell]], meta: dict[str, Any], wave: int, region: str, months: list[str],
                      data: PostCovidData | None, problems: list[Problem]) -> bool:
    """The metadata agrees with the form's layout, its file name and (with ``data``) what it shows; else one line."""
    expected = {f"field {key}": f"{sheet}!{coord}" for key, (sheet, coord) in _layout(months).items()}
    given = {key: value for key, value in meta.items() if key.startswith("field ")}
    for key, address in expected.items():
        if given.get(key) != address:
            problems.append(_problem(path, f"the metadata gives {_shown(given.get(key))} for {key[6:]!r}, but a form "
                                     f"for {','.join(months)} has it in {address}; {_TAMPERED}", sheet=SHEET_META))
            return False
    extra = sorted(set(given) - set(expected))
    if extra:
        problems.append(_problem(path, f"the metadata has an entry {_shown(extra[0])} that a form for "
                                 f"{','.join(months)} does not have; {_TAMPERED}", sheet=SHEET_META))
        return False
    match = _FORM_NAME.match(path.name)
    if match and (int(match.group(1)), match.group(2).upper()) != (wave, region.upper()):
        problems.append(_problem(path, f"the file name says wave {match.group(1)} region {match.group(2)}, but the "
                                 f"metadata says wave {wave} region {region}; {_TAMPERED}", sheet=SHEET_META))
        return False
    if data is None:
        return True
    by_abbr = data.regions.set_index("abbr")
    shown = _shown_cells(wave=wave, label=str(data.wave(wave)["label"]),
                         region={"abbr": region, "code": str(by_abbr.loc[region, "code"]),
                                 "name": str(by_abbr.loc[region, "name"])}, months=months)
    for (sheet, coord), text in shown.items():
        cell = sheets[sheet].get(coord)
        actual = None if cell is None else cell.value
        if actual is None or str(actual).strip() != text:
            problems.append(_problem(path, f"shows {_shown(actual) if actual is not None else 'nothing'}, but the "
                                     f"metadata (wave {wave}, region {region}, months {','.join(months)}) means "
                                     f"{quote(text)}; {_TAMPERED}", sheet=sheet, cell=coord))
            return False
    return True


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
    names = dict(zip(data.regions["abbr"], data.regions["name"]))
    problems: list[Problem] = []
    if not paths:
        raise DataError([Problem("survey-import", None, None, "no form given (expected .xlsx files or a folder)")])
    returns: list[FormReturn] = []
    for path in paths:
        ret = read_form(Path(path), problems, data)   # checks its wave and region against the data
        if ret is None:
            continue
        if wave is not None and ret.wave != wave:
            problems.append(_problem(ret.path, f"form of wave {ret.wave}, expected wave {wave} (--wave {wave})",
                                     field="wave"))
            continue
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
