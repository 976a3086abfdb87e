"""The shortlist handout: print-ready page and PDF, large text, a map and directions."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from html import unescape as html_unescape

import pytest
from sqlalchemy.orm import Session

from assetmap.config import PROJECT_ROOT
from assetmap.handout.model import first_visit_words
from assetmap.listings.serialize import activity_to_dict
from assetmap.models import Activity
from assetmap.walking.stops import build_stops
from tests.conftest import csrf_token
from tests.connector.conftest import ORIGIN, search_ids

PBF = PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf"


@pytest.fixture
def three(client, connector, demo, network, csrf) -> dict:
    """The form a connector posts for a handout of the three nearest matches."""
    page = client.get(f"/connector?postcode={ORIGIN}&minutes=20&pace=slow")
    html = page.get_data(as_text=True)
    ids = search_ids(html)[:3]
    assert len(ids) == 3
    lat = re.search(r'name="lat" value="([^"]+)"', html).group(1)
    lon = re.search(r'name="lon" value="([^"]+)"', html).group(1)
    return {"ids": [str(i) for i in ids], "lat": lat, "lon": lon, "origin_label": ORIGIN,
            "pace": "slow", "layout": "pages", "csrf_token": csrf("/connector")}


@pytest.fixture
def four(three, client) -> dict:
    """The combined sheet's form for the four nearest matches."""
    html = client.get(f"/connector?postcode={ORIGIN}&minutes=20&pace=slow").get_data(
        as_text=True)
    ids = search_ids(html)[:4]
    assert len(ids) == 4
    return three | {"ids": [str(i) for i in ids], "layout": "sheet"}


@pytest.fixture
def csrf(client):
    return lambda path: csrf_token(client, path)


def test_handout_page_has_each_activity_with_map_and_directions(client, three):
    response = client.post("/connector/handout", data=three)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert html.count('class="handout-page"') == 3
    assert html.count('<svg class="route-map"') == 3
    assert html.count('class="map-route"') == 3
    assert html.count('<ol class="directions">') == 3
    for fact in ("When", "Where", "Cost", "Your first visit", "Contact"):
        assert html.count(f"<dt>{fact}</dt>") == 3
    assert html.count("<h3>Getting there</h3>") == 3
    assert f"from {ORIGIN}" in html
    # Street names from the OpenStreetMap extract: turn-by-turn, not just headings.
    assert re.search(r"(Street|Road|Square|Place)", html.split('class="directions"')[1])
    assert "<script>" not in html and "style=" not in html


def test_combined_sheet_has_one_overview_map_numbered(client, three):
    html = client.post("/connector/handout", data=three | {"layout": "sheet"}).get_data(
        as_text=True)
    assert html.count('<svg class="route-map"') == 1
    assert html.count('class="map-place"') == 3
    assert html.count('class="sheet-item"') == 3


