"""Boundaries from the files the ONS Open Geography Portal and OS Boundary-Line publish.

GeoJSON, GeoPackage or a zipped Shapefile, in whatever CRS the file carries (usually British
National Grid), read with geopandas/pyogrio, reprojected to WGS84 and repaired. The code and
name fields are found by their ONS names (WD24CD/WD24NM, LAD23CD/LAD23NM, any year) unless
given. Re-importing updates areas by code; an area of the same kind that the new file
replaces (it lies inside the new file's coverage but its code is gone) is kept and marked
retired, so history and coverage records still resolve.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap.errors import ValidationError
from assetmap.models import Area

KINDS = ("ward", "borough", "district", "county", "region", "lsoa", "msoa", "parish",
         "neighbourhood", "icb", "other")
# ONS field prefixes per kind, most specific first ("LAD" local authority districts, "CTYUA"
# counties and unitary authorities, "WD" wards...); any year: WD13CD, WD24CD, LAD24CD.
PREFIXES = {
    "ward": ("WD",), "borough": ("LAD", "LA", "CTYUA", "UTLA", "LTLA"),
    "district": ("LAD", "LTLA"), "county": ("CTYUA", "CTY", "UTLA"), "region": ("RGN",),
    "lsoa": ("LSOA",), "msoa": ("MSOA",), "parish": ("PAR", "PARNCP"),
    "icb": ("ICB", "SICBL"),
}
FALLBACK_CODE = ("code", "gss_code", "ref:gss", "census_code", "id")
FALLBACK_NAME = ("name", "ward_name", "lad_name")
MIXED = {"Unknown", "Geometry", "GeometryCollection", "Unknown Z"}
POLYGONAL = {"Polygon", "MultiPolygon", "Polygon Z", "MultiPolygon Z", "3D Polygon",
             "3D MultiPolygon"}


@dataclass
class AreaImport:
    kind: str
    code_field: str
    name_field: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    repaired: int = 0

    def summary(self) -> str:
        text = (f"{self.kind} areas (code from {self.code_field}, name from {self.name_field}): "
                f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.retired)} retired")
        if self.repaired:
            text += f"; {self.repaired} invalid shapes repaired"
        return text


def _polygon_layer(path: Path, where: str) -> str | None:
    """The first layer with polygons (a GeoPackage may also hold points or tables)."""
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError) as exc:
        raise ValidationError(where, f"cannot be read as boundaries: {_first_line(exc)}"
                              ) from None
    if len(layers) == 0:
        raise ValidationError(where, "holds no layers")
    for name, geometry_type in layers:
        if geometry_type in POLYGONAL:
            return str(name)
    for name, geometry_type in layers:  # mixed Polygon/MultiPolygon GeoJSON says "Unknown"
        if geometry_type in MIXED:
            return str(name)
    kinds = sorted({str(t) for _, t in layers if t})
    if not kinds:
        raise ValidationError(where, "has no shapes: give a GeoJSON, GeoPackage or zipped "
                              "Shapefile of boundaries")
    raise ValidationError(where, f"holds no polygon layer (found: {', '.join(kinds)})")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def read_boundaries(path: Path) -> gpd.GeoDataFrame:
    """The file's polygons in WGS84, repaired; ValidationError naming the file otherwise."""
    where = str(path)
    if not path.is_file():
        raise ValidationError(where, "no such file")
    source: str | Path = path
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
        shapefiles = [n for n in names if n.lower().endswith(".shp")]
        if not shapefiles and not any(n.lower().endswith((".gpkg", ".geojson", ".json"))
                                      for n in names):
            raise ValidationError(where, "the zip holds no Shapefile (.shp), GeoPackage or "
                                  "GeoJSON")
        for shp in shapefiles:
            stem = shp[:-4]
            missing = [ext for ext in (".shx", ".dbf", ".prj")
                       if not any(n.lower() == (stem + ext).lower() for n in names)]
            if missing:
                what = {".prj": "its coordinate system (.prj)", ".dbf": "its attributes (.dbf)",
                        ".shx": "its index (.shx)"}
                raise ValidationError(where, f"the Shapefile {Path(shp).name} comes without "
                                      + " and ".join(what[m] for m in missing))
        source = f"/vsizip/{path.resolve()}" + (f"/{shapefiles[0]}" if shapefiles else "")
    layer = _polygon_layer(source, where)  # type: ignore[arg-type]
    try:
        frame = gpd.read_file(source, layer=layer, engine="pyogrio")
    except (DataSourceError, DataLayerError, ValueError) as exc:
        raise ValidationError(where, f"cannot be read as boundaries: {_first_line(exc)}"
                              ) from None
    if frame.crs is None:
        raise ValidationError(where, "has no coordinate reference system; give the file "
                              "with its projection (e.g. the Shapefile's .prj)")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if frame.empty:
        raise ValidationError(where, "holds no polygons")
    frame = frame.to_crs(4326)
    return frame


