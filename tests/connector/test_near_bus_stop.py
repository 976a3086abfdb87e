"""The "near a bus stop" need: a venue with a bus stop within a few minutes' walk (on the
walking network where the venue is on it), and the "why" naming the stop."""

from __future__ import annotations

import json
import math
import re
import shutil

import pytest
from sqlalchemy import select

from assetmap import vocab
from assetmap.config import PROJECT_ROOT
from assetmap.db import session_scope
from assetmap.models import Venue
from assetmap.spatial import lat_of, lon_of
from assetmap.walking import PACES
from assetmap.walking.service import walking_service
from assetmap.walking.stops import NEAR_BUS_STOP_MINUTES, build_stops, stop_index, stops_path
from tests.conftest import csrf_token
from tests.connector.test_remote import INSIDE, remote  # noqa: F401 - a fixture used below

PBF = PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf"
ORIGIN = "NW1 2DB"


@pytest.fixture(scope="module")
def stops_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stops")
    build_stops(PBF, folder, "camden")
    return stops_path(folder, "camden")


@pytest.fixture
def stops(network, stops_file):
    shutil.copy(stops_file, stops_path(network, "camden"))
    return network


def _match(client, extra: str = "") -> dict:
    response = client.get(f"/api/v1/match?postcode={ORIGIN}&limit=200{extra}"
                          + ("" if "minutes=" in extra else "&minutes=20"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_need_is_in_the_vocabulary_once():
    assert vocab.NEAR_BUS_STOP in vocab.NEED_IDS and vocab.NEAR_BUS_STOP not in vocab.TAG_IDS
    assert vocab.NEED_LABELS[vocab.NEAR_BUS_STOP] == "Near a bus stop"


def test_near_a_bus_stop_keeps_exactly_the_venues_whose_nearest_stop_is_a_short_walk(
        app, client, demo, stops):
    everything = _match(client)["matches"]
    near = _match(client, "&needs=near-bus-stop")["matches"]
    service = walking_service(app)
    with app.app_context():
        nearest = {m["id"]: next((s for s in service.getting_there(
            m["venue"]["lat"], m["venue"]["lon"]) if s["kind"] == "bus"), None)
            for m in everything}
    expected = {i for i, bus in nearest.items()
                if bus and bus["minutes"] <= NEAR_BUS_STOP_MINUTES}
    assert {m["id"] for m in near} == expected
    assert 0 < len(expected) < len(everything), "some venues are farther from a bus stop"
    for m in near:
        bus = nearest[m["id"]]
        # The why names the stop with the walk measured on the network (no "about").
        assert m["why"][1] == bus["words"] and not bus["estimated"]
        assert re.match(r"Bus stop .+, \d min from the door$", m["why"][1])


def test_stop_minutes_are_the_walk_on_the_network(app, demo, stops):
    service = walking_service(app)
    with app.app_context():
        with session_scope(app) as s:
            venues = s.execute(select(lat_of(Venue.geom), lon_of(Venue.geom)).limit(8)).all()
        index = stop_index(stops, "camden")
        checked = 0
        for lat, lon in venues:
            for said in service.getting_there(lat, lon, "slow"):
                stop = next(st for st in index.stops if st.name == said["name"]
                            and st.kind == said["kind"])
                # Of the stops with this name, the nearest by the walking service's own route.
                walks = [service.route_or_estimate(lat, lon, st.lat, st.lon, "slow")[1]
                         for st in index.stops if st.name == stop.name and st.kind == stop.kind]
                best = min(walks, key=lambda w: w.metres)
                assert not best.estimated and said["estimated"] is False
                assert said["metres"] == pytest.approx(best.metres, abs=1.5)
                assert said["minutes"] == max(1, math.ceil(
                    best.metres / PACES["slow"].metres_per_minute))
                checked += 1
        assert checked >= 8


def test_a_slower_pace_shrinks_what_counts_as_near(client, demo, stops):
    typical = {m["id"] for m in _match(client, "&needs=near-bus-stop")["matches"]}
    slow = {m["id"] for m in _match(client, "&needs=near-bus-stop&pace=slow")["matches"]}
    assert slow <= typical


def test_phone_and_online_listings_are_not_held_to_a_bus_stop(client, demo, stops,
                                                              remote):  # noqa: F811
    body = client.get(f"/api/v1/match?postcode={INSIDE}&needs=near-bus-stop").get_json()
    assert body["matches"] and all("Bus stop" in m["why"][1] for m in body["matches"])
    names = {m["name"] for m in body["remote"]}
    # The fixture's two, and the demo's two phone befriending listings (they serve here too).
    demo_phone = {n for n in names if n.startswith("Telephone Befriending from ")}
    assert names - demo_phone == {"Telephone Befriending", "Online Book Chat"}
    assert len(demo_phone) == 2
    assert not any("bus" in line.lower() for m in body["remote"] for line in m["why"])


def test_an_unknown_need_is_refused_naming_the_field(client):
    response = client.get(f"/api/v1/match?postcode={ORIGIN}&needs=near-a-tram")
    assert response.status_code == 400
    assert "needs" in response.get_data(as_text=True)


def test_without_stops_nothing_is_claimed_near_a_bus_stop(client, demo, network):
    assert _match(client, "&needs=near-bus-stop")["matches"] == []
    assert _match(client)["matches"]


def test_the_connector_page_offers_the_need_and_says_the_stop(client, connector, demo, stops):
    token = csrf_token(client, "/connector")
    page = client.get("/connector").get_data(as_text=True)
    assert 'value="near-bus-stop"' in page and "Near a bus stop" in page
    client.post("/connector", data={"csrf_token": token, "postcode": ORIGIN, "minutes": "15",
                                    "needs": "near-bus-stop"})
    html = client.get("/connector").get_data(as_text=True)
    assert re.search(r"Bus stop [^<]+, \d min from the door", html)


def test_the_cli_takes_the_need_too(runner, client, demo, stops, monkeypatch):
    from assetmap.cli import main

    monkeypatch.setenv("ASSETMAP_NETWORK_DIR", str(stops))
    near = {m["name"] for m in _match(client, "&needs=near-bus-stop&minutes=15")["matches"]}
    result = runner.invoke(main, ["match", "--postcode", ORIGIN, "--minutes", "15",
                                  "--needs", "near-bus-stop", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert {m["name"] for m in body["matches"]} == near and near
    bad = runner.invoke(main, ["match", "--postcode", ORIGIN, "--needs", "near-a-tram"])
    assert bad.exit_code == 2 and "needs" in bad.output
