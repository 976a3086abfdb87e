"""The coordinators' pages. Each feature adds its routes to `bp` from its own module."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..auth import role_required

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


@bp.get("/")
@role_required("coordinator")
def index():
    return render_template("coordinator/index.html")


# Feature modules add their routes to `bp`.
from . import coverage, freshness, people, sources, suggestions  # noqa: E402, F401
