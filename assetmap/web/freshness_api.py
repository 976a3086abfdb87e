"""GET /api/v1/freshness: the coordinators' freshness summary and work queue as JSON.

Coordinators only (signed in; admins too): the queue carries organisers' contact details,
assignments and closure reports, which are not public. Unauthenticated requests get 401 and
other roles 403, as JSON. Filters and paging are those of /coordinator/freshness.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_login import current_user

from assetmap.db import get_session
from assetmap.freshness import due
from assetmap.freshness import queue as fq
from assetmap.web import forms

bp = Blueprint("freshness_api", __name__, url_prefix="/api/v1")


@bp.get("/freshness")
def freshness() -> Response:
    """The freshness summary and work queue (coordinators only).
    ---
    get:
      parameters:
        - {name: area, in: query, schema: {type: string}}
        - {name: category, in: query, schema: {type: string}}
        - {name: source, in: query, schema: {type: integer}}
        - {name: state, in: query, schema: {type: string}}
        - {name: assigned, in: query, schema: {type: string},
           description: "any, nobody, or a person's id or e-mail"}
        - {name: page, in: query, schema: {type: integer, minimum: 1}}
        - {name: per_page, in: query, schema: {type: integer, minimum: 1, maximum: 500}}
      responses:
        401: {description: Not signed in}
        403: {description: Not a coordinator}
    """
    if not current_user.is_authenticated:
        abort(401, description="Sign in as a coordinator to see the freshness queue.")
    if not current_user.has_role("coordinator"):
        abort(403, description="The freshness queue is for coordinators.")
    session = get_session()
    now = due.clock(current_app.config)
    args = request.args.to_dict()
    flt = forms.queue_filter(session, args)
    page, per_page = forms.page_args(args)
    return jsonify({"summary": fq.summary(session, flt, now=now),
                    "queue": fq.queue(session, flt, now=now, page=page,
                                      per_page=per_page).to_dict()})
