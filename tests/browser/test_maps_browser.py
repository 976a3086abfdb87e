"""The public map in headless Chromium, at a desktop and a phone size: postcode search, the local
basemap's labels, nothing fetched from another host, listing text shown as text."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

NASTY = "<img src=x onerror=alert(1)>"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
KENTISH_TOWN = (51.5503, -0.1405)
KENTISH_TOWN_STATION = (51.5502, -0.1389)  # the station's point in OpenStreetMap


@pytest.fixture(params=list(SIZES))
def page_at(request, browser, live_server):
    from tests.browser.conftest import WatchedPage

    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    watched = WatchedPage(context.new_page(), live_server)
    yield watched
    context.close()


@pytest.fixture
def nasty(app, demo):
    from assetmap.db import session_scope
    from assetmap.listings.changes import SYSTEM, create_activity
    from assetmap.listings.venues import find_or_create_venue

    with session_scope(app) as s:
        venue = find_or_create_venue(s, name="Test Hall", lat=51.5505, lon=-0.1402,
                                     data_dir=app.config["DATA_DIR"])
        return create_activity(s, {"name": NASTY, "category": "coffee-morning",
                                   "venue_id": venue.id,
                                   "schedules": ["Mondays 10:00-11:00"]}, SYSTEM).id


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_postcode_search_lists_cards_by_walking_time(page_at, live_server, demo, network,
                                                      tiles):
    page = page_at.page
    page.goto(live_server + "/")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    page.focus("#near")
    page.keyboard.type("NW5 1TL")
    page.keyboard.press("Enter")
    page.wait_for_selector("#result-list .card")
    assert "within a 30 minute walk of NW5 1TL" in page.inner_text("#results-heading")
    walks = [int(m) for m in re.findall(r"\((\d+) m\)", " ".join(
        page.locator("#result-list .card .walk").all_inner_texts()))]
    assert len(walks) >= 5 and walks == sorted(walks)
    first = page.locator("#result-list .card").first.inner_text()
    assert "When:" in first and "Cost:" in first and "min walk" in first
    assert no_sideways_scroll(page)
    assert page_at.foreign_requests() == []


def test_street_names_and_a_station_at_neighbourhood_zoom(page_at, live_server, demo, tiles):
    page = page_at.page
    page.goto(live_server + "/")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    # The basemap layer knows its Leaflet map: move the view to Kentish Town at zoom 16.
    page.evaluate("([lat, lon]) => document.getElementById('map').basemapLayer._map"
                  ".setView([lat, lon], 16, {animate: false})", list(KENTISH_TOWN))
    page.wait_for_function(
        "() => { const l = document.getElementById('map').basemapLayer;"
        " try { return l.labelers.getIndex(16).tree.all().length > 20; } catch (e) {"
        " return false; } }", timeout=15000)
    page.wait_for_timeout(500)
    labels = set(page.evaluate(
        "() => document.getElementById('map').basemapLayer.labelers.getIndex(16).tree.all()"
        ".map(e => e.indexedLabel.deduplicationKey).filter(Boolean)"))
    assert {"Leighton Road", "Fortess Road"} & labels, sorted(labels)[:30]
    picked = page.evaluate(
        "([lat, lon]) => { const l = document.getElementById('map').basemapLayer;"
        " const out = []; for (const [, fs] of l.queryTileFeaturesDebug(lon, lat, 24))"
        " for (const f of fs) out.push([f.layerName, f.feature.props.name || '']);"
        " return out; }", list(KENTISH_TOWN_STATION))
    assert ["transit", "Kentish Town"] in [list(p) for p in picked]
    # Tiles came from the app: requests for its own /tiles/ and nothing else.
    assert any("/tiles/camden/14/" in u for u in page_at.requests)
    assert page_at.foreign_requests() == []
    assert no_sideways_scroll(page)


def test_listing_names_render_as_text_in_cards_list_and_popup(page_at, live_server, nasty,
                                                               network, tiles):
    page = page_at.page
    page.goto(live_server + "/")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    page.wait_for_selector("#result-list .card")
    assert NASTY in page.locator("#result-list h3").all_inner_texts()
    assert page.locator("#result-list img, .leaflet-marker-pane img").count() == 0
    page.goto(live_server + "/?near=NW5+1TL")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    assert NASTY in page.locator("#result-list h3").all_inner_texts()
    marker = page.locator(".leaflet-marker-icon[title^='<img']").first
    marker.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content .popup-name")
    assert page.inner_text(".leaflet-popup-content .popup-name") == NASTY
    page.goto(f"{live_server}/activities/{nasty}?from=NW5+1TL")
    assert page.inner_text("h1") == NASTY
    page.wait_for_selector("#mini-map .leaflet-marker-icon")
    page.wait_for_timeout(300)
    assert page_at.dialogs == []
    assert page.locator("img[src=x]").count() == 0
    assert page_at.foreign_requests() == []
    assert no_sideways_scroll(page)


def test_key_tells_possibly_closed_from_never_checked_without_colour(page_at, live_server,
                                                                      demo, tiles):
    page = page_at.page
    page.goto(live_server + "/")
    key = page.locator("#map-key")
    closed = key.locator(".mk-possibly-closed")
    never = key.locator(".mk-unknown")
    assert closed.inner_text() != never.inner_text()
    shape = "el => getComputedStyle(el).borderRadius"
    assert closed.evaluate(shape) != never.evaluate(shape)
