"""Walking-network core: walking minutes over the real street network.

``graph`` turns an OSM extract into a compact numpy graph (and caches it), ``router`` answers
"what is within N minutes' walk" and "how do I walk there", and ``registry`` picks the network
that covers a point. Nothing here needs Flask or the database.
"""

from assetmap.walking.graph import (
    WalkGraph,
    WalkingNetworkError,
    build_graph,
    load_graph,
    save_graph,
)
from assetmap.walking.registry import NetworkInfo, NetworkRegistry
from assetmap.walking.router import (
    DETOUR_FACTOR,
    MINUTES_RANGE,
    PACES,
    Pace,
    Reach,
    Route,
    Router,
    Snap,
    SnapBatch,
    make_paces,
)

__all__ = [
    "DETOUR_FACTOR",
    "MINUTES_RANGE",
    "PACES",
    "NetworkInfo",
    "NetworkRegistry",
    "Pace",
    "Reach",
    "Route",
    "Router",
    "Snap",
    "SnapBatch",
    "WalkGraph",
    "WalkingNetworkError",
    "build_graph",
    "load_graph",
    "make_paces",
    "save_graph",
]
