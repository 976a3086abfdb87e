import pytest

from assetmap import vocab


def test_demo_map_api_returns_at_least_60_features(client, demo):
    body = client.get("/api/v1/activities").get_json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) >= 60
    feature = body["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    assert 51.45 < lat < 51.62 and -0.27 < lon < -0.04
    props = feature["properties"]
    assert props["category"] in vocab.CATEGORY_IDS
    assert props["next_sessions"] and props["schedule_text"]
    assert props["freshness"]["state"] in ("fresh", "due-soon", "stale", "very-stale",
                                           "unknown")
    assert "verifications" not in props  # private detail is for signed-in staff only
    assert "OpenStreetMap" in body["attribution"]


def test_filters_by_category_tag_and_bbox(client, demo):
    everything = client.get("/api/v1/activities").get_json()["features"]
    lunch = client.get("/api/v1/activities?category=lunch-club").get_json()["features"]
    assert lunch and all(f["properties"]["category"] == "lunch-club" for f in lunch)
    assert len(lunch) == sum(f["properties"]["category"] == "lunch-club" for f in everything)

    free = client.get("/api/v1/activities?tag=free,drop-in").get_json()["features"]
    assert free and all({"free", "drop-in"} <= set(f["properties"]["tags"]) for f in free)

    box = (-0.15, 51.52, -0.12, 51.54)
    inside = client.get("/api/v1/activities?bbox=" + ",".join(map(str, box))).get_json()
    # Phone listings (the demo's befriending) have no point: never inside a box.
    expected = {f["id"] for f in everything if f["geometry"]
                if box[0] <= f["geometry"]["coordinates"][0] <= box[2]
                and box[1] <= f["geometry"]["coordinates"][1] <= box[3]}
    assert {f["id"] for f in inside["features"]} == expected
    assert 0 < len(expected) < len(everything)


def test_status_filter_hides_ended_by_default(client, demo, session):
    from assetmap.listings.changes import SYSTEM, apply_changes
    from assetmap.models import Activity

    activity = session.get(Activity, 1)
    apply_changes(session, activity, {"status": "ended"}, SYSTEM)
    session.commit()
    ids = {f["id"] for f in client.get("/api/v1/activities").get_json()["features"]}
    assert 1 not in ids
    ended = client.get("/api/v1/activities?status=ended").get_json()["features"]
    assert [f["id"] for f in ended] == [1]


@pytest.mark.parametrize("query, field", [
    ("bbox=1,2,3", "bbox"), ("bbox=a,b,c,d", "bbox"), ("bbox=0,0,-1,-1", "bbox"),
    ("category=knitting-marathon", "category"), ("tag=very-nice", "tag"),
    ("status=gone", "status"),
])
def test_bad_filters_are_400_naming_the_parameter(client, query, field):
    response = client.get(f"/api/v1/activities?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field
    if field in ("category", "tag", "status"):
        assert body["allowed"]


def test_bad_filter_on_the_map_page_is_a_readable_page(client):
    response = client.get("/?category=nope", headers={"Accept": "text/html"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "category" in page and "lunch-club" in page and "<!doctype html>" in page


def test_unknown_id_is_404(client, demo):
    assert client.get("/api/v1/activities/999999").status_code == 404
    assert client.get("/activities/999999").status_code == 404
    one = client.get("/api/v1/activities/3").get_json()
    assert one["id"] == 3 and one["properties"]["name"]


def test_activity_page_escapes_listing_text(client, session):
    from assetmap.listings.changes import SYSTEM, create_activity

    nasty = "<img src=x onerror=alert(1)>${alert(2)}"
    activity = create_activity(session, {"name": nasty, "category": "other",
                                         "description": "<script>alert(3)</script>"}, SYSTEM)
    session.commit()
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "<img src=x" not in page and "<script>alert(3)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;${alert(2)}" in page


def test_pages_forbid_other_hosts(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy


def test_areas_are_served_as_geojson(client, demo):
    wards = client.get("/api/v1/areas?kind=ward").get_json()["features"]
    assert len(wards) == 18
    assert {w["properties"]["name"] for w in wards} >= {"Kilburn", "Belsize", "Camden Town "
                                                        "with Primrose Hill"}
    assert client.get("/api/v1/areas?kind=planet").status_code == 400
