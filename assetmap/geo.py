"""Distances on the Earth's surface: one great-circle rule for plain numbers and numpy arrays.

Every module that needs metres between WGS84 points calls `haversine_m`; nothing else writes
the formula, so the radius and the rounding guard cannot drift apart between callers.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

#: The mean Earth radius (IUGG), in metres.
EARTH_RADIUS_M = 6_371_008.8
#: Metres in one degree of latitude on that radius.
METRES_PER_DEGREE = math.radians(1) * EARTH_RADIUS_M

# numpy costs about ten times more than `math` per call on single numbers, and the scalar
# callers (snapping one origin, matching venues during ingest) make many single calls.
_SCALAR = SimpleNamespace(radians=math.radians, sin=math.sin, cos=math.cos, sqrt=math.sqrt,
                          arcsin=math.asin, minimum=min, subtract=lambda a, b: a - b)


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle metres: a float for plain numbers, an array for numpy arrays."""
    scalar = all(isinstance(v, int | float) for v in (lat1, lon1, lat2, lon2))
    xp: Any = _SCALAR if scalar else np
    p1, p2 = xp.radians(lat1), xp.radians(lat2)
    dl = xp.radians(xp.subtract(lon2, lon1))
    a = xp.sin((p2 - p1) / 2) ** 2 + xp.cos(p1) * xp.cos(p2) * xp.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * xp.arcsin(xp.sqrt(xp.minimum(a, 1.0)))
