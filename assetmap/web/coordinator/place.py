"""`/coordinator/place` (admins): what the deployment has and lacks, as `assetmap place
status` says it, with the command that fills each gap."""

from __future__ import annotations

from flask import current_app, render_template

from assetmap.db import get_session
from assetmap.places.status import place_status
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp


@bp.get("/place")
@role_required("admin")
def place():
    status = place_status(get_session(), current_app.config)
    return render_template("coordinator/place.html", status=status)
