"""The connector's map tells "never checked" from "possibly closed" by shape, not colour alone:
a hollow ring with a dashed edge against a solid dot, in the key and on the map."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import PASSWORD, search_from, sign_in_connector

pytestmark = pytest.mark.browser


def test_never_checked_and_possibly_closed_differ_without_colour(browser, live_server, app,
                                                                  demo, network):
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        create_user(s, email="key@example.org", role="connector", password=PASSWORD)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        sign_in_connector(page, live_server, "key@example.org")
        search_from(page, "NW5 1TL", minutes="30")
        style = ("el => { const s = getComputedStyle(el); return [s.borderTopStyle,"
                 " s.backgroundColor]; }")
        never = page.locator(".legend .swatch-unknown").evaluate(style)
        closed = page.locator(".legend .swatch-possibly-closed").evaluate(style)
        assert never[0] == "dashed" and closed[0] != "dashed"
        assert never[1] != closed[1]
        states = [m["state"] for m in json.loads(page.inner_text("#search-data"))["matches"]]
        assert "unknown" in states
        # Zoomed in, some results leave their clusters: never-checked ones are dashed
        # hollow rings, and only they are.
        page.click("#map .leaflet-control-zoom-in")
        page.click("#map .leaflet-control-zoom-in")
        page.wait_for_timeout(500)
        dashed = page.locator("path.result-marker[stroke-dasharray]")
        assert dashed.count() >= 1
        assert all(dashed.nth(i).get_attribute("fill") == "#ffffff"
                   for i in range(dashed.count()))
        solid = page.locator("path.result-marker:not([stroke-dasharray])")
        assert all(solid.nth(i).get_attribute("fill") != "#ffffff" for i in range(solid.count()))
    finally:
        context.close()
