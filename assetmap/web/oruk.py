"""An Open Referral UK compatible read API: /oruk/services and /oruk/services/{id}.

Open to everyone without a key, with CORS, so other directories and the NHS can read
AssetMap's listings from their own sites. Only public fields (see services/oruk.py).
Supported: `page`, `per_page` (1-500, default 50) and `modified_after` (ISO date-time).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ..db import get_session
from ..services import oruk

bp = Blueprint("oruk", __name__, url_prefix="/oruk")


@bp.after_request
def _cors(response: Response) -> Response:
    """Any site may read this API from a browser; it takes no credentials and changes nothing."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.get("/")
def about() -> Response:
    return jsonify({"version": "3.0", "profile": oruk.PROFILE_URL,
                    "services": request.host_url.rstrip("/") + "/oruk/services"})


@bp.get("/services")
def services() -> Response:
    return jsonify(oruk.service_page(get_session(), current_app.config, request.args))


@bp.get("/services/<service_id>")
def service(service_id: str) -> Response:
    return jsonify(oruk.service_detail(get_session(), current_app.config, service_id))
