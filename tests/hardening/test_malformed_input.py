"""Malformed input across the app's routes, on SpatiaLite and PostGIS: a NUL byte in every
query parameter and every field of every form the pages show, ids beyond the columns' range
in paths, parameters and forms, JSON nested 50,000 deep, bodies over the limit with and
without a Content-Length. Nothing may answer 5xx; a JSON 400 names the parameter sent."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import lxml.html
import pytest
import requests
from werkzeug.serving import make_server

from assetmap.community.organiser import create_link
from assetmap.db import session_scope
from assetmap.listings.changes import SYSTEM, create_activity
from assetmap.listings.venues import find_or_create_venue
from assetmap.models import Source
from tests.conftest import csrf_token

NUL = "a\x00b"
TOO_BIG = ["2147483648", "9223372036854775808", "1e308", "-1", "9" * 5000]
# Every query parameter a view reads (grep request.args and assetmap/web/forms.py), and a stray one.
PARAMS = ["area", "bbox", "category", "tag", "postcode", "from", "to", "lat", "lon", "minutes",
          "pace", "page", "per_page", "kind", "state", "source", "ref", "next",
          "modified_after", "limit", "day", "time", "free", "needs", "interests", "sort",
          "order", "status", "token", "anything"]
NUMERIC = {"area", "to", "minutes", "page", "per_page", "source", "limit", "lat", "lon",
           "from"}
SKIP_POSTS = ("/logout", "/run")  # signing out ends the crawl; a run is the feed engineer's


@pytest.fixture
def world(app, login, client) -> dict:
    """Two listings, a source, a suggestion, a review item, an organiser link; signed in as
    an admin (who may open every page)."""
    with session_scope(app) as s:
        source = Source(type="ical", url="http://127.0.0.1:9/none.ics", name="Test feed")
        s.add(source)
        for name, lat, lon in (("Lunch Club", 51.5366, -0.1885), ("Tea dance", 51.5390, -0.1420)):
            venue = find_or_create_venue(s, name=f"{name} hall", lat=lat, lon=lon,
                                         data_dir=app.config["DATA_DIR"])
            activity = create_activity(s, {
                "name": name, "category": "lunch-club", "venue_id": venue.id,
                "schedules": ["Tuesdays 12:00-14:00"], "contact_email": "hello@example.org",
                "contact_phone": "020 7946 0000", "contact_url": "https://example.org"}, SYSTEM)
        s.flush()
        _link, token = create_link(s, activity, email="org@example.org", config=app.config)
        ids = {"activity_id": activity.id, "source_id": source.id}
    made = client.post("/api/v1/suggestions", json={
        "name": "Chess club", "category": "other", "postcode": "NW5 2AB",
        "schedule": "Tuesdays 12:00-14:00"})
    assert made.status_code == 201, made.get_json()
    login("admin")
    form = {"csrf_token": csrf_token(client, f"/connector/activities/{ids['activity_id']}"),
            "reason": "The hall is shut"}
    assert client.post(f"/connector/activities/{ids['activity_id']}/report-closed",
                       data=form).status_code < 400
    return {**ids, "suggestion_id": 1, "item_id": 1, "token": token}


PAIRED = {"lat": {"lon"}, "lon": {"lat"}}  # one without the other names the missing one


def _check(response, sent: set[str] | None = None, where: str = "") -> None:
    text = response.get_data(as_text=True)  # reads a streamed answer to its end
    response.close()
    assert response.status_code < 500, (where, response.status_code, text[:500])
    if response.status_code == 400 and response.is_json and sent is not None:
        body = response.get_json()
        named = {body.get("field"), *(body.get("errors") or {})}
        allowed = set(sent).union(*(PAIRED.get(name, set()) for name in sent))
        assert named & allowed, (where, sorted(sent), body)


def _paths(app, ids: dict, value: str) -> Iterator[tuple[str, str]]:
    """(method, path) for every route, its ids (int or string) set to `value`."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        args = {name: (ids.get(name, 1) if value == "ok" else value)
                for name in rule.arguments}
        path = rule.rule
        for name, got in args.items():
            path = path.replace(f"<int:{name}>", str(got)).replace(f"<{name}>", str(got))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_ids_beyond_every_columns_range_in_paths_are_not_found(app, client, world):
    for value in TOO_BIG[:2] + ["1e308", "0", "\x00", "1" * 5000]:
        for method, path in _paths(app, world, value):
            if "<" in path:
                continue
            if "/activities/" not in path and "/sources/" not in path and (
                    "/suggestions/" not in path and "/review/" not in path
                    and "/services/" not in path):
                continue
            response = client.open(path, method=method)
            assert response.status_code in (400, 404, 405), (method, path[:80],
                                                              response.status_code)


