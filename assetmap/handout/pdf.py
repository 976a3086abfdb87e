"""The handout as an A4 PDF (reportlab, vector lines): large print, high contrast, the map
drawn from its layout (:mod:`assetmap.handout.drawing`). The HTML page is the template
``connector/handout.html``, from the same model.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from assetmap.handout.drawing import (
    NEAR_LABEL_PT,
    PDF_CHAR,
    ROUTE_LABEL_PT,
    MapDrawing,
    MapSpec,
    StopMark,
)
from assetmap.handout.model import (
    SHEET_FIRST_VISIT,
    SHEET_WHAT_HAPPENS,
    Handout,
    HandoutItem,
)

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

# -- PDF ------------------------------------------------------------------------------------

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
INK = "#111111"
ROUTE = "#1d4f91"
PLACE = "#a4002b"
#: The basemap's colours (assetmap/static/js/basemap.js), so a printed map looks like the
#: maps on screen.
BASEMAP = {
    "land": "#f4f1ea", "path": "#a0673a", "minor": "#ffffff", "minor_casing": "#c7bfb2",
    "major": "#fcd98f", "major_casing": "#d39b4a", "near_text": "#262626",
    "station": "#c4002f", "bus": "#b3261e",
}
BODY_PT = 15
#: The combined sheet's body text: still large print for older readers.
SHEET_PT = 11.5


@dataclass(frozen=True)
class SheetFit:
    """How tightly the combined sheet is set: the overview map's height (a share of the
    page width) and how much of "what happens" and "first visit" is kept."""

    map_ratio: float
    what: int
    first: int


#: Tried in turn until the sheet fits one page; the last may take two.
SHEET_FITS = (SheetFit(0.4, SHEET_WHAT_HAPPENS, SHEET_FIRST_VISIT),
              SheetFit(0.3, SHEET_WHAT_HAPPENS, SHEET_FIRST_VISIT), SheetFit(0.25, 130, 100))


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """DejaVu Sans (any script a listing might use) if installed, else Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
        # <b> in a paragraph (the sheet's run-in labels) picks the bold face.
        pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold",
                                      italic="DejaVuSans", boldItalic="DejaVuSans-Bold")
        return "DejaVuSans", "DejaVuSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def render_pdf(handout: Handout) -> bytes:
    """The handout as an A4 PDF: body text 15 pt, headings larger, maps as vector lines.

    With one page per activity, the facts sit in a two-column table and the map takes the
    room left at the foot of the page, so a typical listing fits on one sheet of paper. The
    combined sheet is tried at each of :data:`SHEET_FITS` in turn, until it fits one page.
    """
    if handout.layout != "sheet":
        return _build(handout, lambda styles, width: _pages_story(handout, styles, width))[0]
    data = b""
    for fit in SHEET_FITS:
        data, pages = _build(handout, lambda styles, width, fit=fit: _sheet_story(
            handout, styles, width, fit))
        if pages == 1:
            break
    return data


