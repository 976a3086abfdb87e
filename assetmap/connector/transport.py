"""Getting there other than on foot: each venue's nearest bus stops (with route numbers where
the extract has them) and stations, with walking minutes.

Read once from the same OpenStreetMap extract as the walking network, when the network is
built (`assetmap network build`), and kept beside the network cache as `<name>.stops.json`.
Walking minutes to a stop are estimated (straight line times the detour factor, at a typical
pace): a stop is rarely more than a few minutes away, and "about" is said where shown.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assetmap.geo import haversine_m
from assetmap.walking import PACES
from assetmap.walking.router import detour_metres

STOPS_SUFFIX = ".stops.json"
BUS_WITHIN_M = 600
STATION_WITHIN_M = 1200
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
    """Stops as arrays, for nearest-stop look-ups in microseconds."""

    def __init__(self, stops: list[Stop]) -> None:
        self.stops = stops
        self.lat = np.array([s.lat for s in stops], dtype=np.float64)
        self.lon = np.array([s.lon for s in stops], dtype=np.float64)
        self.is_bus = np.array([s.kind == "bus" for s in stops], dtype=bool)

    def nearest(self, lat: float, lon: float, *, buses: int = 2, stations: int = 1) -> list[dict]:
        """The nearest bus stops (different names) and stations, with walking minutes and
        where the stop is (``metres`` is the estimated walk, for ordering)."""
        if not self.stops:
            return []
        metres = detour_metres(haversine_m(lat, lon, self.lat, self.lon))
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
                minutes = max(1, math.ceil(metres[i] / PACES["typical"].metres_per_minute))
                out.append({"kind": stop.kind, "name": stop.name, "routes": routes,
                            "minutes": minutes, "words": stop_words(stop, minutes),
                            "lat": stop.lat, "lon": stop.lon, "metres": float(metres[i])})
        return out


def stop_words(stop: Stop, minutes: int) -> str:
    """ "Bus stop Camden Road (29, 253), 2 min from the door"."""
    if stop.kind == "bus":
        routes = f" ({', '.join(stop.routes)})" if stop.routes else ""
        return f"Bus stop {stop.name}{routes}, {minutes} min from the door"
    name = stop.name if "station" in stop.name.lower() else f"{stop.name} station"
    return f"{name}, {minutes} min walk"


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
