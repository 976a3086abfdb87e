"""The session page at desktop and phone sizes: results first and above the fold, the
shortlist always in view (a side panel, or a bar on a phone), the map beside or below, the
postcode never in the address bar; screenshots are saved for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("ASSETMAP_SCREENSHOTS", "/tmp/assetmap-screenshots"))


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)])
def test_results_first_shortlist_in_view(browser, live_server, app, demo, network, width,
                                         height):
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    email = f"layout{width}@example.org"
    with session_scope(app) as s:
        create_user(s, email=email, role="connector", password=PASSWORD)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(live_server + "/connector")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#search-form")
        page.fill("#postcode", "NW1 2DB")
        page.fill("#minutes", "15")
        page.click("button.search-button")
        page.wait_for_selector("#map[data-marker-ids]", state="attached")
        assert urlsplit(page.url).path == "/connector" and not urlsplit(page.url).query
        first = page.locator("#result-list > li").first
        first.locator("input[name=ids]").check()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"session-{width}x{height}.png"))
        box = first.bounding_box()
        shortlist = page.locator("#shortlist").bounding_box()
        if width > 900:
            # The first result is above the fold, the shortlist beside it.
            assert box["y"] + 60 < height, box
            assert shortlist["x"] > box["x"] + box["width"] - 1 and shortlist["y"] < height
        else:
            # The shortlist is a bar at the foot of the screen; a result shows above it.
            assert shortlist["y"] + shortlist["height"] <= height + 1
            assert shortlist["y"] > height / 2
        assert "1" in page.locator("#shortlist-count").inner_text()
        # Reload keeps the search (and the shortlist), still without a query string.
        page.reload()
        page.wait_for_selector("#result-list > li")
        assert page.input_value("#postcode") == "NW1 2DB"
        assert not urlsplit(page.url).query
        page.locator("#result-list").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"session-{width}x{height}-full.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)])
def test_listing_page_referral_panel(browser, live_server, app, lunch_club, width, height):
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    email = f"panel{width}@example.org"
    with session_scope(app) as s:
        create_user(s, email=email, role="connector", password=PASSWORD)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/connector/activities/{lunch_club}")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#referral")
        page.check("#referral input[name=intake][value=full]")
        page.fill("#languages", "so, bsl")
        page.click("#referral button[type=submit]")
        page.wait_for_selector("text=Saved. Your change is in the listing's history.")
        panel = page.locator("#referral")
        assert "Full — connector, today" in panel.inner_text()
        assert "Runs in Somali and British Sign Language" in panel.inner_text()
        panel.scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"listing-{width}x{height}.png"))
        history = page.locator("table.history").inner_text()
        assert "Taking newcomers" in history and "Languages" in history
        assert "intake" not in history
    finally:
        context.close()


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)])
def test_organiser_says_full_from_the_check_page(browser, live_server, app, lunch_club, width,
                                                 height):
    from assetmap.community.organiser import create_link
    from assetmap.db import session_scope
    from assetmap.models import Activity

    with session_scope(app) as s:
        _link, token = create_link(s, s.get(Activity, lunch_club), email="club@example.org",
                                   config=app.config)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/organiser/check?token={token}")
        page.check("input[name=intake][value=waiting-list]")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(".intake-question").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"organiser-{width}x{height}.png"))
        page.click("#answer-yes")
        page.wait_for_load_state()
    finally:
        context.close()
    with session_scope(app) as s:
        activity = s.get(Activity, lunch_club)
        assert (activity.intake, activity.intake_by) == ("waiting-list", "organiser")


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)])
def test_recording_a_visit_updates_the_why_in_place(browser, live_server, app, demo, network,
                                                    width, height):
    """Two "welcoming to newcomers: yes" visits: the card's why says so without a reload,
    and says exactly what a reload then shows."""
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    email = f"why{width}@example.org"
    with session_scope(app) as s:
        create_user(s, email=email, role="connector", password=PASSWORD)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    try:
        page.goto(live_server + "/connector")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#search-form")
        page.fill("#postcode", "NW1 2DB")
        page.fill("#minutes", "15")
        page.click("button.search-button")
        page.wait_for_selector("#map[data-marker-ids]", state="attached")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"why-search-{width}x{height}.png"))
        card = page.locator("#result-list > li").nth(1)
        card.evaluate(
            "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 8)")
        page.screenshot(path=str(SHOTS / f"why-search-results-{width}x{height}.png"))
        target = card.get_attribute("data-id")
        why = page.locator(f"#result-{target} .why")
        assert "welcoming" not in why.inner_text()
        settled = len(loads)
        for _visit in range(2):
            page.locator(f"#result-{target} a.record-check").click()
            page.wait_for_selector("#check-dialog[open]")
            page.check("#check-dialog input[name=welcoming][value=yes]")
            page.click("#check-dialog button[value=visited]")
            page.wait_for_selector("#check-dialog:not([open])", state="attached")
        why.locator("text=connectors found it welcoming to newcomers (2 visits)").wait_for()
        assert "checked today, on a connector visit" in why.inner_text()
        assert len(loads) == settled, "the page was not reloaded"
        # The card's top at the top of the window, so its why is in the picture.
        page.locator(f"#result-{target}").evaluate(
            "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 8)")
        page.screenshot(path=str(SHOTS / f"why-after-visit-{width}x{height}.png"))
        live = why.inner_text()
        page.reload()
        page.wait_for_selector(f"#result-{target} .why")
        assert page.locator(f"#result-{target} .why").inner_text() == live
    finally:
        context.close()
