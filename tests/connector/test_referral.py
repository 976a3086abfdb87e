"""Taking newcomers and languages: set by connectors, coordinators and organisers (with who
and when), ranked and filtered in the API, the connector's search and the CLI."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.listings.changes import SYSTEM, Actor, create_activity
from assetmap.listings.referral import set_intake
from assetmap.listings.venues import find_or_create_venue
from assetmap.models import Activity, ChangeRecord, Source
from tests.conftest import csrf_token

HERE = "lat=51.5343&lon=-0.1389"


@pytest.fixture
def three(app) -> dict[str, int]:
    """Three like groups at one hall near the search point: open, full and not said."""
    ids = {}
    with session_scope(app) as s:
        venue = find_or_create_venue(s, name="Crowndale Hall", lat=51.5349, lon=-0.1391,
                                     data_dir=app.config["DATA_DIR"])
        for name in ("Open group", "Full group", "Quiet group"):
            ids[name] = create_activity(s, {
                "name": name, "category": "coffee-morning", "venue_id": venue.id,
                "schedules": ["Wednesdays 10:00-12:00"]}, SYSTEM).id
        connector = Actor("user", "Jo Connector", user_id=None)
        set_intake(s, s.get(Activity, ids["Open group"]), "open", connector, role="connector")
        set_intake(s, s.get(Activity, ids["Full group"]), "Full", connector, role="organiser")
    return ids


def _match(client, extra: str = "") -> list[dict]:
    response = client.get(f"/api/v1/match?{HERE}&minutes=10{extra}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["matches"]


def test_full_groups_rank_below_open_ones_and_say_who_said_so(client, three, network):
    matches = [m for m in _match(client) if m["id"] in three.values()]
    assert [m["name"] for m in matches] == ["Open group", "Quiet group", "Full group"]
    full = matches[-1]
    assert full["intake"]["value"] == "full" and not full["intake"]["taking_newcomers"]
    assert full["intake"]["words"] == "Full — organiser, today"
    assert "taking newcomers: full (ranked lower)" in full["why"]
    assert matches[0]["intake"]["words"] == "Open to newcomers — connector, today"
    assert matches[1]["intake"] is None


def test_taking_newcomers_filter_keeps_open_and_unsaid(client, three, network):
    names = {m["name"] for m in _match(client, "&newcomers=1")}
    assert {"Open group", "Quiet group"} <= names and "Full group" not in names


def test_spoken_in_filter_reads_codes_and_unsaid_is_english(app, client, three, network):
    with session_scope(app) as s:
        s.get(Activity, three["Quiet group"]).languages = ["so", "en"]
        s.get(Activity, three["Open group"]).languages = ["bsl"]
    somali = _match(client, "&language=so")
    assert [m["name"] for m in somali] == ["Quiet group"]
    assert "runs in Somali" in somali[0]["why"]
    assert somali[0]["languages_words"] == "Runs in Somali and English"
    english = {m["name"] for m in _match(client, "&language=English")}
    assert english == {"Quiet group", "Full group"}
    assert [m["name"] for m in _match(client, "&language=bfi")] == ["Open group"]


@pytest.mark.parametrize("query, field", [("newcomers=maybe", "newcomers"),
                                          ("language=klingon", "language")])
def test_bad_filters_are_400s_naming_the_parameter(client, query, field):
    response = client.get(f"/api/v1/match?{HERE}&{query}")
    assert response.status_code == 400
    assert field in json.dumps(response.get_json())


def test_connector_sets_intake_and_languages_with_history(app, client, connector, three,
                                                          session):
    aid = three["Quiet group"]
    page = client.get(f"/connector/activities/{aid}").get_data(as_text=True)
    assert "What a referral needs to know" in page and "Nobody has said yet" in page
    token = csrf_token(client, f"/connector/activities/{aid}")
    response = client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "intake": "waiting-list", "languages": "Somali, bsl",
        "interpreter": "yes"})
    assert response.status_code == 302
    session.expire_all()
    activity = session.get(Activity, aid)
    assert (activity.intake, activity.intake_by) == ("waiting-list", "connector")
    assert activity.languages == ["so", "bsl"] and activity.interpreter is True
    fields = {c.field for c in session.scalars(select(ChangeRecord).where(
        ChangeRecord.activity_id == aid))}
    assert {"intake", "languages", "interpreter"} <= fields
    assert {"intake", "languages", "interpreter"} <= set(activity.field_provenance)
    page = client.get(f"/connector/activities/{aid}").get_data(as_text=True)
    assert "Waiting list — connector, today" in page
    assert "Runs in Somali and British Sign Language; an interpreter can come" in page
    # A bad value is refused, naming the field, and nothing changes.
    bad = client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "intake": "half-full"})
    assert bad.status_code == 400 and "Taking newcomers" in bad.get_data(as_text=True)
    bad = client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "languages": "en, Elvish"})
    assert bad.status_code == 400 and "Elvish" in bad.get_data(as_text=True)
    assert "<strong>Languages</strong>" in bad.get_data(as_text=True)
    session.expire_all()
    assert session.get(Activity, aid).languages == ["so", "bsl"]


def test_coordinator_answer_is_said_by_a_coordinator(client, login, three, session):
    login("coordinator")
    aid = three["Full group"]
    token = csrf_token(client, f"/connector/activities/{aid}")
    client.post(f"/connector/activities/{aid}/referral", data={"csrf_token": token,
                                                               "intake": "few-places"})
    session.expire_all()
    assert session.get(Activity, aid).intake_by == "coordinator"


def test_search_page_filters_and_shows_intake(client, connector, three, network):
    html = client.get(f"/connector?{HERE}&minutes=10&newcomers=1&language=en"
                      ).get_data(as_text=True)
    assert 'id="newcomers" name="newcomers" value="1" checked' in html
    assert '<option value="en" selected>English</option>' in html
    ids = [int(x) for x in re.findall(r'<li class="result" id="result-(\d+)"', html)]
    assert three["Full group"] not in ids and three["Quiet group"] in ids
    assert three["Open group"] in ids
    assert "Open to newcomers — connector, today" in html
    bad = client.get(f"/connector?{HERE}&minutes=10&language=zz")
    assert bad.status_code == 400
    assert 'id="language-error"' in bad.get_data(as_text=True)


def test_a_feed_sets_intake_unless_a_person_said_otherwise(app, three, session):
    from datetime import UTC, datetime

    from assetmap.feeds.ingest import Ingestor
    from scrapers.records import ActivityRecord, VenueRecord

    with session_scope(app) as s:
        source = Source(type="openactive", url="https://feed.example.org", name="Leisure feed",
                        every_seconds=3600, state={})
        s.add(source)
        s.flush()
        venue = VenueRecord("openactive", None, "Sports Hall", None, None, 51.536, -0.14)
        Ingestor(s, source, data_dir=app.config["DATA_DIR"],
                 now=datetime(2026, 11, 20, tzinfo=UTC)).ingest([
                     ActivityRecord("openactive", "s1", "Badminton", category="sport",
                                    venue=venue, intake="full", languages=("en", "pl")),
                     ActivityRecord("openactive", "s2", "Swim", category="sport",
                                    venue=venue)])
    made = {a.name: a for a in session.scalars(select(Activity).where(
        Activity.name.in_(["Badminton", "Swim"])))}
    assert (made["Badminton"].intake, made["Badminton"].intake_by) == ("full", "Leisure feed")
    assert made["Badminton"].languages == ["en", "pl"]
    assert made["Swim"].intake is None and made["Swim"].intake_by is None


def test_organiser_says_whether_new_people_can_join(app, client, session, mailbox,
                                                   lunch_club):
    from urllib.parse import urlsplit

    from assetmap.community.organiser import send_organiser_check

    with session_scope(app) as s:
        send_organiser_check(s, s.get(Activity, lunch_club), app.config)
    link = re.search(r"http://\S+/organiser/check\?token=\S+",
                     mailbox.wait_for()[-1].get_content()).group(0)
    path = f"{urlsplit(link).path}?{urlsplit(link).query}"
    page = client.get(path).get_data(as_text=True)
    assert "Can new people join at the moment?" in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    response = client.post("/organiser/confirm", data={
        "csrf_token": csrf_token(client, path), "token": token, "intake": "full"})
    assert response.status_code == 200
    session.expire_all()
    activity = session.get(Activity, lunch_club)
    assert (activity.intake, activity.intake_by) == ("full", "organiser")
    assert activity.last_verified_method == "organiser-confirmed"


def test_cli_match_filters(runner, app, three, network, monkeypatch):
    from assetmap.cli import main

    monkeypatch.setenv("ASSETMAP_NETWORK_DIR", str(network))
    result = runner.invoke(main, ["match", "--lat", "51.5343", "--lon", "-0.1389",
                                  "--minutes", "10", "--newcomers"])
    assert result.exit_code == 0, result.output
    assert "Open group" in result.output and "Full group" not in result.output
    assert "(Open to newcomers — connector, today)" in result.output
    result = runner.invoke(main, ["match", "--lat", "51.5343", "--lon", "-0.1389",
                                  "--language", "Elvish"])
    assert result.exit_code == 2 and "error:" in result.output and "language" in result.output
