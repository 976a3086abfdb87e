"""After a connector's whole session, the searched postcode is nowhere on the server: not in
any text column of any table, not in the logs of the production server (`assetmap serve`)."""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import JSON, String, Text, inspect, select, text

from tests.conftest import assetmap_serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "correct horse battery"
# Camden postcodes near the demo venues; the test uses the first one stored nowhere yet.
CANDIDATES = ("NW1 2DB", "NW1 2BX", "NW1 1EE", "WC1H 9JE")


def _variants(postcode: str) -> list[str]:
    outward, inward = postcode.split()
    forms = {postcode, outward + inward, f"{outward}+{inward}", f"{outward}%20{inward}"}
    return sorted(forms | {f.lower() for f in forms})


def _text_everywhere(engine) -> str:
    """Every text-like column of every table in the database (not only the ORM's)."""
    chunks = []
    inspector = inspect(engine)
    with engine.connect() as conn:
        for table in inspector.get_table_names():
            columns = [c["name"] for c in inspector.get_columns(table)
                       if isinstance(c["type"], String | Text | JSON)
                       or str(c["type"]).upper().startswith(("TEXT", "VARCHAR", "CHAR", "JSON"))]
            if not columns:
                continue
            quoted = ", ".join(f'CAST("{c}" AS TEXT)' for c in columns)
            for row in conn.execute(text(f'SELECT {quoted} FROM "{table}"')):
                chunks.extend(str(v) for v in row if v is not None)
    return "\n".join(chunks)


@pytest.fixture
def served(app, database_url, network, tmp_path):
    """The production server (gunicorn via `assetmap serve`) on this test's database."""
    env = os.environ | {"ASSETMAP_DATABASE_URL": database_url, "ASSETMAP_SECRET_KEY": "privacy",
                        "ASSETMAP_NETWORK_DIR": str(network)}
    log_path = tmp_path / "serve.log"
    with assetmap_serve(env, workers=1, log_path=log_path) as base:
        yield base, log_path


def test_no_trace_of_the_searched_postcode_after_a_session(browser, served, app, demo,
                                                          tmp_path, caplog):
    from assetmap import db
    from assetmap.db import session_scope
    from assetmap.models import Activity
    from assetmap.people.users import create_user

    base, log_path = served
    engine = db.get_engine(app)
    before = _text_everywhere(engine)
    postcode = next(p for p in CANDIDATES if not any(v in before for v in _variants(p)))
    with session_scope(app) as s:
        create_user(s, email="privacy@example.org", role="connector", password=PASSWORD)
        listing = s.scalars(select(Activity.id).order_by(Activity.id)).first()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    urls: list[str] = []
    context.on("request", lambda r: urls.append(r.url))
    try:
        page.goto(base + "/connector")
        page.fill("#email", "privacy@example.org")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#search-form")
        page.fill("#postcode", postcode.lower())
        page.fill("#minutes", "25")
        page.click("button.search-button")
        page.wait_for_selector("#map[data-marker-ids]", state="attached")
        items = page.locator("#result-list > li")
        assert items.count() >= 2
        items.first.locator("button.show-route").click()
        page.wait_for_selector("path.route-line")
        items.nth(0).locator("input[name=ids]").check()
        items.nth(1).locator("input[name=ids]").check()
        with context.expect_page() as opened:
            page.click("#open-handout")
        handout = opened.value
        handout.wait_for_selector(".handout-page")
        assert postcode in handout.content()  # printed for the client, not kept
        with handout.expect_download() as download:
            handout.click("text=Download PDF")
        download.value.save_as(tmp_path / "handout.pdf")
        handout.close()
        items.nth(1).locator("a.record-check").click()
        page.fill("#check-note", "Warm welcome, tea on arrival.")
        page.click("#check-dialog button[value=client]")
        page.wait_for_selector("#announcer:has-text('Saved')", state="attached")
        page.goto(f"{base}/connector/activities/{listing}/edit")
        page.fill("#contact_name", "Jo at the desk")
        page.click("form.edit-form button[type=submit]")
        page.wait_for_selector("text=Saved.")
        page.evaluate("() => sessionStorage.clear()")
    finally:
        context.close()

    assert [u for u in urls if urlsplit(u).netloc != urlsplit(base).netloc] == []
    # The session really wrote to the database and the log...
    after = _text_everywhere(engine)
    assert "Warm welcome, tea on arrival." in after and "Jo at the desk" in after
    time.sleep(0.5)  # let the access log flush
    logged = log_path.read_text()
    assert '"GET /connector"' in logged and '"POST /connector/handout.pdf"' in logged
    assert '"POST /connector/route"' in logged
    # ...and kept no trace of where the client lives.
    for variant in _variants(postcode):
        assert variant not in after, f"{variant!r} is stored in the database"
        assert variant not in logged, f"{variant!r} is in the server log"
        assert variant not in caplog.text, f"{variant!r} is in this process's log"