def test_pdf_of_three_activities_has_large_text_a_map_and_directions(client, three,
                                                                     tmp_path):
    response = client.post("/connector/handout.pdf", data=three)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    pdf = tmp_path / "handout.pdf"
    pdf.write_bytes(response.data)
    assert response.data.startswith(b"%PDF")
    # Text: every activity, its directions, and body words at least 14 pt tall.
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert text.count("Getting there") == 3
    assert re.search(r"(Head|Turn|Carry on).*(Street|Road|Square|Place)", text)
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    heights = sorted(float(m.group(2)) - float(m.group(1)) for m in re.finditer(
        r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">', boxes))
    median = heights[len(heights) // 2]
    assert median >= 14, f"body words are {median:.1f} pt tall"
    # The map: page 1 rendered to an image (poppler-utils, a Makefile package) holds the
    # route's blue and the streets in the basemap's colours (their grey casing on its land).
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(pdf),
                    str(tmp_path / "page")], check=True)
    from PIL import Image

    image = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    blue = sum(n for n, (r, g, b) in colours if b > 120 and r < 60 and 60 < g < 110)
    assert blue > 150, "no walking route drawn"
    land = [(x, y) for x in range(image.width) for y in range(image.height)
            if image.getpixel((x, y)) == (0xf4, 0xf1, 0xea)]
    assert len(land) > 5000, "no basemap land under the streets"
    xs, ys = [p[0] for p in land], [p[1] for p in land]
    streets = sum(1 for x in range(min(xs), max(xs)) for y in range(min(ys), max(ys))
                  if image.getpixel((x, y)) == (255, 255, 255))
    assert streets > 500, "no streets drawn (white on the land)"


def test_route_maps_name_streets_near_the_route_and_the_nearest_stop(client, three, network,
                                                                     tmp_path):
    build_stops(PBF, network, "camden")
    html = client.post("/connector/handout", data=three).get_data(as_text=True)
    pages = html.split('class="handout-page"')[1:]
    assert len(pages) == 3
    for page in pages:
        svg = page.split('<svg class="route-map"')[1].split("</svg>")[0]
        on_route = re.findall(r'class="map-label" [^>]*>([^<]+)<', svg)
        near = re.findall(r'class="map-label-near" [^>]*>([^<]+)<', svg)
        stops = re.findall(r'class="map-stop-label" [^>]*>([^<]+)<', svg)
        assert on_route, "the streets walked along are named"
        assert near and not set(near) & set(on_route), "streets nearby are named too"
        # The nearest stop is one the handout lists under "By bus or train".
        listed = page.split("By bus or train</dt>")[1].split("</dd>")[0]
        assert stops and stops[0].removeprefix("Bus stop ") in listed, (stops, listed)
    pdf = tmp_path / "handout.pdf"
    pdf.write_bytes(client.post("/connector/handout.pdf", data=three).data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    first = re.findall(r'class="map-stop-label" [^>]*>([^<]+)<', pages[0])[0]
    assert first.removeprefix("Bus stop ").split()[0] in text


def _starts(read, ids: list[str]) -> list[tuple[str, str]]:
    """Each activity's first words of its description and of its first-visit advice."""
    def words(s: Session) -> list[tuple[str, str]]:
        out = []
        for i in ids:
            data = activity_to_dict(s.get(Activity, int(i)), now=datetime.now(UTC))
            out.append((" ".join(data["description"].split()[:6]),
                        " ".join(first_visit_words(data)[0].split()[:5])))
        return out

    return read(words)


def test_combined_sheet_of_four_keeps_what_happens_first_visit_and_stops(client, four, read,
                                                                         network):
    build_stops(PBF, network, "camden")
    html = client.post("/connector/handout", data=four).get_data(as_text=True)
    assert html.count('class="sheet-item"') == 4
    assert html.count('<svg class="route-map"') == 1
    items = html.split('class="sheet-item"')[1:]
    for item, (what, first) in zip(items, _starts(read, four["ids"]), strict=True):
        text = " ".join(html_unescape(re.sub(r"<[^>]+>", " ", item)).split())
        for label in ("When", "Where", "Cost", "What happens", "First visit", "Walk",
                      "Bus or train"):
            assert f"<dt>{label}</dt>" in item, label
        assert what in text and first in text, (what, first)
        assert '<p class="phone">Phone <span>' in item or '<p class="contact">' in item
        assert "Bus stop" in item.split("<dt>Bus or train</dt>")[1].split("</dd>")[0]


def test_combined_sheet_pdf_of_four_is_at_most_two_pages_in_large_print(client, four, read,
                                                                        network, tmp_path):
    build_stops(PBF, network, "camden")
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(client.post("/connector/handout.pdf", data=four).data)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages <= 2
    for page in range(1, pages + 1):  # no page left holding only the footer
        words = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                               capture_output=True, text=True, check=True).stdout
        assert "What happens" in words, f"page {page} has no activity"
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    for what, first in _starts(read, four["ids"]):
        assert what in text and first in text, (what, first)
    assert text.count("What happens") == 4 and text.count("First visit") == 4
    assert text.count("Bus stop") >= 4
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    heights = sorted(float(m.group(2)) - float(m.group(1)) for m in re.finditer(
        r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">', boxes))
    median = heights[len(heights) // 2]
    assert median >= 11, f"body words are {median:.1f} pt tall"


def test_handout_needs_a_shortlist_and_takes_at_most_ten(client, three):
    response = client.post("/connector/handout", data=three | {"ids": []})
    assert response.status_code == 400
    assert "shortlist" in response.get_data(as_text=True)
    many = three | {"ids": [str(i) for i in range(1, 12)]}
    response = client.post("/connector/handout", data=many, headers={"Accept":
                                                                     "application/json"})
    assert response.status_code == 400 and response.get_json()["field"] == "ids"


def test_handout_is_never_a_get_so_the_origin_stays_out_of_urls(client, connector):
    assert client.get("/connector/handout?ids=1&lat=51.5&lon=-0.1").status_code == 405
    assert client.get("/connector/handout.pdf?ids=1").status_code == 405


def test_handout_shows_no_private_notes(client, three):
    token = csrf_token(client, f"/connector/activities/{three['ids'][0]}")
    client.post(f"/connector/activities/{three['ids'][0]}/checks",
                data={"kind": "visited", "note": "SECRET-NOTE-123", "csrf_token": token})
    html = client.post("/connector/handout", data=three).get_data(as_text=True)
    assert "SECRET-NOTE-123" not in html
