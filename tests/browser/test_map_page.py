import pytest

pytestmark = pytest.mark.browser

NASTY = "<img src=x onerror=alert(1)>${alert(2)}"


@pytest.fixture
def nasty_listing(app, demo):
    from assetmap.db import session_scope
    from assetmap.listings.changes import SYSTEM, create_activity
    from assetmap.listings.venues import find_or_create_venue

    with session_scope(app) as s:
        venue = find_or_create_venue(s, name="Test Hall", lat=51.535, lon=-0.125,
                                     data_dir=app.config["DATA_DIR"])
        activity = create_activity(s, {"name": NASTY, "category": "other",
                                       "description": "<script>alert(3)</script>",
                                       "venue_id": venue.id,
                                       "schedules": ["Mondays 10:00-11:00"]}, SYSTEM)
        return activity.id


def test_map_shows_markers_from_own_host_only(watched, live_server, nasty_listing):
    page = watched.page
    page.goto(live_server + "/")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    count = int(page.get_attribute("#map", "data-marker-count"))
    assert count >= 61
    assert int(page.get_attribute("#map", "data-total")) == count
    # Each listing in view is a marker of its own (few enough not to be grouped).
    assert page.locator(".leaflet-marker-pane .leaflet-marker-icon").count() == count
    # The list follows the view: the 25 nearest its centre, and how many there are in all.
    assert page.locator("#result-list li").count() == 25
    assert page.inner_text("#result-count") == f"(25 of {count})"
    assert watched.foreign_requests() == []


def test_listing_text_renders_as_text_not_markup(watched, live_server, nasty_listing):
    page = watched.page
    page.goto(live_server + "/")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    # The list follows the map: centre it on the listing's venue.
    page.evaluate("() => document.getElementById('map').leafletMap.setView([51.535, -0.125], 17)")
    item = page.locator("#result-list li", has_text="onerror").first
    assert item.locator("h3").inner_text() == NASTY
    assert page.locator("#result-list img").count() == 0
    page.goto(f"{live_server}/activities/{nasty_listing}")
    assert page.locator("h1").inner_text() == NASTY
    page.wait_for_timeout(300)
    assert watched.dialogs == []
    assert watched.foreign_requests() == []
