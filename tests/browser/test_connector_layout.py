"""The session page at desktop and phone sizes: results first and above the fold, the
shortlist always in view (a side panel, or a bar on a phone), the map beside or below, the
postcode never in the address bar; screenshots are saved for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import PASSWORD, search_from, sign_in_connector

pytestmark = pytest.mark.browser
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
        sign_in_connector(page, live_server, email)
        search_from(page, "NW1 2DB", minutes="15")
        assert urlsplit(page.url).path == "/connector" and not urlsplit(page.url).query
        first = page.locator("#result-list > li").first
        heading = first.locator("h3").bounding_box()
        bar = page.locator("#shortlist").bounding_box()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"session-{width}x{height}-searched.png"))
        # Straight after the search the first result's name is in view, not under the bar.
        assert heading["y"] >= 0 and heading["y"] + heading["height"] <= height
        if width <= 900:
            assert heading["y"] + heading["height"] <= bar["y"]
            # An empty shortlist is one line at the foot of the screen.
            assert bar["height"] < 60, bar
            assert page.locator("#shortlist-bar-empty").inner_text() == (
                "Shortlist: none yet — tick Shortlist on a result")
            assert not page.locator("#open-handout").is_visible()
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
            # One line until opened, by keyboard too; Escape closes it again.
            toggle = page.locator("#shortlist-toggle")
            assert shortlist["height"] < 70, shortlist
            assert toggle.inner_text() == "Shortlist (1) · Handout ▸"
            assert toggle.get_attribute("aria-expanded") == "false"
            toggle.focus()
            page.keyboard.press("Enter")
            assert toggle.get_attribute("aria-expanded") == "true"
            assert page.locator("#open-handout").is_visible()
            assert page.locator("#shortlist-items li").count() == 1
            page.screenshot(path=str(SHOTS / f"session-{width}x{height}-open.png"))
            page.keyboard.press("Escape")
            assert toggle.get_attribute("aria-expanded") == "false"
            assert not page.locator("#open-handout").is_visible()
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


def test_phone_without_script_shortlist_in_the_page(browser, live_server, app, demo, network):
    """Without JavaScript the shortlist is part of the page after the results (no bar over
    them), with its handout buttons usable."""
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    email = "noscript@example.org"
    with session_scope(app) as s:
        create_user(s, email=email, role="connector", password=PASSWORD)
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + "/connector")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.fill("#postcode", "NW1 2DB")
        page.click("button.search-button")
        page.wait_for_selector("#result-list > li")
        assert page.locator("#shortlist").evaluate("el => getComputedStyle(el).position") == (
            "static")
        assert not page.locator("#shortlist-bar").is_visible()
        last = page.locator("#result-list > li").last.bounding_box()
        assert page.locator("#shortlist").bounding_box()["y"] > last["y"]
        page.locator("#result-list > li").first.locator("input[name=ids]").check()
        page.locator("#open-handout").scroll_into_view_if_needed()
        assert page.locator("#open-handout").is_visible()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "session-390x844-noscript.png"))
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
        sign_in_connector(page, live_server, email)
        search_from(page, "NW1 2DB", minutes="15")
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
