from datetime import datetime, time, timedelta

import pytest

from assetmap.listings.changes import SYSTEM, apply_changes
from assetmap.models import Activity
from assetmap.schedule import LONDON, ScheduleRule


def test_match_ranks_by_walk_and_explains(client, demo, network):
    body = client.get("/api/v1/match?postcode=nw1%202db&minutes=15&pace=slow").get_json()
    assert body["origin"]["method"] == "postcode" and not body["origin"]["approximate"]
    assert body["network"] == "camden" and body["estimated"] is False
    assert body["isochrone"]["type"] in ("Polygon", "MultiPolygon")
    matches = body["matches"]
    assert matches, "the demo data has activities within 15 slow minutes of NW1 2DB"
    for m in matches:
        assert 0 < m["walk_minutes"] <= 15
        assert m["walk_metres"] <= 15 * 50 + 1  # 3 km/h
        assert m["why"] and m["next_sessions"]
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    # Stale listings are kept but never above a fresh one at a similar walk.
    fresh = [m for m in matches if m["freshness"]["state"] == "fresh"]
    stale = [m for m in matches if m["stale"]]
    if fresh and stale:
        assert max(m["score"] for m in stale) < max(m["score"] for m in fresh)


def test_slow_pace_reaches_less_than_typical(client, demo, network):
    typical = client.get("/api/v1/match?postcode=NW1 2DB&minutes=15").get_json()["matches"]
    slow = client.get("/api/v1/match?postcode=NW1 2DB&minutes=15&pace=slow").get_json()[
        "matches"]
    assert {m["id"] for m in slow} <= {m["id"] for m in typical}
    assert len(slow) < len(typical)


def test_needs_are_hard_filters_and_interests_rank_higher(client, demo, network):
    body = client.get("/api/v1/match?postcode=NW1 2DB&minutes=30&needs=free"
                      "&interests=walking-group").get_json()
    matches = body["matches"]
    assert matches and all("free" in m["tags"] for m in matches)
    walks = [i for i, m in enumerate(matches) if m["category"] == "walking-group"]
    if walks:
        assert any("interest" in w for w in matches[walks[0]]["why"])


def test_day_and_time_filter_sessions(client, demo, network):
    body = client.get("/api/v1/match?postcode=NW1 2DB&minutes=30&day=tue&time=morning"
                      ).get_json()
    for m in body["matches"]:
        assert any("on Tuesday in the morning" in w for w in m["why"])


def test_a_day_filter_keeps_daily_monthly_and_one_off_sessions(client, demo, network, session):
    # SQL drops listings that never meet on the asked-for weekday before their schedules are
    # read (by the rules' days): daily and one-off rules, which name no day, must get through.
    today = datetime.now(LONDON).date()
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7)
    late = time(23, 30)  # still to come whenever the test runs
    rules = {
        "daily": ScheduleRule("daily", start_time=late),
        "monthly": ScheduleRule("monthly", start_time=late, days=("TU",),
                                positions=(1, 2, 3, 4, 5)),
        "once": ScheduleRule("once", start_time=late, on_date=tuesday),
        "wednesday": ScheduleRule("weekly", start_time=late, days=("WE",)),
    }
    near = client.get("/api/v1/match?postcode=NW1 2DB&minutes=20").get_json()["matches"]
    ids = dict(zip(rules, (m["id"] for m in near), strict=False))
    assert len(ids) == len(rules)
    for kind, activity_id in ids.items():
        apply_changes(session, session.get(Activity, activity_id),
                      {"schedules": [rules[kind]]}, SYSTEM)
    session.commit()
    stored = {kind: session.get(Activity, aid).session_weekdays for kind, aid in ids.items()}
    assert stored == {"daily": 0b1111111, "monthly": 0b0000010, "once": 0b0000010,
                      "wednesday": 0b0000100}
    for day in ["tue"] + (["today"] if today == tuesday else []):
        found = {m["id"] for m in client.get(
            f"/api/v1/match?postcode=NW1 2DB&minutes=20&day={day}&limit=200"
        ).get_json()["matches"]}
        assert {ids["daily"], ids["monthly"], ids["once"]} <= found
        assert ids["wednesday"] not in found
    wednesday = {m["id"] for m in client.get(
        "/api/v1/match?postcode=NW1 2DB&minutes=20&day=wed&limit=200").get_json()["matches"]}
    assert ids["wednesday"] in wednesday and ids["daily"] in wednesday
    assert ids["once"] not in wednesday and ids["monthly"] not in wednesday