def test_nul_and_huge_numbers_in_every_query_parameter(app, client, world):
    base = {
        "/api/v1/match": {"lat": "51.5366", "lon": "-0.1885"},
        "/api/v1/route": {"from": "51.5366,-0.1885", "to": str(world["activity_id"])},
        "/api/v1/streets": {"bbox": "-0.15,51.53,-0.14,51.54"},
        "/api/v1/map": {"bbox": "-0.15,51.53,-0.14,51.54", "zoom": "15"},
        "/organiser/check": {"token": world["token"]},
        "/organiser/changes": {"token": world["token"]},
        "/organiser/stopped": {"token": world["token"]},
    }
    for method, path in _paths(app, world, "ok"):
        if method != "GET":
            continue
        start = base.get(path, {})
        for name in PARAMS:
            for value in [NUL] + (TOO_BIG[:3] if name in NUMERIC else []):
                params = start | {name: value}
                response = client.get(path, query_string=params)
                _check(response, {name}, f"GET {path}?{name}={value[:20]!r}")
        _check(client.get(path, query_string={n: NUL for n in PARAMS}), None, path)


def _forms(client, pages: list[str]) -> Iterator[tuple[str, dict[str, str], str]]:
    for page in pages:
        answer = client.get(page)
        if answer.status_code != 200 or "html" not in answer.mimetype:
            continue
        doc = lxml.html.fromstring(answer.get_data(as_text=True))
        for form in doc.forms:
            if (form.method or "GET").upper() != "POST":
                continue
            action = form.action or page
            action = urlsplit(action).path + (f"?{urlsplit(action).query}"
                                              if urlsplit(action).query else "")
            if action.startswith(("http", "//")) or action.endswith(SKIP_POSTS):
                continue
            fields: dict[str, str] = {}
            for element in form.inputs:
                name = element.get("name")
                if not name or name in fields:
                    continue
                kind = (element.get("type") or element.tag).lower()
                if kind in ("checkbox", "radio"):
                    if kind == "radio" or element.checked:
                        fields[name] = element.get("value") or "on"
                elif element.tag == "select":
                    options = element.value_options
                    fields[name] = str(element.value or (options[0] if options else ""))
                elif kind not in ("submit", "button", "file"):
                    fields[name] = element.value or ""
            yield action, fields, page


def test_nul_and_huge_numbers_in_every_field_of_every_form(app, client, world):
    token = world["token"]
    pages = ["/", "/connector", "/connector?lat=51.5366&lon=-0.1885&minutes=30",
             f"/connector/activities/{world['activity_id']}",
             f"/connector/activities/{world['activity_id']}/edit",
             "/coordinator/", "/coordinator/freshness", "/coordinator/sources",
             "/coordinator/suggestions", "/coordinator/coverage",
             f"/coordinator/suggestions/{world['suggestion_id']}/merge/{world['activity_id']}",
             f"/organiser/check?token={token}", f"/organiser/changes?token={token}",
             f"/organiser/stopped?token={token}", "/suggest"]
    forms = list(_forms(client, pages))
    actions = {action.split("?")[0] for action, _f, _p in forms}
    for expected in (f"/connector/activities/{world['activity_id']}/edit",
                     "/coordinator/sources", "/coordinator/freshness", "/suggest",
                     "/organiser/changes"):
        assert expected in actions, sorted(actions)
    for action, fields, page in forms:
        for name in fields:
            if name == "csrf_token":
                continue
            for value in [NUL + fields[name], "\x00", "x" * 5000] + TOO_BIG[:3]:
                response = client.post(action, data=fields | {name: value})
                _check(response, {name}, f"POST {action} {name}={value[:20]!r} from {page}")
    anonymous = app.test_client()
    fields = {"email": "x\x00@example.org", "password": "pass\x00word",
              "csrf_token": csrf_token(anonymous, "/login")}
    assert anonymous.post("/login", data=fields).status_code == 400


