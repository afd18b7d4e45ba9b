"""The editable deck: the same slides as the HTML and PDF decks, as a PowerPoint file (python-pptx).

What a communication officer who copies slides into a presentation of their own expects:

- native text: the title of a slide is its title placeholder; commentary, lists and key figures
  are paragraphs and bullet lists in text boxes, in the deck's own French formats;
- native tables, header rows marked as such (first row, first column of row headers);
- charts and maps as vector pictures: the SVG in Office's ``asvg:svgBlip`` extension, with a PNG
  rendering (cairosvg) as the main picture for older Office and for LibreOffice; the alt text is
  the picture's description (``descr``);
- speaker notes in the notes pane;
- the house style in the slide master: Inter (theme fonts; PowerPoint falls back to its own sans
  serif where Inter is not installed), the palette (Bleu France #000091, Rouge Marianne #E1000F),
  the header band (issuer, tricolour mark), the footer band (deck, date) and the slide number.

Every text is set as text through python-pptx (XML-escaped), after :func:`esante_report.sanitize.xml_text`
(no control character, no lone surrogate; the document properties cut at PowerPoint's 255 characters);
the only hyperlinks are http(s)/mailto/tel, the only pictures are embedded, nothing is fetched. When
writing fails all the same, :class:`ExportError` names the slide and the field it was writing.
:func:`write_odp` converts the PPTX into an Impress file with LibreOffice, when it is installed, starting
LibreOffice for that one file: renders go through :mod:`esante_report.formats.soffice` (one LibreOffice per
process), which falls back to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from esante_report.errors import ExportError
from esante_report.formats.pptx_blocks import (
    Cols,
    Figure,
    Para,
    Run,
    Table,
    Text,
    notes_text,
    slide_blocks,
)
from esante_report.slides.geometry import FOOTER_PX, HEADER_PX, MARGIN_PX, SLIDE_HEIGHT_PX, SLIDE_WIDTH_PX
from esante_report.slides.model import Slide, SlideList
from esante_report.slides.sanitize import safe_href, xml_text

if TYPE_CHECKING:
    from esante_report.formats.web import DeckMeta

__all__ = ["write_pptx", "SLIDE_WIDTH_EMU", "SLIDE_HEIGHT_EMU"]

#: characters a PowerPoint document property (title, author, subject, keywords…) holds
MAX_PROPERTY = 255
#: 1280×720 px slides, as the HTML and PDF decks: 1 px = 9525 EMU = 0.75 pt
_PX = 9525
_W, _H = SLIDE_WIDTH_PX, SLIDE_HEIGHT_PX
SLIDE_WIDTH_EMU, SLIDE_HEIGHT_EMU = _W * _PX, _H * _PX
_HEADER, _FOOTER, _MARGIN = HEADER_PX, FOOTER_PX, MARGIN_PX
_BLEU, _ROUGE, _TEXT, _BODY, _MUTED, _LINE, _PALE = "000091", "E1000F", "161616", "3A3A3A", "595959", "DDDDDD", "E3E3FD"
_FONT = "Inter"
_SVG_EXT_URI = "{96DAC541-7B7A-43D3-8B79-37D633B846F1}"
_ASVG = "http://schemas.microsoft.com/office/drawing/2016/SVG/main"
_RT_IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"


# --------------------------------------------------------------------------- layout


def _text_height(block: Text, width_px: float, scale: float) -> float:
    total = 0.0
    for para in block.paras:
        size = _size(para.style) * scale
        chars = max(1, len(para.text))
        per_line = max(8, (width_px - 18 - 22 * para.level) / (size * 0.56))
        lines = sum(max(1, -(-len(part) // int(per_line))) for part in para.text.split("\v")) if chars else 1
        total += lines * size * 1.25 + size * 0.35
    return total + 10


def _size(style: str) -> float:
    """Font size in px (1 px = 0.75 pt) of a paragraph style, before fitting."""
    return {"h": 22, "kpi": 40, "kicker": 17, "small": 15, "p": 20}.get(style, 20)


def _table_height(block: Table, width_px: float, scale: float) -> float:
    ncols = max((sum(c[1] for c in row) for row in block.rows), default=1)
    size = 15 * scale
    per_line = max(4, (width_px / ncols - 10) / (size * 0.56))
    total = 0.0
    for row in block.rows:
        lines = max((max(1, -(-len(t) // int(per_line))) + t.count("\v") for t, *_ in row), default=1)
        total += lines * size * 1.22 + 8
    return total + (size * 1.4 if block.caption else 0)


def _height(block, width_px: float, scale: float, figure_px: float) -> float:
    if isinstance(block, Text):
        return _text_height(block, width_px, scale)
    if isinstance(block, Table):
        return _table_height(block, width_px, scale)
    if isinstance(block, Figure):
        return figure_px + (18 if block.caption else 0)
    if isinstance(block, Cols):
        widths = _col_widths(block, width_px)
        return max(sum(_height(b, w, scale, figure_px) + 8 for b in col) for col, w in zip(block.columns, widths))
    return 0.0


def _col_widths(block: Cols, width_px: float, gap: float = 28) -> list[float]:
    n = len(block.columns)
    usable = width_px - gap * (n - 1)
    fixed = sum(w for w in block.widths if w)
    free = [w for w in block.widths if not w]
    share = (1 - fixed) / len(free) if free and fixed < 1 else 1 / n
    raw = [w or share for w in block.widths]
    total = sum(raw)
    return [usable * w / total for w in raw]


def _figures(blocks: list) -> int:
    n = 0
    for block in blocks:
        if isinstance(block, Figure):
            n += 1
        elif isinstance(block, Cols):
            n += max(_figures(col) for col in block.columns)
    return n


def _fit(blocks: list, width_px: float, height_px: float) -> tuple[float, float]:
    """A text scale (≤ 1) and a figure height such that the blocks fill ``height_px`` at most."""
    figures = _figures(blocks)
    for scale in (1.0, 0.92, 0.85, 0.78, 0.72, 0.66, 0.6, 0.55, 0.5):
        rest = height_px - _height(blocks, width_px, scale, 0) - 8 * len(blocks)
        if not figures:
            if rest >= 0:
                return scale, 0
            continue
        figure_px = rest / figures
        if figure_px >= min(300, height_px * 0.55) or scale == 0.5:
            return scale, max(120.0, min(figure_px, height_px))
    return 0.5, 120.0


# --------------------------------------------------------------------------- drawing


class _Writer:
    def __init__(self, prs, meta, total: int) -> None:
        self.prs, self.meta, self.total = prs, meta, total
        #: what is being written (``slide 3: title``), named when writing fails
        self.where = "the slide master"
        self.slide_no: int | None = None

    def at(self, field: str) -> None:
        self.where = f"slide {self.slide_no}: {field}" if self.slide_no is not None else field

    def emu(self, px: float) -> int:
        return int(round(px * _PX))

    def textbox(self, slide, x, y, w, h, paras: list[Para], scale: float, *, colour: str | None = None):
        from pptx.dml.color import RGBColor
        from pptx.enum.text import MSO_AUTO_SIZE
        from pptx.util import Pt

        box = slide.shapes.add_textbox(self.emu(x), self.emu(y), self.emu(w), self.emu(h))
        frame = box.text_frame
        frame.word_wrap = True
        frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
        for side in ("margin_left", "margin_right", "margin_top", "margin_bottom"):
            setattr(frame, side, self.emu(4))
        self.fill(frame, paras, scale, colour)
        return box

    def fill(self, frame, paras: list[Para], scale: float, colour: str | None) -> None:
        from pptx.util import Pt

        for i, para in enumerate(paras):
            p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            size = _size(para.style) * scale * 0.75
            if para.level:
                _bullet(p, para.level, Pt(size))
            p.space_after = Pt(size * 0.35)
            for run in para.runs:
                for k, piece in enumerate(run.text.split("\v")):
                    if k:
                        p.add_line_break()
                    if piece:
                        self.run(p, piece, run, para, size, colour)

    def run(self, p, text: str, run: Run, para: Para, size: float, colour: str | None) -> None:
        from pptx.dml.color import RGBColor
        from pptx.util import Pt

        r = p.add_run()
        r.text = xml_text(text)
        r.font.size = Pt(size)
        r.font.bold = run.bold or para.style in ("h", "kpi")
        r.font.italic = run.italic
        r.font.color.rgb = RGBColor.from_string(
            colour or (_BLEU if para.style in ("h", "kpi") else _ROUGE if para.style == "kicker" else
                       _MUTED if para.style == "small" else _BODY))
        if run.href and safe_href(run.href):
            r.hyperlink.address = xml_text(run.href)

    def table(self, slide, x, y, w, h, block: Table, scale: float) -> float:
        from pptx.dml.color import RGBColor
        from pptx.util import Pt

        ncols = max((sum(c[1] for c in row) for row in block.rows), default=1)
        nrows = len(block.rows)
        self.at("table")
        if block.caption:
            self.textbox(slide, x, y, w, 15 * scale * 1.4, [Para([Run(block.caption)], 0, "small")], scale)
            y += 15 * scale * 1.4
        height = _table_height(Table(block.rows, block.head_rows), w, scale)
        shape = slide.shapes.add_table(nrows, ncols, self.emu(x), self.emu(y), self.emu(w), self.emu(height))
        table = shape.table
        table.first_row = block.head_rows > 0
        table.first_col = any(row and row[0][3] for row in block.rows[block.head_rows:])
        table.horz_banding = False
        taken: set[tuple[int, int]] = set()
        for i, row in enumerate(block.rows):
            j = 0
            for text, colspan, rowspan, header in row:
                while (i, j) in taken:
                    j += 1
                if j >= ncols:
                    break
                cell = table.cell(i, j)
                last_i, last_j = min(nrows - 1, i + rowspan - 1), min(ncols - 1, j + colspan - 1)
                if (last_i, last_j) != (i, j):
                    cell.merge(table.cell(last_i, last_j))
                for a in range(i, last_i + 1):
                    for b in range(j, last_j + 1):
                        taken.add((a, b))
                cell.margin_left = cell.margin_right = self.emu(5)
                cell.margin_top = cell.margin_bottom = self.emu(2)
                frame = cell.text_frame
                frame.word_wrap = True
                in_head = i < block.head_rows
                p = frame.paragraphs[0]
                for k, piece in enumerate(text.split("\v")):
                    if k:
                        p.add_line_break()
                    run = p.add_run()
                    run.text = xml_text(piece)
                    run.font.size = Pt(15 * scale * 0.75)
                    run.font.bold = header
                    run.font.color.rgb = RGBColor.from_string("FFFFFF" if in_head else _TEXT if header else _BODY)
                cell.fill.solid()
                cell.fill.fore_color.rgb = RGBColor.from_string(_BLEU if in_head else "F6F6F6" if header else "FFFFFF")
                j = last_j + 1
        return height + (15 * scale * 1.4 if block.caption else 0)

    def figure(self, slide, x, y, w, h, block: Figure) -> float:
        from pptx.util import Emu

        self.at(f"picture (alt text {_prefix(block.alt)})")
        png, size = _png(block)
        if png is None:
            self.textbox(slide, x, y, w, 40, [Para([Run(block.alt)], 0, "small")], 1.0)
            return 40
        ratio = size[1] / size[0] if size[0] else 0.6
        cap = 18 if block.caption else 0
        pic_h = min(h - cap, w * ratio)
        pic_w = pic_h / ratio
        left = x + (w - pic_w) / 2
        picture = slide.shapes.add_picture(io.BytesIO(png), Emu(self.emu(left)), Emu(self.emu(y)),
                                           Emu(self.emu(pic_w)), Emu(self.emu(pic_h)))
        picture._element.nvPicPr.cNvPr.set("descr", xml_text(block.alt))
        picture.name = f"Graphique {picture.shape_id}"
        if block.svg:
            _add_svg(slide, picture, block.svg)
        if block.caption:
            self.textbox(slide, x, y + pic_h, w, cap + 6, [Para([Run(block.caption)], 0, "small")], 0.85)
        return pic_h + cap

    def blocks(self, slide, blocks: list, x, y, w, h, scale, figure_px) -> float:
        start = y
        for block in blocks:
            room = start + h - y
            if room <= 10:
                break
            if isinstance(block, Text):
                self.at("text")
                need = min(_text_height(block, w, scale), room)
                self.textbox(slide, x, y, w, need, block.paras, scale)
                y += need + 8
            elif isinstance(block, Table):
                y += self.table(slide, x, y, w, room, block, scale) + 10
            elif isinstance(block, Figure):
                y += self.figure(slide, x, y, w, min(room, figure_px + (18 if block.caption else 0)), block) + 8
            elif isinstance(block, Cols):
                widths = _col_widths(block, w)
                cx, used = x, 0.0
                for col, cw in zip(block.columns, widths):
                    used = max(used, self.blocks(slide, col, cx, y, cw, room, scale, figure_px))
                    cx += cw + 28
                y += used + 8
        return y - start

    def slide(self, s: Slide) -> None:
        from pptx.dml.color import RGBColor
        from pptx.util import Pt

        self.slide_no = s.number
        self.at("content")
        title, blocks = slide_blocks(s)
        title = xml_text(title)
        self.at(f"title {_prefix(title)}")
        layout = self.prs.slide_layouts[0 if s.layout == "cover" else 2 if s.layout == "divider" else 5]
        slide = self.prs.slides.add_slide(layout)
        top = _HEADER + 14
        body_x, body_w = _MARGIN, _W - 2 * _MARGIN
        title_shape = slide.shapes.title
        if s.layout in ("cover", "divider"):
            title_y, title_h = (200, 130) if s.layout == "cover" else (230, 110)
        else:
            title_y, title_h = top, 56 if len(title) < 70 else 86
        if title_shape is not None:
            title_shape.left, title_shape.top = self.emu(body_x), self.emu(title_y)
            title_shape.width, title_shape.height = self.emu(body_w), self.emu(title_h)
            title_shape.name = "Titre"
            frame = title_shape.text_frame
            frame.word_wrap = True
            frame.text = title or " "
            frame.paragraphs[0].alignment = 1  # left, as the HTML and PDF decks
            size = (50 if s.layout == "cover" else 44 if s.layout == "divider" else 34 if len(title) < 70 else 28)
            for p in frame.paragraphs:
                for r in p.runs:
                    r.font.size = Pt(size * 0.75)
                    r.font.bold = True
                    r.font.color.rgb = RGBColor.from_string("FFFFFF" if s.layout == "divider" else _BLEU)
        for shape in list(slide.placeholders):
            if shape.placeholder_format.idx != 0:  # subtitle / body placeholders of the layout: not used
                shape._element.getparent().remove(shape._element)
        if s.layout == "divider":
            _band(slide, 0, _HEADER, _W, _H - _HEADER - _FOOTER, _BLEU, self, back=True)
        y = title_y + title_h + 10
        bottom = _H - _FOOTER - 10
        if s.number == 1 and self.meta.alternative:
            bottom -= 24
            self.textbox(slide, body_x, bottom + 2, body_w, 22,
                         [Para([Run(f"Version accessible : {self.meta.alternative}")], 0, "small")], 0.9)
        if blocks:
            scale, figure_px = _fit(blocks, body_w, bottom - y)
            colour = "FFFFFF" if s.layout == "divider" else None
            if colour:
                paras = [p for b in blocks if isinstance(b, Text) for p in b.paras]
                self.textbox(slide, body_x, y, body_w, bottom - y, paras, 1.0, colour=colour)
            else:
                self.blocks(slide, blocks, body_x, y, body_w, bottom - y, scale, figure_px)
        self.at("speaker notes")
        notes = [notes_text(n) for n in s.notes]
        if any(notes):
            slide.notes_slide.notes_text_frame.text = xml_text("\n".join(n for n in notes if n))


def _prefix(text: str) -> str:
    """A text named in a message: the start of it, quoted."""
    from esante_report.errors import quote

    return quote(text, 40)


def _bullet(paragraph, level: int, size) -> None:
    from pptx.oxml.ns import qn

    p_pr = paragraph._p.get_or_add_pPr()
    p_pr.set("marL", str(int(size * 1.3 * level)))
    p_pr.set("indent", str(-int(size * 1.1)))
    for tag in ("a:buNone", "a:buChar", "a:buAutoNum"):
        for old in p_pr.findall(qn(tag)):
            p_pr.remove(old)
    bu = p_pr.makeelement(qn("a:buChar"), {"char": "•" if level == 1 else "–"})
    p_pr.append(bu)


def _band(slide, x, y, w, h, colour: str, writer: _Writer, back: bool = False):
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE

    shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, writer.emu(x), writer.emu(y), writer.emu(w), writer.emu(h))
    shape.fill.solid()
    shape.fill.fore_color.rgb = RGBColor.from_string(colour)
    shape.line.fill.background()
    shape.shadow.inherit = False
    shape.name = "Bande décorative"
    _decorative(shape)
    if back:  # behind the title
        tree = slide.shapes._spTree
        tree.remove(shape._element)
        tree.insert(2, shape._element)
    return shape


_DECORATIVE_URI = "{C183D7F6-B498-43B3-948B-1728B52AA6E4}"
_ADEC = "http://schemas.microsoft.com/office/drawing/2017/decorative"


def _decorative(shape) -> None:
    """Mark a shape as decorative (Office's accessibility flag): screen readers skip it."""
    from pptx.oxml.ns import qn

    c_nv_pr = shape._element.find(".//" + qn("p:cNvPr"))
    ext_list = c_nv_pr.makeelement(qn("a:extLst"), {})
    ext = ext_list.makeelement(qn("a:ext"), {"uri": _DECORATIVE_URI})
    ext.append(ext.makeelement(f"{{{_ADEC}}}decorative", {"val": "1"}, nsmap={"adec": _ADEC}))
    ext_list.append(ext)
    c_nv_pr.append(ext_list)


#: per process: PNG fallbacks drawn, by the SHA-256 of their SVG, most recent last. A chart several decks of a
#: batch share (the national timeline in every regional deck) is drawn once per worker.
_DRAWN: OrderedDict[str, tuple[bytes | None, tuple[int, int]]] = OrderedDict()
_DRAWN_MAX = 32


def _png(block: Figure) -> tuple[bytes | None, tuple[int, int]]:
    """The picture's PNG and its size in px: the raster image itself, or the SVG rendered by cairosvg."""
    if block.png is None and block.svg:
        return _svg_png(block.svg)
    return _sized(block.png)


def _svg_png(svg: str) -> tuple[bytes | None, tuple[int, int]]:
    """The SVG drawn by cairosvg at twice its size on white, and that size; (None, (0, 0)) when it cannot be."""
    source = svg.encode("utf-8")
    key = hashlib.sha256(source).hexdigest()
    if key in _DRAWN:
        _DRAWN.move_to_end(key)
        return _DRAWN[key]
    import cairosvg

    try:  # cairosvg (≥ 2.7) fetches no external resource unless told to (unsafe=False)
        drawn = _sized(cairosvg.svg2png(bytestring=source, scale=2.0, unsafe=False, background_color="white"))
    except Exception:  # noqa: BLE001 - an SVG cairosvg cannot draw: the alt text stands in
        drawn = None, (0, 0)
    _DRAWN[key] = drawn
    if len(_DRAWN) > _DRAWN_MAX:
        _DRAWN.popitem(last=False)
    return drawn


def _sized(data: bytes | None) -> tuple[bytes | None, tuple[int, int]]:
    from PIL import Image

    if data is None:
        return None, (0, 0)
    with Image.open(io.BytesIO(data)) as image:
        return data, image.size


def _add_svg(slide, picture, svg: str) -> None:
    """The SVG as Office's vector picture (``asvg:svgBlip``), the PNG staying the main picture."""
    from pptx.opc.package import Part
    from pptx.opc.packuri import PackURI
    from pptx.oxml.ns import qn

    package = slide.part.package
    partname = package.next_partname("/ppt/media/image%d.svg")
    part = Part(PackURI(partname), "image/svg+xml", package, svg.encode("utf-8"))
    rid = slide.part.relate_to(part, _RT_IMAGE)
    blip = picture._element.blipFill.find(qn("a:blip"))
    ext_list = blip.find(qn("a:extLst"))
    if ext_list is None:
        ext_list = blip.makeelement(qn("a:extLst"), {})
        blip.append(ext_list)
    ext = ext_list.makeelement(qn("a:ext"), {"uri": _SVG_EXT_URI})
    ext_list.append(ext)
    svg_blip = ext.makeelement(f"{{{_ASVG}}}svgBlip", {qn("r:embed"): rid}, nsmap={"asvg": _ASVG})
    ext.append(svg_blip)


# --------------------------------------------------------------------------- master


def _house_master(prs, meta, writer: _Writer) -> None:
    """Theme fonts and colours, header and footer bands and the slide number, on the slide master."""
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    master = prs.slide_master
    theme_part = next(rel.target_part for rel in master.part.rels.values() if rel.reltype.endswith("/theme"))
    from lxml import etree

    theme = etree.fromstring(theme_part.blob)
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    for tag in ("majorFont", "minorFont"):
        latin = theme.find(f".//{{{a}}}{tag}/{{{a}}}latin")
        if latin is not None:
            latin.set("typeface", _FONT)
    colours = {"dk1": _TEXT, "dk2": _BLEU, "accent1": _BLEU, "accent2": _ROUGE, "accent3": "8585F6",
               "accent4": "18753C", "lt2": "F6F6F6", "hlink": _BLEU}
    scheme = theme.find(f".//{{{a}}}clrScheme")
    scheme.set("name", "esante-report")
    for name, value in colours.items():
        slot = scheme.find(f"{{{a}}}{name}")
        if slot is not None:
            for child in list(slot):
                slot.remove(child)
            etree.SubElement(slot, f"{{{a}}}srgbClr", val=value)
    theme.find(f".//{{{a}}}fontScheme").set("name", "esante-report")
    theme_part._blob = etree.tostring(theme, xml_declaration=True, encoding="UTF-8", standalone=True)

    # shapes drawn on a scratch slide, moved onto the master (python-pptx draws on slides only)
    scratch = prs.slides.add_slide(prs.slide_layouts[6])
    shapes = []
    shapes.append(_band(scratch, 0, _HEADER - 1, _W, 1, _LINE, writer))
    shapes.append(_band(scratch, 0, _H - _FOOTER, _W, 1, _LINE, writer))
    for k, colour in enumerate((_BLEU, "FFFFFF", _ROUGE)):
        mark = _band(scratch, _W - _MARGIN - 48 + 16 * k, 19, 16, 6, colour, writer)
        mark.line.color.rgb = RGBColor.from_string(_LINE)
        mark.line.width = Pt(0.5)
        shapes.append(mark)
    writer.where = f"the master's header: issuer {_prefix(meta.issuer)}"
    issuer = writer.textbox(scratch, _MARGIN - 4, 8, 900, 30,
                            [Para([Run(meta.issuer.upper(), bold=True)])], 1.0, colour=_TEXT)
    writer.where = f"the master's footer: deck title {_prefix(meta.title)}"
    footer = writer.textbox(scratch, _MARGIN - 4, _H - _FOOTER + 4, 1000, 26,
                            [Para([Run(f"{meta.title} · {meta.date}")])], 1.0, colour=_MUTED)
    number = writer.textbox(scratch, _W - _MARGIN - 120, _H - _FOOTER + 4, 124, 26,
                            [Para([Run("‹n°›")])], 1.0, colour=_MUTED)
    for box, size in ((issuer, 10.5), (footer, 9.75), (number, 9.75)):
        box.text_frame.auto_size = None
        box.text_frame.word_wrap = False
        for p in box.text_frame.paragraphs:
            for r in p.runs:
                r.font.size = Pt(size)
    writer.where = "the slide master"
    number.text_frame.paragraphs[0].alignment = 3  # right
    # the slide number: a field PowerPoint and Impress fill in on every slide
    p = number.text_frame.paragraphs[0]._p
    run = p.find(qn("a:r"))
    fld = p.makeelement(qn("a:fld"), {"id": "{B6F15528-21DE-4FAA-801E-634DDDAF4B2B}", "type": "slidenum"})
    for child in list(run):
        fld.append(child)
    p.replace(run, fld)
    shapes += [issuer, footer, number]
    tree = master.shapes._spTree
    for shape in shapes:
        element = shape._element
        element.getparent().remove(element)
        tree.append(element)
    # drop the scratch slide
    slide_id = prs.slides._sldIdLst[-1]
    prs.part.drop_rel(slide_id.rId)
    prs.slides._sldIdLst.remove(slide_id)
    # the default template's prompts are English, and its date, footer and number placeholders unused
    for holder in (master, *prs.slide_layouts):
        for shape in list(holder.placeholders):
            kind = shape.placeholder_format.type
            name = str(kind).split(".")[-1].split(" ")[0]
            if name in ("DATE", "FOOTER", "SLIDE_NUMBER"):
                shape._element.getparent().remove(shape._element)
            elif shape.has_text_frame and name in ("TITLE", "CENTER_TITLE"):
                shape.text_frame.text = "Titre de la diapositive"
            elif shape.has_text_frame:
                shape.text_frame.text = "Texte"
    # master title style: Bleu France, bold
    title_style = master._element.find(qn("p:txStyles") + "/" + qn("p:titleStyle"))
    if title_style is not None:
        lvl = title_style.find(qn("a:lvl1pPr"))
        rpr = lvl.find(qn("a:defRPr")) if lvl is not None else None
        if rpr is not None:
            rpr.set("b", "1")


# --------------------------------------------------------------------------- entry points


def warm() -> None:
    """Import what :func:`write_pptx` uses (python-pptx, cairosvg, Pillow) ahead of the first deck."""
    import cairosvg  # noqa: F401
    import pptx  # noqa: F401
    from PIL import Image  # noqa: F401


def write_pptx(deck: SlideList, meta: DeckMeta, path: Path) -> None:
    """Write ``deck`` (the slide list the HTML and PDF decks show) as the PowerPoint file ``path``."""
    from pptx import Presentation

    writer = None
    try:
        prs = Presentation()
        prs.slide_width, prs.slide_height = SLIDE_WIDTH_EMU, SLIDE_HEIGHT_EMU
        writer = _Writer(prs, meta, len(deck.slides))
        _house_master(prs, meta, writer)
        writer.where = "the document properties"
        props = prs.core_properties
        props.title = xml_text(f"{meta.title} — {meta.date}", MAX_PROPERTY)
        props.author = xml_text(meta.issuer, MAX_PROPERTY)
        props.subject = xml_text(meta.subject, MAX_PROPERTY)
        props.keywords = xml_text(meta.keywords, MAX_PROPERTY)
        props.language = "fr-FR"
        props.last_modified_by = xml_text(meta.issuer, MAX_PROPERTY)
        props.comments = xml_text(meta.generator, MAX_PROPERTY)
        if meta.created:
            import datetime as dt

            with contextlib.suppress(ValueError):
                stamp = dt.datetime.fromisoformat(meta.created).replace(tzinfo=None)
                props.created = props.modified = stamp
        props.revision = 1
        for slide in deck.slides:
            writer.slide(slide)
        _strip_template(prs)
        buffer = io.BytesIO()
        prs.save(buffer)
        data = _stable_zip(buffer.getvalue(), meta.created)
    except ExportError:
        raise
    except Exception as exc:  # python-pptx, lxml, cairosvg raise many types; surface one error
        detail = " ".join(str(exc).split())
        detail = detail if len(detail) <= 100 else detail[:99] + "…"  # a message may quote a whole value
        where = writer.where if writer is not None else "the template"
        raise ExportError(f"PowerPoint export failed for {Path(path).name}: {where}: {type(exc).__name__}"
                          f"{': ' + detail if detail else ''}") from exc
    Path(path).write_bytes(data)


def _strip_template(prs) -> None:
    """What python-pptx's default template brings and a deck does not need: the printer settings (a
    binary part), and the notes master's date, header, footer and number placeholders (fields)."""
    for rel in list(prs.part.rels.values()):
        if rel.reltype.endswith("/printerSettings"):
            prs.part.drop_rel(rel.rId)
    notes_master = prs.notes_master
    for shape in list(notes_master.placeholders):
        name = str(shape.placeholder_format.type).split(" ")[0]
        if name in ("DATE", "FOOTER", "HEADER", "SLIDE_NUMBER"):
            shape._element.getparent().remove(shape._element)


def _stable_zip(data: bytes, created: str) -> bytes:
    """The package with every entry dated ``created`` (ISO 8601; SOURCE_DATE_EPOCH in reproducible builds)."""
    import datetime as dt
    import zipfile

    try:
        when = dt.datetime.fromisoformat(created).timetuple()[:6] if created else (1980, 1, 1, 0, 0, 0)
    except ValueError:
        when = (1980, 1, 1, 0, 0, 0)
    when = max(when, (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
