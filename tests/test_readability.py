"""Reader-grade slides (docs/style.md): the PDF check measures text sizes on the 960×540 pt page.

Small decks go through the real pipeline (slides from notebook outputs, the deck template,
WeasyPrint) and the check must name the slide and quote the text that is too small.
Sizes are set in CSS px, as the house CSS does: 1 px = 0.75 pt on the page.
"""

from __future__ import annotations

import io
from pathlib import Path

import nbformat
import pytest

from esante_report.formats import web as export
from esante_report.checks import layout as pdfcheck
from esante_report.errors import ExportError

META = export.DeckMeta(title="Deck de test", issuer="ARS Test", date="01/02/2023", subject="s", keywords="k",
                       created="2023-02-01T00:00:00+00:00")

#: enough lines to fill a slide's body, so that only the size rules are at stake
FULL = 16
LINE = "Les professionnels de santé libéraux et hospitaliers de la région"


def _html_cell(html: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x", metadata={"slideshow": {"slide_type": "slide"}})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html})]
    return cell


def _svg_cell(svg: str) -> nbformat.NotebookNode:
    """A chart as a plain matplotlib cell shows it (image/svg+xml output), with its alt text."""
    cell = nbformat.v4.new_code_cell("#| fig-alt: Patients par mois\nplt.show()",
                                     metadata={"slideshow": {"slide_type": "slide"}})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/svg+xml": svg, "text/plain": "<Figure>"})]
    return cell


def _text(px: float, lines: int = FULL, first: str = "Pour qui ?") -> str:
    body = "".join(f"<li>{LINE} ({i})</li>" for i in range(lines - 1))
    return f'<div style="font-size:{px}px"><h3 style="font-size:{px}px">{first}</h3><ul>{body}</ul></div>'


def _pdf(tmp_path: Path, *cells: nbformat.NotebookNode, css: str = "") -> tuple[Path, int]:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    html = export.export_print_html(nb, META)
    if css:  # a change of the house CSS
        html = html.replace("</head>", f"<style>{css}</style></head>", 1)
    path = tmp_path / "deck.pdf"
    export.write_pdf(html, path)
    return path, export.count_slides(nb)


def _chart_svg(tick_pt: float, label_pt: float = 14) -> str:
    """A real matplotlib chart, 6 × 3 in (drawn at scale 1 on the slide), with ticks of ``tick_pt``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": ["Inter", "DejaVu Sans"]}):
        fig = Figure(figsize=(6, 3))
        ax = fig.add_subplot()
        ax.bar(["août", "sept.", "oct."], [250, 286, 301])
        ax.tick_params(labelsize=tick_pt)
        ax.set_ylabel("Patients", fontsize=label_pt)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def _check(path: Path, slides: int) -> None:
    pdfcheck.check_pdf(path, slides)


def _measured_sizes(path: Path, page: int, text: str) -> set[float]:
    """Sizes of the characters of ``text`` on ``page``, measured by another reader (pdfplumber)."""
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        chars = pdf.pages[page - 1].chars
        line = "".join(c["text"] for c in chars)
        start = line.index(text)
        return {round(c["size"], 1) for c in chars[start:start + len(text)]}


def test_body_text_of_10_pt_fails_naming_the_slide_and_quoting_the_text(tmp_path):
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), _html_cell(_text(40 / 3, first="Pourquoi ?")))
    assert _measured_sizes(path, 2, "Pourquoi ?") == {10.0}
    with pytest.raises(ExportError, match=r"slide 2: text 'Pourquoi \?.*' is 10 pt \(body text must be ≥ 14 pt\)"):
        _check(path, slides)


def test_a_failure_names_the_notebook_cell(tmp_path):
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), _html_cell(_text(40 / 3)))
    with pytest.raises(ExportError, match=r"slide 2 \(cell 2\): text 'Pour qui \?"):
        pdfcheck.check_pdf(path, slides, slide_cells=((1,), (2,)))


def test_body_text_of_14_pt_filling_the_slide_passes(tmp_path):
    path, slides = _pdf(tmp_path, _html_cell(_text(56 / 3)), _html_cell(_text(22)))
    assert _measured_sizes(path, 1, "Pour qui ?") == {14.0}
    _check(path, slides)


def test_footer_of_7_pt_fails(tmp_path):
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), css=".esr-footer { font-size: 9.33px; }")
    assert _measured_sizes(path, 1, "Deck de test") == {7.0}
    with pytest.raises(ExportError, match=r"slide 1: text 'Deck de test.*' is 7 pt "
                                          r"\(header and footer text must be ≥ 9 pt\)"):
        _check(path, slides)


def test_header_of_9_pt_and_small_print_of_9_75_pt_pass(tmp_path):
    credit = '<p class="esr-credit">Contours : IGN Admin Express COG 2018 (Licence Ouverte Etalab)</p>'
    path, slides = _pdf(tmp_path, _html_cell(_text(22) + credit), css=".esr-header { font-size: 12px; }")
    assert _measured_sizes(path, 1, "Contours") == {9.8}
    _check(path, slides)


def test_small_print_below_9_pt_fails(tmp_path):
    source = '<p class="esr-source" style="font-size:10px">Source : enquête DGOS auprès des ARS</p>'
    path, slides = _pdf(tmp_path, _html_cell(_text(22) + source))
    with pytest.raises(ExportError, match=r"slide 1: text 'Source : enquête DGOS.*' is 7.5 pt "
                                          r"\(small print \(sources, credits\) must be ≥ 9 pt\)"):
        _check(path, slides)


def test_body_text_in_another_grey_is_not_small_print(tmp_path):
    aside = '<p style="font-size:13px; color:#666666">Texte secondaire</p>'
    path, slides = _pdf(tmp_path, _html_cell(_text(22) + aside))
    with pytest.raises(ExportError,
                       match=r"slide 1: text 'Texte secondaire' is 9.75 pt \(body text must be ≥ 14 pt\)"):
        _check(path, slides)


def test_chart_with_9_pt_tick_labels_fails(tmp_path):
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), _svg_cell(_chart_svg(9)), _html_cell(_text(22)))
    assert _measured_sizes(path, 2, "sept.") == {9.0}
    with pytest.raises(ExportError, match=r"slide 2: text '.*sept\..*' is 9 pt \(chart text must be ≥ 12 pt\)"):
        _check(path, slides)


def test_rotated_axis_label_of_9_pt_fails(tmp_path):
    # the y-axis label is drawn at 90°: its size is the text matrix's scale, not a glyph's width
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), _svg_cell(_chart_svg(13, label_pt=9)))
    with pytest.raises(ExportError, match=r"slide 2: text 'Patients' is 9 pt \(chart text must be ≥ 12 pt\)$"):
        _check(path, slides)


def test_chart_with_13_pt_ticks_passes_chart_text_is_not_body_text(tmp_path):
    # 13 pt would fail as body text: the check must know these are a chart's ticks
    chart = _svg_cell(_chart_svg(13))
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), chart)
    assert _measured_sizes(path, 2, "sept.") == {13.0}
    _check(path, slides)


def test_half_empty_slide_with_12_pt_text_fails_use_the_room(tmp_path):
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), _html_cell(_text(16, lines=4)))
    with pytest.raises(ExportError, match=r"slide 2: content ends at \d+% of the slide body while its text is "
                                          r"12 pt \(use the room: larger text, ≥ 16 pt\)"):
        _check(path, slides)


def test_half_empty_slide_with_14_pt_text_fails_only_the_room_rule(tmp_path):
    path, slides = _pdf(tmp_path, _html_cell(_text(56 / 3, lines=4)))
    with pytest.raises(ExportError) as failure:
        _check(path, slides)
    assert "use the room" in str(failure.value) and "must be ≥" not in str(failure.value)


def test_half_empty_slide_with_16_5_pt_text_passes(tmp_path):
    path, slides = _pdf(tmp_path, _html_cell(_text(22, lines=4)))
    _check(path, slides)


@pytest.mark.e2e
@pytest.mark.parametrize("deck", ["post_covid", "catalogue"])
def test_shipped_decks_pass_the_readability_check(rendered, deck):
    """Rendering already runs the check (a failing deck is not published); run it again on what was published."""
    import pdfplumber

    pdf = rendered[deck].pdf
    pdfcheck.check_pdf(pdf, rendered[deck].slides)
    # another reader agrees: no upright text under 9 pt anywhere (pdfplumber's "size" of rotated text
    # is the glyph's width, not its size)
    with pdfplumber.open(str(pdf)) as doc:
        smallest = min(c["size"] for page in doc.pages for c in page.chars if c["text"].strip() and c["upright"])
    assert smallest >= pdfcheck.MIN_SMALL_PT - 0.05


def test_a_chart_data_table_shown_on_a_slide_fails(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from esante_report.authoring import components
    from esante_report.authoring.style import house_style

    with house_style():
        fig = Figure(figsize=(6, 3))
        fig.add_subplot().bar(["août", "sept."], [250, 286])
    data = components.table(["Mois", "Patients"], [["août", "250"], ["sept.", "286"]])
    chart = str(components.figure(fig, alt="Patients par mois", data_table=data))
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), _html_cell(chart))
    _check(path, slides)  # as printed by the house style: the table stays for screen readers
    path, slides = _pdf(tmp_path, _html_cell(_text(22)), _html_cell(chart),
                        css=".esr-data { display: block !important; font-size: 22px; }")
    with pytest.raises(ExportError, match=r"slide 2: shows 'Données du graphique'"):
        _check(path, slides)


def test_an_unreadable_pdf_is_a_one_line_error(tmp_path):
    path = tmp_path / "deck.pdf"
    path.write_bytes(b"%PDF-1.7\nnot really a PDF")
    with pytest.raises(ExportError, match=r"^deck\.pdf: not a readable PDF"):
        pdfcheck.check_pdf(path, 1)


def test_a_line_half_hidden_under_the_footer_fails(tmp_path):
    # the body starts at 60 px (header 44 px + padding 16 px): a 613 px block puts the next line across 686 px,
    # the top of the footer, which is drawn over it
    spacer = '<div style="height:613px"></div><p style="margin:0">Région en attente de réponse</p>'
    path, slides = _pdf(tmp_path, _html_cell(spacer))
    with pytest.raises(ExportError, match=r"slide 1: content runs into the footer \('Région en attente de réponse'\)"):
        _check(path, slides)


def test_a_few_letters_left_out_by_the_layout_fail(tmp_path):
    """A line that does not reach the PDF: 24 letters of about 900 (under 3 %) are enough to fail."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [_html_cell(_text(22) + '<p class="gone">Région en attente de réponse</p>')]
    html = export.export_print_html(nb, META)
    expected = export.visible_chars(html)     # what the slide's HTML shows
    path = tmp_path / "deck.pdf"
    export.write_pdf(html, path)
    pdfcheck.check_pdf(path, 1, tuple(expected))
    export.write_pdf(html.replace("</head>", "<style>.gone { display: none; }</style></head>", 1), path)
    with pytest.raises(ExportError, match=r"slide 1: its content does not fit the slide \(\d+ of \d+ characters"):
        pdfcheck.check_pdf(path, 1, tuple(expected))


def test_an_untagged_pdf_is_refused(tmp_path):
    import weasyprint

    nb = nbformat.v4.new_notebook()
    nb.cells = [_html_cell(_text(22))]
    path = tmp_path / "deck.pdf"
    weasyprint.HTML(string=export.export_print_html(nb, META)).write_pdf(str(path))  # no pdf_tags
    with pytest.raises(ExportError, match=r"not a tagged PDF, so chart text cannot be told from body text"):
        _check(path, 1)


# --------------------------------------------------------------------------- the shipped decks as a whole

#: the slide body in pt on the 960×540 pt page: under the header band (44 CSS px), above the footer band (34 px)
_BODY_TOP_PT, _BODY_BOTTOM_PT = 44 * 0.75, (720 - 34) * 0.75
#: the house small print colour (#595959) as pdfplumber gives a fill: sources, credits, the accessible version
_SMALL_PRINT_RGB = (89 / 255,) * 3


def _body_chars(pdf: Path) -> list[tuple[float, tuple]]:
    """(size in pt, fill) of every character between the header and footer bands, read by pdfplumber.

    pdfplumber's ``size`` is the height of a character's box: the size as drawn on the page (font size
    times the scale of its matrix) for upright text; text turned 90° (an axis label) has it across, as
    the box's width.
    """
    import pdfplumber

    out = []
    with pdfplumber.open(str(pdf)) as doc:
        for page in doc.pages:
            for c in page.chars:
                if not c["text"].strip() or not _BODY_TOP_PT < (c["top"] + c["bottom"]) / 2 < _BODY_BOTTOM_PT:
                    continue
                a, b = c["matrix"][:2]
                out.append((c["size"] if abs(a) >= abs(b) else c["x1"] - c["x0"],
                            tuple(c["non_stroking_color"] or ())))
    return out


def _shipped_pdf(request, deck: str) -> Path:
    if deck in ("post_covid", "catalogue"):
        return request.getfixturevalue("rendered")[deck].pdf
    return request.getfixturevalue("distribution_decks") / "2021-11-15" / f"{deck}.pdf"


@pytest.mark.e2e
@pytest.mark.parametrize("deck", ["post_covid", "post_covid-OCC", "post_covid-MAY", "catalogue"])
def test_shipped_decks_are_readable_from_the_back_of_the_room(request, deck):
    """At least 90 % of a deck's slide text at 14 pt or more, half of it at 16 pt or more; under 14 pt, only
    small print (sources, credits) in the house grey — never chart text. MAY has no rows of its own: its deck
    shows the national figures under a note."""
    import statistics

    chars = _body_chars(_shipped_pdf(request, deck))
    sizes = [size for size, _ in chars]
    tolerance = 0.05  # matrix arithmetic, as the PDF check allows
    share = sum(size >= 14 - tolerance for size in sizes) / len(sizes)
    median = statistics.median(sizes)
    assert share >= 0.90 and median >= 16 - tolerance, (
        f"{deck}: {share:.1%} of {len(sizes)} characters at ≥ 14 pt, median {median:.2f} pt")
    small = {(round(size, 2), fill) for size, fill in chars if size < 14 - tolerance}
    assert all(fill and all(abs(x - y) < 0.01 for x, y in zip(fill, _SMALL_PRINT_RGB)) for _, fill in small), small
