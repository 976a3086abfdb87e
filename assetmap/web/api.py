"""JSON API v1: listings as GeoJSON, one listing, the vocabulary, areas."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select

from assetmap import vocab
from assetmap.db import get_session
from assetmap.errors import NotFound, ValidationError
from assetmap.listings.query import ActivityFilter, activities_query, activity_with_point
from assetmap.listings.serialize import to_feature
from assetmap.matching.search import find_matches
from assetmap.models import Activity, Area, utcnow
from assetmap.params import id_param, int_param
from assetmap.places.status import attribution_text
from assetmap.spatial import BBox, in_bbox
from assetmap.walking.router import streets_in_box
from assetmap.walking.service import walking_service
from assetmap.web import forms

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def include_private() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role("connector",
                                                                        "coordinator"))


# A page of the activities list: enough for a borough at once, never a county's 50,000.
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


def feature_collection(flt: ActivityFilter, *, limit: int = DEFAULT_LIMIT,
                       after: int = 0) -> dict:
    """One page of listings in id order; `next` is the URL of the following page, or null."""
    now = utcnow()
    private = include_private()
    stmt = activities_query(flt).where(Activity.id > after).limit(limit + 1)
    rows = get_session().execute(stmt).all()
    features = [to_feature(a, now=now, lat=lat, lon=lon, include_private=private)
                for a, lat, lon in rows[:limit]]
    next_url = None
    if len(rows) > limit:
        args: dict[str, Any] = request.args.to_dict()
        args.update(limit=str(limit), after=str(rows[limit - 1][0].id))
        next_url = url_for("api.activities", **args)
    return {"type": "FeatureCollection", "features": features, "next": next_url,
            "attribution": attribution_text(get_session(), current_app.config["NETWORK_DIR"])
            or ATTRIBUTION}


ATTRIBUTION = ("Venues © OpenStreetMap contributors (ODbL). Contains OS data © Crown "
               "copyright and database right; contains National Statistics data © Crown "
               "copyright and database right (OGL v3).")


@bp.get("/activities")
def activities() -> Response:
    """Listings as GeoJSON features (private fields only for signed-in connectors).
    ---
    get:
      parameters:
        - {name: bbox, in: query, description: "minLon,minLat,maxLon,maxLat",
           schema: {type: string}}
        - {name: category, in: query, description: "category ids, comma-separated",
           schema: {type: string}}
        - {name: tag, in: query, description: "suitability tags, all required",
           schema: {type: string}}
        - {name: status, in: query, description: "statuses, comma-separated, or all",
           schema: {type: string}}
        - {name: limit, in: query, description: "listings per page (default 500)",
           schema: {type: integer, minimum: 1}}
        - {name: after, in: query, description: "the last id of the previous page (from next)",
           schema: {type: integer, minimum: 0}}
      responses:
        200:
          description: A GeoJSON FeatureCollection
          content:
            application/json:
              schema: {type: object, required: [type, features],
                       properties: {features: {type: array}}}
    """
    args = request.args.to_dict()
    flt = forms.activity_filter(args)
    limit = int_param(args.get("limit"), "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    after = int_param(args.get("after"), "after", default=0, low=0, high=2**31 - 1)
    return jsonify(feature_collection(flt, limit=limit, after=after))


@bp.get("/activities/<int:activity_id>")
def activity(activity_id: int) -> Response:
    """One listing as a GeoJSON feature.
    ---
    get:
      responses:
        200:
          description: A GeoJSON Feature
          content:
            application/json:
              schema: {type: object, required: [type, properties]}
    """
    found = activity_with_point(get_session(), activity_id)
    if found is None:
        raise NotFound(f"no activity with id {activity_id}")
    activity, lat, lon = found
    return jsonify(to_feature(activity, now=utcnow(), lat=lat, lon=lon,
                              include_private=include_private()))


@bp.get("/vocabulary")
def vocabulary() -> Response:
    """Categories (with OpenActive concepts), suitability tags, statuses and check methods.
    ---
    get:
      responses:
        200:
          description: The vocabulary
          content:
            application/json:
              schema: {type: object, required: [categories, tags]}
    """
    return jsonify({
        "categories": [{"id": t.id, "label": t.label, "openactive": list(t.openactive)}
                       for t in vocab.CATEGORIES],
        "tags": [{"id": t.id, "label": t.label} for t in vocab.SUITABILITY_TAGS],
        # What /api/v1/match takes as needs: the tags, and needs met by where a venue is.
        "needs": [{"id": t.id, "label": t.label} for t in vocab.NEEDS],
        "statuses": list(vocab.ACTIVITY_STATUSES),
        "verification_methods": list(vocab.VERIFICATION_METHODS),
    })


@bp.get("/areas")
def areas() -> Response:
    """Wards or boroughs as GeoJSON.
    ---
    get:
      parameters:
        - {name: kind, in: query, schema: {type: string, enum: [ward, borough]}}
        - {name: bbox, in: query, description: "minLon,minLat,maxLon,maxLat",
           schema: {type: string}}
    """
    kind = request.args.get("kind", "ward")
    if kind not in ("ward", "borough"):
        raise ValidationError("kind", f"unknown area kind {kind!r}", allowed=["ward", "borough"])
    stmt = select(Area.id, Area.name, Area.code, Area.geom.ST_AsGeoJSON()).where(
        Area.kind == kind).where(Area.retired.is_(False)).order_by(Area.name)
    if request.args.get("bbox"):
        stmt = stmt.where(in_bbox(Area.geom, BBox.parse(request.args["bbox"])))
    features = [{"type": "Feature", "id": area_id,
                 "properties": {"name": name, "code": code},
                 "geometry": json.loads(geojson)}
                for area_id, name, code, geojson in get_session().execute(stmt)]
    return jsonify({"type": "FeatureCollection", "features": features})


@bp.get("/match")
def match() -> Response:
    """Activities within a walk of a postcode or point, ranked, with reasons.
    ---
    get:
      parameters:
        - {name: postcode, in: query, schema: {type: string}}
        - {name: lat, in: query, schema: {type: number}}
        - {name: lon, in: query, schema: {type: number}}
        - {name: minutes, in: query, schema: {type: integer, minimum: 1, maximum: 60}}
        - {name: pace, in: query, schema: {type: string}}
        - {name: needs, in: query, schema: {type: string},
           description: "needs, comma-separated: suitability tags or near-bus-stop"}
        - {name: interests, in: query, description: "categories, comma-separated",
           schema: {type: string}}
        - {name: day, in: query, schema: {type: string}}
        - {name: time, in: query, schema: {type: string, enum: [morning, afternoon, evening]}}
        - {name: free, in: query, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 200}}
    """
    from flask import current_app

    query = forms.match_query(request.args.to_dict(), data_dir=current_app.config["DATA_DIR"],
                              session=get_session())
    result = find_matches(get_session(), walking_service(current_app), query, now=utcnow(),
                          remote=True)
    return no_store(jsonify(result.to_dict()))


def no_store(response: Response) -> Response:
    """Pages and answers that carry a client's whereabouts are never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/route")
