"""Headless Debian Chromium driven by Playwright; every page load is watched for requests
leaving the app's own host."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("ASSETMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    headless=True)
        yield browser
        browser.close()


class WatchedPage:
    """A page plus every URL it requested, so tests can assert nothing left the host."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.base_url).netloc
        return [u for u in self.requests
                if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                and urlsplit(u).netloc != own]


@pytest.fixture
def watched(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield WatchedPage(page, live_server)
    context.close()


#: The password of the people browser tests make.
PASSWORD = "correct horse battery"


def sign_in_connector(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in at the connector's page and wait for the search form."""
    page.goto(base_url + "/connector")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#search-form")


def search_from(page, postcode: str, *, minutes: str = "15") -> None:
    """Run a connector's search and wait until its results are on the map."""
    page.fill("#postcode", postcode)
    page.fill("#minutes", minutes)
    page.click("button.search-button")
    page.wait_for_selector("#map[data-marker-ids]", state="attached")
