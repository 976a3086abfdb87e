"""The map's view request (/api/v1/map) and the paged activities list, on both backends."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from assetmap.db import session_scope
from assetmap.maps import points
from assetmap.models import Activity, Venue
from assetmap.spatial import point

CAMDEN = "-0.22,51.50,-0.10,51.58"


def get(client, url):
    return client.get(url, headers={"Accept": "application/json"})


def test_zoomed_in_view_gives_points_with_state(client, demo):
    r = get(client, f"/api/v1/map?bbox={CAMDEN}&zoom=15")
    body = r.get_json()
    assert r.status_code == 200 and body["clustered"] is False
    assert body["total"] == len(body["features"]) > 60
    listing = body["features"][0]
    assert listing["properties"]["kind"] == "listing"
    assert set(listing["properties"]) == {"kind", "name", "category_label", "state",
                                          "state_label"}
    assert "items" not in body


def test_low_zoom_clusters_on_the_server_and_counts_add_up(client, demo, monkeypatch):
    monkeypatch.setattr(points, "MAX_POINTS", 10)
    body = get(client, f"/api/v1/map?bbox={CAMDEN}&zoom=11").get_json()
    assert body["clustered"] is True
    counts = [f["properties"]["count"] for f in body["features"]]
    assert all(f["properties"]["kind"] == "cluster" for f in body["features"])
    assert sum(counts) == body["total"] > 60
    assert len(counts) < body["total"]
    finer = get(client, f"/api/v1/map?bbox={CAMDEN}&zoom=14").get_json()
    assert finer["clustered"] and len(finer["features"]) > len(counts)
    # Zoomed in, the same view is points again whatever the count.
    assert get(client, f"/api/v1/map?bbox={CAMDEN}&zoom=15").get_json()["clustered"] is False


def test_view_keeps_the_filters_and_the_box(client, demo):
    everything = get(client, f"/api/v1/map?bbox={CAMDEN}&zoom=16").get_json()["total"]
    lunch = get(client, f"/api/v1/map?bbox={CAMDEN}&zoom=16&category=lunch-club").get_json()
    assert 0 < lunch["total"] < everything
    assert {f["properties"]["category_label"] for f in lunch["features"]} == {"Lunch club"}
    far = get(client, "/api/v1/map?bbox=1.0,52.0,1.1,52.1&zoom=16").get_json()
    assert far["total"] == 0 and far["features"] == []


def test_list_items_are_nearest_the_centre_first(client, demo):
    body = get(client, f"/api/v1/map?bbox={CAMDEN}&zoom=13&list=5").get_json()
    items = body["items"]
    assert len(items) == 5
    clon, clat = -0.16, 51.54

    def d2(f):
        lon, lat = f["geometry"]["coordinates"]
        return (lat - clat) ** 2 + ((lon - clon) * 0.62) ** 2

    distances = [d2(f) for f in items]
    assert distances == sorted(distances)
    others = [d2(f) for f in body["features"] if f["id"] not in {i["id"] for i in items}]
    assert max(distances) <= min(others) + 1e-9
    assert "freshness" in items[0]["properties"] and "private_notes" not in items[0]["properties"]


def test_list_items_say_when_they_next_meet_in_words(client, demo):
    items = get(client, f"/api/v1/map?bbox={CAMDEN}&zoom=13&list=25").get_json()["items"]
    words = [f["properties"]["when"] for f in items if f["properties"]["next_sessions"]]
    assert len(words) >= 20
    # "Thursday 3 December, 10:30am to 12 noon", never "2026-12-03 10:30"
    spoken = re.compile(r"^(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day \d{1,2} [A-Z][a-z]+, "
                        r"(\d{1,2}(:\d\d)?(am|pm)|12 noon|midnight)")
    assert all(spoken.match(w) for w in words), words[:5]


@pytest.mark.parametrize("query, field", [
    ("zoom=12", "bbox"),
    (f"bbox={CAMDEN}", "zoom"),
    ("bbox=1,2,3&zoom=12", "bbox"),
    ("bbox=-0.1,51.6,-0.2,51.5&zoom=12", "bbox"),
    ("bbox=nan,51,0,52&zoom=12", "bbox"),
    (f"bbox={CAMDEN}&zoom=23", "zoom"),
    (f"bbox={CAMDEN}&zoom=-1", "zoom"),
    (f"bbox={CAMDEN}&zoom=1.5", "zoom"),
    (f"bbox={CAMDEN}&zoom=12&list=101", "list"),
    (f"bbox={CAMDEN}&zoom=12&category=nope", "category"),
])
def test_bad_view_parameters_are_400s_naming_them(client, query, field):
    r = get(client, f"/api/v1/map?{query}")
    assert r.status_code == 400
    assert r.get_json()["field"] == field


def test_activities_are_paged_with_a_next_link(client, demo):
    seen: list[int] = []
    pages = 0
    full = get(client, "/api/v1/activities?category=lunch-club,coffee-morning,walking-group,"
                       "tea-dance").get_json()
    assert full["next"] is None
    url = ("/api/v1/activities?limit=3&category=lunch-club,coffee-morning,walking-group,"
           "tea-dance")
    while url:
        body = get(client, url).get_json()
        assert len(body["features"]) <= 3
        seen += [f["id"] for f in body["features"]]
        url = body["next"]
        pages += 1
        if url:
            args = parse_qs(urlsplit(url).query)
            assert args["limit"] == ["3"] and "lunch-club" in args["category"][0]
    assert seen == [f["id"] for f in full["features"]]
    assert len(seen) == len(set(seen)) and pages == -(-len(seen) // 3)


def test_activities_default_page_and_bad_paging(client, demo):
    body = get(client, "/api/v1/activities").get_json()
    assert len(body["features"]) == 72 and body["next"] is None
    for query, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
                         ("after=-1", "after"), ("after=99999999999", "after")):
        r = get(client, f"/api/v1/activities?{query}")
        assert r.status_code == 400 and r.get_json()["field"] == field, query


def test_json_and_scripts_are_gzipped_for_clients_that_accept_it(client, demo):
    import gzip
    import json

    url = f"/api/v1/map?bbox={CAMDEN}&zoom=13&list=25"
    plain = client.get(url)
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert json.loads(gzip.decompress(packed.data)) == plain.get_json()
    assert len(packed.data) * 3 < len(plain.data)
    script = client.get("/static/vendor/protomaps-leaflet/protomaps-leaflet.js",
                        headers={"Accept-Encoding": "gzip"})
    assert script.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(script.data).startswith(b'"use strict";var protomapsL')


def test_list_spans_venues_with_several_listings_and_ties(app, client):
    """The list is read at the nearest venues only: it must still be the nearest listings in
    (distance, id) order when venues hold several, and when two venues are equally near."""
    centre_lon, centre_lat = 1.5, 52.5  # far from any demo listing; offsets exact in binary
    # (offset east in degrees, listings there): B and C are equally near, D is farthest.
    layout = [(0.0625, 1), (0.125, 2), (-0.125, 2), (0.25, 3)]
    with session_scope(app) as s:
        venues = [Venue(name=f"Tie venue {i}", geom=point(centre_lat, centre_lon + east))
                  for i, (east, _n) in enumerate(layout)]
        s.add_all(venues)
        s.flush()
        # Listings made farthest venue first, so C's ids come before B's: a tie at the edge
        # of the venues read is then decided by a venue not read.
        for venue, (_east, n) in reversed(list(zip(venues, layout, strict=True))):
            s.add_all(Activity(name=f"{venue.name} {k}", category="lunch-club",
                               venue_id=venue.id) for k in range(n))
            s.flush()
    box = f"{centre_lon - 0.5},{centre_lat - 0.5},{centre_lon + 0.5},{centre_lat + 0.5}"
    everything = get(client, f"/api/v1/map?bbox={box}&zoom=16").get_json()["features"]
    assert len(everything) == 8

    def key(f):
        return (abs(f["geometry"]["coordinates"][0] - centre_lon), f["id"])

    nearest = [f["id"] for f in sorted(everything, key=key)]
    for size in range(1, 11):
        body = get(client, f"/api/v1/map?bbox={box}&zoom=13&list={size}").get_json()
        assert [f["id"] for f in body["items"]] == nearest[:size], size
