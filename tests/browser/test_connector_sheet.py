"""The combined handout for four activities prints on one sheet (two pages at most), with
what happens and the first visit kept; a screenshot is saved to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, sign_in_connector

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("ASSETMAP_SCREENSHOTS", "/tmp/assetmap-screenshots"))


def test_four_activities_on_one_sheet(browser, live_server, app, demo, network):
    from sqlalchemy import select

    from assetmap.db import session_scope
    from assetmap.models import Activity
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        create_user(s, email="sheet@example.org", role="connector", password=PASSWORD)
        ids = list(s.scalars(select(Activity.id).where(Activity.status == "active")
                             .order_by(Activity.id).limit(4)))
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        sign_in_connector(page, live_server, "sheet@example.org")
        page.evaluate("""(ids) => {
            const form = document.getElementById('handout-form');
            form.target = '_self';
            for (const id of ids) {
                const input = document.createElement('input');
                input.type = 'hidden'; input.name = 'ids'; input.value = id;
                form.appendChild(input);
            }
            form.querySelector('input[value=sheet]').checked = true;
            for (const [name, value] of [['lat', '51.5295'], ['lon', '-0.1272'],
                                         ['origin_label', 'the start']]) {
                const input = document.createElement('input');
                input.type = 'hidden'; input.name = name; input.value = value;
                form.appendChild(input);
            }
            HTMLFormElement.prototype.submit.call(form);
        }""", ids)
        page.wait_for_selector(".sheet-item")
        assert page.locator(".sheet-item").count() == 4
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "handout-sheet.png"), full_page=True)
        pdf = page.pdf(format="A4", print_background=True)
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
        assert 1 <= pages <= 2, pages
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
        page.screenshot(path=str(SHOTS / "handout-sheet-print.png"), full_page=True)
        assert page.locator("text=First visit").count() == 4
    finally:
        context.close()
