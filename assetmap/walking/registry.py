"""Which walking network covers a point: the built ``*.walkgraph.npz`` files in a cache dir.

The directory is the source of truth, so a network built by another process (the CLI while the
web app runs) is picked up on the next call: listing re-reads only files that changed.
Loaded graphs stay mapped from their files (read-only, shared by every worker process).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assetmap.errors import ValidationError
from assetmap.geo import METRES_PER_DEGREE
from assetmap.walking.graph import (
    NPZ_SUFFIX,
    GraphMeta,
    WalkingNetworkError,
    build_graph,
    load_graph,
    read_hull,
    save_graph,
)
from assetmap.walking.router import Pace, Router

log = logging.getLogger(__name__)

#: A network's or tileset's name: a plain slug, never a path (one rule for both, so the
#: network and the basemap built from one extract can share a name).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True, eq=False)
class NetworkInfo:
    """A built network on disk: its metadata and the area it covers."""

    name: str
    path: Path
    meta: GraphMeta
    hull_lon: np.ndarray
    hull_lat: np.ndarray
    area_m2: float
    version: tuple[int, int, int]  # (inode, mtime_ns, size): os.replace always changes it

    def covers(self, lat: float, lon: float) -> bool:
        """Whether the point lies inside the network's convex hull."""
        min_lon, min_lat, max_lon, max_lat = self.meta.bbox
        if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
            return False
        return _in_ring(lon, lat, self.hull_lon, self.hull_lat)


class NetworkRegistry:
    """Built networks in ``cache_dir``; routers are loaded on first use and kept."""

    def __init__(
        self, cache_dir: Path, paces: Mapping[str, Pace] | None = None, **router_options: Any
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self._paces = paces
        self._router_options = router_options
        self._infos: dict[Path, NetworkInfo] = {}
        self._problems: dict[Path, str] = {}
        self._routers: dict[Path, tuple[tuple[int, int, int], Router]] = {}
        self._lock = threading.Lock()

    def path_for(self, name: str) -> Path:
        """The cache file of a network name (names are plain slugs: no paths)."""
        if not NAME.fullmatch(name):
            raise ValidationError("name", f"network name {name!r}: use letters, digits, '-' or '_'")
        return self.cache_dir / f"{name}{NPZ_SUFFIX}"

    def networks(self) -> list[NetworkInfo]:
        """The networks currently on disk, by name (unreadable files are skipped)."""
        with self._lock:
            return sorted(self._scan(), key=lambda info: info.name)

    def problems(self) -> dict[str, str]:
        """Cache files that cannot be used, by network name, with why (e.g. built by an older
        version: "rebuild it"); such a network is left out, so walks there are estimates."""
        with self._lock:
            self._scan()
            return {p.name.removesuffix(NPZ_SUFFIX): why for p, why in self._problems.items()}

    def _scan(self) -> list[NetworkInfo]:
        if not self.cache_dir.is_dir():
            self._infos.clear()
            self._problems.clear()
            return []
        seen: dict[Path, NetworkInfo] = {}
        problems: dict[Path, str] = {}
        for path in self.cache_dir.glob(f"*{NPZ_SUFFIX}"):
            try:
                st = path.stat()
                version = (st.st_ino, st.st_mtime_ns, st.st_size)
                info = self._infos.get(path)
                if info is None or info.version != version:
                    info = _read_info(path, version)
            except OSError:
                continue
            except WalkingNetworkError as exc:
                if path not in self._problems:  # said once per file, not on every request
                    log.warning("walking network %s is left out: %s", path.name, exc)
                problems[path] = str(exc)
                continue
            seen[path] = info
        self._infos = seen
        self._problems = problems
        return list(seen.values())

    def router(self, name: str) -> Router:
        """The router for a named network (loaded once, reloaded if its file changed)."""
        path = self.path_for(name)
        with self._lock:
            infos = {info.path: info for info in self._scan()}
            if path not in infos:
                raise KeyError(f"no built walking network named {name!r} in {self.cache_dir}")
            return self._router(infos[path])

    def _router(self, info: NetworkInfo) -> Router:
        cached = self._routers.get(info.path)
        if cached is None or cached[0] != info.version:
            router = Router(load_graph(info.path), self._paces, **self._router_options)
            cached = self._routers[info.path] = (info.version, router)
        return cached[1]

    def for_point(self, lat: float, lon: float) -> Router | None:
        """The router of the smallest network whose hull contains the point, or None."""
        with self._lock:
            covering = [info for info in self._scan() if info.covers(lat, lon)]
            if not covering:
                return None
            return self._router(min(covering, key=lambda info: info.area_m2))

    def build(self, osm_path: Path, name: str, *, within: Any = None) -> NetworkInfo:
        """Build a network from OSM and save it; on any error the existing cache stays as it was.

        Building happens outside the lock (it takes a while); the file is replaced atomically.
        `within` (a lon/lat polygon) keeps only the streets inside it.
        """
        path = self.path_for(name)
        graph = build_graph(Path(osm_path), name, within=within)
        save_graph(graph, path)
        with self._lock:
            self._routers.pop(path, None)
            infos = {info.path: info for info in self._scan()}
        return infos[path]


def _read_info(path: Path, version: tuple[int, int, int]) -> NetworkInfo:
    meta, hull_lon, hull_lat = read_hull(path)
    return NetworkInfo(
        name=path.name.removesuffix(NPZ_SUFFIX), path=path, meta=meta, hull_lon=hull_lon,
        hull_lat=hull_lat, area_m2=_ring_area_m2(hull_lon, hull_lat), version=version,
    )


def _in_ring(x: float, y: float, xs: np.ndarray, ys: np.ndarray) -> bool:
    """Point in a closed ring (even-odd rule); cheap enough to avoid shapely per request."""
    x0, y0, x1, y1 = xs[:-1], ys[:-1], xs[1:], ys[1:]
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return bool(np.count_nonzero(crosses & (x < at)) % 2)


def _ring_area_m2(lon: np.ndarray, lat: np.ndarray) -> float:
    """Shoelace area of a lon/lat ring, scaled to metres at its mean latitude."""
    k = METRES_PER_DEGREE
    x = lon * k * math.cos(math.radians(float(lat.mean())))
    y = lat * k
    return abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))) / 2