def test_json_bodies_with_nul_huge_ids_and_deep_nesting(app, client, world):
    valid = {"name": "Chess club", "category": "other", "postcode": "NW5 2AB",
             "schedule": "Tuesdays 12:00-14:00", "description": "Bring a board",
             "cost": "free", "contact_email": "pat@example.org", "tags": ["drop-in"]}
    for name in [*valid, "venue_name", "address", "contact_name", "contact_phone",
                 "contact_url", "notes", "suggester_name", "suggester_contact", "lat", "lon"]:
        for value in (NUL, "\x00", 2147483648, 1e308, [NUL], {"a": NUL}):
            response = client.post("/api/v1/suggestions", json=valid | {name: value})
            _check(response, {name}, f"suggestion {name}={value!r}")
    for deep in ("[" * 50_000 + "]" * 50_000, '{"name": ' + "[" * 50_000 + "]" * 50_000 + "}",
                 "[" * 40 + "]" * 40, '{"name": NaN}', '{"lat": 1e400, "lon": 0}'):
        response = client.post("/api/v1/suggestions", data=deep,
                               content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)[:200]
        assert response.get_json()["field"] == "body"
    for to in TOO_BIG + ["\x00", None]:
        response = client.post("/connector/route", json={"lat": 51.5366, "lon": -0.1885,
                                                         "to": to})
        _check(response, {"to"}, f"route to={to!r}")
        assert response.status_code == 400
    token = csrf_token(client, "/connector")
    for ids in TOO_BIG + ["\x00", f"{world['activity_id']},2147483648"]:
        response = client.post("/connector/handout", data={"ids": ids, "csrf_token": token})
        assert response.status_code == 400, (ids[:20], response.status_code)
    # A NUL is dropped at the edge: what is left is a good shortlist.
    response = client.post("/connector/handout", data={
        "ids": f"{world['activity_id']},\x00", "csrf_token": token})
    assert response.status_code == 200


def test_route_errors_name_the_parameter_the_client_sent(client, world):
    for bad in ("ZZ99 9ZZ", "\x00", "91,0", "51.5,x", ","):
        response = client.get("/api/v1/route", query_string={"from": bad,
                                                             "to": world["activity_id"]})
        assert response.status_code == 400 and response.get_json()["field"] == "from", bad
    response = client.get("/api/v1/route", query_string={"from": "51.5366,-0.1885",
                                                         "to": "2147483648"})
    assert response.status_code == 400 and response.get_json()["field"] == "to"


def test_location_answers_are_never_cached_and_405_says_what_is_allowed(client, world):
    match = client.get("/api/v1/match", query_string={"lat": "51.5366", "lon": "-0.1885"})
    route = client.get("/api/v1/route", query_string={"from": "51.5366,-0.1885",
                                                      "to": world["activity_id"]})
    for response in (match, route):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
    wrong = client.put("/api/v1/suggestions", json={})
    assert wrong.status_code == 405
    assert set(wrong.headers["Allow"].split(", ")) >= {"POST", "OPTIONS"}
    assert client.delete("/login").headers["Allow"]


def test_a_chunked_body_over_the_limit_is_413_in_the_test_client(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    body = json.dumps({"name": "x" * 20_000}).encode()
    response = client.post("/api/v1/suggestions", input_stream=io.BytesIO(body),
                           headers={"Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413, response.get_data(as_text=True)[:200]
    assert response.get_json()["limit_bytes"] == 10_000


@pytest.fixture
def small_server(app) -> Iterator[str]:
    """The app behind Werkzeug's threaded server (which reads chunked bodies itself)."""
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


def test_oversize_bodies_over_http_are_413_with_and_without_content_length(small_server):
    body = json.dumps({"name": "x" * 20_000}).encode()
    sized = requests.post(f"{small_server}/api/v1/suggestions", data=body, timeout=10,
                          headers={"Content-Type": "application/json"})
    chunked = requests.post(f"{small_server}/api/v1/suggestions", timeout=10,
                            data=(body[i:i + 4096] for i in range(0, len(body), 4096)),
                            headers={"Content-Type": "application/json"})
    for response in (sized, chunked):
        assert response.status_code == 413, response.text[:200]
        assert "larger than the limit" in response.json()["message"]


def test_an_oversize_form_over_http_comes_back_filled_in(small_server):
    """Through a real server too: with a Content-Length (refused before any read) and chunked
    (read up to the limit), the form comes back with the name typed."""
    body = urlencode([("name", "Kentish Town Tuesday Lunch"),
                      ("description", "x" * 20_000)]).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    sized = requests.post(f"{small_server}/suggest", data=body, timeout=10, headers=form)
    chunked = requests.post(f"{small_server}/suggest", timeout=10, headers=form,
                            data=(body[i:i + 4096] for i in range(0, len(body), 4096)))
    for response in (sized, chunked):
        assert response.status_code == 413, response.text[:200]
        assert 'value="Kentish Town Tuesday Lunch"' in response.text
        assert "we kept the first 4,000 characters" in response.text
