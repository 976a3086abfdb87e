"""The ground a walking network covers: the place's areas plus a margin.

A client near the edge of the borough must be routed to the activity just over it, so the
network reaches beyond the boundary (ASSETMAP_NETWORK_MARGIN_M, 2 km by default); an extract
cut much wider than the place is trimmed to the same ground, which keeps a city's graph small.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap.errors import ValidationError
from assetmap.models import Area

# Metres need a projected CRS; British National Grid fits every UK place.
_TO_METRES = Transformer.from_crs(4326, 27700, always_xy=True)
_TO_DEGREES = Transformer.from_crs(27700, 4326, always_xy=True)


def buffer_m(geometry: shapely.Geometry, metres: float) -> shapely.Geometry:
    """`geometry` (lon/lat) grown by `metres` on the ground."""
    projected = shapely.transform(geometry, lambda xy: _stack(*_TO_METRES.transform(
        xy[:, 0], xy[:, 1])))
    grown = projected.buffer(metres, quad_segs=4) if metres else projected
    return shapely.transform(grown, lambda xy: _stack(*_TO_DEGREES.transform(
        xy[:, 0], xy[:, 1])))


def _stack(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.column_stack([x, y])


def network_ground(session: Session, *, area_code: str | None, margin_m: float
                   ) -> shapely.Geometry | None:
    """The area (or, by default, every live area of the place) plus the margin; None when the
    deployment has no areas yet (the whole extract is used)."""
    query = select(func.ST_AsBinary(Area.geom)).where(Area.retired.is_(False))
    if area_code:
        query = query.where(Area.code == area_code)
    shapes = [shapely.from_wkb(bytes(wkb)) for wkb in session.scalars(query)]
    if area_code and not shapes:
        raise ValidationError("--within", f"no area with the code {area_code!r}; see "
                              "'assetmap place status' for the areas loaded")
    if not shapes:
        return None
    return buffer_m(shapely.union_all(shapes), margin_m)