def _build(handout: Handout, story_of: Any) -> tuple[bytes, int]:
    """The PDF of the story `story_of(styles, frame width)` makes, and its page count."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    regular, bold = _fonts()
    styles = _styles(regular, bold)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=12 * mm, bottomMargin=15 * mm,
                            title="Activities near you", author="AssetMap")
    pages = [0]

    def footer(canvas: Canvas, _doc: Any) -> None:
        pages[0] = canvas.getPageNumber()
        canvas.saveState()
        canvas.setFont(regular, 10)
        canvas.setFillColor(INK)
        canvas.drawString(15 * mm, 8 * mm, f"Printed {handout.made_on}. {handout.attribution}")
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"Page {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(story_of(styles, doc.width), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue(), pages[0]


def _pages_story(handout: Handout, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import PageBreak

    story: list[Any] = []
    for i, item in enumerate(handout.items):
        if i:
            story.append(PageBreak())
        story.extend(_item_story(item, handout, styles, width))
    return story


def _styles(regular: str, bold: str) -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=regular, fontSize=BODY_PT, leading=BODY_PT * 1.3,
                          textColor=INK, spaceAfter=3)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=bold, fontSize=24, leading=29,
                                spaceAfter=1),
        "kicker": ParagraphStyle("kicker", parent=body, fontSize=16, leading=20, spaceAfter=5),
        "h2": ParagraphStyle("h2", parent=body, fontName=bold, fontSize=18, leading=23,
                             spaceBefore=7, spaceAfter=2),
        "label": ParagraphStyle("label", parent=body, fontName=bold, spaceAfter=0),
        "cell": ParagraphStyle("cell", parent=body, spaceAfter=1),
        "step": ParagraphStyle("step", parent=body, spaceAfter=1),
        "big": ParagraphStyle("big", parent=body, fontName=bold, fontSize=17, leading=22,
                              spaceAfter=1),
        # The combined sheet: smaller, never under 11 pt, so four activities share a page.
        "sheet_title": ParagraphStyle("sheet_title", parent=body, fontName=bold, fontSize=20,
                                      leading=24, spaceAfter=1),
        "sheet_kicker": ParagraphStyle("sheet_kicker", parent=body, fontSize=SHEET_PT + 1,
                                       leading=(SHEET_PT + 1) * 1.2, spaceAfter=3),
        "sheet_h2": ParagraphStyle("sheet_h2", parent=body, fontName=bold, fontSize=13,
                                   leading=16, spaceBefore=0, spaceAfter=1),
        "sheet_cell": ParagraphStyle("sheet_cell", parent=body, fontSize=SHEET_PT,
                                     leading=SHEET_PT * 1.22, spaceBefore=1, spaceAfter=0),
        "sheet_phone": ParagraphStyle("sheet_phone", parent=body, fontName=bold, fontSize=14.5,
                                      leading=17, spaceAfter=0, alignment=2),
    }


def _p(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(text), style)


def _facts(item: HandoutItem, styles: dict[str, Any], width: float) -> Any:
    """When / Where / Cost / First visit / Contact as a label and value table."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    a = item.activity
    sessions = list(item.sessions)
    when = [_p(s, styles["cell"]) for s in sessions or ["Ask the organiser for the next date."]]
    if a.get("schedule_words"):
        when.append(_p(f"Usually: {a['schedule_words']}", styles["cell"]))
    contact = [_p(f"{key}: {value}", styles["big"] if key == "Phone" else styles["cell"])
               for key, value in item.contact] or [_p("Ask your connector.", styles["cell"])]
    rows: list[list[Any]]
    rows = [["When", when], ["Where", [_p(", ".join(item.address) or "Ask the organiser",
                                          styles["cell"])]],
            ["Cost", [_p(item.cost, styles["cell"])]],
            ["First visit", [_p(line, styles["cell"]) for line in item.first_visit]]]
    rows.append(["Contact", contact])
    label_width = 31 * mm
    width -= 12  # the frame's padding
    # splitInRow: a cell taller than a page (many sessions, long advice) splits across pages.
    table = Table([[_p(label, styles["label"]), value] for label, value in rows],
                  colWidths=[label_width, width - label_width], splitInRow=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LINEBELOW", (0, 0), (-1, -2), 0.6, HexColor("#9a9a9a")),
    ]))
    return table


