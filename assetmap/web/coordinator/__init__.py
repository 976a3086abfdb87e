"""The coordinators' pages. Each feature adds its routes to `bp` from its own module."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


# Feature modules add their routes to `bp`.
from assetmap.web.coordinator import (  # noqa: E402, F401
    coverage,
    freshness,
    history,
    home,
    outbox,
    people,
    pick,
    place,  # noqa: E402, F401
    sources,
    suggestions,
    transfer,
)
