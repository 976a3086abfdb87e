"""End to end: a place set up from its files alone, on an empty database, with the commands the
README's "Set up your own place" section gives; then a match from a full postcode is exact."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from sqlalchemy import select

from assetmap.cli import main
from assetmap.config import PROJECT_ROOT
from assetmap.db import session_scope
from assetmap.models import Activity, Area, Postcode, User, Venue

FIXTURES = Path(__file__).parent.parent / "fixtures" / "places"
DATA = PROJECT_ROOT / "data"


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111_195
    dx = (lon2 - lon1) * 111_195 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


def run(runner, *args: str) -> str:
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.output


def test_a_place_set_up_from_files_alone(bare_app, runner, tmp_path):
    with session_scope(bare_app) as s:
        assert s.scalar(select(Postcode.postcode).limit(1)) is None
        assert s.scalar(select(Area.id).limit(1)) is None
    # Boundaries in British National Grid, postcodes as ONS publishes them, an OSM extract.
    run(runner, "areas", "import", str(FIXTURES / "camden-wards-27700.gpkg"), "--kind", "ward")
    run(runner, "areas", "import", str(DATA / "boundaries" / "camden-borough-osm.geojson"),
        "--kind", "borough")
    run(runner, "postcodes", "import", str(FIXTURES / "onspd-sample.zip"),
        "--within", "E09000007")
    built = run(runner, "network", "build", "--osm", str(DATA / "osm" / "camden.osm.pbf"),
                "--name", "place")
    assert "network 'place' built" in built
    # A coordinator for two wards (the user commands live elsewhere: set directly here).
    run(runner, "user", "add", "--email", "coord@example.org", "--role", "coordinator",
        "--password", "correct horse battery")
    with session_scope(bare_app) as s:
        user = s.scalar(select(User).where(User.email == "coord@example.org"))
        user.areas = list(s.scalars(select(Area).where(Area.kind == "ward")
                                    .order_by(Area.code).limit(2)))
    # Listings at venues placed by their postcodes.
    with (FIXTURES / "onspd-sample.csv").open() as fh:
        published = {r["pcds"]: r for r in csv.DictReader(fh)}
    listings = tmp_path / "listings.csv"
    with listings.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "category", "venue_name", "postcode", "schedule", "cost"])
        writer.writerow(["Lunch Club", "lunch-club", "Hall by the station", "NW1 0JH",
                         "Tuesdays 12:00-14:00", "free"])
        writer.writerow(["Knit and Natter", "arts-crafts", "The Square Library", "WC1H 9NE",
                         "Wednesdays 14:00-16:00", "free"])
    imported = run(runner, "import", str(listings))
    assert "2 created" in imported or imported.count("created") >= 2, imported
    with session_scope(bare_app) as s:
        venues = {v.postcode: v for v in s.scalars(select(Venue))}
        assert s.scalar(select(Activity.id).limit(1)) is not None
    assert set(venues) == {"NW1 0JH", "WC1H 9NE"}
    assert not any(v.location_approximate for v in venues.values())

    status = run(runner, "place", "status")
    assert "Areas: 1 borough, 18 wards" in status and "Postcodes: 17 (17 published" in status
    assert "Walking networks: 1 network" in status and "1 coordinator" in status

    # A match from a full postcode, typed loosely: exact, at the published point.
    answer = json.loads(run(runner, "match", "--postcode", "nw12db", "--minutes", "30",
                            "--json"))
    origin = answer["origin"]
    row = published["NW1 2DB"]
    assert origin["approximate"] is False and origin["method"] == "postcode"
    assert metres(origin["lat"], origin["lon"], float(row["lat"]), float(row["long"])) < 1.0
    assert not answer["estimated"]
    assert {m["name"] for m in answer["matches"]} == {"Lunch Club", "Knit and Natter"}