@pytest.mark.parametrize("extra", ["", "&time=afternoon", "&needs=step-free&pace=slow"])
def test_a_short_list_is_the_top_of_a_long_one(client, demo, network, extra):
    # The ranking stops reading venues and listings that cannot beat the last one kept, which
    # depends on the limit: a short list must still be exactly the top of a long one.
    url = f"/api/v1/match?postcode=NW1 2DB&minutes=30{extra}"
    long = client.get(url + "&limit=200").get_json()["matches"]
    assert len(long) > 8, "the demo data has plenty within 30 minutes"
    for limit in (3, 8):
        short = client.get(url + f"&limit={limit}").get_json()["matches"]
        assert [(m["id"], m["score"]) for m in short] == [
            (m["id"], m["score"]) for m in long[:limit]]


def test_a_match_shows_what_the_listing_says(client, demo, network):
    # Matches are described from plain columns, listings from loaded objects: one home
    # (listings.serialize) says both, and they must agree.
    matches = client.get("/api/v1/match?postcode=NW1 2DB&minutes=20&limit=30"
                         ).get_json()["matches"]
    assert matches
    for m in matches:
        listing = client.get(f"/api/v1/activities/{m['id']}").get_json()["properties"]
        for key in ("name", "category", "category_label", "venue", "schedule_text", "cost",
                    "tags", "freshness", "intake", "languages", "languages_words"):
            assert m[key] == listing[key], key


def test_ended_activities_never_appear(client, demo, network, session):
    first = client.get("/api/v1/match?postcode=NW1 2DB&minutes=20").get_json()["matches"][0]
    apply_changes(session, session.get(Activity, first["id"]), {"status": "ended"}, SYSTEM)
    session.commit()
    again = client.get("/api/v1/match?postcode=NW1 2DB&minutes=20").get_json()["matches"]
    assert first["id"] not in {m["id"] for m in again}


def test_route_length_matches_reported_walk(client, demo, network):
    m = client.get("/api/v1/match?postcode=NW1 2DB&minutes=15").get_json()["matches"][0]
    route = client.get(f"/api/v1/route?from=NW1 2DB&to={m['id']}").get_json()
    assert route["geometry"]["type"] == "LineString"
    assert abs(route["properties"]["metres"] - m["walk_metres"]) <= max(
        2, 0.01 * m["walk_metres"])


def test_origin_outside_every_network_is_estimated(client, demo, network):
    body = client.get("/api/v1/match?lat=51.60&lon=-0.30&minutes=60").get_json()
    assert body["estimated"] is True and body["network"] is None


@pytest.mark.parametrize("query, field", [
    ("postcode=XX", "postcode"), ("postcode=ZZ1 1ZZ", "postcode"), ("lat=abc&lon=0", "lat"),
    ("lat=51.5&lon=200", "lon"), ("postcode=NW1 2DB&minutes=0", "minutes"),
    ("postcode=NW1 2DB&minutes=61", "minutes"), ("postcode=NW1 2DB&minutes=ten", "minutes"),
    ("postcode=NW1 2DB&pace=sprint", "pace"), ("postcode=NW1 2DB&needs=shiny", "needs"),
    ("postcode=NW1 2DB&interests=skydiving", "interests"), ("postcode=NW1 2DB&day=funday", "day"),
    ("postcode=NW1 2DB&time=midnight", "time"), ("", "postcode"),
])
def test_bad_match_input_is_400_naming_the_parameter(client, query, field):
    response = client.get(f"/api/v1/match?{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_streets_basemap_for_a_view(client, network):
    view = "-0.130,51.528,-0.120,51.534"
    body = client.get(f"/api/v1/streets?bbox={view}").get_json()
    lines = body["features"][0]["geometry"]["coordinates"]
    assert len(lines) > 50
    # Every street has an end in the view (the network's nodes decide what is drawn).
    assert all(any(-0.131 <= x <= -0.119 and 51.527 <= y <= 51.535 for x, y in line)
               for line in lines)
    assert client.get("/api/v1/streets?bbox=-0.3,51.4,0.0,51.7").status_code == 400
    assert client.get("/api/v1/streets").get_json()["field"] == "bbox"
    far = client.get("/api/v1/streets?bbox=-2.01,53.0,-2.0,53.01").get_json()
    assert far["features"] == []
