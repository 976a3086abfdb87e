"""The walking service an app shares: its networks, the venues snapped onto each, and the one
place that decides between a walk on the network and the straight-line estimate."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap.models import Venue
from assetmap.spatial import lat_of, lon_of
from assetmap.walking import PACES, NetworkRegistry, Route, Router
from assetmap.walking.router import estimated_route


@dataclass
class VenueSnaps:
    """All venues snapped onto one network for one step rule, reused across queries."""

    venue_ids: np.ndarray
    batch: Any
    stamp: tuple


class WalkingService:
    """Per-app cache of networks and of venue snaps; thread-safe."""

    def __init__(self, network_dir: Path) -> None:
        self.registry = NetworkRegistry(network_dir)
        self._snaps: dict[tuple[str, bool], VenueSnaps] = {}
        self._lock = threading.Lock()

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
                    avoid_steps: bool) -> VenueSnaps:
        # One query per search says whether any venue was added, moved or removed since
        # the snaps were made: the latest change, the highest id and how many there are.
        stamp_key = tuple(session.execute(select(
            func.max(Venue.updated_at), func.max(Venue.id), func.count(Venue.id))).one())
        key = (name, avoid_steps)
        with self._lock:
            cached = self._snaps.get(key)
            if cached is not None and cached.stamp == stamp_key:
                return cached
        rows = session.execute(select(Venue.id, lat_of(Venue.geom), lon_of(Venue.geom))).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        lats = np.array([r[1] for r in rows], dtype=np.float64)
        lons = np.array([r[2] for r in rows], dtype=np.float64)
        snaps = VenueSnaps(ids, router.snap_many(lats, lons, avoid_steps=avoid_steps), stamp_key)
        with self._lock:
            self._snaps[key] = snaps
        return snaps


def walking_service(app: Flask) -> WalkingService:
    """The app's walking service, made on first use (networks load lazily too)."""
    service = app.extensions.get("assetmap.walking")
    if service is None:
        service = app.extensions["assetmap.walking"] = WalkingService(app.config["NETWORK_DIR"])
    return service
