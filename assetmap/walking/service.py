"""The walking service an app shares: its networks, the venues snapped onto each, and the one
place that decides between a walk on the network and the straight-line estimate."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.models import Venue
from assetmap.models.changes import VENUES, Tokens, change_token
from assetmap.spatial import lat_of, lon_of
from assetmap.walking import PACES, NetworkRegistry, Route, Router
from assetmap.walking.router import Reach, estimated_route
from assetmap.walking.stops import StopIndex, near_bus_stop_metres, stop_index


@dataclass
class VenueSnaps:
    """All venues snapped onto one network for one step rule, reused across queries."""

    venue_ids: np.ndarray
    batch: Any
    token: int | None  # the venues' change token they were snapped at


class WalkingService:
    """Per-app cache of networks and of venue snaps; thread-safe."""

    def __init__(self, network_dir: Path) -> None:
        self.registry = NetworkRegistry(network_dir)
        self._snaps: dict[tuple[str, bool], VenueSnaps] = {}
        self._bus: dict[tuple[str, bool], tuple[VenueSnaps, StopIndex, np.ndarray]] = {}
        self._lock = threading.Lock()
        self._drawing: ThreadPoolExecutor | None = None

    def isochrone_meanwhile(self, router: Router, reach: Reach) -> Future[dict[str, Any]]:
        """The walking area of a reach, drawn on a worker thread while the caller reads and
        ranks the listings: its polygon work (shapely) lets go of the interpreter, so with a
        core free it adds little to a search's wait. `.result()` gives the GeoJSON."""
        with self._lock:
            if self._drawing is None:
                self._drawing = ThreadPoolExecutor(max_workers=2,
                                                   thread_name_prefix="assetmap-isochrone")
        return self._drawing.submit(router.isochrone, reach)

    def router_for(self, lat: float, lon: float) -> tuple[str | None, Router | None]:
        router = self.registry.for_point(lat, lon)
        if router is None:
            return None, None
        return router.graph.meta.name, router

    def route_or_estimate(self, lat1: float, lon1: float, lat2: float, lon2: float,
                          pace: str) -> tuple[Router | None, Route]:
        """The walk on the network that covers the start, or the straight-line estimate
        (marked estimated) where no network does."""
        _name, router = self.router_for(lat1, lon1)
        if router is None:
            return None, estimated_route(lat1, lon1, lat2, lon2, PACES[pace])
        return router, router.route(lat1, lon1, lat2, lon2, pace)

    def venue_snaps(self, session: Session, name: str, router: Router,
                    avoid_steps: bool, tokens: Tokens | None = None) -> VenueSnaps:
        """The venues snapped onto the network; `tokens`, when the search has read them,
        hold the venues' change token."""
        # The token says whether any venue was added, moved or removed since the snaps were
        # made (assetmap.models.changes); it is read before the venues are.
        token = change_token(session, VENUES) if tokens is None else tokens[VENUES]
        key = (name, avoid_steps)
        with self._lock:
            cached = self._snaps.get(key)
            if cached is not None and token is not None and cached.token == token:
                return cached
        rows = session.execute(select(Venue.id, lat_of(Venue.geom), lon_of(Venue.geom))).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        lats = np.array([r[1] for r in rows], dtype=np.float64)
        lons = np.array([r[2] for r in rows], dtype=np.float64)
        snaps = VenueSnaps(ids, router.snap_many(lats, lons, avoid_steps=avoid_steps), token)
        with self._lock:
            self._snaps[key] = snaps
        return snaps

    def stops(self, name: str | None) -> StopIndex | None:
        """The bus stops and stations kept beside a network (None before a build made them)."""
        return stop_index(self.registry.cache_dir, name)

    def getting_there(self, lat: float, lon: float, pace: str = "typical") -> list[dict]:
        """The nearest bus stops and station to a venue, walked on the network covering it
        (estimated, and said "about", off it); [] where no stops are known."""
        name, router = self.router_for(lat, lon)
        stops = self.stops(name)
        if stops is None:
            return []
        return stops.nearest(lat, lon, router=router, pace=PACES[pace])

    def near_bus_stop(self, session: Session, name: str, router: Router,
                      pace: str, tokens: Tokens | None = None) -> set[int] | None:
        """Ids of the venues with a bus stop within a few minutes' walk at `pace` (the
        "near a bus stop" need); None where the network has no stops to judge by."""
        stops = self.stops(name)
        if stops is None:
            return None
        chosen = PACES[pace]
        snaps = self.venue_snaps(session, name, router, chosen.avoid_steps, tokens)
        key = (name, chosen.avoid_steps)
        with self._lock:
            cached = self._bus.get(key)
        if cached is None or cached[0] is not snaps or cached[1] is not stops:
            widest = max(near_bus_stop_metres(p) for p in PACES.values())
            metres = stops.bus_stop_metres(router, snaps.batch, snaps.batch.lats,
                                           snaps.batch.lons, widest)
            cached = (snaps, stops, metres)
            with self._lock:
                self._bus[key] = cached
        near = cached[2] <= near_bus_stop_metres(chosen)
        return {int(v) for v in snaps.venue_ids[near]}


def walking_service(app: Flask) -> WalkingService:
    """The app's walking service, made on first use (networks load lazily too)."""
    service = app.extensions.get("assetmap.walking")
    if service is None:
        service = app.extensions["assetmap.walking"] = WalkingService(app.config["NETWORK_DIR"])
    return service
