"""Offline postcode geocoding: full postcodes where known, else the outward-code centroid.

Connectors type postcodes any way ("nw1 2db", "NW12DB"); they are normalised, validated
against the UK format, and resolved from the postcodes table (imported from the ONS Postcode
Directory or Code-Point Open by `assetmap postcodes import`; see assetmap/places/postcodes.py),
with the UK's outward-code centroids shipped in data/postcodes as the fallback (no network, and
no search origin ever leaves the machine).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import Float, and_, bindparam, func, literal_column, select
from sqlalchemy.orm import Session

from assetmap.db import is_sqlite
from assetmap.errors import GeocodeError
from assetmap.models.places import Postcode
from assetmap.values import normalise_postcode

# Positions averaged from OSM objects spread wider than this are not trusted as a point.
MAX_SPREAD_M = 500


@dataclass(frozen=True)
class Geocoded:
    postcode: str
    lat: float
    lon: float
    approximate: bool  # True: outward-code centroid, not the postcode itself
    method: str  # "postcode" / "outcode" / "terminated"
    note: str | None = None  # in words, e.g. "that postcode is no longer in use; ..."
    nearest_live: str | None = None  # for a terminated postcode

    def to_dict(self) -> dict:
        body = {"postcode": self.postcode, "lat": self.lat, "lon": self.lon,
                "approximate": self.approximate, "method": self.method}
        if self.note:
            body |= {"note": self.note, "nearest_live": self.nearest_live}
        return body


Table = dict[str, tuple[float, float]]


@cache
def _outward_table(data_dir: Path) -> Table:
    """The UK's outward-code centroids, shipped with AssetMap (not place-specific)."""
    outward: Table = {}
    with (data_dir / "postcodes" / "uk-postcode-outcodes.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("latitude") and row.get("longitude"):
                outward[row["outcode"].upper()] = (float(row["latitude"]), float(row["longitude"]))
    return outward


# A live postcode's point, exactly as the PostGIS-only GiST index of migration 0014 spells it
# (the planner matches the expression): SRID as a literal, not a bound parameter.
LIVE_POINT = func.ST_SetSRID(func.ST_MakePoint(Postcode.lon, Postcode.lat), literal_column("4326"))
_LIVE = Postcode.terminated.is_(None)
_ROWS = (Postcode.postcode, Postcode.lat, Postcode.lon)
_KNN = 8  # candidates fetched in order of distance in degrees
# Built once: the statement's cache key is then computed once, not on every lookup.
_NEAREST_BY_GIST = (select(*_ROWS).where(_LIVE).order_by(LIVE_POINT.op("<->")(func.ST_SetSRID(
    func.ST_MakePoint(bindparam("lon", type_=Float), bindparam("lat", type_=Float)),
    literal_column("4326")))).limit(_KNN))
# SQLite: half-heights (degrees of latitude) of the boxes tried, doubling: the B-tree reads a
# whole band of latitude per box, so a box much too big costs more than one more small one.
_REACHES = tuple(0.002 * 2 ** k for k in range(14))  # 0.002 .. 16 degrees


def nearest_live_postcode(session: Session, lat: float, lon: float) -> str | None:
    """The live postcode nearest a point (on the local plane, as the crow flies).

    PostGIS: the few nearest in degrees from the GiST index's K-nearest-neighbour search
    (`<->`), ranked on the ground; only if one further away in degrees could still be nearer
    on the ground (degrees of longitude are short) is a box of that reach read as well.
    SQLite: growing boxes on the (lat, lon) B-tree, which answers a box from the index
    alone; once a box holds a postcode, one box as wide as its distance makes it exact.
    """
    shrink = math.cos(math.radians(lat))  # length of a degree of longitude, relatively
    if not is_sqlite(session):
        rows = session.execute(_NEAREST_BY_GIST, {"lat": lat, "lon": lon}).all()
        found, distance = _closest(rows, lat, lon, shrink)
        if len(rows) == _KNN and shrink * math.hypot(rows[-1].lat - lat,
                                                     rows[-1].lon - lon) < distance:
            found, _ = _closest(_in_box(session, lat, lon, distance, shrink), lat, lon, shrink)
        return found
    for reach in _REACHES:
        found, distance = _closest(_in_box(session, lat, lon, reach, shrink), lat, lon, shrink)
        if found is not None:
            if distance > reach:  # a nearer one could lie just outside this box
                found, _ = _closest(_in_box(session, lat, lon, distance, shrink), lat, lon,
                                    shrink)
            return found
    return None


def _in_box(session: Session, lat: float, lon: float, reach: float, shrink: float) -> list:
    """Live postcodes within `reach` (degrees of latitude) north, south, east and west, by
    the GiST index on PostGIS and the (lat, lon) B-tree on SQLite."""
    west, east = lon - reach / shrink, lon + reach / shrink
    if is_sqlite(session):
        inside = and_(Postcode.lat.between(lat - reach, lat + reach),
                      Postcode.lon.between(west, east))
    else:
        inside = LIVE_POINT.op("&&")(func.ST_MakeEnvelope(west, lat - reach, east, lat + reach,
                                                          literal_column("4326")))
    return list(session.execute(select(*_ROWS).where(_LIVE, inside)).all())


def _closest(rows, lat: float, lon: float, shrink: float) -> tuple[str | None, float]:
    """The row nearest the point on the local plane, and its distance in degrees of latitude."""
    if not rows:
        return None, math.inf
    best = min(rows, key=lambda r: (r.lat - lat) ** 2 + ((r.lon - lon) * shrink) ** 2)
    return best.postcode, math.hypot(best.lat - lat, (best.lon - lon) * shrink)


def geocode_postcode(raw: str, data_dir: Path, session: Session) -> Geocoded:
    """A point for a postcode from the postcodes table; the outward-code centroid (flagged
    approximate) if the full postcode is unknown. A terminated postcode keeps its published
    point and says which live postcode is nearest."""
    postcode = normalise_postcode(raw)
    code = postcode.split()[0]
    if " " in postcode:
        row = session.execute(select(Postcode.lat, Postcode.lon, Postcode.terminated)
                              .where(Postcode.postcode == postcode)).first()
        if row is not None and row.terminated is None:
            return Geocoded(postcode, row.lat, row.lon, approximate=False, method="postcode")
        if row is not None:
            nearest = nearest_live_postcode(session, row.lat, row.lon)
            note = "that postcode is no longer in use" + (
                f"; the nearest postcode in use is {nearest}" if nearest else "")
            return Geocoded(postcode, row.lat, row.lon, approximate=False,
                            method="terminated", note=note, nearest_live=nearest)
    outward = _outward_table(data_dir)
    if code in outward:
        lat, lon = outward[code]
        return Geocoded(postcode, lat, lon, approximate=True, method="outcode")
    # Outward codes newer than the shipped table (e.g. N1C) get the mean of their postcodes.
    mean = session.execute(select(func.avg(Postcode.lat), func.avg(Postcode.lon))
                           .where(Postcode.outward == code)
                           .where(Postcode.terminated.is_(None))).one()
    if mean[0] is not None:
        return Geocoded(postcode, float(mean[0]), float(mean[1]), approximate=True,
                        method="outcode")
    raise GeocodeError("postcode", f"{postcode} is not a known postcode or postcode area")


def optional_lat_lon(lat: object, lon: object) -> tuple[float, float] | None:
    """A point when either coordinate is given (both are then checked), else None."""
    return parse_lat_lon(lat, lon) if lat or lon else None


def parse_lat_lon(lat: object, lon: object) -> tuple[float, float]:
    """Validated WGS84 coordinates; GeocodeError naming the bad field otherwise."""
    values = []
    for name, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise GeocodeError(name, f"{value!r} is not a number") from None
        if not -limit <= number <= limit or number != number:
            raise GeocodeError(name, f"{number} is out of range (-{limit:g} to {limit:g})")
        values.append(number)
    return values[0], values[1]
