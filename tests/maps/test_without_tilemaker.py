"""A deployment without tilemaker: `assetmap tiles build` says so in one line (exit 2), and every
map still draws, over the walking network's own streets instead of the basemap."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from assetmap.config import PROJECT_ROOT

CAMDEN = PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf"


def test_tiles_build_without_tilemaker_is_one_line_and_exit_2(database_url, tmp_path):
    """The real command, in its own process, with no tilemaker on PATH."""
    no_programs = tmp_path / "bin"
    no_programs.mkdir()
    tiles_dir = tmp_path / "tiles"
    env = {**os.environ, "PATH": str(no_programs), "ASSETMAP_DATABASE_URL": database_url,
           "ASSETMAP_SECRET_KEY": "cli-test-key", "ASSETMAP_TILES_DIR": str(tiles_dir),
           "ASSETMAP_NETWORK_DIR": str(tmp_path / "networks"),
           "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-m", "assetmap", "tiles", "build", "--osm",
                           str(CAMDEN), "--name", "camden"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("error: tilemaker is not installed: apt-get install tilemaker")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not tiles_dir.exists() or not list(tiles_dir.iterdir())  # nothing half-built


def basemap_on(html: str) -> dict:
    found = re.search(r"data-basemap='([^']*)'", html)
    assert found, "no map on the page"
    return json.loads(found.group(1))


def test_every_map_page_falls_back_to_the_walking_networks_streets(app, client, demo, network,
                                                                    login):
    assert not any(app.config["TILES_DIR"].glob("*.mbtiles"))  # no basemap built
    first = client.get("/api/v1/activities?limit=1").get_json()["features"][0]["id"]
    pages = ["/", f"/activities/{first}", "/suggest"]
    for path in pages:
        config = basemap_on(client.get(path).get_data(as_text=True))
        assert config["kind"] == "none" and config["streets"] == "/api/v1/streets", path
    login("coordinator")
    for path in ("/connector", "/coordinator/freshness"):
        config = basemap_on(client.get(path).get_data(as_text=True))
        assert config["kind"] == "none" and config["streets"] == "/api/v1/streets", path
    # What the fallback draws: the streets of one 0.02-degree cell, as the maps ask for them.
    lines = client.get("/api/v1/streets?bbox=-0.16,51.54,-0.14,51.56").get_json()[
        "features"][0]["geometry"]["coordinates"]
    assert len(lines) > 100


def test_an_external_tile_url_needs_no_local_tiles(database_url, tmp_path):
    from assetmap import create_app
    from assetmap.config import TestConfig

    app = create_app(TestConfig(database_url, TILES_DIR=tmp_path / "none",
                                TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png"))
    config = basemap_on(app.test_client().get("/").get_data(as_text=True))
    assert config == {"url": "https://tiles.example.org/{z}/{x}/{y}.png", "kind": "raster",
                      "maxzoom": 19}
