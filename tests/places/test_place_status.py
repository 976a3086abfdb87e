"""`assetmap place status`, the admin's page, and the place every page opens on: from data."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
from sqlalchemy import delete

from assetmap.cli import main
from assetmap.config import PROJECT_ROOT
from assetmap.db import session_scope
from assetmap.models import Postcode

FIXTURES = Path(__file__).parent.parent / "fixtures" / "places"
DATA = PROJECT_ROOT / "data"
HACKNEY = Path("/work/shared/data/boundaries/wards-hackney-E09000012.geojson")
BOUNDS_RE = re.compile(r'data-place-bounds="([^"]*)"')


def test_an_empty_deployment_says_what_it_lacks_and_what_to_run(bare_app, runner):
    result = runner.invoke(main, ["place", "status"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Postcodes: 0 — full postcodes will be placed at their district's centre" in out
    assert "assetmap postcodes import" in out and "assetmap areas import FILE --kind ward" in out
    assert "Walking networks: none" in out and "assetmap network build --osm FILE" in out
    assert "Users: none" in out and "--role admin" in out


def test_status_counts_what_was_imported(bare_app, runner, camden_cache):
    shutil.copytree(camden_cache, bare_app.config["NETWORK_DIR"], dirs_exist_ok=True)
    runner.invoke(main, ["areas", "import", str(FIXTURES / "camden-wards-27700.gpkg"),
                         "--kind", "ward"])
    runner.invoke(main, ["areas", "import", str(DATA / "boundaries" /
                                                "camden-borough-osm.geojson"),
                         "--kind", "borough"])
    runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    out = runner.invoke(main, ["place", "status"]).output
    assert "Place: London Borough of Camden" in out
    assert "Areas: 1 borough, 18 wards" in out
    assert "Postcodes: 17 (17 published, 0 derived)" in out
    assert "17 postcodes from ONSPD / NSPL (1 no longer in use)" in out
    assert "covering London Borough of Camden" in out
    assert "Walking networks: 1 network" in out and "camden:" in out


def test_a_network_cache_of_an_old_format_is_named_with_what_to_run(bare_app, runner,
                                                                    camden_cache):
    folder = Path(bare_app.config["NETWORK_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    cache = next(camden_cache.glob("*.walkgraph.npz"))
    with np.load(cache) as npz:  # the same network as AssetMap wrote it before format 2
        meta = json.loads(npz["meta"].tobytes().decode())
        np.savez(folder / "camden.walkgraph.npz", meta=np.frombuffer(
            json.dumps({**meta, "format_version": 1}).encode(), np.uint8))
    out = runner.invoke(main, ["place", "status"]).output
    assert "Walking networks: 0 networks usable" in out
    assert "camden: not used (camden.walkgraph.npz is network cache format 1" in out
    assert "rebuild with `assetmap network build --osm FILE --name NAME`" in out
    listed = runner.invoke(main, ["network", "list"]).output
    assert listed.startswith("camden is not used (camden.walkgraph.npz is network cache format")
    assert "run `assetmap network build --osm FILE --name camden`" in listed


def test_admin_page_says_the_same_and_is_for_admins_only(bare_app, client, login, runner):
    with session_scope(bare_app) as s:  # `login` comes with the Camden test postcodes
        s.execute(delete(Postcode))
    login("coordinator")
    assert client.get("/coordinator/place").status_code == 403
    client.post("/logout")
    login("admin")
    page = client.get("/coordinator/place")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "What is set up" in html and "To do" in html
    assert "full postcodes will be placed at their district" in html
    runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    html = client.get("/coordinator/place").get_data(as_text=True)
    assert "17 (17 published, 0 derived)" in html


def test_maps_open_on_the_deployments_own_areas(bare_app, client, runner):
    assert BOUNDS_RE.search(client.get("/").get_data(as_text=True)).group(1) == ""
    if not HACKNEY.exists():
        return
    runner.invoke(main, ["areas", "import", str(HACKNEY), "--kind", "ward"])
    html = client.get("/").get_data(as_text=True)
    min_lon, min_lat, max_lon, max_lat = map(float, BOUNDS_RE.search(html).group(1).split(","))
    # Hackney, not Camden: east of Camden's eastern edge (about -0.105).
    assert -0.11 < min_lon < max_lon < 0.0 and 51.51 < min_lat < max_lat < 51.59
    assert "Camden" not in html


def test_place_name_from_config_or_the_borough(bare_app, client, runner):
    runner.invoke(main, ["areas", "import", str(DATA / "boundaries" /
                                                "camden-borough-osm.geojson"),
                         "--kind", "borough"])
    assert "London Borough of Camden" in client.get("/").get_data(as_text=True)
    bare_app.config["PLACE_NAME"] = "Kentish Town and Beyond"
    html = client.get("/").get_data(as_text=True)
    assert "<title>Find activities near you · AssetMap · Kentish Town and Beyond</title>" in html


def test_attribution_follows_the_datasets_loaded(bare_app, client, runner):
    before = client.get("/api/v1/activities").get_json()["attribution"]
    assert "Royal Mail" not in before
    runner.invoke(main, ["postcodes", "import", str(FIXTURES / "codepoint-open-sample.zip")])
    after = client.get("/api/v1/activities").get_json()["attribution"]
    assert "Royal Mail" in after and "Contains OS data" in after
    assert "Royal Mail" in client.get("/").get_data(as_text=True)
