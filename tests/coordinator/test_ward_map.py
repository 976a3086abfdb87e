"""A ward's map to share: one HTML file, with the ward's listings and nothing from another host
(the browser test opening it offline is tests/browser/test_ward_map_offline.py)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.maps.share import file_name
from assetmap.models import Area
from tests.coordinator.conftest import HIGHGATE, KILBURN

NASTY = "<img src=x onerror=alert(1)>"
#: Any src or href (or CSS url()) that reaches for a host: http://, https:// or //host.
FOREIGN = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?)(?:https?:)?//""", re.I)


def ward_code(app, name: str) -> str:
    with session_scope(app) as s:
        return s.scalar(select(Area.code).where(Area.name == name, Area.kind == "ward"))


@pytest.fixture
def kilburn_map(app, client, login, make_listing, network):
    make_listing("Visited lunch", checks=((30, "connector-visited"),), at=KILBURN)
    make_listing(NASTY, checks=((300, "phoned"),), at=KILBURN, category="bingo")
    make_listing("Old tea dance", checks=((400, "phoned"),), at=HIGHGATE)
    login("coordinator")
    return client.get(f"/coordinator/wards/{ward_code(app, 'Kilburn')}/map")


def test_the_file_is_an_attachment_named_after_the_ward(kilburn_map):
    assert kilburn_map.status_code == 200
    assert kilburn_map.mimetype == "text/html"
    assert kilburn_map.headers["Content-Disposition"] == 'attachment; filename="kilburn-map.html"'


def test_the_file_holds_the_wards_listings_in_words_and_nothing_private(kilburn_map):
    html = kilburn_map.get_data(as_text=True)
    assert "Visited lunch" in html and "Old tea dance" not in html  # Highgate's is not
    assert "Tuesdays" in html and "Lunch club" in html  # when, and the kind in words
    assert '"Fresh", "checked": "checked 4 weeks ago, on a connector visit"' in html
    assert "Kilburn: listings on the map" in html and "2 listings at venues in the ward" in html
    assert "organiser@example.org" not in html and "private note" not in html
    assert "020 7946 0001" not in html
    # The attributions of the data it carries: OpenStreetMap streets, the OS/ONS ward outline.
    assert "© OpenStreetMap contributors (ODbL)" in html
    assert "Contains OS data © Crown copyright and database right" in html


def test_the_file_fetches_nothing_from_another_host(kilburn_map):
    html = kilburn_map.get_data(as_text=True)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    markup = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    assert FOREIGN.findall(markup) == []
    # In the scripts, only Leaflet's own credit link, which shows in its attribution control:
    # the file turns that control off (the browser test finds no such link on the page).
    found = [(hit, "Leaflet 1.9.4" in code) for code in scripts for hit in FOREIGN.findall(code)]
    assert found == [('href="https://', True)]
    assert "attributionControl\": false" in html
    assert "<link" not in html and "<script src" not in html and "@import" not in html
    assert "cdn.jsdelivr" not in html and "tile.openstreetmap" not in html
    # Leaflet itself, and its images, are in the file.
    assert "Leaflet 1.9.4" in html and "url(data:image/png;base64," in html
    assert html.count("<script") >= 2


def test_a_listing_name_cannot_become_markup(kilburn_map):
    html = kilburn_map.get_data(as_text=True)
    assert NASTY not in html and "<img" not in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html


def test_streets_are_drawn_only_when_a_network_covers_the_ward(app, client, login, make_listing):
    make_listing("Visited lunch", checks=((30, "connector-visited"),), at=KILBURN)
    login("coordinator")
    html = client.get(f"/coordinator/wards/{ward_code(app, 'Kilburn')}/map").get_data(
        as_text=True)
    assert "Visited lunch" in html and "Streets and paths" not in html
    assert "© OpenStreetMap contributors" not in html  # no OSM data in this file


def test_the_coverage_page_links_every_wards_map(app, client, login, wards):
    login("coordinator")
    page = client.get("/coordinator/coverage").get_data(as_text=True)
    assert "A map to share" in page
    assert f'href="/coordinator/wards/{ward_code(app, "Kilburn")}/map" download' in page
    assert page.count("/map\" download>Download ") == len(wards)


@pytest.mark.parametrize("code", ["E99999999", "nothing", "x" * 300, "%3Cscript%3E", "%00",
                                  "E05000140%0A"])
def test_an_unknown_ward_is_a_404_in_plain_words(client, login, wards, code):
    login("coordinator")
    response = client.get(f"/coordinator/wards/{code}/map")
    assert response.status_code == 404
    assert "There is no ward with that code" in response.get_data(as_text=True)


def test_a_borough_is_not_a_ward(app, client, login, wards):
    login("coordinator")
    with session_scope(app) as s:
        borough = s.scalar(select(Area.code).where(Area.kind == "borough"))
    assert client.get(f"/coordinator/wards/{borough}/map").status_code == 404


def test_only_coordinators_may_download(app, client, login, wards):
    code = ward_code(app, "Kilburn")
    assert client.get(f"/coordinator/wards/{code}/map").status_code in (302, 401)
    login("connector")
    assert client.get(f"/coordinator/wards/{code}/map").status_code == 403


@pytest.mark.parametrize(("ward", "expected"), [
    ("Kilburn", "kilburn-map.html"),
    ("Camden Town with Primrose Hill", "camden-town-with-primrose-hill-map.html"),
    ("St Pancras & Somers Town", "st-pancras-somers-town-map.html"),
    ("Côte \"d'Azur\"/..", "cote-d-azur-map.html"),
    ("«»", "ward-map.html"),
])
def test_file_names_are_plain_ascii(ward, expected):
    assert file_name(ward) == expected
