"""The connector's hand-offs in headless Chromium at desktop and phone sizes: tell a group from
the listing, see the organiser's answer, and record how it went with one click. Screenshots
are kept in the test's folder (and ASSETMAP_SCREENSHOTS, if set) to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import create_listing
from tests.handoffs.conftest import ANSWER_URL, make_handoff

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def _shot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("ASSETMAP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


@pytest.fixture
def listing(app) -> int:
    return create_listing(app, {
        "name": "Kilburn Lunch Club", "category": "lunch-club",
        "schedules": ["Tuesdays 12:00-14:00"], "cost_kind": "free",
        "contact_email": "lunch@example.org"})


@pytest.mark.parametrize("size", list(SIZES))
def test_the_connector_tells_a_group_sees_the_answer_and_says_how_it_went(
        browser, live_server, app, listing, mailbox, tmp_path, size):
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    email = f"worker-{size}@example.org"
    with session_scope(app) as s:
        create_user(s, email=email, role="connector", password=PASSWORD)
    old = make_handoff(app, listing, email, days_ago=25, answer="looking-out")
    make_handoff(app, listing, email, days_ago=40, answer="full", outcome="still-going")

    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server}/connector/activities/{listing}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    # From the listing: tell the group, with a message that names the client first.
    page.click("#let-them-know")
    page.wait_for_selector("#message")
    page.fill("#message", "Mr Jones (07700 900123) would like a quiet welcome.")
    page.click("#send-handoff")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") in ("error-summary", "")\
        or page.is_visible("#error-summary")
    assert page.input_value("#message") == "[removed] ([removed]) would like a quiet welcome."
    _shot(page, tmp_path, f"handoff-send-error-{size}")
    page.fill("#message", "Someone would like a quiet welcome.")
    page.click("#send-handoff")
    page.wait_for_selector("#handoffs")
    assert "No answer yet" in page.inner_text("#handoffs")
    _shot(page, tmp_path, f"handoff-listing-{size}")

    # The organiser answers with one click (in another, signed-out browser).
    url = ANSWER_URL.search(mailbox.wait_for(3)[-1].get_content()).group(0)
    organiser = browser.new_context(viewport={"width": width, "height": height}).new_page()
    organiser.goto(url.replace("http://127.0.0.1:5000", live_server))
    _shot(organiser, tmp_path, f"handoff-answer-{size}")
    organiser.click("#answer-looking-out")
    organiser.wait_for_selector("text=Thank you")
    organiser.context.close()

    # The connector's hand-off list: the answer, and "how did it go" for the old one.
    page.goto(f"{live_server}/connector/handoffs")
    page.wait_for_selector(f"#handoff-{old}")
    _shot(page, tmp_path, f"handoff-list-{size}")
    table_text = page.inner_text(".handoff-table")
    assert "We'll look out for them" in table_text and "Still going" in table_text
    # Nothing wider than the screen, and buttons big enough to press.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for box in page.eval_on_selector_all(
            f"#handoff-{old} button", "els => els.map(e => e.getBoundingClientRect().height)"):
        assert box >= 44
    page.click(f"#handoff-{old} button[value=went-once]")
    page.wait_for_selector(".flash")
    assert "went once" in page.inner_text(".flash").lower()
    assert page.locator(f".handoff-cards #handoff-{old}").count() == 0
    assert "Went once" in page.inner_text(".handoff-table")
    _shot(page, tmp_path, f"handoff-list-after-{size}")
    own = live_server.split("//")[1]
    assert [u for u in requests if u.startswith("http") and own not in u] == []
    context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_near_misses_nothing_suitable_and_the_coordinators_pages(
        browser, live_server, app, network, tmp_path, size):
    from assetmap.db import session_scope
    from assetmap.demo import load_areas
    from assetmap.listings.changes import SYSTEM, create_activity
    from assetmap.listings.venues import find_or_create_venue
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        load_areas(s, app.config["DATA_DIR"])
        create_user(s, email=f"coord-{size}@example.org", role="coordinator",
                    password=PASSWORD)
        venue = find_or_create_venue(s, name="Somers Town Hall", lat=51.5322, lon=-0.1272,
                                     data_dir=app.config["DATA_DIR"])
        create_activity(s, {"name": "Tuesday Lunch", "category": "lunch-club",
                            "venue_id": venue.id, "schedules": ["Tuesdays 12:00-14:00"],
                            "cost_kind": "free"}, SYSTEM)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{live_server}/connector?postcode=NW1+2DB&minutes=10&interests=lunch-club"
              "&day=wed")
    page.fill("#email", f"coord-{size}@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#near-misses")
    assert "Another day or time" in page.inner_text("#near-misses")
    page.locator("#near-misses").scroll_into_view_if_needed()
    _shot(page, tmp_path, f"near-misses-{size}")
    page.click("#nothing-suitable")
    page.wait_for_selector(".flash")
    assert "Nothing about the client was kept" in page.inner_text(".flash")
    assert "postcode" not in page.url

    page.goto(f"{live_server}/coordinator/unmet")
    text = page.inner_text("main")
    assert "1 search for a lunch club in St Pancras and Somers Town in" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _shot(page, tmp_path, f"coordinator-unmet-{size}")
    page.goto(f"{live_server}/coordinator/coverage")
    assert "1 search for a lunch club" in page.inner_text(".unmet-beside-coverage")
    page.goto(f"{live_server}/coordinator/handoffs")
    _shot(page, tmp_path, f"coordinator-outcomes-{size}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
