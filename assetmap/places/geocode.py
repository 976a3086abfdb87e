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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def nearest_live_postcode(session: Session, lat: float, lon: float) -> str | None:
    """The live postcode nearest a point: a growing box on the (lat, lon) index, then ranked."""
    for delta in (0.002, 0.01, 0.05):
        rows = session.execute(
            select(Postcode.postcode, Postcode.lat, Postcode.lon)
            .where(Postcode.terminated.is_(None))
            .where(Postcode.lat.between(lat - delta, lat + delta))
            .where(Postcode.lon.between(lon - 2 * delta, lon + 2 * delta))).all()
        if rows:  # ranked on the local plane: only the order matters within the box
            shrink = math.cos(math.radians(lat))
            return min(rows, key=lambda r: (r.lat - lat) ** 2
                       + ((r.lon - lon) * shrink) ** 2).postcode
    return None


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
