"""The Feeds page (/coordinator/sources) in words: kinds of feed, how often, how runs went;
a mistake in the form keeps the feeds listed."""

from __future__ import annotations

import html

from assetmap.db import session_scope
from assetmap.feeds.run import add_source
from tests.conftest import csrf_token


def test_feeds_in_words_and_a_mistake_keeps_them_listed(app, client, login):
    with session_scope(app) as s:
        add_source(s, type="ical", url="https://example.org/club.ics", name="Club calendar",
                   every="6h")
    login("coordinator")
    page = html.unescape(client.get("/coordinator/sources").get_data(as_text=True))
    assert "<h1>Feeds</h1>" in page and "Back to the coordinator home" in page
    assert "A calendar (iCalendar, .ics)" in page and "every 6 hours" in page
    assert ">ical<" not in page and "360 minutes" not in page
    assert '<option value="openactive">OpenActive sessions (an RPDE feed)</option>' in page
    assert "For example 30m, 6h or 1d" in page
    response = client.post("/coordinator/sources", data={
        "csrf_token": csrf_token(client, "/coordinator/sources"), "type": "ical", "url": "",
        "name": "Typo", "every": "6h"})
    assert response.status_code == 400
    again = html.unescape(response.get_data(as_text=True))
    assert "Club calendar" in again  # the feeds stay listed beside the mistake
    assert 'value="Typo"' in again
