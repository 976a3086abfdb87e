"""Community suggestions in headless Chromium: a suggestion made in the browser reaches the
coordinator's queue beside its likely duplicate, is approved, and shows on the map; nothing
leaves the app's host. (Here, not in tests/community/, to share the one Playwright session.)"""

from __future__ import annotations

import json

import pytest

from assetmap.db import session_scope
from assetmap.demo import load_areas
from tests.browser.conftest import WatchedPage

pytestmark = pytest.mark.browser

NASTY = "<img src=x onerror=alert(1)> Pin group ${alert(2)}"


@pytest.fixture(autouse=True)
def _one_second_fill_time(app):
    """The real fill-time trap, shortened: each test waits a second before sending."""
    app.config["SUGGEST_MIN_FILL_SECONDS"] = 1


@pytest.fixture
def coordinator_page(app, browser, live_server):
    """A second browser, signed in as a coordinator."""
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        create_user(s, email="coord@example.org", role="coordinator",
                    password="correct horse battery")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = WatchedPage(context.new_page(), live_server)
    page = watched.page
    page.goto(live_server + "/login")
    page.fill("#email", "coord@example.org")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_selector("#nav-queue")
    yield watched
    context.close()


def test_suggestion_is_queued_beside_its_duplicate_approved_and_mapped(
        watched, coordinator_page, live_server, lunch_club):
    page = watched.page
    page.goto(live_server + "/suggest")
    page.fill("#f-name", "Kentish Town Tuesday Lunch")
    page.select_option("#f-category", "lunch-club")
    page.fill("#f-description", "Two courses and a quiz.")
    page.fill("#f-venue_name", "Busby Place Hall")
    page.fill("#f-postcode", "nw5 2ab")
    page.check("input[name=days][value=TU]")
    page.fill("#f-start_time", "12:00")
    page.fill("#f-end_time", "14:00")
    page.check("input[name=cost_kind][value=free]")
    page.check("input[name=tags][value=step-free]")
    page.wait_for_timeout(1100)
    page.click("button.primary")
    page.wait_for_selector(".reference")
    reference = page.inner_text(".reference")
    assert reference.startswith("S-")
    assert watched.foreign_requests() == []

    coordinator = coordinator_page.page
    coordinator.goto(live_server + "/")
    assert coordinator.inner_text("#nav-queue .nav-count").startswith("1")
    coordinator.click("#nav-queue")
    item = coordinator.locator("article.suggestion", has_text=reference)
    duplicate = item.locator(".duplicate")
    assert duplicate.count() == 1
    assert duplicate.get_attribute("data-activity-id") == str(lunch_club)
    reasons = duplicate.locator(".reasons").inner_text()
    assert "similar name" in reasons and "same day: Tuesday" in reasons and " m away" in reasons
    assert "Two courses and a quiz." in item.locator(".suggested").inner_text()
    item.locator("form.approve button").click()
    coordinator.wait_for_selector(".flash")
    assert "is now listing" in coordinator.inner_text(".flash")
    assert coordinator.locator("article.suggestion").count() == 0

    # On the map, for everyone.
    page.goto(live_server + "/")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    assert page.locator("#result-list li", has_text="Kentish Town Tuesday Lunch").count() == 1
    page.goto(live_server + "/api/v1/activities")
    names = [f["properties"]["name"] for f in json.loads(page.inner_text("body"))["features"]]
    assert "Kentish Town Tuesday Lunch" in names and "Tuesday Lunch Club" in names
    assert watched.foreign_requests() == []
    assert coordinator_page.foreign_requests() == []


