"""Public pages: the map of activities and one activity's page."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template, request

from assetmap import vocab
from assetmap.db import get_session
from assetmap.errors import NotFound, ValidationError
from assetmap.freshness.rules import method_words
from assetmap.handout.model import session_words
from assetmap.listings.query import activity_with_point
from assetmap.listings.serialize import activity_to_dict
from assetmap.listings.service_area import area_words
from assetmap.maps.nearby import find_nearby, walk_from
from assetmap.models import utcnow
from assetmap.places.addresses import index_for
from assetmap.places.area_index import area_names
from assetmap.schedule import date_words
from assetmap.values import cost_in_words
from assetmap.walking.service import walking_service
from assetmap.web import forms
from assetmap.web.api import ATTRIBUTION, include_private

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    args = {k: v for k, v in request.args.to_dict().items() if v}
    near = args.pop("near", "").strip()
    flt = forms.activity_filter(args)  # a bad filter is a 400 page naming the parameter
    nearby, error = None, None
    if near:
        try:
            nearby = find_nearby(get_session(), walking_service(current_app), near,
                                 data_dir=current_app.config["DATA_DIR"],
                                 categories=flt.categories, tags=flt.tags, now=utcnow(),
                                 places=index_for(current_app.config["TILES_DIR"]))
        except ValidationError as exc:
            error = exc.message
    return render_template("public/map.html", filters=args, near=near, nearby=nearby,
                           error=error, categories=vocab.CATEGORIES,
                           tags=vocab.SUITABILITY_TAGS, attribution=ATTRIBUTION), (
        400 if error else 200)


@bp.get("/activities/<int:activity_id>")
def activity(activity_id: int):
    found = activity_with_point(get_session(), activity_id)
    if found is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    activity, lat, lon = found
    data = activity_to_dict(activity, now=utcnow(), lat=lat, lon=lon,
                            include_private=include_private(), sessions=5)
    near = (request.args.get("from") or "").strip()
    walk, error = None, None
    if near and lat is not None and lon is not None:
        try:
            walk = walk_from(get_session(), walking_service(current_app), near, lat, lon,
                             data_dir=current_app.config["DATA_DIR"],
                             places=index_for(current_app.config["TILES_DIR"]))
        except ValidationError as exc:
            error = exc.message
    serves = None
    if data["mode"] != "in-person":  # phone and online groups say who can join, not where
        codes = data["service_area"] or []
        serves = area_words(codes, area_names(get_session(), codes))
    return render_template("public/activity.html", a=data, attribution=ATTRIBUTION, serves=serves,
                           sessions=[session_words(s) for s in data["next_sessions"]],
                           checks=[(date_words(datetime.fromisoformat(v["verified_at"]).date()),
                                    method_words(v["method"]), v)
                                   for v in reversed(data.get("verifications", []))],
                           cost=cost_in_words(data["cost"]), near=near, walk=walk,
                           error=error), (400 if error else 200)
