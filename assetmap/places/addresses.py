"""Addresses that say where: a venue without a street address or postcode gets the nearest
OpenStreetMap `addr:*` address from the deployment's own extract, marked as derived. The same
pass keeps the extract's named places (neighbourhoods, stations, parks) so the public search
can start from "Kentish Town" as well as from a postcode.

The extract's addresses are read once per build into `<name>.addresses.json` beside the tiles
(under 1 MB for a borough), then any venue can be filled by a nearest-point lookup.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
from flask import current_app, has_app_context
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from assetmap.errors import GeocodeError
from assetmap.geo import METRES_PER_DEGREE
from assetmap.models import Venue
from assetmap.places.geocode import normalise_postcode
from assetmap.spatial import lat_of, lon_of

SUFFIX = ".addresses.json"
#: A street address is only taken from this close: further away it would mislead.
MAX_ADDRESS_M = 60
#: A postcode covers more ground than one building.
MAX_POSTCODE_M = 150


@dataclass(frozen=True)
class Address:
    text: str | None
    postcode: str | None
    metres: float


PLACE_KINDS = {"suburb": 0, "neighbourhood": 0, "quarter": 0, "village": 0, "town": 0,
               "locality": 1, "square": 1, "station": 0, "park": 2}


def _place_kind(tags) -> str | None:
    if tags.get("place") in PLACE_KINDS:
        return tags.get("place")
    if tags.get("railway") == "station" or tags.get("public_transport") == "station":
        return "station"
    if tags.get("leisure") == "park":
        return "park"
    return None


class _Collector(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[float, float, str, str]] = []
        self.places: list[tuple[float, float, str, str]] = []

    def _place(self, tags, lat: float, lon: float) -> None:
        kind = _place_kind(tags)
        if kind and tags.get("name"):
            self.places.append((round(lat, 6), round(lon, 6), tags.get("name"), kind))

    def _add(self, tags, lat: float, lon: float) -> None:
        number, street = tags.get("addr:housenumber"), tags.get("addr:street")
        postcode = tags.get("addr:postcode") or ""
        text = f"{number} {street}" if number and street else ""
        if postcode:
            try:
                postcode = normalise_postcode(postcode)
            except GeocodeError:
                postcode = ""
        if text or postcode:
            self.rows.append((round(lat, 6), round(lon, 6), text, postcode))

    def node(self, n) -> None:
        if "addr:housenumber" in n.tags or "addr:postcode" in n.tags:
            self._add(n.tags, n.location.lat, n.location.lon)
        if "name" in n.tags:
            self._place(n.tags, n.location.lat, n.location.lon)

    def way(self, w) -> None:
        has_address = "addr:housenumber" in w.tags or "addr:postcode" in w.tags
        is_place = "name" in w.tags and _place_kind(w.tags) is not None
        if not (has_address or is_place):
            return
        points = [(n.location.lat, n.location.lon) for n in w.nodes if n.location.valid()]
        if not points:
            return
        lat = sum(p[0] for p in points) / len(points)
        lon = sum(p[1] for p in points) / len(points)
        if has_address:
            self._add(w.tags, lat, lon)
        if is_place:
            self._place(w.tags, lat, lon)


def build_address_index(osm_path: Path, name: str, tiles_dir: Path) -> Path:
    """Read every `addr:*` node and way of the extract into `<tiles_dir>/<name>.addresses.json`."""
    collector = _Collector()
    collector.apply_file(str(osm_path), locations=True)
    tiles_dir = Path(tiles_dir)
    tiles_dir.mkdir(parents=True, exist_ok=True)
    target = tiles_dir / f"{name}{SUFFIX}"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"source": Path(osm_path).name, "addresses": collector.rows,
                               "places": collector.places}), encoding="utf-8")
    os.replace(tmp, target)
    return target


class AddressIndex:
    """Nearest-address lookups over one or more built address files."""

    def __init__(self, paths: list[Path]) -> None:
        rows: list = []
        self.places: dict[str, tuple[float, float, str]] = {}
        for path in paths:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            rows += data["addresses"]
            # One point per name: neighbourhoods and stations before parks and squares.
            for lat, lon, name, _kind in sorted(data.get("places", []),
                                               key=lambda p: PLACE_KINDS[p[3]]):
                self.places.setdefault(_fold(name), (lat, lon, name))
        self.lat = np.array([r[0] for r in rows], dtype=float)
        self.lon = np.array([r[1] for r in rows], dtype=float)
        self.text = [r[2] for r in rows]
        self.postcode = [r[3] for r in rows]

    def __len__(self) -> int:
        return len(self.text)

    def place(self, text: str) -> tuple[float, float, str] | None:
        """A named place of the extract: exact name, then with "station" dropped, then a
        single place whose name starts with the text."""
        key = _fold(text)
        if not key:
            return None
        for candidate in (key, key.removesuffix(" station")):
            if candidate in self.places:
                return self.places[candidate]
        starts = [k for k in self.places if k.startswith(key)]
        return self.places[starts[0]] if len(starts) == 1 else None

    def nearest(self, lat: float, lon: float) -> Address:
        """The nearest street address (within MAX_ADDRESS_M) and postcode (MAX_POSTCODE_M)."""
        if not len(self):
            return Address(None, None, math.inf)
        dy = (self.lat - lat) * METRES_PER_DEGREE
        dx = (self.lon - lon) * METRES_PER_DEGREE * math.cos(math.radians(lat))
        dist = np.hypot(dx, dy)
        text, postcode, metres = None, None, math.inf
        for i in np.argsort(dist)[:50]:
            d = float(dist[i])
            if text is None and self.text[i] and d <= MAX_ADDRESS_M:
                text, metres = self.text[i], d
                if self.postcode[i]:
                    postcode = self.postcode[i]
            if postcode is None and self.postcode[i] and d <= MAX_POSTCODE_M:
                postcode = self.postcode[i]
            if (text is not None and postcode is not None) or d > MAX_POSTCODE_M:
                break
        return Address(text, postcode, metres)


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("'", "").replace("’", "").split())


_cache: dict[Path, tuple[tuple, AddressIndex]] = {}
_lock = threading.Lock()


def index_for(tiles_dir: Path) -> AddressIndex | None:
    """The addresses of every extract built into `tiles_dir` (reloaded when a file changes)."""
    tiles_dir = Path(tiles_dir)
    paths = sorted(tiles_dir.glob(f"*{SUFFIX}")) if tiles_dir.is_dir() else []
    if not paths:
        return None
    key = tuple((p, p.stat().st_mtime_ns) for p in paths)
    with _lock:
        cached = _cache.get(tiles_dir)
        if cached is None or cached[0] != key:
            cached = _cache[tiles_dir] = (key, AddressIndex(paths))
        return cached[1]


def fill_venue(venue: Venue, lat: float, lon: float, index: AddressIndex | None) -> bool:
    """Fill a venue's missing address/postcode from the nearest OSM address; True if changed."""
    if index is None or venue.location_approximate or (venue.address and venue.postcode):
        return False
    found = index.nearest(lat, lon)
    changed = False
    if not venue.address and found.text:
        venue.address = found.text
        changed = True
    if not venue.postcode and found.postcode:
        venue.postcode = found.postcode
        changed = True
    if changed:
        venue.address_derived = True
    return changed


def fill_new_venue(venue: Venue, lat: float, lon: float) -> None:
    """For a venue being created inside the app: fill it if addresses have been built."""
    if has_app_context() and current_app.config.get("TILES_DIR"):
        fill_venue(venue, lat, lon, index_for(current_app.config["TILES_DIR"]))


def fill_missing_addresses(session: Session, tiles_dir: Path) -> int:
    """Every venue lacking an address or postcode, filled where an address is near enough."""
    index = index_for(tiles_dir)
    if index is None:
        return 0
    rows = session.execute(
        select(Venue, lat_of(Venue.geom), lon_of(Venue.geom))
        .where(Venue.location_approximate.is_not(True))
        .where(or_(Venue.address.is_(None), Venue.address == "", Venue.postcode.is_(None),
                   Venue.postcode == ""))).all()
    return sum(fill_venue(venue, lat, lon, index) for venue, lat, lon in rows)
