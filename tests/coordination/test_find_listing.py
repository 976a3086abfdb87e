"""Listings picked by name, venue or postcode, never by number: organiser checks and merges."""

from __future__ import annotations

import re

import lxml.html

from assetmap.community import moderation
from assetmap.db import session_scope


def test_organiser_check_by_name(client, login, make_listing, mailbox):
    make_listing("Knit and natter", email="knit@example.org")
    make_listing("Knitting circle", email=None)
    make_listing("Lunch club", email="lunch@example.org")
    login("coordinator")
    queue = client.get("/coordinator/suggestions").get_data(as_text=True)
    assert "Listing number" not in queue and "Listing name, venue or postcode" in queue
    page = client.get("/coordinator/find-listing?for=organiser-check&q=KNIT")
    text = page.get_data(as_text=True)
    assert "2 listings found" in text
    assert "Knit and natter" in text and "Knitting circle" in text and "Lunch club" not in text
    assert "No contact e-mail" in text
    doc = lxml.html.fromstring(text)
    [form] = doc.xpath('//form[.//button[contains(., "knit@example.org")]]')
    data = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    done = client.post(form.get("action"), data=data, follow_redirects=True)
    assert "Sent “Is this still right?” for “Knit and natter” to knit@example.org." in \
        done.get_data(as_text=True)
    assert mailbox.wait_for(1)[0]["To"] == "knit@example.org"


def test_search_words_match_venue_and_wildcards_are_literal(client, login, make_listing):
    make_listing("Tuesday lunch")  # its venue is "Tuesday lunch hall"
    make_listing("100% fun")
    login("coordinator")
    by_venue = client.get("/coordinator/find-listing?q=lunch+hall").get_data(as_text=True)
    assert "1 listing found" in by_venue and "Tuesday lunch" in by_venue
    percent = client.get("/coordinator/find-listing?q=%25").get_data(as_text=True)
    assert "1 listing found" in percent and "100% fun" in percent
    empty = client.get("/coordinator/find-listing?q=+")
    assert empty.status_code == 400
    assert "Type part of the listing" in empty.get_data(as_text=True)
    nothing = client.get("/coordinator/find-listing?q=zumba").get_data(as_text=True)
    assert "Nothing matches “zumba”" in nothing


def test_merge_target_by_name(app, client, login, make_listing):
    target = make_listing("Camden chess club")
    from tests.community.conftest import valid_api

    response = client.post("/api/v1/suggestions", json=valid_api(name="Chess at the library"))
    assert response.status_code == 201, response.get_data(as_text=True)
    login("coordinator")
    with session_scope(app) as s:
        [suggestion] = moderation.load_queue(s).suggestions
        suggestion_id = suggestion.suggestion.id
    queue = client.get("/coordinator/suggestions").get_data(as_text=True)
    link = re.search(r'href="([^"]*find-listing\?[^"]*for=merge[^"]*)"', queue).group(1)
    page = client.get(link.replace("&amp;", "&") + "&q=chess").get_data(as_text=True)
    assert "Camden chess club" in page
    assert f"/coordinator/suggestions/{suggestion_id}/merge/{target.id}" in page
    bad = client.get("/coordinator/find-listing?for=merge&suggestion=abc")
    assert bad.status_code == 400
