"""Import and export in headless Chromium: from the coordinator home, upload a file, check it
(nothing saved), import it; screenshots at phone and desktop widths are saved to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assetmap.db import session_scope
from assetmap.models import Activity
from assetmap.people.users import create_user
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("ASSETMAP_SCREENSHOTS", "/tmp/assetmap-screenshots"))
PASSWORD = "correct horse battery"
MIXED = FIXTURES / "import" / "mixed.csv"


def listings(app) -> int:
    with session_scope(app) as s:
        return s.scalar(select(func.count()).select_from(Activity))


@pytest.fixture
def coordinator_page(app, browser, live_server, tmp_path):
    app.config["UPLOAD_DIR"] = tmp_path / "uploads"
    with session_scope(app) as s:
        create_user(s, email="coord@example.org", role="coordinator", password=PASSWORD)

    def open_at(width: int, height: int):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(live_server + "/login")
        page.fill("input[name=email]", "coord@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return context, page

    return open_at


def test_upload_check_then_import(app, live_server, coordinator_page):
    context, page = coordinator_page(1366, 900)
    page.goto(live_server + "/coordinator/")
    page.click("text=Import and export listings")
    assert page.locator("h1").inner_text() == "Import and export listings"
    page.set_input_files("#f-file", str(MIXED))
    before = listings(app)
    page.click("#import-check")
    page.wait_for_selector("#import-confirm")
    counts = " ".join(page.locator("#counts").inner_text().split())
    assert "3 new listings would be added" in counts
    assert "5 rows with a problem" in counts
    assert page.get_by_text("Row 5, When it happens:").is_visible()
    assert listings(app) == before
    page.click("#import-confirm")
    page.wait_for_selector("#result h2:has-text('Imported mixed.csv')")
    assert "3 new listings added" in " ".join(page.locator("#counts").inner_text().split())
    assert listings(app) == before + 3
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.suggested_filename.endswith(".csv")
    context.close()


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1366, 900)])
def test_screenshots(app, live_server, coordinator_page, width, height):
    """Empty page, the check, the import, a refused file, the home: saved to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = coordinator_page(width, height)
    page.goto(live_server + "/coordinator/transfer")
    page.screenshot(path=str(SHOTS / f"transfer-{width}.png"), full_page=True)
    page.set_input_files("#f-file", str(MIXED))
    page.click("#import-check")
    page.wait_for_selector("#import-confirm")
    page.screenshot(path=str(SHOTS / f"transfer-checked-{width}.png"), full_page=True)
    page.click("#import-confirm")
    page.wait_for_selector("#result h2:has-text('Imported mixed.csv')")
    page.screenshot(path=str(SHOTS / f"transfer-imported-{width}.png"), full_page=True)
    page.set_input_files("#f-file", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                            "buffer": b"hello"}])
    page.click("#import-check")
    page.wait_for_selector("#error-summary")
    summary = page.locator("#error-summary").inner_text()
    assert "import takes .csv or .geojson files, not notes.txt" in summary
    page.screenshot(path=str(SHOTS / f"transfer-bad-file-{width}.png"), full_page=True)
    page.goto(live_server + "/coordinator/")
    assert page.get_by_role("link", name="Import and export listings").is_visible()
    page.screenshot(path=str(SHOTS / f"coordinator-home-{width}.png"), full_page=True)
    context.close()
