"""The connector's page by keyboard alone, with labelled controls, and at 200% zoom."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
SEARCH = "/connector?postcode=NW1+2DB&minutes=20&pace=slow"


@pytest.fixture
def signed_in(app):
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        create_user(s, email="keys@example.org", role="connector", password=PASSWORD)

    def _sign_in(page) -> None:
        page.fill("#email", "keys@example.org")
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")

    return _sign_in


def _focused(page) -> dict:
    return page.evaluate("""() => { const el = document.activeElement;
        const style = getComputedStyle(el);
        return {id: el.id, tag: el.tagName, cls: el.className,
                text: (el.innerText || el.value || '').trim(),
                outline: style.outlineStyle, width: style.outlineWidth}; }""")


def test_every_control_is_labelled_and_the_list_works_by_keyboard(watched, live_server, demo,
                                                                  network, signed_in):
    page = watched.page
    page.goto(live_server + SEARCH)
    signed_in(page)
    page.wait_for_selector("#map[data-marker-ids]", state="attached")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        'main input:not([type=hidden]), main select, main textarea, main button')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !(el.innerText || '').trim())
        .map(el => el.outerHTML)""")
    assert unlabelled == []

    # From the first result's "Show route" onwards, by keyboard only.
    page.focus("#result-list > li:first-child button.show-route")
    focused = _focused(page)
    assert focused["text"] == "Show route"
    assert focused["outline"] != "none"  # visible focus
    page.keyboard.press("Enter")
    page.wait_for_selector("path.route-line")
    page.wait_for_selector("#result-list > li:first-child .route-info ol li")
    page.keyboard.press("Tab")
    assert _focused(page)["tag"] == "INPUT"  # the shortlist box
    page.keyboard.press("Space")
    assert page.locator("#shortlist-items li").count() == 1
    page.keyboard.press("Tab")
    assert _focused(page)["text"] == "Record a visit or call"
    page.keyboard.press("Enter")
    page.wait_for_selector("#check-dialog[open]")
    assert page.evaluate("() => document.getElementById('check-dialog')"
                         ".contains(document.activeElement)")
    page.keyboard.press("Escape")
    page.wait_for_selector("#check-dialog:not([open])", state="attached")
    assert _focused(page)["text"] == "Record a visit or call"  # focus comes back
    assert watched.foreign_requests() == []


def test_at_200_percent_zoom_the_page_stacks_without_sideways_scrolling(browser, live_server,
                                                                        demo, network,
                                                                        signed_in):
    # 1280 × 900 CSS pixels at 200% zoom is a 640 × 450 viewport.
    context = browser.new_context(viewport={"width": 640, "height": 450},
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(live_server + SEARCH)
        signed_in(page)
        page.wait_for_selector("#map[data-marker-ids]", state="attached")
        width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1]
        results = page.locator("section.results").bounding_box()
        map_box = page.locator("#map").bounding_box()
        assert abs(results["x"] - map_box["x"]) < 40  # one column: map and list stacked
        assert page.locator("#result-list > li").first.is_visible()
    finally:
        context.close()
