"""Open data endpoints: the OpenActive RPDE feed and its dataset site.

Open to everyone without a key, with CORS (like /oruk): partners read them from their own
servers and sites.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from assetmap.db import get_session
from assetmap.opendata import openactive, openapi

bp = Blueprint("opendata", __name__)

RPDE_TYPE = "application/json"


@bp.after_request
def _cors(response: Response) -> Response:
    """Any site may read the feed; it takes no credentials and changes nothing."""
    if request.path.startswith("/openactive/"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    return response


@bp.get("/openactive/session-series")
def session_series() -> Response:
    """One page of the OpenActive RPDE feed of session series.

    Follow `next` until a page has no items; poll that last `next` for changes. The last
    page may gain items at any moment, so it is cached for seconds only.
    ---
    get:
      tags: [openactive]
      parameters:
        - {name: afterTimestamp, in: query, description: "`modified` of the last item read",
           schema: {type: integer, minimum: 0}}
        - {name: afterId, in: query, description: "`id` of the last item read",
           schema: {type: integer, minimum: 0}}
      x-json: RpdePage
    """
    feed_url = url_for("opendata.session_series", _external=True)
    page = openactive.feed_page(get_session(), current_app.config, request.args,
                                feed_url=feed_url)
    response = jsonify(page)
    response.mimetype = RPDE_TYPE
    response.headers["Cache-Control"] = (
        "public, max-age=8" if not page["items"] else "public, max-age=3600")
    return response


@bp.get("/openactive")
def dataset_site() -> str:
    """The dataset site: what the feed holds, where it is, and its licence, for people and
    for OpenActive's harvesters (the Dataset in JSON-LD)."""
    feed_url = url_for("opendata.session_series", _external=True)
    data = openactive.dataset(current_app.config, feed_url=feed_url,
                              page_url=url_for("opendata.dataset_site", _external=True))
    # Escaped for a <script> data block: no "</" can close it early.
    embedded = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return render_template("opendata/dataset.html", dataset=data, embedded=embedded,
                           feed_url=feed_url,
                           oruk_url=url_for("oruk.services", _external=True),
                           openapi_url=request.host_url.rstrip("/") + "/api/v1/openapi.json")


@bp.get("/api/v1/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of /api/v1, /oruk and /openactive (built from the routes)."""
    document = current_app.extensions.get("assetmap.openapi")
    if document is None:
        document = current_app.extensions["assetmap.openapi"] = openapi.build(current_app)
    response = jsonify(document | {"servers": [{"url": request.host_url.rstrip("/")}]})
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/api/v1/docs")
def api_reference() -> str:
    """The API reference for people, drawn from the same document (no scripts needed)."""
    document = openapi.build(current_app)
    return render_template("opendata/reference.html", document=document,
                           operations=openapi.operations(document),
                           intro=openapi.words(document["info"]["description"]),
                           openapi_url=url_for("opendata.openapi_document"))
