"""/coordinator: what needs me today, with a link to act on each count and to every tool."""

from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user

from assetmap.coordination import home as home_svc
from assetmap.db import get_session
from assetmap.freshness import due
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp


@bp.get("/")
@role_required("coordinator")
def index():
    now = due.clock(current_app.config)
    home = home_svc.build(get_session(), current_user, current_app.config, now=now)
    return render_template("coordinator/index.html", home=home, now=now)
