"""Walking networks cut to the place's areas plus a margin; several networks side by side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely

from assetmap.cli import main
from assetmap.config import PROJECT_ROOT
from assetmap.places.networks import buffer_m
from assetmap.walking import NetworkRegistry, load_graph

DATA = PROJECT_ROOT / "data"
OSM = DATA / "osm" / "camden.osm.pbf"
WARDS = DATA / "boundaries" / "wards-camden-E09000007.geojson"


def ward(name: str) -> tuple[str, shapely.Geometry]:
    for feature in json.loads(WARDS.read_text())["features"]:
        if feature["properties"]["WD13NM"] == name:
            return feature["properties"]["WD13CD"], shapely.geometry.shape(feature["geometry"])
    raise KeyError(name)


def metres_outside(polygon: shapely.Geometry, lon: np.ndarray, lat: np.ndarray) -> float:
    """How far the farthest point lies outside `polygon`, in metres (0 when all inside)."""
    grown = [buffer_m(polygon, m) for m in (0, 100, 250, 500, 1000, 2000)]
    for margin, shape in zip((0, 100, 250, 500, 1000, 2000), grown, strict=True):
        if shapely.contains_xy(shape, lon, lat).all():
            return margin
    return float("inf")


def test_margin_keeps_streets_just_over_the_boundary_and_no_further(bare_app, runner):
    code, shape = ward("Camden Town with Primrose Hill")
    runner.invoke(main, ["areas", "import", str(WARDS), "--kind", "ward"])
    folder = bare_app.config["NETWORK_DIR"]
    tight = runner.invoke(main, ["network", "build", "--osm", str(OSM), "--name", "tight",
                                 "--within", code, "--margin", "0"])
    assert tight.exit_code == 0, tight.output
    wide = runner.invoke(main, ["network", "build", "--osm", str(OSM), "--name", "wide",
                                "--within", code, "--margin", "500"])
    assert wide.exit_code == 0, wide.output
    whole = runner.invoke(main, ["network", "build", "--osm", str(OSM), "--name", "whole",
                                 "--whole-extract"])
    assert whole.exit_code == 0, whole.output
    graphs = {n: load_graph(NetworkRegistry(folder).path_for(n))
              for n in ("tight", "wide", "whole")}
    assert graphs["tight"].n_nodes < graphs["wide"].n_nodes < graphs["whole"].n_nodes
    assert metres_outside(shape, graphs["tight"].geom_lon, graphs["tight"].geom_lat) == 0
    assert metres_outside(shape, graphs["wide"].geom_lon, graphs["wide"].geom_lat) == 500
    outside = ~shapely.contains_xy(shape, graphs["wide"].geom_lon, graphs["wide"].geom_lat)
    assert outside.sum() > 100  # streets just over the boundary are there
    # A point 300 m beyond the ward is covered by the wide network, not by the tight one.
    ring = buffer_m(shape, 300).exterior
    lon, lat = ring.coords[0]
    registry = NetworkRegistry(folder)
    covering = {info.name for info in registry.networks() if info.covers(lat, lon)}
    assert "wide" in covering and "tight" not in covering


def test_default_ground_is_every_area_plus_the_configured_margin(bare_app, runner,
                                                                 monkeypatch):
    _, shape = ward("Highgate")
    feature = {"type": "Feature", "properties": {"WD13CD": "E05000137", "WD13NM": "Highgate"},
               "geometry": shapely.geometry.mapping(shape)}
    path = Path(bare_app.config["NETWORK_DIR"]).parent / "highgate.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    runner.invoke(main, ["areas", "import", str(path), "--kind", "ward"])
    monkeypatch.setenv("ASSETMAP_NETWORK_MARGIN_M", "250")
    built = runner.invoke(main, ["network", "build", "--osm", str(OSM), "--name", "highgate"])
    assert built.exit_code == 0, built.output
    graph = load_graph(NetworkRegistry(bare_app.config["NETWORK_DIR"]).path_for("highgate"))
    assert metres_outside(shape, graph.geom_lon, graph.geom_lat) == 250
    unknown = runner.invoke(main, ["network", "build", "--osm", str(OSM), "--within", "E0"])
    assert unknown.exit_code == 2 and unknown.output.startswith("error: --within:")


def test_each_origin_is_answered_from_the_network_that_contains_it(bare_app):
    folder = bare_app.config["NETWORK_DIR"]
    registry = NetworkRegistry(folder)
    parts = {}
    for name in ("Highgate", "Holborn and Covent Garden"):
        code, shape = ward(name)
        slug = name.split()[0].lower()
        registry.build(OSM, slug, within=buffer_m(shape, 200))
        parts[slug] = shape
    for slug, shape in parts.items():
        point = shape.representative_point()
        router = registry.for_point(point.y, point.x)
        assert router is not None and router.graph.meta.name == slug
    assert registry.for_point(51.45, -0.30) is None  # Richmond: no network covers it