def _pick(columns: list[str], given: str | None, kind: str, suffix: str,
          fallback: tuple[str, ...], option: str, where: str) -> str:
    if given:
        if given not in columns:
            raise ValidationError(option, f"{where} has no field {given!r} (fields: "
                                  f"{', '.join(columns)})")
        return given
    upper = {c.upper(): c for c in columns}
    pattern = re.compile(rf"^([A-Z]+)(\d{{2}})?{suffix}$")
    ons = [(m.group(1), c) for c in columns if (m := pattern.match(c.upper()))]
    for prefix in PREFIXES.get(kind, ()):
        for found_prefix, column in ons:
            if found_prefix == prefix:
                return column
    if len(ons) == 1:
        return ons[0][1]
    for name in fallback:
        if name.upper() in upper:
            return upper[name.upper()]
    raise ValidationError(option, f"cannot tell which field of {where} holds the area "
                          f"{'code' if suffix == 'CD' else 'name'}; give {option} (fields: "
                          f"{', '.join(columns)})")


def _multipolygon(geometry: shapely.Geometry) -> tuple[MultiPolygon, bool]:
    """A valid MultiPolygon, and whether it had to be repaired."""
    repaired = not geometry.is_valid
    if repaired:
        geometry = shapely.make_valid(geometry)
    parts: list[Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon):
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
        elif part.geom_type == "GeometryCollection":
            parts.extend(p for p in shapely.get_parts(part) if isinstance(p, Polygon))
    return MultiPolygon([shapely.force_2d(p) for p in parts]), repaired


def _stored_shape(session: Session, area: Area) -> shapely.Geometry:
    return shapely.from_wkb(bytes(session.execute(select(func.ST_AsBinary(Area.geom))
                                                  .where(Area.id == area.id)).scalar_one()))


def import_areas(session: Session, path: Path, *, kind: str, code_field: str | None = None,
                 name_field: str | None = None) -> AreaImport:
    """Areas from a boundaries file, updated by code, in the caller's transaction."""
    if kind not in KINDS:
        raise ValidationError("--kind", f"unknown kind {kind!r}", allowed=list(KINDS))
    where = str(path)
    frame = read_boundaries(Path(path))
    columns = [c for c in frame.columns if c != frame.geometry.name]
    code_col = _pick(columns, code_field, kind, "CD", FALLBACK_CODE, "--code-field", where)
    name_col = _pick(columns, name_field, kind, "NM", FALLBACK_NAME, "--name-field", where)
    report = AreaImport(kind, code_col, name_col)
    incoming: dict[str, tuple[str, MultiPolygon]] = {}
    for code, name, geometry in zip(frame[code_col], frame[name_col], frame.geometry,
                                    strict=True):
        code = str(code or "").strip()
        if not code:
            raise ValidationError(where, f"an area has no code in the field {code_col}")
        if len(code) > 20:
            raise ValidationError(where, f"the code {code[:30]!r} is longer than 20 characters;"
                                  " is --code-field the right field?")
        shape, repaired = _multipolygon(geometry)
        if shape.is_empty:
            raise ValidationError(where, f"the area {code} has no polygon")
        report.repaired += repaired
        if code in incoming:  # one area in several rows: its parts together
            shape = MultiPolygon(list(incoming[code][1].geoms) + list(shape.geoms))
        incoming[code] = (str(name or code).strip()[:200], shape)
    existing = {area.code: area for area in session.scalars(select(Area))}
    clash = [c for c in incoming if c in existing and existing[c].kind != kind]
    if clash:
        raise ValidationError(where, f"the code {clash[0]} is already a {existing[clash[0]].kind}"
                              f" area, not a {kind}")
    for code, (name, shape) in incoming.items():
        wkt = f"SRID=4326;{shape.wkt}"
        area = existing.get(code)
        if area is None:
            session.add(Area(code=code, name=name, kind=kind, geom=wkt, retired=False))
            report.added.append(code)
            continue
        old = _stored_shape(session, area)
        if area.name == name and not area.retired and old.equals_exact(shape, 1e-7):
            report.unchanged.append(code)
            continue
        area.name, area.retired, area.geom = name, False, wkt
        report.updated.append(code)
    # Areas of this kind the file replaces: inside its coverage, but their code is gone.
    coverage = shapely.union_all([shape for _, shape in incoming.values()])
    shapely.prepare(coverage)
    for code, area in existing.items():
        if area.kind != kind or code in incoming or area.retired:
            continue
        old = _stored_shape(session, area)
        if coverage.contains(old.representative_point()):
            area.retired = True
            report.retired.append(code)
    session.flush()
    return report