def route() -> Response:
    """The walking route from an origin (`from`: postcode or "lat,lon") to an activity.
    ---
    get:
      parameters:
        - {name: from, in: query, required: true, schema: {type: string}}
        - {name: to, in: query, required: true, schema: {type: integer}}
        - {name: pace, in: query, schema: {type: string}}
      responses:
        404: {description: No such activity at a venue}
    """
    from flask import current_app

    query = forms.route_query(request.args, data_dir=current_app.config["DATA_DIR"],
                              session=get_session())
    activity_id = id_param(request.args.get("to"), "to", what="activity")
    found = activity_with_point(get_session(), activity_id)
    _activity, lat, lon = found or (None, None, None)
    if lat is None or lon is None:
        raise NotFound(f"no activity with id {activity_id} at a venue")
    _router, walk = walking_service(current_app).route_or_estimate(
        query.lat, query.lon, lat, lon, query.pace)
    return no_store(jsonify({
        "type": "Feature", "geometry": walk.geometry,
        "properties": {"activity_id": activity_id, "metres": round(walk.metres),
                       "minutes": round(walk.minutes, 1), "pace": query.pace,
                       "estimated": walk.estimated}}))


@bp.get("/streets")
def streets() -> Response:
    """Walkable streets in a map view, drawn as the map's own basemap (no outside tiles).
    ---
    get:
      parameters:
        - {name: bbox, in: query, required: true, description: "minLon,minLat,maxLon,maxLat",
           schema: {type: string}}
    """
    from flask import current_app

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
