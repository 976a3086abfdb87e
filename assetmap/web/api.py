"""JSON API v1: listings as GeoJSON, one listing, the vocabulary, areas."""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from .. import vocab
from ..db import get_session
from ..errors import NotFound, ValidationError
from ..models import Area, utcnow
from ..serialize import to_feature
from ..services.query import ActivityFilter, activity_with_point, find_activities
from ..spatial import BBox, in_bbox

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def include_private() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role("connector",
                                                                        "coordinator"))


def feature_collection(flt: ActivityFilter) -> dict:
    now = utcnow()
    private = include_private()
    features = [to_feature(a, now=now, lat=lat, lon=lon, include_private=private)
                for a, lat, lon in find_activities(get_session(), flt)]
    return {"type": "FeatureCollection", "features": features,
            "attribution": ATTRIBUTION}


ATTRIBUTION = ("Venues © OpenStreetMap contributors (ODbL). Contains OS data © Crown "
               "copyright and database right; contains National Statistics data © Crown "
               "copyright and database right (OGL v3).")


@bp.get("/activities")
def activities() -> Response:
    flt = ActivityFilter.from_args(request.args.to_dict())
    return jsonify(feature_collection(flt))


@bp.get("/activities/<int:activity_id>")
def activity(activity_id: int) -> Response:
    found = activity_with_point(get_session(), activity_id)
    if found is None:
        raise NotFound(f"no activity with id {activity_id}")
    activity, lat, lon = found
    return jsonify(to_feature(activity, now=utcnow(), lat=lat, lon=lon,
                              include_private=include_private()))


@bp.get("/vocabulary")
def vocabulary() -> Response:
    return jsonify({
        "categories": [{"id": t.id, "label": t.label, "openactive": list(t.openactive)}
                       for t in vocab.CATEGORIES],
        "tags": [{"id": t.id, "label": t.label} for t in vocab.SUITABILITY_TAGS],
        "statuses": list(vocab.ACTIVITY_STATUSES),
        "verification_methods": list(vocab.VERIFICATION_METHODS),
    })


@bp.get("/areas")
def areas() -> Response:
    kind = request.args.get("kind", "ward")
    if kind not in ("ward", "borough"):
        raise ValidationError("kind", f"unknown area kind {kind!r}", allowed=["ward", "borough"])
    stmt = select(Area.id, Area.name, Area.code, Area.geom.ST_AsGeoJSON()).where(
        Area.kind == kind).order_by(Area.name)
    if request.args.get("bbox"):
        stmt = stmt.where(in_bbox(Area.geom, BBox.parse(request.args["bbox"])))
    features = [{"type": "Feature", "id": area_id,
                 "properties": {"name": name, "code": code},
                 "geometry": json.loads(geojson)}
                for area_id, name, code, geojson in get_session().execute(stmt)]
    return jsonify({"type": "FeatureCollection", "features": features})
