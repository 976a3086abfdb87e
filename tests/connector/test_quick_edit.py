"""Quick edits with history, and two connectors saving the same listing at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from assetmap.models import Activity, ChangeRecord
from tests.conftest import csrf_token


def _form(client, activity_id: int) -> dict[str, str]:
    """The edit form as the browser would post it (hidden fields included)."""
    html = client.get(f"/connector/activities/{activity_id}/edit").get_data(as_text=True)
    fields = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        fields[name] = _unescape(value)
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', html,
                                  re.S):
        fields[name] = _unescape(value)
    return fields


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_a_quick_edit_is_saved_with_history(client, connector, listing, session):
    """One client only: the `session` fixture is safe here."""
    form = _form(client, listing)
    assert form["cost"] == "£4.00" and form["schedule"] == "Tuesdays 12:00-14:00"
    form |= {"schedule": "Wednesdays 14:00-16:00", "contact_phone": "020 7946 9999",
             "cost": "free"}
    response = client.post(f"/connector/activities/{listing}/edit", data=form)
    assert response.status_code == 302
    activity = session.get(Activity, listing)
    assert activity.contact_phone == "020 7946 9999"
    assert activity.cost_kind == "free" and activity.cost_amount is None
    assert activity.schedules[0].days == ("WE",)
    changes = session.scalars(select(ChangeRecord).where(
        ChangeRecord.activity_id == listing, ChangeRecord.note == "quick edit by a connector"
    )).all()
    assert {c.field for c in changes} == {"schedules", "contact_phone", "cost_kind",
                                          "cost_amount"}
    assert all(c.actor_type == "user" and c.actor_label == connector for c in changes)
    page = client.get(f"/connector/activities/{listing}").get_data(as_text=True)
    # the history, who and when; fields in words, never column names (issue 15)
    assert "<td>Contact phone" in page and connector in page
    assert "<td>contact_phone" not in page


def test_moving_venue_finds_or_makes_the_venue_by_postcode(client, connector, listing,
                                                           read):
    form = _form(client, listing) | {"venue_name": "Somers Town Community Centre",
                                     "venue_address": "150 Ossulston Street",
                                     "venue_postcode": "NW1 1EE"}
    assert client.post(f"/connector/activities/{listing}/edit", data=form).status_code == 302
    venue = read(lambda s: s.get(Activity, listing).venue)
    assert venue.name == "Somers Town Community Centre"
    assert venue.postcode == "NW1 1EE"


@pytest.mark.parametrize("field, value, message", [
    ("schedule", "whenever suits", "no time found"),
    ("cost", "two pounds", "write &#39;free&#39;"),
    ("contact_email", "not-an-address", "not an e-mail address"),
    ("contact_url", "javascript:alert(1)", "starting https://"),
    ("venue_postcode", "ZZ9 9ZZ", "not a known postcode"),
])
def test_bad_edits_are_shown_next_to_the_field_with_everything_kept(client, connector,
                                                                    listing, read, field,
                                                                    value, message):
    before = read(lambda s: s.get(Activity, listing).version)
    form = _form(client, listing) | {field: value, "contact_name": "Jo Bloggs"}
    response = client.post(f"/connector/activities/{listing}/edit", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    assert error and message in error.group(1)
    assert 'value="Jo Bloggs"' in html
    assert read(lambda s: s.get(Activity, listing).version) == before


def test_second_of_two_concurrent_saves_meets_both_versions_and_merges(client, connector,
                                                                       second, listing, read):
    mine = _form(client, listing)
    theirs = _form(second, listing)
    # The second connector saves first: a new phone number and a new time.
    theirs |= {"contact_phone": "020 7946 1111", "schedule": "Thursdays 10:00-12:00"}
    assert second.post(f"/connector/activities/{listing}/edit", data=theirs).status_code == 302
    # This connector, from the older form: a different phone and a new contact name.
    mine |= {"contact_phone": "020 7946 2222", "contact_name": "Pat Mine"}
    response = client.post(f"/connector/activities/{listing}/edit", data=mine)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else saved this listing" in html
    assert "020 7946 1111" in html and "020 7946 2222" in html  # both versions shown
    assert "you both changed this" in html
    # Nothing of this connector's is saved yet.
    assert read(lambda s: s.get(Activity, listing).contact_phone) == "020 7946 1111"
    # Merge: keep their phone and time, my contact name.
    merge = {name: _unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    merge |= {"choose_contact_phone": "theirs"}
    assert 'name="choose_contact_name" value="mine" checked' in html
    assert 'name="choose_schedule" value="theirs" checked' in html
    merge |= {"choose_contact_name": "mine", "choose_schedule": "theirs"}
    for group in ("venue_name", "cost", "contact_email", "contact_url", "description",
                  "first_visit"):
        merge.setdefault(f"choose_{group}", "theirs")
    response = client.post(f"/connector/activities/{listing}/edit", data=merge)
    assert response.status_code == 302, response.get_data(as_text=True)
    activity = read(lambda s: s.get(Activity, listing))
    assert activity.contact_phone == "020 7946 1111"
    assert activity.contact_name == "Pat Mine"
    assert read(lambda s: s.get(Activity, listing).schedules[0].days) == ("TH",)
    labels = read(lambda s: {c.actor_label for c in s.scalars(select(ChangeRecord).where(
        ChangeRecord.activity_id == listing, ChangeRecord.note == "quick edit by a connector"))})
    assert labels == {"Sam Second", connector}


def test_a_merge_without_a_choice_for_a_shared_change_asks_again(client, connector, second,
                                                                 listing):
    mine, theirs = _form(client, listing), _form(second, listing)
    second.post(f"/connector/activities/{listing}/edit",
                data=theirs | {"contact_phone": "020 7946 1111"})
    html = client.post(f"/connector/activities/{listing}/edit",
                       data=mine | {"contact_phone": "020 7946 2222"}).get_data(as_text=True)
    merge = {name: _unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    response = client.post(f"/connector/activities/{listing}/edit", data=merge)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Choose one." in page and "020 7946 2222" in page


def test_a_check_in_between_is_not_a_conflict(client, connector, second, listing, read):
    form = _form(client, listing)
    token = csrf_token(second, f"/connector/activities/{listing}")
    second.post(f"/connector/activities/{listing}/checks",
                data={"kind": "phoned", "csrf_token": token})
    response = client.post(f"/connector/activities/{listing}/edit",
                           data=form | {"contact_name": "Jo"})
    assert response.status_code == 302
    assert read(lambda s: s.get(Activity, listing).contact_name) == "Jo"


def test_a_save_racing_another_is_caught_by_the_version_counter(app, listing):
    """Both requests read the same version; the later flush is refused, not lost."""
    from assetmap.connector import session as svc
    from assetmap.db import session_scope
    from assetmap.listings.changes import Actor

    with session_scope(app) as first:
        activity = first.get(Activity, listing)
        base = svc.edit_values(activity)
        version = activity.version
        with session_scope(app) as other:  # commits before `first` flushes
            svc.save_quick_edit(other, listing, version=version, base=base,
                                mine=base | {"contact_phone": "020 7946 3333"},
                                actor=Actor("user", "other"), data_dir=app.config["DATA_DIR"])
        result = svc.save_quick_edit(first, listing, version=version, base=base,
                                     mine=base | {"contact_phone": "020 7946 4444"},
                                     actor=Actor("user", "first"),
                                     data_dir=app.config["DATA_DIR"])
        assert result.conflict is not None and not result.changed
        phone = next(c for c in result.conflict.choices if c.name == "contact_phone")
        assert phone.theirs["contact_phone"] == "020 7946 3333"
        assert phone.mine["contact_phone"] == "020 7946 4444"
        assert phone.preselect is None


def test_every_bad_field_is_reported_at_once(client, connector, listing, read):
    before = read(lambda s: s.get(Activity, listing).version)
    form = _form(client, listing) | {"schedule": "whenever suits", "cost": "two pounds",
                                     "contact_email": "not-an-address",
                                     "contact_url": "javascript:alert(1)",
                                     "venue_postcode": "ZZ9 9ZZ", "contact_name": "Jo Bloggs"}
    response = client.post(f"/connector/activities/{listing}/edit", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Please check these 5 things" in html
    for field in ("schedule", "cost", "contact_email", "contact_url", "venue_postcode"):
        assert f'id="{field}-error"' in html, field
    assert 'value="Jo Bloggs"' in html and 'value="not-an-address"' in html
    assert "whenever suits" in html
    assert read(lambda s: s.get(Activity, listing).version) == before
