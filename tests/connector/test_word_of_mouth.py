"""Word of mouth: a visit, a call or a client's visit in two clicks, with a judgement and a
private note; endorsements for connectors; "report closed" for a coordinator to confirm."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from assetmap.models import Activity, ChangeRecord, ReviewItem, VerificationEvent
from tests.conftest import csrf_token
from tests.connector.conftest import ORIGIN, search_ids

NOTE = "Ask for Maureen at the door; the hall is up one flight of stairs."


def test_a_check_refreshes_the_listing_and_feeds_endorsements(client, connector, listing,
                                                              session):
    token = csrf_token(client, f"/connector/activities/{listing}")
    response = client.post(f"/connector/activities/{listing}/checks", data={
        "kind": "visited", "welcoming": "yes", "group_averse": "no", "accessible": "",
        "note": NOTE, "csrf_token": token}, headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["freshness"]["state"] == "fresh"
    assert body["freshness"]["words"] == "checked today, on a connector visit"
    assert "welcoming to newcomers: 1 yes" in body["endorsement"]
    assert "suits someone who dislikes groups: 1 no" in body["endorsement"]
    event = session.scalars(select(VerificationEvent).where(
        VerificationEvent.activity_id == listing).order_by(VerificationEvent.id.desc())).first()
    assert event.method == "connector-visited" and event.actor_type == "user"
    assert event.judgement == {"welcoming": "yes", "group_averse": "no"}
    assert event.note == NOTE and event.note_private
    activity = session.get(Activity, listing)
    assert activity.last_verified_method == "connector-visited"


def test_without_javascript_a_check_returns_to_the_search(client, connector, listing):
    token = csrf_token(client, f"/connector/activities/{listing}")
    back = "/connector?postcode=NW1%202DB&minutes=20"
    response = client.post(f"/connector/activities/{listing}/checks", data={
        "kind": "client", "csrf_token": token, "next": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    outside = client.post(f"/connector/activities/{listing}/checks", data={
        "kind": "phoned", "csrf_token": token, "next": "https://elsewhere.example/"})
    assert outside.headers["Location"] == f"/connector/activities/{listing}"


def test_endorsements_sum_up_what_connectors_said(client, connector, listing):
    token = csrf_token(client, f"/connector/activities/{listing}")
    for kind, welcoming in (("client", "yes"), ("phoned", "yes"), ("visited", "no")):
        client.post(f"/connector/activities/{listing}/checks", data={
            "kind": kind, "welcoming": welcoming, "csrf_token": token})
    html = client.get(f"/connector/activities/{listing}").get_data(as_text=True)
    assert "3 checks by connectors, the last today" in html
    assert "a client went with a connector once" in html
    assert "welcoming to newcomers: 2 yes, 1 no" in html


def test_private_notes_never_reach_public_pages_api_or_exports(client, app, connector,
                                                               listing, runner):
    token = csrf_token(client, f"/connector/activities/{listing}")
    client.post(f"/connector/activities/{listing}/checks", data={
        "kind": "phoned", "note": NOTE, "welcoming": "yes", "csrf_token": token})
    assert NOTE in client.get(f"/connector/activities/{listing}").get_data(as_text=True)
    anonymous = app.test_client()
    for path in (f"/activities/{listing}", f"/api/v1/activities/{listing}",
                 "/api/v1/activities", "/api/v1/activities?status=all"):
        page = anonymous.get(path).get_data(as_text=True)
        assert "Maureen" not in page and "judgement" not in page, path
    from assetmap.cli import main

    for fmt in ("csv", "geojson"):
        result = runner.invoke(main, ["export", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "Maureen" not in result.output


@pytest.mark.parametrize("data, field", [({"kind": "dropped-by"}, "kind"),
                                         ({"kind": "phoned", "welcoming": "maybe"}, "welcoming"),
                                         ({"kind": "phoned", "note": "x" * 2001}, "note")])
def test_bad_checks_are_refused_naming_the_field(client, connector, listing, data, field):
    token = csrf_token(client, f"/connector/activities/{listing}")
    response = client.post(f"/connector/activities/{listing}/checks",
                           data=data | {"csrf_token": token},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_report_closed_marks_it_for_a_coordinator_and_keeps_it_visible(client, connector,
                                                                      demo, session, network):
    html = client.get(f"/connector?postcode={ORIGIN}&minutes=15").get_data(as_text=True)
    listing = search_ids(html)[0]
    token = csrf_token(client, f"/connector/activities/{listing}")
    for reason in ("The door had a notice: closed for good.", "Phoned: no answer."):
        response = client.post(f"/connector/activities/{listing}/report-closed",
                               data={"reason": reason, "csrf_token": token})
        assert response.status_code == 302
    items = session.scalars(select(ReviewItem).where(ReviewItem.activity_id == listing)).all()
    assert len(items) == 1 and items[0].kind == "report-closed" and items[0].status == "open"
    assert [r["reason"] for r in items[0].payload["reports"]] == [
        "The door had a notice: closed for good.", "Phoned: no answer."]
    activity = session.get(Activity, listing)
    assert activity.possibly_closed and activity.status == "active"
    change = session.scalars(select(ChangeRecord).where(
        ChangeRecord.activity_id == listing, ChangeRecord.field == "possibly_closed")).one()
    assert change.actor_type == "user" and change.new_value is True
    # Still in the results, marked.
    html = client.get(f"/connector?postcode={ORIGIN}&minutes=15").get_data(as_text=True)
    assert listing in search_ids(html)
    item = html[html.index(f'id="result-{listing}"'):]
    assert "state-possibly-closed" in item[:3000]
    assert "reported closed today; a coordinator will confirm" in item[:3000]
    page = client.get(f"/connector/activities/{listing}").get_data(as_text=True)
    assert "Possibly closed." in page and "a coordinator will confirm" in page
    # Public pages show it marked too.
    public = client.get(f"/activities/{listing}").get_data(as_text=True)
    assert "Possibly closed" in public


def _why_on_page(client, listing: int) -> str:
    page = client.get("/connector").get_data(as_text=True)
    card = page[page.index(f'id="result-{listing}"'):]
    return card[card.index('<p class="why">') + 15:card.index("</p>", card.index('class="why"'))]


def test_a_check_answers_with_the_results_why_as_a_reload_would_show_it(client, connector,
                                                                        listing):
    token = csrf_token(client, "/connector")
    client.post("/connector", data={"csrf_token": token, "lat": "51.5370", "lon": "-0.1880",
                                    "minutes": "10"})
    before = _why_on_page(client, listing)
    assert "welcoming" not in before and "checked today" not in before
    whys = []
    for kind in ("visited", "client"):
        response = client.post(f"/connector/activities/{listing}/checks", data={
            "kind": kind, "welcoming": "yes", "csrf_token": token},
            headers={"Accept": "application/json"})
        assert response.status_code == 200
        whys.append(response.get_json()["why"])
        assert whys[-1] == html.unescape(_why_on_page(client, listing))
    assert "freshness: checked today" in whys[0] and "welcoming" not in whys[0]
    assert "connectors found it welcoming to newcomers (2 visits)" in whys[1]


def test_a_check_from_a_linked_search_reads_the_search_from_the_page(client, connector,
                                                                     listing):
    token = csrf_token(client, f"/connector/activities/{listing}")
    url = f"/connector/activities/{listing}/checks"
    alone = client.post(url, data={"kind": "phoned", "csrf_token": token},
                        headers={"Accept": "application/json"})
    assert alone.get_json()["why"] is None  # no search: nothing to say it against
    linked = client.post(url, data={"kind": "phoned", "csrf_token": token,
                                    "search": "?lat=51.5370&lon=-0.1880&minutes=10"},
                         headers={"Accept": "application/json"})
    assert linked.get_json()["why"].startswith("Why: ")
    elsewhere = client.post(url, data={"kind": "phoned", "csrf_token": token,
                                       "search": "?lat=51.60&lon=-0.30&minutes=5"},
                            headers={"Accept": "application/json"})
    assert elsewhere.get_json()["why"] is None  # not in that search's results
