"""An Open Referral UK compatible read API: every endpoint of the profile's OpenAPI.

Open to everyone without a key, with CORS, so other directories and the NHS can read
AssetMap's listings from their own sites. Only public fields (see opendata/oruk.py); every
list filter the profile defines is honoured (see opendata/oruk_query.py), plus AssetMap's
`age`, `walking_minutes` and `pace`. Paging: `page` and `per_page` (1-500, default 50; 0 means
the first page / the default size, as the profile allows); `Link` headers carry every filter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from assetmap.db import get_session
from assetmap.matching.rank import venues_within_walk
from assetmap.opendata import oruk, oruk_query
from assetmap.walking.service import walking_service
from assetmap.web import forms

bp = Blueprint("oruk", __name__, url_prefix="/oruk")


@bp.after_request
def _cors(response: Response) -> Response:
    """Any site may read this API from a browser; it takes no credentials and changes nothing."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
    response.headers["Access-Control-Expose-Headers"] = "Link"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _walk(lat: float, lon: float, minutes: int, pace: str) -> dict[int, tuple[float, float]]:
    walk, _estimated = venues_within_walk(get_session(), walking_service(current_app), lat, lon,
                                          minutes=minutes, pace=pace)
    return walk


def _service_list(page_of: Callable[..., dict[str, Any]]) -> Response:
    """A page of services (or services at locations): the filters and the page from the
    query, every filter honoured."""
    flt = forms.service_filter(request.args, config=current_app.config, session=get_session())
    page, per_page = forms.page_args(request.args, zero_is_default=True)
    return _paged(page_of(get_session(), current_app.config, flt, page, per_page, _walk))


def _paged(body: dict[str, Any]) -> Response:
    """The page, with RFC 8288 `Link`s to first, previous, next and last, keeping the filters."""
    response = jsonify(body)
    args = request.args.to_dict()
    endpoint, view_args = request.endpoint, request.view_args
    assert endpoint is not None and view_args is not None  # only a matched view pages
    links = {"first": 1, "last": body["total_pages"]}
    if body["page_number"] > 1:
        links["prev"] = min(body["page_number"] - 1, body["total_pages"])
    if body["page_number"] < body["total_pages"]:
        links["next"] = body["page_number"] + 1
    response.headers["Link"] = ", ".join(
        f'<{url_for(endpoint, **view_args, **(args | {"page": page}), _external=True)}>; rel="{rel}"'  # noqa: E501
        for rel, page in links.items())
    return response


@bp.get("/")
def about() -> Response:
    """This API: its HSDS version, the profile it follows, and where its OpenAPI is.
    ---
    get:
      tags: [oruk]
    """
    return jsonify({"version": "3.0", "profile": oruk.PROFILE_URL,
                    "openapi_url": request.host_url.rstrip("/") + "/api/v1/openapi.json",
                    "services": request.host_url.rstrip("/") + "/oruk/services"})


@bp.get("/services")
def services() -> Response:
    """Services matching every filter asked for, a page at a time.

    Nearest first when measured from a postcode, else in id order. `Link` headers give the
    first, previous, next and last pages with the same filters.
    ---
    get:
      x-query: service-list
      x-json: ServicePage
    """
    return _service_list(oruk_query.service_page)


@bp.get("/services/<service_id>")
def service(service_id: str) -> Response:
    """One service, fully nested: schedules, locations, costs, taxonomy terms.
    ---
    get:
      x-json: Service
    """
    return jsonify(oruk.service_detail(get_session(), current_app.config, service_id))


@bp.get("/service_at_locations")
def service_at_locations() -> Response:
    """Services at their locations, with the same filters as services.
    ---
    get:
      x-query: service-list
      x-json: ServiceAtLocationPage
    """
    return _service_list(oruk_query.service_at_location_page)


@bp.get("/service_at_locations/<link_id>")
def service_at_location(link_id: str) -> Response:
    """One service at its location, fully nested.
    ---
    get:
      x-json: ServiceAtLocation
    """
    return jsonify(oruk_query.service_at_location_detail(get_session(), current_app.config,
                                                         link_id))


@bp.get("/taxonomies")
def taxonomies() -> Response:
    """AssetMap's taxonomies: activity categories and suitability.
    ---
    get:
      x-query: [page, per_page]
      x-json: TaxonomyPage
    """
    return _paged(oruk_query.taxonomy_page(
        current_app.config, *forms.page_args(request.args, zero_is_default=True)))


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy(taxonomy_id: str) -> Response:
    """One taxonomy with its terms.
    ---
    get:
      x-json: Taxonomy
    """
    return jsonify(oruk_query.taxonomy_detail(current_app.config, taxonomy_id))


@bp.get("/taxonomy_terms")
def taxonomy_terms() -> Response:
    """Every taxonomy term; those with an OpenActive Activity List concept carry it as
    `term_uri`.
    ---
    get:
      x-query: [taxonomy_id, page, per_page]
      x-json: TaxonomyTermPage
    """
    return _paged(oruk_query.term_page(request.args.get("taxonomy_id") or "",
                                       *forms.page_args(request.args, zero_is_default=True)))


@bp.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id: str) -> Response:
    """One taxonomy term.
    ---
    get:
      x-json: TaxonomyTerm
    """
    return jsonify(oruk_query.term_detail(term_id))
