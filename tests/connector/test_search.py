"""The connector's search page: server-rendered list, map data sent once, bad input shown
next to its field, and an expired sign-in that comes back to the same search."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

import pytest

from tests.conftest import csrf_token
from tests.connector.conftest import ORIGIN, search_ids

SEARCH = f"/connector?postcode={quote(ORIGIN)}&minutes=20&pace=slow"


def _map_data(html: str) -> dict:
    raw = re.search(r'<script type="application/json" id="search-data">(.*?)</script>', html,
                    re.S).group(1)
    return json.loads(raw)


def test_results_are_listed_without_javascript_and_the_map_gets_the_same(client, connector,
                                                                        demo, network):
    response = client.get(SEARCH + "&needs=free&interests=walking-group")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    ids = search_ids(html)
    assert ids, "the demo data has free activities near NW1 2DB"
    data = _map_data(html)
    assert [m["id"] for m in data["matches"]] == ids
    assert data["isochrone"]["type"] in ("Polygon", "MultiPolygon")
    assert data["origin"]["label"] == ORIGIN
    # Each result: walk, sessions, cost, tags, freshness in words, what connectors said, why.
    first = html[html.index(f'id="result-{ids[0]}"'):]
    first = first[:first.index("</div></li>")]
    for part in ('class="walk"', "min walk", 'class="when"', "Next:", 'class="tags"',
                 "Free", 'class="freshness', 'class="endorsement"', "Why:",
                 "meets every need asked for: free"):
        assert part in first, part
    # The form keeps what was asked.
    assert 'name="needs" value="free" checked' in html
    assert 'name="interests" value="walking-group" checked' in html
    assert 'value="slow" checked' in html


def test_no_search_yet_shows_the_form_and_an_empty_map(client, connector):
    response = client.get("/connector")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="postcode"' in html and "null</script>" in html


@pytest.mark.parametrize("query, field, message", [
    ("postcode=ZZ9+9ZZ&minutes=20", "postcode", "not a known postcode"),
    ("postcode=banana&minutes=20", "postcode", "not a UK postcode"),
    ("postcode=NW1+2DB&minutes=45", "minutes", "outside 5 to 30"),
    ("postcode=NW1+2DB&minutes=3", "minutes", "outside 5 to 30"),
    ("postcode=NW1+2DB&minutes=ten", "minutes", "not a whole number"),
    ("postcode=NW1+2DB&needs=shiny", "needs", "unknown value"),
    ("postcode=NW1+2DB&day=someday", "day", "unknown day"),
    ("lat=91&lon=0", "where", "out of range"),
])
def test_bad_input_is_shown_next_to_its_field_with_the_rest_kept(client, connector, query,
                                                                 field, message):
    response = client.get(f"/connector?{query}&pace=step-free&free=1")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    assert error and message in error.group(1)
    assert 'value="step-free" checked' in html
    assert 'id="free" name="free" value="1" checked' in html
    assert 'role="alert"' in html  # the summary at the top links to the field
    if field == "minutes":
        assert 'value="NW1 2DB"' in html  # the postcode stays as typed
        assert re.search(r'id="minutes"[^>]*aria-invalid="true"', html)
    assert not search_ids(html)


def test_both_a_bad_postcode_and_a_bad_walk_are_reported(client, connector):
    html = client.get("/connector?postcode=ZZ9+9ZZ&minutes=99").get_data(as_text=True)
    assert 'id="minutes-error"' in html and 'id="postcode-error"' in html


def test_an_unknown_full_postcode_falls_back_to_its_area_and_says_so(client, connector, demo,
                                                                     network):
    html = client.get("/connector?postcode=NW1+9ZZ&minutes=15").get_data(as_text=True)
    assert "approximately: the middle of NW1" in html


def test_a_point_on_the_map_is_an_origin(client, connector, demo, network):
    html = client.get("/connector?lat=51.5343&lon=-0.1389&minutes=15").get_data(as_text=True)
    assert search_ids(html)
    assert "the point chosen on the map" in html


def test_expired_sign_in_returns_to_the_same_search(client, app, demo):
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        create_user(s, email="link@example.org", role="connector",
                    password="correct horse battery")
    wanted = SEARCH + "&needs=free&day=tue"
    response = client.get(wanted)
    assert response.status_code == 302
    login = response.headers["Location"]
    assert urlsplit(login).path == "/login"
    token = csrf_token(client, login)
    response = client.post(login, data={"email": "link@example.org", "csrf_token": token,
                                        "password": "correct horse battery"})
    assert response.status_code == 302
    back = urlsplit(response.headers["Location"])
    assert f"{back.path}?{back.query}" == wanted.replace(" ", "%20")


def test_expired_sign_in_on_a_script_request_is_a_401_it_can_explain(client):
    response = client.post("/connector/route", json={"lat": 51.5, "lon": -0.1, "to": 1},
                           headers={"Accept": "application/json"})
    # CSRF is checked first for a signed-out browser; either way the script gets JSON.
    assert response.status_code in (400, 401)
    assert response.is_json


@pytest.mark.parametrize("role, status", [("connector", 200), ("coordinator", 200),
                                          ("admin", 200)])
def test_connectors_coordinators_and_admins_may_search(client, login, role, status):
    login(role)
    assert client.get("/connector").status_code == status


def test_route_is_posted_and_comes_with_directions(client, connector, demo, network):
    html = client.get(SEARCH).get_data(as_text=True)
    data = _map_data(html)
    target = data["matches"][0]
    token = csrf_token(client, "/connector")
    response = client.post("/connector/route", json={
        "lat": data["origin"]["lat"], "lon": data["origin"]["lon"], "to": target["id"],
        "pace": "slow"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    route = response.get_json()
    assert route["geometry"]["type"] == "LineString"
    assert route["properties"]["directions"]["kind"] == "streets"
    assert route["properties"]["minutes"] <= 20
    assert abs(route["properties"]["metres"] - [m for m in _map_data(html)["matches"]
                                                if m["id"] == target["id"]][0]["minutes"]
               * 50) < 60 * 50  # sanity: the same walk the list reported, roughly
    assert client.get("/connector/route?lat=51.5&lon=-0.1&to=1").status_code == 405


def test_route_with_a_bad_target_names_the_field(client, connector, demo, network):
    token = csrf_token(client, "/connector")
    response = client.post("/connector/route", json={"lat": 51.53, "lon": -0.14, "to": "x"},
                           headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert response.status_code == 400 and response.get_json()["field"] == "to"


def test_streets_under_the_map_come_from_the_walking_network(client, connector, network):
    page = client.get("/connector").get_data(as_text=True)
    # No basemap tiles built: the map's basemap is the walking network's streets.
    assert '"streets": "/api/v1/streets"' in page
    body = client.get("/api/v1/streets?bbox=-0.15,51.53,-0.13,51.54").get_json()
    lines = body["features"][0]["geometry"]["coordinates"]
    assert len(lines) > 100
    for line in lines[:50]:
        assert any(-0.15 <= x <= -0.13 and 51.53 <= y <= 51.54 for x, y in line)
    wide = client.get("/api/v1/streets?bbox=-0.3,51.4,-0.1,51.6")
    assert wide.status_code == 400


def test_a_page_of_200_matches_stays_small(client, connector, app, network):
    """Data for the map is sent once as JSON; no script per marker, nothing from elsewhere."""
    from assetmap.db import session_scope

    with session_scope(app) as s:
        _many_listings(s, app.config["DATA_DIR"], 230)
    response = client.get("/connector?postcode=NW1+2DB&minutes=30")
    html = response.get_data(as_text=True)
    assert len(search_ids(html)) == 200
    assert len(response.data) < 320_000, f"{len(response.data)} bytes for 200 matches"
    # Leaflet, protomaps-leaflet and the basemap style, the cluster plugin, place.js (the place's
    # bounds), connector.js, the data
    assert html.count("<script") == 7
    assert len(re.findall(r"<script[^>]*>\s*[^<\s]", html)) == 1  # only the JSON has a body
    assert not re.search(r"""(src|href)=["']https?://""", html)


def _many_listings(session, data_dir, count: int) -> None:
    """Many active listings at venues within a short walk of NW1 2DB, inserted directly."""
    from assetmap.demo import load_areas, load_venues
    from assetmap.models import Activity, ActivityTag, ScheduleEntry, Venue
    from assetmap.schedule import parse_schedule
    from assetmap.spatial import point

    load_areas(session, data_dir)
    load_venues(session, data_dir)
    venues = [Venue(name=f"Test Hall {i}", geom=point(51.5343 + (i % 7 - 3) * 0.0012,
                                                     -0.1389 + (i // 7 - 3) * 0.0015))
              for i in range(49)]
    session.add_all(venues)
    session.flush()
    (rule,) = parse_schedule("Tuesdays 10:00-12:00")
    for i in range(count):
        session.add(Activity(
            name=f"Group {i}", category="lunch-club", venue_id=venues[i % 49].id,
            status="active", cost_kind="free", field_provenance={},
            tag_rows=[ActivityTag(tag="free"), ActivityTag(tag="drop-in")],
            schedule_rows=[ScheduleEntry(position=0, kind="weekly", rule=rule.to_dict())]))
    session.flush()
