"""Getting there by bus or train: stops read from the OpenStreetMap extract, kept beside the
network, and shown in results and on the handout."""

from __future__ import annotations

import re

import pytest

from assetmap.config import PROJECT_ROOT
from assetmap.walking.stops import Stop, StopIndex, build_stops, read_stops, stop_index
from tests.conftest import csrf_token

PBF = PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf"


@pytest.fixture(scope="module")
def camden_stops() -> list[Stop]:
    return read_stops(PBF)


def test_bus_stops_with_route_numbers_and_stations_from_the_extract(camden_stops):
    buses = [s for s in camden_stops if s.kind == "bus"]
    stations = [s for s in camden_stops if s.kind == "station"]
    assert len(buses) > 100 and len(stations) > 5
    assert all(s.name for s in camden_stops)
    with_routes = [s for s in buses if s.routes]
    assert len(with_routes) > len(buses) / 2, "most stops have a bus route relation"
    assert any(s.name == "Camden Town" or "Camden Town" in s.name for s in stations)


def test_nearest_stops_in_words():
    index = StopIndex([
        Stop("bus", "Camden Road", 51.5413, -0.1393, ("29", "253", "N29")),
        Stop("bus", "Camden Road", 51.5412, -0.1391, ("29",)),  # the other side of the road
        Stop("bus", "Far Away", 51.60, -0.20, ("1",)),
        Stop("station", "Camden Town", 51.5392, -0.1426)])
    found = index.nearest(51.5410, -0.1390)
    assert [f["words"] for f in found] == [
        "Bus stop Camden Road (29, 253, N29), about 1 min from the door",
        "Camden Town station, about 6 min walk"]
    assert index.nearest(51.70, -0.50) == []


def test_results_and_handout_show_the_nearest_stops(app, client, connector, demo, network):
    build_stops(PBF, network, "camden")
    assert stop_index(network, "camden") is not None
    token = csrf_token(client, "/connector")
    client.post("/connector", data={"csrf_token": token, "postcode": "NW1 2DB",
                                    "minutes": "15"})
    html = client.get("/connector").get_data(as_text=True)
    lines = re.findall(r'<p class="getting-there">Getting there: ([^<]+)</p>', html)
    assert lines and all(re.match(r"(Bus stop|.+ station)", line) for line in lines)
    assert any(re.search(r"Bus stop [^;]+ \(\d", line) for line in lines), lines
    first = int(re.search(r'<li class="result" id="result-(\d+)"', html).group(1))
    page = client.post("/connector/handout", data={"csrf_token": token, "ids": str(first)}
                       ).get_data(as_text=True)
    assert "By bus or train</dt>" in page and "min from the door" in page


def test_community_transport_is_a_kind_of_activity():
    from assetmap import vocab

    assert "community-transport" in vocab.CATEGORY_IDS
    assert vocab.guess_category("Camden Dial-a-Ride") == "community-transport"
    assert vocab.resolve_category("Community transport") == "community-transport"
