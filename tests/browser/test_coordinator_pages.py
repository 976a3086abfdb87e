"""The freshness and coverage pages in headless Chromium: maps load from the app's own host,
listing text stays text, the queue works from the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetmap.db import session_scope
from assetmap.people.users import create_user
from assetmap.walking import NetworkRegistry
from tests.coordinator.conftest import (  # noqa: F401 - the coordinators' fixtures
    HIGHGATE,
    app,
    make_listing,
    scenario,
    wards,
)

pytestmark = pytest.mark.browser
NASTY = "<img src=x onerror=alert(1)>Lunch"
PASSWORD = "correct horse battery"
CAMDEN = Path(__file__).resolve().parents[2] / "data" / "osm" / "camden.osm.pbf"


def sign_in(page, base: str, app) -> None:  # noqa: F811
    with session_scope(app) as s:
        create_user(s, email="coord@example.org", role="coordinator", password=PASSWORD)
    page.goto(base + "/login")
    page.fill("input[name=email]", "coord@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_freshness_page(app, watched, live_server, scenario, make_listing):  # noqa: F811
    make_listing(NASTY, checks=((300, "phoned"),), at=HIGHGATE)
    page = watched.page
    sign_in(page, live_server, app)
    page.goto(live_server + "/coordinator/freshness")
    page.wait_for_selector("#ward-map[data-wards='18']", state="attached")
    assert page.locator("#ward-map path.leaflet-interactive").count() == 18
    assert page.locator(".state-bars rect.bar").count() == 6
    cell = page.locator("table.queue a", has_text="onerror").first
    assert cell.inner_text() == NASTY and page.locator("table.queue img").count() == 0
    # "Choose every listing" appears with JavaScript and works from the keyboard.
    everything = page.locator("#select-all")
    assert everything.is_visible()
    everything.focus()
    page.keyboard.press("Space")
    boxes = page.locator("input[name=ids]")
    assert boxes.count() == 9 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.keyboard.press("Space")
    page.locator("input[name=ids]").first.check()
    page.check("#action-2")  # mark closed
    page.click("button:has-text('Apply to the chosen listings')")
    page.wait_for_selector(".flash")
    assert "marked closed" in page.locator(".flash").inner_text()
    assert watched.dialogs == [] and watched.foreign_requests() == []


def test_coverage_page_recomputes_on_demand(app, watched, live_server, scenario):  # noqa: F811
    NetworkRegistry(Path(app.config["NETWORK_DIR"])).build(CAMDEN, "camden")
    page = watched.page
    sign_in(page, live_server, app)
    page.goto(live_server + "/coordinator/coverage")
    assert "Not worked out yet" in page.locator("main").inner_text()
    page.fill("#minutes", "")
    page.click("button:has-text('Recompute now')")
    assert "Give the walk in whole minutes" in page.locator("main").inner_text()
    page.fill("#minutes", "15")
    page.click("button:has-text('Recompute now')")
    page.wait_for_selector(".flash")
    assert "Coverage recomputed for 18 wards at 15 minutes' walk." in page.locator(
        ".flash").inner_text()
    page.wait_for_selector("#ward-map[data-wards='18']", state="attached")
    rows = page.locator("table.coverage tbody tr")
    assert rows.count() == 18
    page.click("table.coverage thead a:has-text('Ward')")
    names = page.locator("table.coverage tbody th").all_inner_texts()
    assert names == sorted(names, key=str.lower) and names[0] == "Belsize"
    page.click("table.coverage thead a:has-text('Ward')")
    assert page.locator("table.coverage tbody th").first.inner_text() == "West Hampstead"
    assert page.locator("th[aria-sort=descending]").count() == 1
    page.select_option("#c-category", "lunch-club")
    page.click("form.filters button")
    assert "Lunch club: ward by ward" in page.locator("main").inner_text()
    assert watched.foreign_requests() == []
