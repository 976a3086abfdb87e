"""Getting there other than on foot: each venue's nearest bus stops (with route numbers where
the extract has them) and stations, with walking minutes.

Read once from the same OpenStreetMap extract as the walking network, when the network is
built (`assetmap network build`), and kept beside the network cache as `<name>.stops.json`.
Walking minutes to a stop are walked on the network when the venue is on one (at the
person's pace), else estimated (straight line times the detour factor) and said "about". The
"near a bus stop" need (`vocab.NEAR_BUS_STOP`) is judged from the same walks.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from assetmap.geo import EARTH_RADIUS_M, haversine_m
from assetmap.walking.router import (
    PACES,
    Pace,
    Router,
    SnapBatch,
    crow_flies_metres,
    detour_metres,
)

STOPS_SUFFIX = ".stops.json"
BUS_WITHIN_M = 600
STATION_WITHIN_M = 1200
#: "Near a bus stop": a bus stop within this many minutes' walk at the person's pace.
NEAR_BUS_STOP_MINUTES = 5
FOUND_CACHE = 50_000  # venue points remembered per stop file
_cache: dict[Path, tuple[float, StopIndex]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Stop:
    kind: str  # bus / station
    name: str
    lat: float
    lon: float
    routes: tuple[str, ...] = ()


def read_stops(osm_path: Path) -> list[Stop]:
    """Bus stops (highway=bus_stop) with the refs of the bus routes that call there, and
    stations (railway=station or halt, public_transport=station), from an extract."""
    import osmium  # only builds read extracts, as for the walking network

    buses: dict[int, tuple[str, float, float]] = {}
    stations: list[Stop] = []
    routes: dict[int, set[str]] = {}
    for obj in osmium.FileProcessor(str(osm_path), osmium.osm.NODE | osmium.osm.RELATION):
        tags = obj.tags
        if isinstance(obj, osmium.osm.Node):
            if not obj.location.valid():
                continue
            name = tags.get("name")
            if tags.get("highway") == "bus_stop":
                buses[obj.id] = (name or "", obj.location.lat, obj.location.lon)
            elif name and (tags.get("railway") in ("station", "halt")
                           or tags.get("public_transport") == "station"):
                stations.append(Stop("station", name, obj.location.lat, obj.location.lon))
        elif (isinstance(obj, osmium.osm.Relation) and tags.get("type") == "route"
              and tags.get("route") == "bus" and tags.get("ref")):
            for member in obj.members:
                if member.type == "n":
                    routes.setdefault(member.ref, set()).add(tags["ref"])
    stops = [Stop("bus", name, lat, lon, tuple(sorted(routes.get(node, ()), key=_route_key)))
             for node, (name, lat, lon) in buses.items() if name]
    unique = {(s.kind, s.name, round(s.lat, 4), round(s.lon, 4)): s for s in stations}
    return stops + list(unique.values())


def _route_key(ref: str) -> tuple:
    """Day routes by number, then lettered ones (N29 night buses, C2) by number."""
    digits = "".join(ch for ch in ref if ch.isdigit())
    return (ref[:1].isalpha(), int(digits) if digits else math.inf, ref)


def stops_path(network_dir: Path, name: str) -> Path:
    return Path(network_dir) / f"{name}{STOPS_SUFFIX}"


def build_stops(osm_path: Path, network_dir: Path, name: str) -> int:
    """Read the stops and write them beside the network; returns how many."""
    stops = read_stops(osm_path)
    path = stops_path(network_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(s) for s in stops]), encoding="utf-8")
    tmp.replace(path)
    return len(stops)


class StopIndex:
    """Stops as arrays, for nearest-stop look-ups; walks measured on the network when one
    is given (remembered per venue point), else estimated and said "about"."""

    def __init__(self, stops: list[Stop]) -> None:
        self.stops = stops
        self.lat = np.array([s.lat for s in stops], dtype=np.float64)
        self.lon = np.array([s.lon for s in stops], dtype=np.float64)
        self.is_bus = np.array([s.kind == "bus" for s in stops], dtype=bool)
        self._snaps: dict[tuple[int, bool], SnapBatch] = {}
        self._found: dict[tuple, list[dict]] = {}
        self._lock = threading.Lock()

    def snapped(self, router: Router, avoid_steps: bool) -> SnapBatch:
        """Every stop snapped onto a network once."""
        key = (id(router), avoid_steps)
        with self._lock:
            batch = self._snaps.get(key)
        if batch is None:
            batch = router.snap_many(self.lat, self.lon, avoid_steps=avoid_steps)
            with self._lock:
                self._snaps[key] = batch
        return batch

    def walks(self, lat: float, lon: float, router: Router | None,
              pace: Pace) -> tuple[np.ndarray, bool]:
        """Walked metres from a point to every stop (inf beyond the farthest look), and
        whether they are estimated: on the network when the point is on it, else the straight
        line times the detour factor (the rule route_or_estimate follows for one walk)."""
        if router is not None:
            reach = router.reach(lat, lon, STATION_WITHIN_M / pace.metres_per_minute, pace)
            if not reach.estimated:
                return router.walk_to_snaps(reach, self.snapped(router, pace.avoid_steps))[0], \
                    False
        metres = detour_metres(haversine_m(lat, lon, self.lat, self.lon))
        metres[metres > STATION_WITHIN_M] = np.inf
        return metres, True

    def nearest(self, lat: float, lon: float, *, router: Router | None = None,
                pace: Pace = PACES["typical"], buses: int = 2, stations: int = 1
                ) -> list[dict]:
        """The nearest bus stops (different names) and stations, with walking minutes."""
        if not self.stops:
            return []
        key = (id(router), round(lat, 6), round(lon, 6), pace, buses, stations)
        with self._lock:
            found = self._found.get(key)
        if found is not None:
            return found
        metres, estimated = self.walks(lat, lon, router, pace)
        out: list[dict] = []
        for want_bus, count, within in ((True, buses, BUS_WITHIN_M),
                                        (False, stations, STATION_WITHIN_M)):
            seen: set[str] = set()
            for i in np.argsort(metres):
                if len(seen) >= count or metres[i] > within:
                    break
                stop = self.stops[i]
                if self.is_bus[i] != want_bus or stop.name in seen:
                    continue
                seen.add(stop.name)
                # Both sides of the road share a name: say every route that stops there.
                routes = sorted({r for j in np.flatnonzero(metres <= within)
                                 if self.stops[j].name == stop.name
                                 and self.is_bus[j] == want_bus
                                 for r in self.stops[j].routes}, key=_route_key)
                stop = Stop(stop.kind, stop.name, stop.lat, stop.lon, tuple(routes))
                minutes = walk_minutes(float(metres[i]), pace)
                out.append({"kind": stop.kind, "name": stop.name, "routes": routes,
                            "minutes": minutes, "metres": round(float(metres[i])),
                            "estimated": estimated, "lat": stop.lat, "lon": stop.lon,
                            "words": stop_words(stop, minutes, estimated=estimated)})
        with self._lock:
            if len(self._found) >= FOUND_CACHE:
                self._found.clear()
            self._found[key] = out
        return out

    def bus_stop_metres(self, router: Router | None, venues: SnapBatch | None,
                        lats: np.ndarray, lons: np.ndarray, limit_m: float) -> np.ndarray:
        """Walked metres from each venue to its nearest bus stop (inf beyond ``limit_m``):
        on the network for venues snapped onto it, estimated for the rest, so the "near a
        bus stop" need agrees with the stop each result names."""
        buses = np.flatnonzero(self.is_bus)
        out = np.full(len(lats), np.inf)
        if not len(buses):
            return out
        on_network = np.zeros(len(lats), bool)
        if router is not None and venues is not None:
            batch = self.snapped(router, venues.avoid_steps)
            sources = replace(batch, **{f.name: getattr(batch, f.name)[buses]
                                        for f in fields(SnapBatch) if f.name != "avoid_steps"})
            out = router.walks_to_nearest(sources, venues, limit_m)
            on_network = np.isfinite(venues.to_u)
        rest = np.flatnonzero(~on_network)
        if len(rest):
            lat0 = float(self.lat.mean())
            tree = cKDTree(np.column_stack(_xy(self.lat[buses], self.lon[buses], lat0)))
            crow = tree.query(np.column_stack(_xy(lats[rest], lons[rest], lat0)),
                              distance_upper_bound=crow_flies_metres(limit_m))[0]
            out[rest] = np.where(np.isfinite(crow), detour_metres(crow), np.inf)
        return out


