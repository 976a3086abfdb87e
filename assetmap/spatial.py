"""Portable spatial SQL: one query for PostGIS and SpatiaLite.

SpatiaLite has no ST_DWithin, plain ST_Distance on SRID 4326 gives degrees, and its R-tree is
only used through the SpatialIndex virtual table; PostGIS wants `&&` and geography casts. The
constructs here compile to the right SQL for each dialect (see guide/PITFALLS.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import Float, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from assetmap.errors import ValidationError
from assetmap.geo import METRES_PER_DEGREE

SRID = 4326


@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, raw: str, *, field: str = "bbox") -> BBox:
        """'minLon,minLat,maxLon,maxLat' (the GeoJSON/OGC order) with a clear error."""
        expected = "four numbers minLon,minLat,maxLon,maxLat (e.g. -0.16,51.52,-0.12,51.55)"
        parts = [p.strip() for p in (raw or "").split(",")]
        if len(parts) != 4:
            raise ValidationError(field, f"expected {expected}")
        try:
            min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
        except ValueError:
            raise ValidationError(field, f"expected {expected}") from None
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180
                and -90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            raise ValidationError(field, "coordinates out of range (lon -180..180, lat -90..90)")
        if min_lon > max_lon or min_lat > max_lat:
            raise ValidationError(field, "min must not exceed max; order is "
                                         "minLon,minLat,maxLon,maxLat")
        return cls(min_lon, min_lat, max_lon, max_lat)

    @classmethod
    def around(cls, lat: float, lon: float, metres: float) -> BBox:
        """The smallest lon/lat box holding a circle of `metres` round a point (for an index
        lookup to narrow before an exact distance check)."""
        span = metres * 1.005 / METRES_PER_DEGREE  # a hair over, for rounding
        dlat = span
        dlon = span / max(math.cos(math.radians(lat)), 0.01)
        return cls(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def point(lat: float, lon: float) -> WKTElement:
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=SRID)


class in_bbox(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """`geom` (a table's geometry column) lies in the box, using each backend's spatial index.

    The box goes in as bound parameters so SQLAlchemy's statement cache stays correct.
    """

    # No SQL type on purpose: typed Boolean, SQLite renders "(...) = 1", which hides the
    # ROWID IN (spatial index) test from its planner.
    inherit_cache = True

    def __init__(self, geom: ColumnElement[Any] | QueryableAttribute[Any], box: BBox) -> None:
        super().__init__(geom, literal(box.min_lon), literal(box.min_lat),
                         literal(box.max_lon), literal(box.max_lat))


def indexed_rows(table: str, frame: str) -> str:
    """SpatiaLite SQL: the rows of `table` whose geometry's box meets `frame` (SQL for a
    geometry), from its R*Tree. SQLite's planner never consults that index by itself."""
    return (f"{table}.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = "
            f"'{table}' AND f_geometry_column = 'geom' AND search_frame = {frame})")


def _geometry_parts(element: in_bbox | contains_point, compiler, **kw
                ) -> tuple[str, str, list[str]]:
    """The geometry column's SQL, its table's name and the other arguments' SQL."""
    geom, *others = list(element.clauses)
    return (compiler.process(geom, **kw), geom.table.name,
            [compiler.process(c, **kw) for c in others])


@compiles(in_bbox, "postgresql")
def _in_bbox_pg(element: in_bbox, compiler, **kw) -> str:
    geom, _table, c = _geometry_parts(element, compiler, **kw)
    return f"({geom} && ST_MakeEnvelope({c[0]}, {c[1]}, {c[2]}, {c[3]}, {SRID}))"


@compiles(in_bbox, "sqlite")
def _in_bbox_sqlite(element: in_bbox, compiler, **kw) -> str:
    geom, table, c = _geometry_parts(element, compiler, **kw)
    frame = f"BuildMbr({c[0]}, {c[1]}, {c[2]}, {c[3]}, {SRID})"
    return f"({indexed_rows(table, frame)} AND MbrWithin({geom}, {frame}))"


class contains_point(FunctionElement):  # noqa: N801 - reads like the SQL it stands for
    """`geom` (a table's polygon column) contains the point, through each backend's spatial
    index: PostGIS uses its index for `ST_Contains` by itself; SpatiaLite must be asked
    through `SpatialIndex`, else every polygon of the table is tested (a search places its
    start in its wards this way, and a place may load thousands of them). Untyped, for the
    reason `in_bbox` is."""

    inherit_cache = True

    def __init__(self, geom: ColumnElement[Any] | QueryableAttribute[Any], lat: float,
                 lon: float) -> None:
        super().__init__(geom, literal(lon), literal(lat))


@compiles(contains_point, "postgresql")
def _contains_point_pg(element: contains_point, compiler, **kw) -> str:
    geom, lon, lat = (compiler.process(c, **kw) for c in element.clauses)
    return f"ST_Contains({geom}, ST_SetSRID(ST_MakePoint({lon}, {lat}), {SRID}))"


@compiles(contains_point, "sqlite")
def _contains_point_sqlite(element: contains_point, compiler, **kw) -> str:
    geom, table, (lon, lat) = _geometry_parts(element, compiler, **kw)
    here = f"MakePoint({lon}, {lat}, {SRID})"
    return f"({indexed_rows(table, here)} AND ST_Contains({geom}, {here}) = 1)"


class lon_of(FunctionElement):  # noqa: N801
    type = Float()
    inherit_cache = True


class lat_of(FunctionElement):  # noqa: N801
    type = Float()
    inherit_cache = True


@compiles(lon_of)
def _lon(element, compiler, **kw) -> str:
    return f"ST_X({compiler.process(element.clauses, **kw)})"


@compiles(lat_of)
def _lat(element, compiler, **kw) -> str:
    return f"ST_Y({compiler.process(element.clauses, **kw)})"


class distance_m(FunctionElement):  # noqa: N801
    """Geodesic distance in metres between two 4326 geometries."""

    type = Float()
    inherit_cache = True


@compiles(distance_m, "postgresql")
def _distance_pg(element, compiler, **kw) -> str:
    a, b = list(element.clauses)
    return (f"ST_Distance(CAST({compiler.process(a, **kw)} AS geography), "
            f"CAST({compiler.process(b, **kw)} AS geography))")


@compiles(distance_m, "sqlite")
def _distance_sqlite(element, compiler, **kw) -> str:
    a, b = list(element.clauses)
    return f"ST_Distance({compiler.process(a, **kw)}, {compiler.process(b, **kw)}, 1)"


class min_x(FunctionElement):  # noqa: N801 - a geometry's bounding box, one side each
    type = Float()
    inherit_cache = True


class min_y(min_x):  # noqa: N801
    inherit_cache = True


class max_x(min_x):  # noqa: N801
    inherit_cache = True


class max_y(min_x):  # noqa: N801
    inherit_cache = True


_BOX_SIDES = {min_x: ("ST_XMin", "MbrMinX"), min_y: ("ST_YMin", "MbrMinY"),
              max_x: ("ST_XMax", "MbrMaxX"), max_y: ("ST_YMax", "MbrMaxY")}


@compiles(min_x)
@compiles(min_y)
@compiles(max_x)
@compiles(max_y)
def _box_side(element, compiler, **kw) -> str:
    pg, sqlite = _BOX_SIDES[type(element)]
    name = sqlite if compiler.dialect.name == "sqlite" else pg
    return f"{name}({compiler.process(element.clauses, **kw)})"
