"""A connector's session in headless Chromium: sign in, search, list and map, route,
shortlist, handout and PDF, a recorded visit; and two connectors editing one listing."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def _user(app, email: str, name: str | None = None) -> str:
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        create_user(s, email=email, role="connector", password=PASSWORD, name=name)
    return email


def _sign_in(page, email: str) -> None:
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def _foreign(urls: list[str], base: str) -> list[str]:
    own = urlsplit(base).netloc
    return [u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).netloc != own]


def test_a_connector_session_from_search_to_handout_and_a_recorded_visit(
        watched, live_server, app, demo, network, tmp_path):
    page = watched.page
    every_request: list[str] = []  # from every tab of this browser context
    page.context.on("request", lambda r: every_request.append(r.url))
    email = _user(app, "link.worker@example.org")

    page.goto(live_server + "/connector")
    assert urlsplit(page.url).path == "/login"
    _sign_in(page, email)
    page.wait_for_selector("#search-form")

    # Search by postcode with a need and an interest.
    page.fill("#postcode", "nw1 2db")
    page.fill("#minutes", "20")
    page.click("details.choices:has-text('Needs') summary")
    page.check("input[name=needs][value=free]")
    page.click("details.choices:has-text('Interests') summary")
    page.check("input[name=interests][value=walking-group]")
    page.click("button.search-button")
    page.wait_for_selector("#map[data-marker-ids]", state="attached")
    # The search posted: the postcode is not in the address bar (issue 15), yet it stays.
    assert urlsplit(page.url).path == "/connector" and not urlsplit(page.url).query
    assert page.input_value("#postcode").lower() == "nw1 2db"

    # The same matches in the list and on the map.
    list_ids = sorted(int(x) for x in page.eval_on_selector_all(
        "#result-list > li", "items => items.map(li => li.dataset.id)"))
    assert len(list_ids) >= 2
    marker_ids = [int(x) for x in page.get_attribute("#map", "data-marker-ids").split(",")]
    assert marker_ids == list_ids
    page.wait_for_selector(".result-marker, .marker-cluster")
    drawn = page.locator("path.result-marker").count()
    clustered = sum(int(t) for t in page.locator(".marker-cluster span").all_inner_texts())
    assert drawn + clustered == len(list_ids)
    for li in page.locator("#result-list > li").all()[:3]:
        assert "min walk" in li.inner_text() and "Why:" in li.inner_text()
        assert "Free" in li.locator(".tags").inner_text()

    # A route for the first result: drawn on the map, written out in the list.
    first = page.locator("#result-list > li").first
    first.locator("button.show-route").click()
    page.wait_for_selector("path.route-line")
    page.wait_for_selector("#result-list > li:first-child .route-info ol li")
    steps = first.locator(".route-info ol").inner_text()
    assert re.search(r"(Head|Turn|Carry on)", steps)

    # Two results on the shortlist (kept in this tab's sessionStorage only).
    items = page.locator("#result-list > li")
    items.nth(0).locator("input[name=ids]").check()
    items.nth(1).locator("input[name=ids]").check()
    assert page.locator("#shortlist-items li").count() == 2
    stored = page.evaluate("() => JSON.parse(sessionStorage.getItem('assetmap.shortlist'))")
    assert sorted(item["id"] for item in stored) == sorted(
        int(items.nth(i).get_attribute("data-id")) for i in (0, 1))

    # The handout opens in a new tab; the PDF downloads.
    with page.context.expect_page() as opened:
        page.click("#open-handout")
    handout = opened.value
    handout.wait_for_selector(".handout-page")
    assert handout.locator(".handout-page").count() == 2
    assert handout.locator("svg.route-map path.map-route").count() == 2
    assert handout.locator("ol.directions li").count() >= 4
    assert urlsplit(handout.url).path == "/connector/handout"  # posted: no origin in the URL
    with handout.expect_download() as download:
        handout.click("text=Download PDF")
    pdf = tmp_path / "handout.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    handout.close()

    # Record a visit in two clicks; the freshness changes in place.
    target = items.nth(2) if items.count() > 2 else items.nth(0)
    target_id = target.get_attribute("data-id")
    target.locator("a.record-check").click()
    page.wait_for_selector("#check-dialog[open]")
    page.click("#check-dialog button[value=visited]")
    page.wait_for_selector("#check-dialog:not([open])", state="attached")
    fresh = page.locator(f"#result-{target_id} .freshness")
    fresh.locator("text=checked today, on a connector visit").wait_for()
    assert "state-fresh" in fresh.get_attribute("class")
    assert "1 check by connectors" in page.locator(f"#result-{target_id} .endorsement"
                                                   ).inner_text()
    page.wait_for_selector("#announcer:has-text('Saved')", state="attached")

    assert watched.foreign_requests() == []
    assert _foreign(every_request, live_server) == []


def test_an_expired_sign_in_comes_back_to_the_same_search(watched, live_server, app, demo,
                                                         network):
    page = watched.page
    email = _user(app, "returning@example.org")
    search = "/connector?postcode=NW1+2DB&minutes=15&pace=slow&needs=free"
    page.goto(live_server + search)
    _sign_in(page, email)
    page.wait_for_selector("#result-list")
    page.context.clear_cookies()  # the sign-in expires
    page.reload()
    assert urlsplit(page.url).path == "/login"
    _sign_in(page, email)
    page.wait_for_selector("#result-list")
    back = urlsplit(page.url)
    assert f"{back.path}?{back.query}" == search
    assert page.locator("input[name=needs][value=free]").is_checked()
    assert watched.foreign_requests() == []


def test_two_connectors_edit_one_listing_and_the_second_merges(browser, watched, live_server,
                                                              app, demo):
    from sqlalchemy import select

    from assetmap.db import session_scope
    from assetmap.models import Activity

    with session_scope(app) as s:
        listing = s.scalars(select(Activity.id).order_by(Activity.id)).first()
    first = watched.page
    _user(app, "first@example.org", "Fran First")
    _user(app, "second@example.org", "Sam Second")
    other_context = browser.new_context(viewport={"width": 1024, "height": 900})
    second = other_context.new_page()
    second_requests: list[str] = []
    second.on("request", lambda r: second_requests.append(r.url))
    edit = f"{live_server}/connector/activities/{listing}/edit"
    try:
        for page, email in ((first, "first@example.org"), (second, "second@example.org")):
            page.goto(edit)
            _sign_in(page, email)
            page.wait_for_selector("form.edit-form")

        second.fill("#contact_phone", "020 7946 1111")
        second.click("form.edit-form button[type=submit]")
        second.wait_for_selector("text=Saved. Your change is in the listing's history.")

        first.fill("#contact_phone", "020 7946 2222")
        first.fill("#contact_name", "Pat")
        first.click("form.edit-form button[type=submit]")
        first.wait_for_selector("h1:has-text('Someone else saved this listing')")
        conflict = first.locator("#merge-contact_phone")
        assert "020 7946 1111" in conflict.inner_text()
        assert "020 7946 2222" in conflict.inner_text()
        assert first.locator("#merge-contact_name input[value=mine]").is_checked()
        conflict.locator("input[value=mine]").check()
        first.click("text=Save the merged version")
        first.wait_for_selector("text=Saved. Your change is in the listing's history.")
        facts = first.locator("dl.facts").inner_text()
        assert "020 7946 2222" in facts and "Pat" in facts
        assert "Sam Second" in first.locator("table.history").inner_text()
        assert "Fran First" in first.locator("table.history").inner_text()
    finally:
        other_context.close()
    assert watched.foreign_requests() == []
    assert _foreign(second_requests, live_server) == []
