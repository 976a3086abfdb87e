"""Each role's home in headless Chromium, and the outbox's failure path: a local SMTP server
that refuses (nothing listening), then accepts; the message shows as waiting, then sent."""

from __future__ import annotations

import pytest

from assetmap.db import session_scope
from assetmap.people.accounts import areas_by_ids
from assetmap.people.users import create_user
from tests.conftest import free_port
from tests.coordinator.conftest import (  # noqa: F401 - the coordinators' fixtures
    app,
    make_listing,
    scenario,
    wards,
)

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("role", ["connector", "coordinator", "admin"])
def test_each_role_lands_on_its_home(app, watched, live_server, scenario, wards,  # noqa: F811
                                     role):
    with session_scope(app) as s:
        user = create_user(s, email=f"{role}@example.org", role=role, password=PASSWORD)
        if role == "coordinator":
            user.areas = areas_by_ids(s, [wards["Highgate"]])
    page = watched.page
    sign_in(page, live_server, f"{role}@example.org")
    if role == "connector":
        assert page.url == live_server + "/connector"
        assert page.locator("#my-checks-heading").inner_text() == "My checks (0)"
        assert page.locator("a", has_text="Coordinator").count() == 0
    else:
        assert page.url == live_server + "/coordinator/"
        assert page.locator("h1").inner_text() == "What needs you today"
        first = page.locator(".needs li").first
        expected = "3" if role == "coordinator" else "7"
        assert first.locator(".count").inner_text() == expected
        assert "Needs you" in first.inner_text()  # said in words, not by colour alone
        people = page.locator(".tools a", has_text="People")
        assert people.count() == (1 if role == "admin" else 0)
        first.locator("a").click()
        page.wait_for_load_state()
        assert "/coordinator/freshness" in page.url
    assert watched.dialogs == [] and watched.foreign_requests() == []


def test_outbox_shows_waiting_then_sent(app, watched, live_server, mailbox):  # noqa: F811
    real_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()  # the mail server refuses: nothing listens
    with session_scope(app) as s:
        create_user(s, email="admin@example.org", role="admin", password=PASSWORD)
    page = watched.page
    sign_in(page, live_server, "admin@example.org")
    page.goto(live_server + "/coordinator/people")
    page.fill("#f-email", "newcomer@example.org")
    page.check("input[name=role][value=connector]")
    page.click("button:has-text('Send the invitation')")
    page.wait_for_selector(".flash")
    flash = page.locator(".flash").inner_text()
    assert "is queued: the mail server did not answer;" in flash and " sent." not in flash
    page.goto(live_server + "/coordinator/")
    outbox = page.locator("#need-outbox")
    assert outbox.locator(".count").inner_text() == "1" and "Needs you" in outbox.inner_text()
    outbox.locator("a").click()
    page.wait_for_load_state()
    assert page.locator("#undelivered").inner_text() == "Not delivered (1)"
    row = page.locator("table.queue tr", has_text="newcomer@example.org").first
    assert "Not delivered yet: will try again" in row.inner_text()
    app.config["SMTP_PORT"] = real_port  # the mail server is back
    row.locator("button", has_text="Retry now").click()
    page.wait_for_selector(".flash")
    assert page.locator(".flash").inner_text().strip() == "E-mail to newcomer@example.org sent."
    assert page.locator("#undelivered").inner_text() == "Not delivered (0)"
    assert mailbox.wait_for(1)[0]["To"] == "newcomer@example.org"
    assert watched.dialogs == [] and watched.foreign_requests() == []


def test_apply_with_nothing_chosen_says_so_where_you_are(  # noqa: F811
        app, watched, live_server, scenario):  # noqa: F811
    with session_scope(app) as s:
        create_user(s, email="coordinator@example.org", role="coordinator", password=PASSWORD)
    page = watched.page
    sign_in(page, live_server, "coordinator@example.org")
    page.goto(live_server + "/coordinator/freshness")
    page.check("#action-2")  # mark closed, with no listing ticked
    page.click("button:has-text('Apply to the chosen listings')")
    page.wait_for_load_state()
    message = page.locator("#queue .error-summary")
    assert "Choose at least one listing" in message.inner_text()
    assert message.is_visible() and page.url.endswith("#queue")
    box = message.bounding_box()
    assert box is not None and 0 <= box["y"] < 900  # in view, not far below the fold


def test_the_suggestion_form_counts_characters_left(watched, live_server):
    page = watched.page
    page.goto(live_server + "/suggest")
    counter = page.locator("#f-description-count")
    assert counter.inner_text() == "4000 characters left"
    page.fill("#f-description", "Tea and a chat")
    assert counter.inner_text() == "3986 characters left"
    page.fill("#f-description", "x" * 5000)  # maxlength stops it at the limit
    assert len(page.input_value("#f-description")) == 4000
    assert counter.inner_text() == "0 characters left"
    assert watched.dialogs == [] and watched.foreign_requests() == []


def test_people_and_messages_fit_a_phone(app, watched, live_server):  # noqa: F811
    """At 390 px the tables stacked into one card per row: "Retry now" and "Change" were off
    the right-hand edge, reachable only by scrolling the table sideways."""
    from assetmap.community.outbox import queue_message

    with session_scope(app) as s:
        create_user(s, email="admin@example.org", role="admin", password=PASSWORD)
        message = queue_message(s, kind="organiser-check", to="a-long-address@example.org",
                                subject="Is your listing still right? Tuesday lunch club",
                                body="…")
        message.status, message.attempts = "retry", 1
        message.error = "ConnectionRefusedError: [Errno 111] Connection refused"
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "admin@example.org")
    for path, control in (("/coordinator/outbox", "button:has-text('Retry now')"),
                          ("/coordinator/people", "a:has-text('Change')")):
        page.goto(live_server + path)
        wide = page.evaluate("""() => Array.from(document.querySelectorAll('table'))
            .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).length""")
        assert wide == 0, path
        box = page.locator(control).first.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, path
        assert page.locator("td[data-label]").first.is_visible()
    assert watched.dialogs == [] and watched.foreign_requests() == []
