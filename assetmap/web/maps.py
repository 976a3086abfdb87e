"""Serving the basemap: vector tiles from the local MBTiles file, and what every map page needs
to draw it (the `basemap` template value)."""

from __future__ import annotations

import gzip
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request, url_for

from assetmap.db import get_session
from assetmap.maps.points import view_features
from assetmap.maps.tiles import Tileset, TileStore
from assetmap.models import utcnow
from assetmap.params import int_param
from assetmap.web import forms
from assetmap.web.api import include_private

bp = Blueprint("maps", __name__)

MVT = "application/vnd.mapbox-vector-tile"


def store() -> TileStore:
    found = current_app.extensions.get("assetmap_tiles")
    if found is None or found.tiles_dir != current_app.config["TILES_DIR"]:
        found = current_app.extensions["assetmap_tiles"] = TileStore(
            current_app.config["TILES_DIR"])
    return found


def current_tileset() -> Tileset | None:
    """The configured tileset (BASEMAP), else the first one built."""
    name = current_app.config.get("BASEMAP") or ""
    if name:
        return store().tileset(name)
    sets = store().tilesets()
    return sets[0] if sets else None


def basemap_config() -> dict:
    """What the browser needs to draw the basemap; the same for every map in the product."""
    external = current_app.config.get("TILE_URL") or ""
    if external:
        path = urlsplit(external).path
        kind = "vector" if path.endswith((".mvt", ".pbf")) else "raster"
        return {"url": external, "kind": kind, "maxzoom": 14 if kind == "vector" else 19}
    tileset = current_tileset()
    if tileset is None:  # no tiles built (tilemaker missing?): the walking network's streets
        return {"url": "", "kind": "none", "maxzoom": 0, "streets": url_for("api.streets")}
    url = url_for("maps.tile", name=tileset.name, z=0, x=0, y=0)
    url = url.replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")
    return {"url": url, "kind": "vector", "maxzoom": tileset.maxzoom,
            "bounds": list(tileset.bounds)}


def external_origin() -> str:
    """The external tile host's origin, for the Content-Security-Policy; "" when local."""
    external = current_app.config.get("TILE_URL") or ""
    if not external:
        return ""
    parts = urlsplit(external)
    return f"{parts.scheme}://{parts.netloc}"


@bp.get("/tiles/<name>/<z>/<x>/<y>.mvt")
def tile(name: str, z: str, x: str, y: str) -> Response:
    """One vector tile. Tiles are stored gzip-compressed and sent as they are to clients that
    accept gzip (every browser), so serving costs one indexed read."""
    # A path's parts are never empty, so the defaults are never taken.
    zoom = int_param(z, "z", default=0, low=0, high=22)
    col = int_param(x, "x", default=0, low=0, high=(1 << zoom) - 1)
    row = int_param(y, "y", default=0, low=0, high=(1 << zoom) - 1)
    data = store().tile(name, zoom, col, row)
    if data is None:
        abort(404)
    response = Response(data, mimetype=MVT)
    if data[:2] == b"\x1f\x8b":
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.headers["Content-Encoding"] = "gzip"
        else:
            response.set_data(gzip.decompress(data))
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# Text worth compressing: a map page's scripts, JSON and HTML shrink to about a quarter, which is
# what keeps a phone's first view small. Tiles are stored compressed and skip this.
COMPRESSIBLE = frozenset({"application/json", "application/geo+json", "text/html", "text/css",
                          "text/javascript", "application/javascript"})
MIN_COMPRESS_BYTES = 1024


def compress(response: Response) -> Response:
    """gzip a whole (not streamed) text answer for clients that accept it."""
    if (response.status_code != 200 or response.mimetype not in COMPRESSIBLE
            or "Content-Encoding" in response.headers
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or (response.is_streamed and not response.direct_passthrough)):  # generators stream
        return response
    response.direct_passthrough = False  # static files: read them to compress them
    data = response.get_data()
    if len(data) < MIN_COMPRESS_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(compress)

    @app.context_processor
    def _basemap() -> dict:
        return {"basemap": basemap_config}


@bp.get("/api/v1/map")
def view() -> Response:
    """The listings in a map view: points, or counts per grid cell at low zooms.
    ---
    get:
      parameters:
        - {name: bbox, in: query, required: true, description: "minLon,minLat,maxLon,maxLat",
           schema: {type: string}}
        - {name: zoom, in: query, required: true, description: "the map's zoom, 0-22",
           schema: {type: integer, minimum: 0}}
        - {name: list, in: query, description: "also the N listings nearest the view's centre",
           schema: {type: integer, minimum: 0}}
        - {name: category, in: query, description: "category ids, comma-separated",
           schema: {type: string}}
        - {name: tag, in: query, description: "suitability tags, all required",
           schema: {type: string}}
      responses:
        200:
          description: GeoJSON features (points or grid cells) and, if asked, a list
          content:
            application/json:
              schema: {type: object}
    """
    found = view_features(get_session(), forms.map_view(request.args.to_dict()),
                          now=utcnow(), include_private=include_private())
    return jsonify(found)
