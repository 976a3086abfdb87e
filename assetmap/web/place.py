"""The place every page is about: its name, the box its maps open on, and the credits its
loaded data needs (from the database, never from code)."""

from __future__ import annotations

from flask import Flask, current_app
from flask_login import current_user

from assetmap.db import get_session
from assetmap.people.areas import map_bounds
from assetmap.places.status import attribution_text, place_name


def page_place() -> dict:
    session = get_session()
    bounds = map_bounds(session, current_user)
    return {
        "place_name": place_name(session, current_app.config),
        # min_lon,min_lat,max_lon,max_lat for static/js/place.js: the signed-in person's own
        # areas, else the whole place (assetmap.people.areas.map_bounds)
        "place_bounds": ",".join(f"{v:.5f}" for v in bounds) if bounds else "",
        "place_attribution": attribution_text(session, current_app.config["NETWORK_DIR"]),
    }


def init_app(app: Flask) -> None:
    app.context_processor(page_place)