def _directions(item: HandoutItem, styles: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import ListFlowable, ListItem

    if item.directions is None:
        return []
    return [ListFlowable(
        [ListItem(_p(step, styles["step"]), leftIndent=22) for step in item.directions.steps],
        bulletType="1", bulletFontName=styles["body"].fontName, bulletFontSize=BODY_PT,
        leftIndent=22)]


def _item_story(item: HandoutItem, handout: Handout, styles: dict[str, Any],
                width: float) -> list[Any]:
    """One activity's page: what happens, the facts, getting there with directions and map."""
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Table, TableStyle

    a = item.activity
    story: list[Any] = []
    story.append(_p(a["name"], styles["title"]))
    story.append(_p(a.get("category_label") or "", styles["kicker"]))
    if a.get("description"):
        story.extend(_p(para, styles["body"]) for para in a["description"].split("\n\n"))
    story.append(_facts(item, styles, width))
    heading = []
    if item.walk is not None:
        heading = [_p("Getting there", styles["h2"]), _p(item.walk.words + (
            f", from {handout.origin_label}" if handout.origin_label else "") + ".",
            styles["body"])]
    if item.map is not None and item.directions is not None:
        # Directions and map side by side: the whole page usually fits on one sheet.
        inner = width - 12
        map_width = inner * 0.4
        side = Table([[_directions(item, styles), map_flowable(item.map, map_width,
                                                                map_width * 0.95)]],
                     colWidths=[inner - map_width, map_width], splitInRow=1)
        side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                  ("LEFTPADDING", (0, 0), (0, 0), 0),
                                  ("RIGHTPADDING", (0, 0), (0, 0), 6),
                                  ("LEFTPADDING", (1, 0), (1, 0), 0),
                                  ("RIGHTPADDING", (1, 0), (1, 0), 0)]))
        story.append(KeepTogether([*heading, side]))
    elif heading:
        story.append(KeepTogether(heading + _directions(item, styles)[:1]))
        story.extend(_directions(item, styles)[1:])
    if item.map is not None and item.directions is None:
        story.append(map_flowable(item.map, width, width * 0.6, min_height=50 * mm))
    return story


