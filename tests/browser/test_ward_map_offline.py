"""The ward map to share, opened from disk in headless Chromium with the network cut off: the
markers show, nothing is requested from anywhere, and a listing's name stays text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from assetmap.coverage import gaps as cov
from assetmap.db import session_scope
from assetmap.models import Area
from assetmap.people.users import create_user
from assetmap.walking import NetworkRegistry
from tests.browser.conftest import WatchedPage
from tests.coordinator.conftest import (  # noqa: F401 - the coordinators' fixtures
    KILBURN,
    NOW,
    app,
    make_listing,
    wards,
)

pytestmark = pytest.mark.browser
NASTY = "<img src=x onerror=alert(1)>"
SHOTS = Path("/work/notes/shots/wardmap")


@pytest.fixture
def downloaded(app, client, login, make_listing, network, tmp_path) -> Path:  # noqa: F811
    lat, lon = KILBURN
    make_listing("Visited lunch", checks=((30, "connector-visited"),), at=(lat, lon))
    make_listing(NASTY, checks=((300, "phoned"),), at=(lat - 0.001, lon - 0.001),
                 category="bingo")
    make_listing("New walk", at=(lat - 0.0008, lon + 0.0012), created=50,
                 category="walking-group")
    login("coordinator")
    with session_scope(app) as s:
        code = s.scalar(select(Area.code).where(Area.name == "Kilburn"))
    response = client.get(f"/coordinator/wards/{code}/map")
    assert response.status_code == 200
    assert "3 listings at venues in the ward" in response.get_data(as_text=True)
    path = tmp_path / "kilburn-map.html"
    path.write_bytes(response.get_data())
    return path


@pytest.mark.parametrize("width,height", [(390, 844), (1366, 900)])
def test_the_file_opens_offline_with_its_markers(browser, downloaded, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_offline(True)
    aborted: list[str] = []
    requested: list[str] = []
    failed: list[str] = []
    dialogs: list[str] = []
    context.route(re.compile(r"^(https?|wss?|ftp)://"),
                  lambda route: (aborted.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("request", lambda r: requested.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(downloaded.as_uri())
    page.wait_for_selector(".leaflet-marker-icon")
    markers = page.locator(".leaflet-marker-icon")
    assert markers.count() == 3
    assert page.locator(".leaflet-marker-icon .mk-fresh").count() == 1
    assert page.locator(".leaflet-marker-icon .mk-stale").count() == 1
    assert page.locator(".leaflet-marker-icon .mk-unknown").count() == 1
    # The ward outline and its streets are drawn (SVG paths), with no tiles.
    assert page.locator("path.leaflet-interactive, .leaflet-overlay-pane path").count() >= 2
    assert page.locator(".leaflet-tile").count() == 0
    # The popup of the listing named like markup shows the name as text.
    page.locator(f".leaflet-marker-icon[title^='{NASTY}']").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator("h2").inner_text() == NASTY
    assert "Bingo" in popup.inner_text() and "Tuesdays 12:00-14:00" in popup.inner_text()
    assert "Stale: not checked for 10 months" in popup.inner_text()
    assert page.locator("img").count() == 0 and dialogs == []
    # Key and credits under the map; no link to any other host on the page.
    assert page.locator(".share-key li").count() == 5  # outline, streets, three states
    assert "© OpenStreetMap contributors" in page.locator(".credits").inner_text()
    assert page.locator("a[href^='http'], [src^='http']").count() == 0
    page.wait_for_timeout(400)  # the popup fades in
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"ward-map-offline-{width}.png"), full_page=True)
    # Nothing was requested but the file itself (everything else is inline), nothing failed.
    assert requested == [downloaded.as_uri()]
    assert aborted == [] and failed == [] and errors == []
    context.close()


@pytest.mark.parametrize("width,height", [(390, 844), (1366, 900)])
def test_the_coverage_page_downloads_a_wards_map(app, browser, live_server, make_listing,  # noqa: F811
                                                 network, width, height):
    make_listing("Visited lunch", checks=((30, "connector-visited"),), at=KILBURN)
    with session_scope(app) as s:
        cov.run(s, NetworkRegistry(network), now=NOW, minutes=15)
        create_user(s, email="coord@example.org", role="coordinator",
                    password="correct horse battery")
    context = browser.new_context(viewport={"width": width, "height": height},
                                  accept_downloads=True)
    watched = WatchedPage(context.new_page(), live_server)
    page = watched.page
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "coord@example.org")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.goto(live_server + "/coordinator/coverage")
    assert page.locator("table.coverage tbody tr").count() == 18
    links = page.locator(".ward-maps a")
    assert links.count() == 18
    # The table scrolls inside its box on a phone instead of widening the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"coverage-{width}.png"), full_page=True)
    page.locator("#share-heading").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"coverage-share-{width}.png"))
    with page.expect_download() as info:
        page.click(".ward-maps a:has-text(\"Download Kilburn's map\")")
    download = info.value
    assert download.suggested_filename == "kilburn-map.html"
    assert "Visited lunch" in Path(download.path()).read_text(encoding="utf-8")
    assert watched.foreign_requests() == []
    context.close()