def _xy(lat: np.ndarray, lon: np.ndarray, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Metres on a plane around `lat0`: good enough across one place for a short look."""
    return (np.radians(lon) * EARTH_RADIUS_M * math.cos(math.radians(lat0)),
            np.radians(lat) * EARTH_RADIUS_M)


def walk_minutes(metres: float, pace: Pace) -> int:
    """Whole minutes, at least one: how a stop's walk is said and judged."""
    return max(1, math.ceil(metres / pace.metres_per_minute))


def near_bus_stop_metres(pace: Pace) -> float:
    """The walk within which a venue is "near a bus stop" at a person's pace."""
    return NEAR_BUS_STOP_MINUTES * pace.metres_per_minute


def stop_words(stop: Stop, minutes: int, *, estimated: bool = False) -> str:
    """ "Bus stop Camden Road (29, 253), 2 min from the door"; "about" when estimated."""
    about = "about " if estimated else ""
    if stop.kind == "bus":
        routes = f" ({', '.join(stop.routes)})" if stop.routes else ""
        return f"Bus stop {stop.name}{routes}, {about}{minutes} min from the door"
    name = stop.name if "station" in stop.name.lower() else f"{stop.name} station"
    return f"{name}, {about}{minutes} min walk"


def stop_index(network_dir: Path, name: str | None) -> StopIndex | None:
    """The stops kept beside a network (None before `assetmap network build` made them);
    re-read when the file changes."""
    if not name:
        return None
    path = stops_path(network_dir, name)
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
    data = json.loads(path.read_text(encoding="utf-8"))
    index = StopIndex([Stop(d["kind"], d["name"], d["lat"], d["lon"], tuple(d["routes"]))
                       for d in data])
    with _lock:
        _cache[path] = (stamp, index)
    return index
