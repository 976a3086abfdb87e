"""In the browser: a coordinator who looks after two wards sees their ward map open on those
wards, not on the whole borough (the page's box is not overridden once the wards load)."""

from __future__ import annotations

import pytest

from assetmap.db import session_scope
from assetmap.models import Area
from assetmap.people.accounts import set_areas
from assetmap.people.users import create_user
from tests.coordinator.conftest import app, wards  # noqa: F401 - the coordinators' fixtures

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def test_the_ward_map_opens_on_the_coordinators_wards(app, wards, watched,  # noqa: F811
                                                      live_server):
    with session_scope(app) as s:
        user = create_user(s, email="two@example.org", role="coordinator", password=PASSWORD)
        set_areas(s, user, [s.get(Area, wards["Kentish Town"]), s.get(Area, wards["Highgate"])])
    page = watched.page
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "two@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(live_server + "/coordinator/freshness?area=all")  # every ward drawn
    page.wait_for_selector("#ward-map[data-wards='18']", state="attached")
    page.wait_for_timeout(300)
    west, south, east, north = page.evaluate(
        "() => { const m = document.getElementById('ward-map').streetsLayer._map;"
        " const b = m.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(),"
        " b.getNorth()]; }")
    box = [float(v) for v in page.get_attribute("body", "data-place-bounds").split(",")]
    # The view holds the two wards' box ...
    assert west <= box[0] and south <= box[1] and east >= box[2] and north >= box[3]
    # ... and is not the whole borough: Holborn (the south of Camden, 51.515) is out of view.
    assert south > 51.52, (west, south, east, north)
    assert watched.foreign_requests() == []
