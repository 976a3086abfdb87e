"""One error handler: JSON for API clients, a page for browsers, after rolling back."""

from __future__ import annotations

from flask import Flask, Response, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from assetmap.errors import AssetMapError, ValidationError


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/oruk/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > (
        request.accept_mimetypes["text/html"])


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def error_response(status: int, body: dict) -> Response:
    _rollback()
    if wants_json():
        response = jsonify(body)
    else:
        response = Response(render_template("error.html", status=status, error=body))
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError):
        return error_response(400, exc.to_dict())

    @app.errorhandler(AssetMapError)
    def _domain(exc: AssetMapError):
        return error_response(exc.status_code, {"error": type(exc).__name__.lower(),
                                                "message": str(exc)})

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(400, {"error": "csrf", "field": "csrf_token",
                                    "message": "The form expired or was not sent from this "
                                               "site. Reload the page and try again."})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        response = error_response(exc.code or 500, {
            "error": exc.name.lower().replace(" ", "-"), "message": exc.description})
        # Keep the exception's own headers (Allow on a 405, WWW-Authenticate, Retry-After).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