def test_a_pinned_suggestion_with_markup_in_its_name_stays_text(
        watched, coordinator_page, live_server, app):
    with session_scope(app) as s:  # the pin map opens on the deployment's own areas
        load_areas(s, app.config["DATA_DIR"])
    page = watched.page
    page.goto(live_server + "/suggest")
    page.fill("#f-name", NASTY)
    page.click("details.pin summary")
    page.wait_for_selector("#pin-map.leaflet-container")
    page.click("#pin-map", position={"x": 200, "y": 150})
    lat, lon = float(page.input_value("#f-lat")), float(page.input_value("#f-lon"))
    assert 51.4 < lat < 51.7 and -0.3 < lon < 0.0
    page.wait_for_timeout(1100)
    page.click("button.primary")
    page.wait_for_selector(".reference")

    coordinator = coordinator_page.page
    coordinator.goto(live_server + "/coordinator/suggestions")
    item = coordinator.locator("article.suggestion").first
    assert item.locator("h3").inner_text().startswith(NASTY)
    assert item.locator("img").count() == 0
    item.locator("form.approve button").click()
    coordinator.wait_for_selector(".flash")

    page.goto(live_server + "/")
    page.wait_for_selector("#map[data-marker-count]", state="attached")
    # The map opens on the whole place, where listings are counted per grid cell; the list
    # and the markers follow the view, so go to the pin.
    page.evaluate(f"() => document.getElementById('map').leafletMap.setView([{lat}, {lon}], 17)")
    page.wait_for_selector('#map[data-marker-count="1"]', state="attached")
    assert page.locator("#result-list h3").first.inner_text() == NASTY
    assert page.locator("#result-list img").count() == 0
    page.wait_for_timeout(300)
    assert watched.dialogs == [] and coordinator_page.dialogs == []
    assert watched.foreign_requests() == [] and coordinator_page.foreign_requests() == []


SHOTS = "/work/notes/shots/wardmap"


@pytest.mark.parametrize("width,height", [(390, 844), (1366, 900)])
def test_counters_and_an_oversize_form_on_a_phone_and_a_desktop(app, browser, live_server,
                                                               width, height):
    """The limits as people type (maxlength, "N characters left"), and a body over the size
    limit (only a script can send one) coming back filled in, marked, and not stored."""
    from sqlalchemy import func, select

    from assetmap.models import Suggestion

    app.config["MAX_CONTENT_LENGTH"] = 20_000
    context = browser.new_context(viewport={"width": width, "height": height})
    watched = WatchedPage(context.new_page(), live_server)
    page = watched.page
    page.goto(live_server + "/suggest")
    page.fill("#f-name", "Kentish Town Tuesday Lunch")
    page.fill("#f-description", "x" * 3990)
    page.locator("#f-description").press_sequentially("abcdefghijklmnop")
    assert len(page.input_value("#f-description")) == 4000  # typing stops at the limit
    assert page.inner_text("#f-description-count") == "0 characters left"
    page.fill("#f-notes", "Ask for Pat.")
    assert page.inner_text("#f-notes-count") == "1988 characters left"
    counter = page.locator("#f-notes-count").bounding_box()
    assert counter and counter["x"] + counter["width"] <= width  # readable on a phone
    page.screenshot(path=f"{SHOTS}/suggest-counters-{width}.png", full_page=False,
                    clip={"x": 0, "y": max(0, counter["y"] - 300), "width": width,
                          "height": min(height, 500)})
    # A script that ignores maxlength sends far more than the limit.
    page.evaluate("document.getElementById('f-description').removeAttribute('maxlength');"
                  "document.getElementById('f-description').value = 'Hot lunch. ' + "
                  "'x'.repeat(30000);")
    page.wait_for_timeout(1100)
    page.click("button.primary")
    page.wait_for_selector("#error-summary")
    assert page.input_value("#f-name") == "Kentish Town Tuesday Lunch"
    assert page.input_value("#f-description") == ("Hot lunch. " + "x" * 30_000)[:4000]
    assert "we kept the first 4,000 characters" in page.inner_text("#f-description-error")
    assert "too long for us to read in full" in page.inner_text(".notice")
    page.click("#error-summary a")
    assert page.evaluate("document.activeElement.id") == "f-description"
    page.screenshot(path=f"{SHOTS}/suggest-too-large-{width}.png", full_page=True)
    with session_scope(app) as s:
        assert s.scalar(select(func.count()).select_from(Suggestion)) == 0
    assert watched.foreign_requests() == []
    context.close()
