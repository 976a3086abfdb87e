"""Public pages: the map of activities and one activity's page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import vocab
from ..db import get_session
from ..errors import NotFound
from ..models import utcnow
from ..serialize import activity_to_dict
from ..services.query import ActivityFilter, activity_with_point
from .api import ATTRIBUTION, include_private

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    args = {k: v for k, v in request.args.to_dict().items() if v}
    ActivityFilter.from_args(args)  # a bad filter is a 400 page naming the parameter
    return render_template("public/map.html", filters=args, categories=vocab.CATEGORIES,
                           tags=vocab.SUITABILITY_TAGS, attribution=ATTRIBUTION)


@bp.get("/activities/<int:activity_id>")
def activity(activity_id: int):
    found = activity_with_point(get_session(), activity_id)
    if found is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    activity, lat, lon = found
    data = activity_to_dict(activity, now=utcnow(), lat=lat, lon=lon,
                            include_private=include_private(), sessions=5)
    return render_template("public/activity.html", a=data, attribution=ATTRIBUTION)
