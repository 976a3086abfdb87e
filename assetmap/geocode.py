"""Offline postcode geocoding: full postcodes where known, else the outward-code centroid.

Connectors type postcodes any way ("nw1 2db", "NW12DB"); they are normalised, validated
against the UK format, and resolved from tables shipped in data/postcodes (no network, and
no search origin ever leaves the machine).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import GeocodeError

# The UK postcode format (outward code + inward code), per the Royal Mail/ONS rules.
_OUTWARD = r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)"
_FULL_RE = re.compile(rf"^({_OUTWARD})\s*([0-9][A-Z]{{2}})$")
_OUTWARD_RE = re.compile(rf"^{_OUTWARD}$")
# Positions averaged from OSM objects spread wider than this are not trusted as a point.
MAX_SPREAD_M = 500


@dataclass(frozen=True)
class Geocoded:
    postcode: str
    lat: float
    lon: float
    approximate: bool  # True: outward-code centroid, not the postcode itself
    method: str  # "postcode" / "outcode"

    def to_dict(self) -> dict:
        return {"postcode": self.postcode, "lat": self.lat, "lon": self.lon,
                "approximate": self.approximate, "method": self.method}


def normalise_postcode(raw: str) -> str:
    """'nw12db' -> 'NW1 2DB'. Raises GeocodeError for text that is not a UK postcode."""
    compact = re.sub(r"\s+", "", (raw or "").upper())
    if not compact:
        raise GeocodeError("postcode", "postcode is empty")
    match = _FULL_RE.match(compact)
    if match:
        return f"{match.group(1)} {match.group(2)}"
    if _OUTWARD_RE.match(compact):
        return compact
    raise GeocodeError("postcode", f"{raw.strip()!r} is not a UK postcode (e.g. NW1 2DB)")


Table = dict[str, tuple[float, float]]


@cache
def _tables(data_dir: Path) -> tuple[Table, Table]:
    full: Table = {}
    outward: Table = {}
    postcodes = data_dir / "postcodes"
    with (postcodes / "camden-postcodes-from-osm.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if float(row["max_spread_m"] or 0) > MAX_SPREAD_M:
                continue
            full[row["postcode"]] = (float(row["latitude"]), float(row["longitude"]))
    with (postcodes / "uk-postcode-outcodes.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("latitude") and row.get("longitude"):
                outward[row["outcode"].upper()] = (float(row["latitude"]), float(row["longitude"]))
    # Outward codes newer than the 2015 table (e.g. N1C) get the mean of their full postcodes.
    grouped: dict[str, list[tuple[float, float]]] = {}
    for postcode, point in full.items():
        grouped.setdefault(postcode.split()[0], []).append(point)
    for code, points in grouped.items():
        outward.setdefault(code, (sum(p[0] for p in points) / len(points),
                                  sum(p[1] for p in points) / len(points)))
    return full, outward


def geocode_postcode(raw: str, data_dir: Path) -> Geocoded:
    """A point for a postcode; the outward-code centroid (flagged approximate) if unknown."""
    postcode = normalise_postcode(raw)
    full, outward = _tables(data_dir)
    if postcode in full:
        lat, lon = full[postcode]
        return Geocoded(postcode, lat, lon, approximate=False, method="postcode")
    code = postcode.split()[0]
    if code in outward:
        lat, lon = outward[code]
        return Geocoded(postcode, lat, lon, approximate=True, method="outcode")
    raise GeocodeError("postcode", f"{postcode} is not a known postcode or postcode area")


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
