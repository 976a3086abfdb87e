"""/coordinator/freshness, its actions and exports, GET /api/v1/freshness and `assetmap stale`:
the same figures everywhere."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.models import Activity, ChangeRecord, OutboxMessage, VerificationEvent
from tests.conftest import csrf_token
from tests.coordinator.conftest import EXPECTED, HIGHGATE, NOW

CHART_RE = re.compile(r'<tr data-state="([a-z-]+)">.*?<td class="count">(\d+)</td>', re.S)


def chart_counts(page: str) -> dict[str, int]:
    counts = {state: int(n) for state, n in CHART_RE.findall(page)}
    assert counts, "no chart on the page"
    return counts


def queue_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)]


def test_dashboard_api_and_cli_agree(app, client, login, scenario, runner):
    from assetmap.cli import main

    login("coordinator")
    page = client.get("/coordinator/freshness").get_data(as_text=True)
    api = client.get("/api/v1/freshness").get_json()
    cli = runner.invoke(main, ["stale", "--json", "--at", NOW.isoformat()])
    assert cli.exit_code == 0, cli.output
    from_cli = json.loads(cli.output)
    assert chart_counts(page) == api["summary"]["counts"] == from_cli["summary"]["counts"] == (
        EXPECTED)
    assert api["summary"]["by_area"] == from_cli["summary"]["by_area"]
    assert api["summary"]["by_category"] == from_cli["summary"]["by_category"]
    api_ids = [i["id"] for i in api["queue"]["items"]]
    assert queue_ids(page) == api_ids == [i["id"] for i in from_cli["queue"]["items"]]
    assert api["queue"]["total"] == 8
    # And for one ward, with a state filter.
    args = "?area=Highgate&state=stale"
    page = client.get(f"/coordinator/freshness{args}").get_data(as_text=True)
    api = client.get(f"/api/v1/freshness{args}").get_json()
    cli = json.loads(runner.invoke(main, ["stale", "--json", "--at", NOW.isoformat(), "--area",
                                          "Highgate", "--state", "stale"]).output)
    assert queue_ids(page) == [i["id"] for i in api["queue"]["items"]] == [
        i["id"] for i in cli["queue"]["items"]]
    assert len(queue_ids(page)) == 2 and chart_counts(page)["very-stale"] == 1
    text = runner.invoke(main, ["stale", "--at", NOW.isoformat(), "--area", "Highgate"])
    assert "Freshness in Highgate" in text.output and "Old tea dance" in text.output
    assert "7 months overdue" in text.output


def test_only_coordinators_see_it(app, client, login, wards):
    assert client.get("/coordinator/freshness").status_code == 302  # to the sign-in page
    anonymous = client.get("/api/v1/freshness")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "unauthorized"
    login("connector")
    assert client.get("/coordinator/freshness").status_code == 403
    assert client.get("/api/v1/freshness").status_code == 403
    assert client.get("/coordinator/freshness/queue.csv").status_code == 403


def test_bad_filters_are_400_naming_the_field(client, login, wards):
    login("coordinator")
    body = client.get("/api/v1/freshness?state=mouldy").get_json()
    assert body["field"] == "state" and "stale" in body["allowed"]
    page = client.get("/coordinator/freshness?area=Atlantis", headers={"Accept": "text/html"})
    assert page.status_code == 400 and "Kilburn" in page.get_data(as_text=True)
    assert client.get("/api/v1/freshness?per_page=0").get_json()["field"] == "per_page"


def post_action(client, data: dict, query: str = ""):
    token = csrf_token(client, "/coordinator/freshness")
    return client.post(f"/coordinator/freshness{query}", data={"csrf_token": token, **data})


def test_checked_by_phone_needs_a_note_and_keeps_the_choices(app, client, login, scenario):
    login("coordinator")
    chosen = [scenario["Imported choir"], scenario["Old tea dance"]]
    response = post_action(client, {"action": "phoned", "note": "  ", "ids": chosen})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "say what you learned on the phone" in page and 'aria-invalid="true"' in page
    for activity_id in chosen:
        assert f'value="{activity_id}" id="pick-{activity_id}" checked' in page

    response = post_action(client, {"action": "phoned", "note": "Still on, new hall from May",
                                    "ids": chosen}, "?area=Highgate")
    assert response.status_code == 302 and "area=Highgate" in response.headers["Location"]
    with session_scope(app) as s:
        events = s.scalars(select(VerificationEvent).where(
            VerificationEvent.activity_id.in_(chosen), VerificationEvent.method == "phoned",
            VerificationEvent.note == "Still on, new hall from May")).all()
        assert len(events) == 2 and all(e.note_private for e in events)
        assert all(e.verified_at == NOW for e in events)
    api = client.get("/api/v1/freshness?state=all&area=Highgate").get_json()
    states = {i["id"]: i["state"] for i in api["queue"]["items"]}
    assert states[chosen[0]] == states[chosen[1]] == "fresh"
    # The note is private: not on the public API.
    public = client.get(f"/api/v1/activities/{chosen[0]}")
    assert public.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert "new hall" not in client.get(f"/api/v1/activities/{chosen[0]}").get_data(as_text=True)


def test_a_phone_check_answers_possibly_closed(app, client, login, scenario):
    login("coordinator")
    dropped = scenario["Dropped club"]
    post_action(client, {"action": "phoned", "note": "Running as usual", "ids": [dropped]})
    with session_scope(app) as s:
        activity = s.get(Activity, dropped)
        assert activity.possibly_closed is False and activity.freshness_state == "fresh"


def test_mark_closed_and_assign(app, client, login, scenario):
    login("coordinator")
    with session_scope(app) as s:
        from assetmap.people.users import create_user

        connector = create_user(s, email="conn@example.org", role="connector",
                                password="a long password")
        connector_id = connector.id
    target = [scenario["Old tea dance"], scenario["Paused garden"]]
    assert post_action(client, {"action": "assign", "assignee": str(connector_id),
                                "ids": target}).status_code == 302
    page = client.get("/coordinator/freshness").get_data(as_text=True)
    assert page.count("conn@example.org") >= 2
    bad = post_action(client, {"action": "assign", "assignee": "99999", "ids": target})
    assert bad.status_code == 400
    assert post_action(client, {"action": "close", "note": "Hall demolished",
                                "ids": [target[0]]}).status_code == 302
    with session_scope(app) as s:
        activity = s.get(Activity, target[0])
        assert activity.status == "ended" and activity.assigned_user_id == connector_id
        change = s.scalar(select(ChangeRecord).where(ChangeRecord.activity_id == target[0],
                                                     ChangeRecord.field == "status")
                          .order_by(ChangeRecord.id.desc()).limit(1))
        assert change.new_value == "ended" and change.note == "Hall demolished"
    assert target[0] not in queue_ids(client.get("/coordinator/freshness").get_data(
        as_text=True))


def test_nothing_chosen_or_no_csrf(client, login, wards):
    login("coordinator")
    response = post_action(client, {"action": "close"})
    assert response.status_code == 400
    assert "Choose at least one listing" in response.get_data(as_text=True)
    garbled = post_action(client, {"action": "close", "ids": ["7; DROP TABLE activities"]})
    assert garbled.status_code == 400
    assert "The chosen listings were not understood" in garbled.get_data(as_text=True)
    assert post_action(client, {"action": "close", "ids": ["99999"]}).status_code == 404
    assert client.post("/coordinator/freshness", data={"action": "close", "ids": ["1"]}
                       ).status_code == 400


def test_send_the_organiser_a_reminder(app, client, login, make_listing, mailbox):
    login("coordinator")
    with_email = make_listing("Knit and natter", checks=((300, "phoned"),),
                              email="knit@example.org")
    without = make_listing("No e-mail club", checks=((300, "phoned"),), email=None, at=HIGHGATE)
    response = post_action(client, {"action": "remind", "ids": [with_email.id, without.id]})
    assert response.status_code == 302
    flashed = client.get("/coordinator/freshness").get_data(as_text=True)
    assert "Reminder sent to the organisers of 1 listing" in flashed
    assert "No contact e-mail for: No e-mail club" in flashed
    (message,) = mailbox.wait_for(1)
    assert message["To"] == "knit@example.org" and "Knit and natter" in message.get_content()
    with session_scope(app) as s:
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.activity_id == with_email.id))
        assert row.status == "sent" and row.kind == "organiser-check"


def test_exports_match_the_queue(app, client, login, scenario):
    login("coordinator")
    with session_scope(app) as s:
        s.get(Activity, scenario["Old tea dance"]).name = "=HYPERLINK(\"http://x\")"
    expected = [i["id"] for i in client.get("/api/v1/freshness?per_page=500").get_json()[
        "queue"]["items"]]
    response = client.get("/coordinator/freshness/queue.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == expected
    assert next(r for r in rows if r["name"].startswith("'="))  # formula defused
    assert "private note" not in response.get_data(as_text=True)
    geo = client.get("/coordinator/freshness/queue.geojson?area=Highgate").get_json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 3
    feature = geo["features"][0]
    assert feature["geometry"]["type"] == "Point" and feature["properties"]["area"] == (
        "Highgate")


def test_ward_map_data(client, login, scenario):
    login("coordinator")
    data = client.get("/coordinator/freshness/wards.json").get_json()
    wards = {f["properties"]["name"]: f["properties"] for f in data["features"]}
    assert len(wards) == 18
    assert wards["Highgate"]["share"] == 1.0 and wards["Kilburn"]["share"] == 0.25
    assert wards["Belsize"]["total"] == 0 and wards["Belsize"]["label"] == "no listings"
    assert data["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_the_rules_page_explains_in_plain_words(client, login):
    login("coordinator")
    page = client.get("/coordinator/freshness/rules").get_data(as_text=True)
    assert "A feed still listing a group is not a check" in page
    assert 'id="coverage-gaps"' in page and "<table>" in page


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_coordinator_home_links_here(client, login, role):
    login(role)
    page = client.get("/coordinator/").get_data(as_text=True)
    assert "/coordinator/freshness" in page and "/coordinator/coverage" in page


def test_listings_can_be_assigned_to_connectors_and_coordinators(client, login):
    login("connector", email="walker@example.org")
    login("coordinator", email="boss@example.org")
    page = client.get("/coordinator/freshness").get_data(as_text=True)
    assert "walker@example.org (connector)" in page and "boss@example.org (coordinator)" in page


def test_a_refused_reminder_says_it_is_queued_not_sent(app, client, login, make_listing):
    from tests.conftest import free_port

    app.config["SMTP_PORT"] = free_port()  # nothing listens: the mail server does not answer
    login("coordinator")
    listing = make_listing("Knit and natter", checks=((300, "phoned"),), email="k@example.org")
    post_action(client, {"action": "remind", "ids": [listing.id]})
    flashed = client.get("/coordinator/freshness").get_data(as_text=True)
    assert "Reminder sent" not in flashed
    assert ("1 message queued, not sent: the mail server did not answer. It will retry at "
            "12:01 UTC") in flashed


def test_what_an_action_did_shows_beside_the_queue_not_above_the_charts(client, login,
                                                                         scenario):
    """The page returns to #queue, thousands of pixels down: a message at the top of the page
    (above the charts) was never seen, so the coordinator could not tell what happened."""
    login("coordinator")
    response = post_action(client, {"action": "phoned", "note": "Still running",
                                    "ids": [scenario["Old tea dance"]]})
    assert response.status_code == 302 and response.headers["Location"].endswith("#queue")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count('class="flash"') == 1
    queue = page.split('id="queue"', 1)[1]
    flash = queue.split('id="action-result"', 1)[1].split("</div>", 1)[0]
    assert "1 listing recorded as checked by phone." in flash, flash
    assert queue.index('id="action-result"') < queue.index('class="bulk-actions"')