def _sheet_story(handout: Handout, styles: dict[str, Any], width: float,
                 fit: SheetFit) -> list[Any]:
    """Page 1: the overview map with the start and numbered places, then a compact block per
    activity (the same facts as the page's sheet, :meth:`HandoutItem.sheet_facts`)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Spacer

    story: list[Any] = [_p("Activities near you", styles["sheet_title"])]
    if handout.origin_label:
        story.append(_p(f"Walking from {handout.origin_label}. The numbers on the map are "
                        "the activities below.", styles["sheet_kicker"]))
    if handout.overview is not None:
        story.append(map_flowable(handout.overview, width, width * fit.map_ratio))
        story.append(Spacer(1, 2 * mm))
    for i, item in enumerate(handout.items):
        if i:  # between blocks only: a space at the end would spill onto a blank page
            story.append(Spacer(1, 2.5 * mm))
        story.append(KeepTogether(_sheet_block(item, styles, width, fit)))
    return story


def _sheet_block(item: HandoutItem, styles: dict[str, Any], width: float,
                 fit: SheetFit) -> list[Any]:
    """One activity on the combined sheet: its name with the phone number beside it in large
    type, then the facts as a few paragraphs with bold run-in labels, so a block is about
    seven lines and four fit under the overview map."""
    from reportlab.lib.colors import HexColor
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Paragraph, Table, TableStyle

    groups = item.sheet_paragraphs(what=fit.what, first=fit.first)
    facts = dict(groups.pop())  # the way to get in touch: beside the name
    paragraphs = [Paragraph(".&nbsp; ".join(f"<b>{label}</b> {escape('; '.join(lines))}"
                                            for label, lines in group), styles["sheet_cell"])
                  for group in groups]
    inner = width - 12
    cell, phone_style = styles["sheet_cell"], styles["sheet_phone"]
    if "Phone" in facts:
        number = facts["Phone"][0]
        phone: Any = Paragraph(f'<font size="{cell.fontSize}" name="{cell.fontName}">Phone'
                               f"</font> {escape(number)}", phone_style)
        phone_width = (stringWidth("Phone ", cell.fontName, cell.fontSize)
                       + stringWidth(number, phone_style.fontName, phone_style.fontSize) + 4)
    else:
        phone = Paragraph(f"<b>Contact</b> {escape('; '.join(facts['Contact']))}", cell)
        phone_width = inner * 0.4
    phone_width = min(phone_width, inner * 0.45)
    title = _p(f"{item.number}. {item.activity['name']}", styles["sheet_h2"])
    head = Table([[title, phone]], colWidths=[inner - phone_width - 6, phone_width + 6])
    head.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("ALIGN", (1, 0), (1, 0), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (0, 0), 6),
        ("RIGHTPADDING", (1, 0), (1, 0), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("LINEBELOW", (0, 0), (-1, 0), 1.2, HexColor(INK)),
    ]))
    return [head, *paragraphs]


def map_flowable(spec: MapSpec, width: float, height: float, *,
                 min_height: float | None = None) -> Any:
    """A reportlab Flowable drawing the map; with ``min_height`` it shrinks to the room left
    on the page, down to that height (the class is made on first use: reportlab is imported
    only when a PDF is made)."""
    return _map_flowable_class()(spec, width, height, min_height)


@lru_cache(maxsize=1)
def _map_flowable_class() -> type:
    from reportlab.platypus import Flowable

    class MapFlowable(_MapDrawer, Flowable):
        pass

    return MapFlowable


class _MapDrawer:
    """The drawing half of the map Flowable: the map drawn for its final box, in points."""

    canv: Any

    def __init__(self, spec: MapSpec, width: float, height: float,
                 min_height: float | None) -> None:
        super().__init__()
        self.spec = spec
        self.width = width
        self.max_height = height
        self.min_height = min_height or height
        self.height = height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = min(self.width, avail_width)
        self.height = max(self.min_height, min(self.max_height, avail_height - 4))
        return self.width, self.height

    def draw(self) -> None:
        from reportlab.lib.colors import HexColor, white

        regular, bold = _fonts()
        d = self.spec.draw(self.width, self.height, label_char=PDF_CHAR)
        c = self.canv

        def pt(x: float, y: float) -> tuple[float, float]:
            return x, self.height - y

        c.saveState()
        frame = c.beginPath()
        frame.rect(0, 0, self.width, self.height)
        c.setFillColor(HexColor(BASEMAP["land"]))
        c.setStrokeColor(HexColor(INK))
        c.setLineWidth(1.2)
        c.drawPath(frame, stroke=1, fill=1)
        c.clipPath(frame, stroke=0, fill=0)
        c.setLineCap(1)
        c.setLineJoin(1)
        self._streets(d, pt)
        for route in d.routes:
            self._lines([route], white, 7.5, pt)
            self._lines([route], HexColor(ROUTE), 4.5, pt, dash=(6, 4) if d.estimated else None)
        for label in d.labels:
            x, y = pt(label.x, label.y)
            near = label.kind == "near"
            self._halo_text(x, y, label.text, regular if near else bold,
                            NEAR_LABEL_PT if near else ROUTE_LABEL_PT,
                            angle=label.angle, rise=-3.3 if near else 5,
                            colour=BASEMAP["near_text"] if near else INK)
        for stop in d.stops:
            self._stop(stop, pt, regular)
        for m in d.markers:
            x, y = pt(m.x, m.y)
            colour = HexColor(INK) if m.kind == "start" else HexColor(PLACE)
            c.setStrokeColor(white)
            c.setLineWidth(2)
            c.setFillColor(colour)
            if m.kind == "start":
                c.rect(x - 7, y - 7, 14, 14, stroke=1, fill=1)
                self._tag(x + 10, y, m.label, bold)
            else:
                c.circle(x, y, 10, stroke=1, fill=1)
                c.setFillColor(white)
                c.setFont(bold, 12)
                c.drawCentredString(x, y - 4.3, m.label)
        # Scale bar bottom left, north arrow top right.
        c.setStrokeColor(HexColor(INK))
        c.setFillColor(HexColor(INK))
        c.setLineWidth(2)
        bar = d.scale_length
        c.line(10, 12, 10 + bar, 12)
        c.line(10, 8, 10, 16)
        c.line(10 + bar, 8, 10 + bar, 16)
        c.setFont(regular, 11)
        c.drawString(14 + bar, 8, f"{d.scale_metres} m")
        nx, ny = self.width - 18, self.height - 34
        arrow = c.beginPath()
        arrow.moveTo(nx, ny + 22)
        arrow.lineTo(nx - 7, ny + 4)
        arrow.lineTo(nx + 7, ny + 4)
        arrow.close()
        c.drawPath(arrow, stroke=0, fill=1)
        c.setFont(bold, 12)
        c.drawCentredString(nx, ny - 10, "N")
        c.restoreState()

    def _streets(self, d: MapDrawing, pt: Any) -> None:
        """Streets as the basemap draws them: dashed brown paths, white streets with a grey
        casing, main roads in yellow with an orange casing."""
        from reportlab.lib.colors import HexColor

        self._lines(d.lines_of("path"), HexColor(BASEMAP["path"]), 0.7, pt, dash=(2, 1.5))
        self._lines(d.lines_of("service"), HexColor(BASEMAP["minor_casing"]), 1.6, pt)
        self._lines(d.lines_of("minor"), HexColor(BASEMAP["minor_casing"]), 3.4, pt)
        self._lines(d.lines_of("major"), HexColor(BASEMAP["major_casing"]), 5.0, pt)
        self._lines(d.lines_of("service"), HexColor(BASEMAP["minor"]), 0.8, pt)
        self._lines(d.lines_of("minor"), HexColor(BASEMAP["minor"]), 2.2, pt)
        self._lines(d.lines_of("major"), HexColor(BASEMAP["major"]), 3.6, pt)

    def _halo_text(self, x: float, y: float, text: str, font: str, size: float, *,
                   angle: float = 0.0, rise: float = 0.0, colour: str = INK,
                   anchor: str = "middle") -> None:
        """Text with a white halo, so it reads over streets and the route."""
        from reportlab.lib.colors import HexColor, white

        c = self.canv
        c.saveState()
        c.translate(x, y)
        c.rotate(angle)
        width = c.stringWidth(text, font, size)
        left = {"middle": -width / 2, "start": 0.0, "end": -width}[anchor]
        for mode, ink in ((1, white), (0, HexColor(colour))):  # a white halo, then ink
            c.saveState()  # the text render mode is graphics state: keep it to one pass
            t = c.beginText(left, rise)
            t.setFont(font, size)
            t.setTextRenderMode(mode)
            c.setStrokeColor(ink)
            c.setFillColor(ink)
            c.setLineWidth(3)
            t.textOut(text)
            c.drawText(t)
            c.restoreState()
        c.restoreState()

    def _stop(self, stop: StopMark, pt: Any, font: str) -> None:
        """A station (a ring) or a bus stop (a dot), coloured as on the basemap, and named."""
        from reportlab.lib.colors import HexColor, white

        c = self.canv
        x, y = pt(stop.x, stop.y)
        colour = HexColor(BASEMAP["station" if stop.kind == "station" else "bus"])
        if stop.kind == "station":
            c.setStrokeColor(colour)
            c.setFillColor(white)
            c.setLineWidth(2.4)
            c.circle(x, y, 5, stroke=1, fill=1)
            c.setFillColor(colour)
            c.rect(x - 6.5, y - 1.1, 13, 2.2, stroke=0, fill=1)
        else:
            c.setStrokeColor(white)
            c.setLineWidth(1.5)
            c.setFillColor(colour)
            c.circle(x, y, 3.8, stroke=1, fill=1)
        if stop.text:
            tx, ty = pt(stop.text_x, stop.text_y)
            self._halo_text(tx, ty, stop.text, font, NEAR_LABEL_PT, anchor=stop.anchor)

    def _tag(self, x: float, y: float, text: str, font: str) -> None:
        from reportlab.lib.colors import HexColor, white

        c = self.canv
        w = c.stringWidth(text, font, 12) + 8
        c.setFillColor(white)
        c.setStrokeColor(HexColor(INK))
        c.setLineWidth(1)
        c.rect(x, y - 8, w, 16, stroke=1, fill=1)
        c.setFillColor(HexColor(INK))
        c.setFont(font, 12)
        c.drawString(x + 4, y - 4.3, text)

    def _lines(self, lines: Sequence[Sequence[tuple[float, float]]], colour: Any, width: float,
               pt: Any, dash: tuple[float, float] | None = None) -> None:
        c = self.canv
        path = c.beginPath()
        for line in lines:
            if len(line) < 2:
                continue
            path.moveTo(*pt(*line[0]))
            for x, y in line[1:]:
                path.lineTo(*pt(x, y))
        c.setStrokeColor(colour)
        c.setLineWidth(width)
        if dash:
            c.setDash(*dash)
        else:
            c.setDash()
        c.drawPath(path, stroke=1, fill=0)
