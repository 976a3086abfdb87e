"""Handout PDFs whose parts are taller than a page split across pages instead of failing
(reportlab's LayoutError was a 500)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from assetmap.handout.directions import Directions
from assetmap.handout.drawing import MapSpec, Place
from assetmap.handout.model import Handout, HandoutItem, Walk
from assetmap.handout.pdf import render_pdf

P0 = (51.5300, -0.1400)
P1 = (51.5318, -0.1400)


def _item(steps: int, *, sessions: int = 2, first_visit: int = 1) -> HandoutItem:
    route = [[P0[1], P0[0]], [P1[1], P1[0]]]
    spec = MapSpec(None, (route,), Place(*P0, "Start"), (Place(*P1, "1"),))
    return HandoutItem(
        number=1,
        activity={"name": "Tea dance", "category_label": "Social",
                  "description": "Music and tea.", "schedule_text": "Tuesdays 14:00-16:00"},
        sessions=tuple(f"Tuesday {d} December, 2pm to 4pm" for d in range(sessions)),
        cost="Free", first_visit=tuple(f"Line {i} of advice for a first visit, said in full "
                                       "so it takes a whole line" for i in range(first_visit)),
        walk=Walk(2000, 25, "typical", False),
        directions=Directions(tuple(f"Step {i}: turn left onto Long Street and walk 120 m "
                                       "past the shops." for i in range(steps)), "streets"),
        map=spec)


def _pages(handout: Handout, tmp_path: Path) -> int:
    pdf = tmp_path / "handout.pdf"
    pdf.write_bytes(render_pdf(handout))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Tea dance" in text
    return int(next(line.split()[-1] for line in info.splitlines()
                    if line.startswith("Pages:")))


def test_directions_taller_than_a_page_split_across_pages(tmp_path):
    handout = Handout((_item(120),), "home", "pages", "1 December 2026")
    assert _pages(handout, tmp_path) >= 3


def test_the_combined_sheet_keeps_overlong_listings_to_two_pages(tmp_path):
    """The combined sheet prints no turn-by-turn directions (its map shows every walk) and
    trims what happens and the first visit, so even four overlong listings stay within the
    two pages it promises."""
    items = tuple(_item(120, sessions=80, first_visit=60) for _ in range(4))
    handout = Handout(items, "home", "sheet", "1 December 2026")
    assert 1 <= _pages(handout, tmp_path) <= 2


def test_facts_taller_than_a_page_split_across_pages(tmp_path):
    handout = Handout((_item(3, sessions=80, first_visit=60),), "home", "pages",
                         "1 December 2026")
    assert _pages(handout, tmp_path) >= 2


def test_a_short_listing_still_fits_one_page(tmp_path):
    assert _pages(Handout((_item(5),), "home", "pages", "1 December 2026"), tmp_path) == 1
