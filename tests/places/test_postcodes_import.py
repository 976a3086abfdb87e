"""`assetmap postcodes import/derive`: ONSPD and Code-Point Open into the postcodes table,
the geocoder reading it, and bad files changing nothing."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import delete, select

from assetmap.cli import main
from assetmap.config import PROJECT_ROOT
from assetmap.db import session_scope
from assetmap.models import Postcode
from assetmap.places.geocode import geocode_postcode

FIXTURES = Path(__file__).parent.parent / "fixtures" / "places"
DATA = PROJECT_ROOT / "data"
WARDS = DATA / "boundaries" / "wards-camden-E09000007.geojson"
BOROUGH = DATA / "boundaries" / "camden-borough-osm.geojson"


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111_195
    dx = (lon2 - lon1) * 111_195 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


def published() -> dict[str, dict[str, str]]:
    with (FIXTURES / "onspd-sample.csv").open() as fh:
        return {row["pcds"]: row for row in csv.DictReader(fh)}


def table(app) -> dict[str, tuple]:
    with session_scope(app) as s:
        return {p.postcode: (p.lat, p.lon, p.terminated, p.derived, p.dataset, p.ward_code,
                             p.district_code) for p in s.scalars(select(Postcode))}


@pytest.mark.parametrize("name", ["onspd-sample.csv", "onspd-sample.zip"])
def test_onspd_rows_are_stored_and_geocoded_exactly(bare_app, runner, name):
    result = runner.invoke(main, ["postcodes", "import", str(FIXTURES / name)])
    assert result.exit_code == 0, result.output
    rows = published()
    placed = {p: r for p, r in rows.items() if float(r["lat"]) < 90}
    assert (f"{len(placed)} postcodes from ONSPD / NSPL, {len(placed)} of them new or changed "
            f"({len(rows)} rows read") in result.output
    assert "1 without a grid reference" in result.output
    stored = table(bare_app)
    assert set(stored) == set(placed)
    with session_scope(bare_app) as s:
        for postcode, row in placed.items():
            lat, lon, terminated, derived, dataset, ward, district = stored[postcode]
            assert (lat, lon) == (float(row["lat"]), float(row["long"]))
            assert not derived and dataset == "ONSPD / NSPL"
            assert (ward, district) == (row["osward"], row["oslaua"])
            assert (terminated is not None) == bool(row["doterm"])
            if not row["doterm"]:
                found = geocode_postcode(postcode.lower().replace(" ", ""), DATA, s)
                assert found.method == "postcode" and found.approximate is False
                assert metres(found.lat, found.lon, float(row["lat"]), float(row["long"])) < 1


def test_a_terminated_postcode_says_so_and_names_the_nearest_live_one(bare_app, runner):
    runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    rows = published()
    gone = next(p for p, r in rows.items() if r["doterm"])
    live = {p: (float(r["lat"]), float(r["long"])) for p, r in rows.items()
            if not r["doterm"] and float(r["lat"]) < 90}
    at = float(rows[gone]["lat"]), float(rows[gone]["long"])
    nearest = min(live, key=lambda p: metres(*at, *live[p]))
    with session_scope(bare_app) as s:
        found = geocode_postcode(gone, DATA, s)
    assert found.method == "terminated" and not found.approximate
    assert found.nearest_live == nearest
    assert found.to_dict()["note"] == (f"that postcode is no longer in use; the nearest "
                                       f"postcode in use is {nearest}")
    assert (found.lat, found.lon) == at


def test_import_is_idempotent(bare_app, runner):
    result = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    assert result.exit_code == 0 and "17 of them new or changed" in result.output
    first = table(bare_app)
    again = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    assert again.exit_code == 0 and "17 postcodes from ONSPD / NSPL, 0 of them new or changed" \
        in again.output
    assert table(bare_app) == first


def test_codepoint_open_eastings_northings_agree_with_onspd_lat_long(bare_app, runner):
    result = runner.invoke(main, ["postcodes", "import",
                                  str(FIXTURES / "codepoint-open-sample.zip")])
    assert result.exit_code == 0, result.output
    assert "from Code-Point Open" in result.output
    stored = table(bare_app)
    rows = published()
    assert len(stored) >= 10
    for postcode, (lat, lon, terminated, derived, dataset, ward, district) in stored.items():
        row = rows[postcode]
        assert metres(lat, lon, float(row["lat"]), float(row["long"])) < 1.0, postcode
        assert (terminated, derived, dataset, ward, district) == (
            None, False, "Code-Point Open", "E05000143", "E09000007")


def test_within_an_area_or_a_box_keeps_only_the_surroundings(bare_app, runner):
    runner.invoke(main, ["areas", "import", str(WARDS), "--kind", "ward"])
    everything = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    assert everything.exit_code == 0
    all_codes = set(table(bare_app))
    with session_scope(bare_app) as s:
        s.query(Postcode).delete()
    # The ward around NW1 2DB, no margin: only the postcodes inside it.
    row = published()["NW1 2DB"]
    ward = next(f["properties"]["WD13CD"] for f in json.loads(WARDS.read_text())["features"]
                if shapely.geometry.shape(f["geometry"]).contains(
                    shapely.Point(float(row["long"]), float(row["lat"]))))
    inside = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv"),
                                  "--within", ward, "--margin", "0"])
    assert inside.exit_code == 0, inside.output
    kept = set(table(bare_app))
    assert "NW1 2DB" in kept and kept < all_codes
    assert "outside the chosen area" in inside.output
    with session_scope(bare_app) as s:
        s.query(Postcode).delete()
    boxed = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv"),
                                 "--bbox", "-0.2,51.5,-0.13,51.6"])
    assert boxed.exit_code == 0, boxed.output
    in_box = table(bare_app)
    assert in_box and all(lon <= -0.13 for lat, lon, *_ in in_box.values())
    unknown = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv"),
                                   "--within", "E05000000"])
    assert unknown.exit_code == 2 and unknown.output.startswith("error: --within:")
    bad_box = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv"),
                                   "--bbox", "1,2,3"])
    assert bad_box.exit_code == 2 and bad_box.output.startswith("error: --bbox:")


@pytest.mark.parametrize("bad, says", [
    ("bad-outside-uk.csv", "postcodes lie outside the UK (e.g. NW1 2DB at 48.85651"),
    ("bad-no-coordinates.csv", "no postcode and coordinate columns found"),
    ("camden-wards-27700.gpkg", "is neither a CSV file nor a zip of CSV files"),
    ("camden-wards-27700-shp.zip", "the zip holds no CSV files"),
    ("nothing-here.csv", "no such file"),
])
def test_bad_files_fail_with_one_line_and_change_nothing(bare_app, runner, bad, says):
    runner.invoke(main, ["postcodes", "import", str(FIXTURES / "codepoint-open-sample.zip")])
    before = table(bare_app)
    assert before
    result = runner.invoke(main, ["postcodes", "import", str(FIXTURES / bad)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {FIXTURES / bad}: ") and says in lines[0], lines
    assert table(bare_app) == before


def test_a_bad_row_late_in_the_file_rolls_back_the_rows_before_it(bare_app, runner, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr("assetmap.places.postcodes.CHUNK_ROWS", 3)  # several chunks
    good = (FIXTURES / "onspd-sample.csv").read_text().splitlines()
    late_bad = good + [good[1].replace("NW1 2DB", "NW1 9ZZ").replace("51.529510", "40.4")]
    path = tmp_path / "late-bad.csv"
    path.write_text("\n".join(late_bad) + "\n")
    result = runner.invoke(main, ["postcodes", "import", str(path)])
    assert result.exit_code == 2 and "outside the UK (e.g. NW1 9ZZ" in result.output
    assert table(bare_app) == {}


def test_derived_from_osm_addresses_never_replace_published_postcodes(bare_app, runner):
    runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    official = table(bare_app)
    result = runner.invoke(main, ["postcodes", "derive", "--osm",
                                  str(DATA / "osm" / "camden.osm.pbf")])
    assert result.exit_code == 0, result.output
    stored = table(bare_app)
    derived = {p: v for p, v in stored.items() if v[3]}
    assert len(derived) > 500 and all(v[4] == "OpenStreetMap" for v in derived.values())
    assert {p: stored[p] for p in official} == official
    # The demo's table was made the same way: most derived points agree with it closely.
    with (DATA / "postcodes" / "camden-postcodes-from-osm.csv").open() as fh:
        demo = {r["postcode"]: (float(r["latitude"]), float(r["longitude"]))
                for r in csv.DictReader(fh)}
    close = [p for p in derived if p in demo and metres(*derived[p][:2], *demo[p]) < 25]
    assert len(close) > 0.8 * len(derived)
    with session_scope(bare_app) as s:
        found = geocode_postcode(next(iter(derived)), DATA, s)
        assert found.method == "postcode" and not found.approximate


def test_a_match_from_a_terminated_postcode_says_so_in_the_api_and_to_the_connector(
        bare_app, runner, client, login):
    with session_scope(bare_app) as s:  # `login` comes with the Camden test postcodes
        s.execute(delete(Postcode))
    runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    gone = next(p for p, r in published().items() if r["doterm"])
    origin = client.get(f"/api/v1/match?postcode={gone}").get_json()["origin"]
    assert origin["method"] == "terminated" and origin["approximate"] is False
    assert origin["note"].startswith("that postcode is no longer in use; the nearest postcode")
    login("connector")
    page = client.get(f"/connector?postcode={gone}").get_data(as_text=True)
    assert "that postcode is no longer in use" in page


def test_the_margin_beyond_an_area_is_measured_on_the_ground(bare_app, runner):
    runner.invoke(main, ["areas", "import", str(WARDS), "--kind", "ward"])
    row = published()["NW1 2DB"]
    here = shapely.Point(float(row["long"]), float(row["lat"]))
    features = json.loads(WARDS.read_text())["features"]
    ward = next(f for f in features if shapely.geometry.shape(f["geometry"]).contains(here))
    shape = shapely.geometry.shape(ward["geometry"])
    kept = {}
    for margin in (0, 300, 3000):
        with session_scope(bare_app) as s:
            s.execute(delete(Postcode))
        result = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv"),
                                      "--within", ward["properties"]["WD13CD"],
                                      "--margin", str(margin)])
        assert result.exit_code == 0, result.output
        kept[margin] = table(bare_app)
    assert len(kept[0]) < len(kept[3000])
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    ward_m = shapely.transform(shape, lambda xy: np.column_stack(
        to_bng.transform(xy[:, 0], xy[:, 1])))
    assert kept[0].keys() < kept[300].keys()
    for postcode, (lat, lon, *_) in kept[300].items():  # each within 300 m of the ward
        assert ward_m.distance(shapely.Point(*to_bng.transform(lon, lat))) <= 301, postcode
