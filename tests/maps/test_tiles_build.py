"""The basemap built by tilemaker from the Camden extract: which features and names land in which
layer, and how the tiles are served."""

from __future__ import annotations

import gzip
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from assetmap.config import PROJECT_ROOT
from assetmap.maps.tiles import LAYERS, TileStore, build_tiles, decode_tile, tile_for

CAMDEN = PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf"
KENTISH_TOWN = (51.5503, -0.1405)
EUSTON_SQUARE = (51.5258, -0.1359)

pytestmark = pytest.mark.skipif(shutil.which("tilemaker") is None,
                                reason="tilemaker (Debian package) not installed")


def features_near(tiles_dir: Path, lat: float, lon: float, z: int = 14) -> dict:
    x, y = tile_for(lat, lon, z)
    data = TileStore(tiles_dir).tile("camden", z, x, y)
    assert data, f"no tile at {z}/{x}/{y}"
    return decode_tile(data)


def names_by_kind(features: list[dict], key: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for f in features:
        found[f["properties"].get(key)].add(f["properties"].get("name"))
    return found


def test_layers_and_bounds_of_the_camden_build(camden_tiles):
    store = TileStore(camden_tiles)
    [tileset] = store.tilesets()
    assert tileset.name == "camden"
    assert (tileset.minzoom, tileset.maxzoom) == (10, 14)
    west, south, east, north = tileset.bounds
    assert west < KENTISH_TOWN[1] < east and south < KENTISH_TOWN[0] < north
    layers = features_near(camden_tiles, *KENTISH_TOWN)
    assert set(layers) <= set(LAYERS)
    assert {"roads", "rail", "transit", "landmarks", "green", "buildings"} <= set(layers)


def test_streets_and_paths_carry_their_names_and_class(camden_tiles):
    roads = features_near(camden_tiles, *KENTISH_TOWN)["roads"]
    by_class = names_by_kind(roads, "class")
    assert "Kentish Town Road" in by_class["major"]
    assert {"Leighton Road", "Spencer Rise"} <= by_class["minor"]
    assert by_class["path"], "footpaths are in the roads layer as class 'path'"
    highways = {f["properties"]["highway"] for f in roads if f["properties"]["class"] == "path"}
    assert highways <= {"footway", "path", "pedestrian", "steps", "cycleway", "bridleway",
                        "track"}


def test_stations_bus_stops_and_landmarks_are_named_points(camden_tiles):
    layers = features_near(camden_tiles, *KENTISH_TOWN)
    transit = names_by_kind(layers["transit"], "kind")
    assert "Kentish Town" in transit["tube"]
    assert "Gospel Oak" in transit["rail"]
    assert "Kentish Town Station" in transit["bus"]
    assert all(f["type"] == "Point" or f["geometry"]["type"] == "Point"
               for f in layers["transit"] + layers["landmarks"])
    landmarks = names_by_kind(layers["landmarks"], "kind")
    assert "Peckwater Health Centre" in landmarks["gp"]
    assert "Day Lewis Pharmacy" in landmarks["pharmacy"]
    assert "Co-op Food" in landmarks["supermarket"]
    assert set(landmarks) <= {"library", "gp", "pharmacy", "worship", "community",
                              "supermarket", "post"}
    # Shops and cafés that are not landmarks stay out.
    assert not any("Café" in (n or "") for names in landmarks.values() for n in names)


def test_a_street_is_one_line_per_tile_so_its_name_fits_along_it(camden_tiles):
    """A main road is mapped as many short ways; the browser labels a line only along a run
    long and straight enough for the name, so the build joins a street's ways (combine_below)
    and smooths metre-scale kinks (simplify at zoom 14)."""
    roads = features_near(camden_tiles, *KENTISH_TOWN)["roads"]
    major = [f["properties"]["name"] for f in roads
             if f["properties"]["class"] == "major" and f["properties"].get("name")]
    assert {"Kentish Town Road", "Highgate Road", "Fortess Road"} <= set(major)
    assert len(major) == len(set(major)), sorted(major)


def test_parks_water_and_railways(camden_tiles):
    heath = features_near(camden_tiles, 51.5605, -0.1620)
    green = names_by_kind(heath["green"], "class")
    assert "Hampstead Heath" in green["park"]
    assert heath.get("water"), "the Heath's ponds are water polygons"
    rail = names_by_kind(features_near(camden_tiles, *KENTISH_TOWN)["rail"], "class")
    assert "Northern Line (High Barnet Branch)" in rail["subway"]
    assert "rail" in rail


def test_low_zooms_keep_main_roads_and_drop_small_things(camden_tiles):
    layers = features_near(camden_tiles, *KENTISH_TOWN, z=12)
    classes = {f["properties"]["class"] for f in layers["roads"]}
    assert "major" in classes and not classes & {"path", "service", "minor"}
    assert "landmarks" not in layers and "buildings" not in layers
    assert all(f["properties"]["kind"] != "bus" for f in layers.get("transit", []))


def test_a_failed_build_keeps_the_old_tiles(camden_tiles, tmp_path):
    from assetmap.errors import ValidationError

    target = tmp_path / "tiles"
    shutil.copytree(camden_tiles, target)
    before = (target / "camden.mbtiles").read_bytes()
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"not an extract")
    with pytest.raises(ValidationError) as err:
        build_tiles(bad, "camden", target)
    assert err.value.field == "--osm"
    assert (target / "camden.mbtiles").read_bytes() == before
    assert not [p.name for p in target.iterdir() if p.name.startswith(".")]  # no leftovers


