"""`assetmap areas import`: ONS/OS boundary files in any CRS, updated by code, bad files refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import shapely
from sqlalchemy import func, select

from assetmap.cli import main
from assetmap.config import PROJECT_ROOT
from assetmap.db import session_scope
from assetmap.freshness.queue import venue_wards
from assetmap.models import Area, Venue
from assetmap.spatial import point

FIXTURES = Path(__file__).parent.parent / "fixtures" / "places"
WARDS_GEOJSON = PROJECT_ROOT / "data" / "boundaries" / "wards-camden-E09000007.geojson"


def stored(app) -> dict[str, tuple[str, str, bool, shapely.Geometry]]:
    with session_scope(app) as s:
        rows = s.execute(select(Area.code, Area.name, Area.kind, Area.retired,
                                func.ST_AsBinary(Area.geom))).all()
    return {code: (name, kind, retired, shapely.from_wkb(bytes(wkb)))
            for code, name, kind, retired, wkb in rows}


def published_wards() -> dict[str, tuple[str, shapely.Geometry]]:
    features = json.loads(WARDS_GEOJSON.read_text())["features"]
    return {f["properties"]["WD13CD"]: (f["properties"]["WD13NM"],
                                        shapely.geometry.shape(f["geometry"]))
            for f in features}


@pytest.mark.parametrize("name", ["camden-wards-27700.gpkg", "camden-wards-27700-shp.zip"])
def test_british_national_grid_wards_land_where_the_published_wgs84_ones_are(
        bare_app, runner, name):
    result = runner.invoke(main, ["areas", "import", str(FIXTURES / name), "--kind", "ward"])
    assert result.exit_code == 0, result.output
    assert "18 added" in result.output and "WD13CD" in result.output
    areas = stored(bare_app)
    published = published_wards()
    assert set(areas) == set(published)
    for code, (name_, kind, retired, geom) in areas.items():
        assert (name_, kind, retired) == (published[code][0], "ward", False)
        assert geom.geom_type == "MultiPolygon" and geom.is_valid
        # Reprojected from metres back to degrees: the same ward (simplified by 5 m).
        original = published[code][1]
        overlap = geom.intersection(original).area / original.area
        assert overlap > 0.98, (code, overlap)


def test_reimport_updates_by_code_and_retires_replaced_wards(bare_app, runner, tmp_path):
    first = runner.invoke(main, ["areas", "import", str(WARDS_GEOJSON), "--kind", "ward"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["areas", "import", str(WARDS_GEOJSON), "--kind", "ward"])
    assert "0 added, 0 updated, 18 unchanged, 0 retired" in again.output
    # A boundary review: two wards merge into a new one, another is renamed.
    data = json.loads(WARDS_GEOJSON.read_text())
    by_code = {f["properties"]["WD13CD"]: f for f in data["features"]}
    codes = sorted(by_code)
    merged = shapely.union_all([shapely.geometry.shape(by_code[c]["geometry"])
                                for c in codes[:2]])
    features = [by_code[c] for c in codes[2:]]
    features[0]["properties"]["WD13NM"] = "Renamed Ward"
    features.append({"type": "Feature", "geometry": shapely.geometry.mapping(merged),
                     "properties": {"WD13CD": "E05999999", "WD13NM": "Merged Ward"}})
    review = tmp_path / "wards-2026.geojson"
    review.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    result = runner.invoke(main, ["areas", "import", str(review), "--kind", "ward"])
    assert result.exit_code == 0, result.output
    assert "1 added, 1 updated, 15 unchanged, 2 retired" in result.output
    areas = stored(bare_app)
    assert len(areas) == 19  # nothing deleted
    assert [c for c, a in areas.items() if a[2]] == codes[:2]
    assert areas[codes[2]][0] == "Renamed Ward"
    # Wards of another borough are not retired by an import that does not cover them.
    hackney = Path("/work/shared/data/boundaries/wards-hackney-E09000012.geojson")
    if hackney.exists():
        other = runner.invoke(main, ["areas", "import", str(hackney), "--kind", "ward"])
        assert other.exit_code == 0 and "0 retired" in other.output, other.output


def test_invalid_shapes_are_repaired(bare_app, runner, tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[-0.14, 51.53], [-0.13, 51.54],
                                                  [-0.13, 51.53], [-0.14, 51.54],
                                                  [-0.14, 51.53]]]}
    path = tmp_path / "bowtie.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": bowtie,
         "properties": {"LAD24CD": "E09000099", "LAD24NM": "Bowtie"}}]}))
    result = runner.invoke(main, ["areas", "import", str(path), "--kind", "borough"])
    assert result.exit_code == 0, result.output
    assert "1 invalid shapes repaired" in result.output
    name, kind, _, geom = stored(bare_app)["E09000099"]
    assert (name, kind) == ("Bowtie", "borough") and geom.is_valid and geom.area > 0


def test_fields_found_by_ons_names_of_any_year_or_given(bare_app, runner, tmp_path):
    square = {"type": "Polygon", "coordinates": [[[-0.1, 51.5], [-0.09, 51.5], [-0.09, 51.51],
                                                  [-0.1, 51.51], [-0.1, 51.5]]]}
    path = tmp_path / "mixed.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square, "properties": {
            "FID": 1, "WD24CD": "E05000001", "WD24NM": "A Ward", "LAD24CD": "E09000001",
            "LAD24NM": "A Borough", "label": "x"}}]}))
    as_borough = runner.invoke(main, ["areas", "import", str(path), "--kind", "borough"])
    assert "code from LAD24CD, name from LAD24NM" in as_borough.output
    custom = runner.invoke(main, ["areas", "import", str(path), "--kind", "neighbourhood",
                                  "--code-field", "FID", "--name-field", "label"])
    assert custom.exit_code == 0, custom.output
    assert stored(bare_app)["1"][:2] == ("x", "neighbourhood")
    wrong = runner.invoke(main, ["areas", "import", str(path), "--kind", "ward",
                                 "--code-field", "WARD_CODE"])
    assert wrong.exit_code == 2
    assert wrong.output.startswith("error: --code-field:") and "WD24CD" in wrong.output


def _zip_without_shapes(tmp_path: Path) -> Path:
    path = tmp_path / "readme-only.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.txt", "no shapes here")
    return path


@pytest.mark.parametrize("bad, says", [
    ("bad-no-prj-shp.zip", "comes without its coordinate system (.prj)"),
    ("bad-points-only.gpkg", "holds no polygon layer (found: Point)"),
    ("onspd-sample.csv", "has no shapes"),
    ("zip-without-shapes", "the zip holds no Shapefile"),
    ("missing.gpkg", "no such file"),
])
def test_bad_files_fail_with_one_line_and_change_nothing(bare_app, runner, tmp_path, bad, says):
    runner.invoke(main, ["areas", "import", str(WARDS_GEOJSON), "--kind", "ward"])
    before = stored(bare_app)
    path = _zip_without_shapes(tmp_path) if bad == "zip-without-shapes" else FIXTURES / bad
    result = runner.invoke(main, ["areas", "import", str(path), "--kind", "ward"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and says in lines[0]
    after = stored(bare_app)
    assert after.keys() == before.keys()
    assert all(after[c][:3] == before[c][:3] and after[c][3].equals(before[c][3])
               for c in before)


def test_a_venue_in_a_retired_ward_counts_only_in_the_ward_that_replaced_it(bare_app, runner,
                                                                             tmp_path):
    runner.invoke(main, ["areas", "import", str(WARDS_GEOJSON), "--kind", "ward"])
    data = json.loads(WARDS_GEOJSON.read_text())
    first, second = sorted(data["features"], key=lambda f: f["properties"]["WD13CD"])[:2]
    merged = shapely.union_all([shapely.geometry.shape(first["geometry"]),
                                shapely.geometry.shape(second["geometry"])])
    inside = shapely.geometry.shape(first["geometry"]).representative_point()
    review = tmp_path / "review.geojson"
    review.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(merged),
         "properties": {"WD24CD": "E05999999", "WD24NM": "Merged Ward"}}]}))
    assert runner.invoke(main, ["areas", "import", str(review), "--kind", "ward"]).exit_code == 0
    with session_scope(bare_app) as s:
        venue = Venue(name="Hall", geom=point(inside.y, inside.x))
        s.add(venue)
        s.flush()
        assert venue_wards(s, [venue.id]) == {venue.id: "Merged Ward"}
