"""JSON API v1: listings as GeoJSON, one listing, the vocabulary, areas."""

from __future__ import annotations

import json

import numpy as np
from flask import Blueprint, Response, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from assetmap.connector.remote import find_remote

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


@bp.get("/match")
def match() -> Response:
    """Activities within a walk of a postcode or point, ranked, with reasons."""
    from flask import current_app

    from ..matching import MatchQuery, find_matches, walking_service

    query = MatchQuery.from_args(request.args.to_dict(),
                                 data_dir=current_app.config["DATA_DIR"])
    result = find_matches(get_session(), walking_service(current_app), query, now=utcnow())
    result.remote = find_remote(get_session(), query, now=utcnow())
    return jsonify(result.to_dict())


@bp.get("/route")
def route() -> Response:
    """The walking route from an origin (`from`: postcode or "lat,lon") to an activity."""
    from flask import current_app

    from ..matching import MatchQuery, walking_service
    from ..walking import PACES

    raw_from = (request.args.get("from") or "").strip()
    if not raw_from:
        raise ValidationError("from", "give a postcode or 'lat,lon'")
    if "," in raw_from:
        lat_s, _, lon_s = raw_from.partition(",")
        args = {"lat": lat_s, "lon": lon_s}
    else:
        args = {"postcode": raw_from}
    args["pace"] = request.args.get("pace", "typical")
    query = MatchQuery.from_args(args, data_dir=current_app.config["DATA_DIR"])
    try:
        activity_id = int(request.args.get("to", ""))
    except ValueError:
        raise ValidationError("to", "give the id of an activity") from None
    found = activity_with_point(get_session(), activity_id)
    if found is None or found[1] is None:
        raise NotFound(f"no activity with id {activity_id} at a venue")
    _activity, lat, lon = found
    service = walking_service(current_app)
    _name, router = service.router_for(query.lat, query.lon)
    if router is None:
        from ..matching import estimated_route

        return jsonify(estimated_route(query, lat, lon))
    walk = router.route(query.lat, query.lon, lat, lon, PACES[query.pace].name)
    return jsonify({"type": "Feature", "geometry": walk.geometry,
                    "properties": {"activity_id": activity_id, "metres": round(walk.metres),
                                   "minutes": round(walk.minutes, 1), "pace": query.pace,
                                   "estimated": walk.estimated}})


@bp.get("/streets")
def streets() -> Response:
    """Walkable streets in a map view, drawn as the map's own basemap (no outside tiles)."""
    from flask import current_app

    from ..matching import walking_service
    from ..walking.router import streets_in_box

    raw = request.args.get("bbox")
    if not raw:
        raise ValidationError("bbox", "give the map view as minLon,minLat,maxLon,maxLat")
    box = BBox.parse(raw)
    if (box.max_lon - box.min_lon) * (box.max_lat - box.min_lat) > MAX_STREETS_BOX_DEG2:
        raise ValidationError("bbox", "the view is too large for street detail; zoom in")
    service = walking_service(current_app)
    _name, router = service.router_for((box.min_lat + box.max_lat) / 2,
                                       (box.min_lon + box.max_lon) / 2)
    if router is None:
        return jsonify({"type": "FeatureCollection", "features": []})
    found = streets_in_box(router.graph, (box.min_lon, box.min_lat, box.max_lon, box.max_lat),
                           max_edges=MAX_STREETS)
    if found is None:
        raise ValidationError("bbox", "the view is too large for street detail; zoom in")
    lines = [np.round(np.column_stack([lons, lats]), 5).tolist() for lats, lons in found]
    response = jsonify({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": lines},
         "properties": {}}]})
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


# About 4 km x 4 km around London: enough for a neighbourhood view, not a whole city.
MAX_STREETS_BOX_DEG2 = 0.06 * 0.036
MAX_STREETS = 6000