def test_tile_endpoint_serves_gzip_tiles_and_names_bad_parameters(app, client, tiles):
    x, y = tile_for(*EUSTON_SQUARE, 14)
    r = client.get(f"/tiles/camden/14/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["Content-Encoding"] == "gzip"
    layers = decode_tile(r.data)
    assert "Euston Square" in {f["properties"].get("name") for f in layers["transit"]}
    plain = client.get(f"/tiles/camden/14/{x}/{y}.mvt")
    assert "Content-Encoding" not in plain.headers
    assert gzip.compress(plain.data) and decode_tile(plain.data) == layers
    # Outside the extract: an empty tile, not an error.
    empty = client.get("/tiles/camden/14/0/0.mvt")
    assert empty.status_code == 200 and empty.data == b""
    for url, field in (("/tiles/camden/23/0/0.mvt", "z"), ("/tiles/camden/2/4/0.mvt", "x"),
                       ("/tiles/camden/2/0/-1.mvt", "y"), ("/tiles/camden/a/0/0.mvt", "z")):
        bad = client.get(url, headers={"Accept": "application/json"})
        assert bad.status_code == 400, url
        assert bad.get_json()["field"] == field
    assert client.get("/tiles/nowhere/1/0/0.mvt").status_code == 404
    assert client.get("/tiles/..%2Fx/1/0/0.mvt").status_code == 404


def test_every_map_page_is_given_the_local_basemap(app, client, tiles, demo):
    import json
    import re

    page = client.get("/").get_data(as_text=True)
    config = json.loads(re.search(r"data-basemap='([^']*)'", page).group(1))
    assert config["url"] == "/tiles/camden/{z}/{x}/{y}.mvt"
    assert config["kind"] == "vector" and config["maxzoom"] == 14
    assert "vendor/protomaps-leaflet/protomaps-leaflet.js" in page
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "connect-src 'self';" in csp


def test_an_external_tile_url_is_allowed_by_the_content_security_policy(database_url, tmp_path):
    from assetmap import create_app
    from assetmap.config import TestConfig

    app = create_app(TestConfig(database_url, TILES_DIR=tmp_path,
                                TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png"))
    r = app.test_client().get("/suggest")
    assert "https://tiles.example.org" in r.headers["Content-Security-Policy"]
    assert '"kind": "raster"' in r.get_data(as_text=True)


def test_cli_builds_and_lists_tiles(runner, tmp_path):
    from assetmap.cli import main

    result = runner.invoke(main, ["tiles", "build", "--osm", str(CAMDEN), "--name", "camden"])
    assert result.exit_code == 0, result.output
    assert "tiles 'camden' built from camden.osm.pbf" in result.output
    assert "venues given an address or postcode from camden.osm.pbf (derived)" in result.output
    listed = runner.invoke(main, ["tiles", "list"])
    assert listed.output.startswith("camden: zoom 10-14")
    missing = runner.invoke(main, ["tiles", "build", "--osm", str(tmp_path / "nope.pbf")])
    assert missing.exit_code == 2 and "error: --osm:" in missing.output
    bad_name = runner.invoke(main, ["tiles", "build", "--osm", str(CAMDEN), "--name", "../x"])
    assert bad_name.exit_code == 2 and "error: --name:" in bad_name.output
