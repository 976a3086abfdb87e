"""History in words, and "revert to this" (itself a recorded change)."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.listings.changes import Actor, apply_changes
from assetmap.models import Activity, ChangeRecord, Venue
from tests.conftest import csrf_token


def test_history_in_words_and_revert(app, client, login, make_listing):
    made = make_listing("Knit and natter")
    with session_scope(app) as s:
        activity = s.get(Activity, made.id)
        old_venue = s.get(Venue, activity.venue_id).name
        apply_changes(s, activity, {"cost_kind": "amount", "cost_amount": 3.5},
                      Actor("user", "someone@example.org"))
        apply_changes(s, activity, {"contact_email": "new@example.org"},
                      Actor("user", "someone@example.org"))
    login("coordinator")
    page = html.unescape(client.get(f"/coordinator/listings/{made.id}/history")
                         .get_data(as_text=True))
    assert "Cost (amount)" in page and "Contact e-mail" in page and "Venue" in page
    assert "cost_amount" not in page and "venue_id" not in page
    assert old_venue in page  # a venue by its name, not its number
    activity_page = client.get(f"/connector/activities/{made.id}").get_data(as_text=True)
    assert "cost_amount" not in activity_page and "The whole history" in activity_page
    with session_scope(app) as s:
        change_id = s.scalar(select(ChangeRecord.id).where(
            ChangeRecord.activity_id == made.id, ChangeRecord.field == "contact_email")
            .order_by(ChangeRecord.id.desc()))
    token = csrf_token(client, f"/coordinator/listings/{made.id}/history")
    done = client.post(f"/coordinator/changes/{change_id}/revert",
                       data={"csrf_token": token}, follow_redirects=True)
    text = html.unescape(done.get_data(as_text=True))
    assert "Contact e-mail is back to “organiser@example.org”" in text
    with session_scope(app) as s:
        assert s.get(Activity, made.id).contact_email == "organiser@example.org"
        revert = s.scalar(select(ChangeRecord).where(ChangeRecord.reverts_id == change_id))
        assert revert is not None and revert.new_value == "organiser@example.org"
    again = client.post(f"/coordinator/changes/{change_id}/revert",
                        data={"csrf_token": token}, follow_redirects=True)
    assert "nothing changed" in again.get_data(as_text=True)
    assert client.post("/coordinator/changes/99999999999/revert",
                       data={"csrf_token": token}).status_code == 404
    assert re.search(r"Revert to", text)


def test_connectors_cannot_revert(client, login, make_listing):
    made = make_listing("Knit and natter")
    login("connector")
    assert client.get(f"/coordinator/listings/{made.id}/history").status_code == 403


def test_no_revert_to_nothing_for_a_name_or_kind_and_no_change_numbers(app, client, login,
                                                                        make_listing):
    """Reverting the change that first named a listing can only fail ("a listing needs a
    name"), so no button offers it; a revert's note says when, not a change's number."""
    made = make_listing("Knit and natter")
    with session_scope(app) as s:
        firsts = {r.field: r.id for r in s.scalars(select(ChangeRecord).where(
            ChangeRecord.activity_id == made.id)) if r.old_value in (None, "")}
        apply_changes(s, s.get(Activity, made.id), {"contact_phone": "020 7946 0202"},
                      Actor("user", "someone@example.org"))
        phone_change = s.scalar(select(ChangeRecord.id).where(
            ChangeRecord.activity_id == made.id, ChangeRecord.field == "contact_phone")
            .order_by(ChangeRecord.id.desc()))
    assert {"name", "category"} <= set(firsts)
    login("coordinator")
    url = f"/coordinator/listings/{made.id}/history"
    page = client.get(url).get_data(as_text=True)
    for field in ("name", "category"):
        assert f"/coordinator/changes/{firsts[field]}/revert" not in page, field
    assert f"/coordinator/changes/{phone_change}/revert" in page
    client.post(f"/coordinator/changes/{phone_change}/revert",
                data={"csrf_token": csrf_token(client, url)})
    with session_scope(app) as s:
        note = s.scalar(select(ChangeRecord.note).where(ChangeRecord.reverts_id == phone_change))
    assert note is not None and note.startswith("revert of the change made ")
    assert f"change {phone_change}" not in note and "someone@example.org" in note
