"""Without a basemap built (tilemaker missing), the maps draw the walking network's streets,
from the app's own host."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
KENTISH_TOWN = (51.5503, -0.1405)


def test_without_tiles_the_maps_draw_the_walking_network(watched, live_server, demo, network):
    page = watched.page
    first = page.request.get(live_server + "/api/v1/activities?limit=1").json()[
        "features"][0]["id"]
    page.goto(f"{live_server}/activities/{first}")
    page.wait_for_selector("#mini-map[data-streets-drawn]", state="attached", timeout=15000)
    assert int(page.get_attribute("#mini-map", "data-streets-drawn")) > 20
    page.goto(live_server + "/")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    page.evaluate("([lat, lon]) => document.getElementById('map').streetsLayer._map"
                  ".setView([lat, lon], 16, {animate: false})", list(KENTISH_TOWN))
    page.wait_for_selector("#map[data-streets-drawn]", state="attached", timeout=15000)
    assert int(page.get_attribute("#map", "data-streets-drawn")) > 100
    assert page.locator("#map .leaflet-streets-pane canvas").count() == 1
    assert watched.foreign_requests() == []
