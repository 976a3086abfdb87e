"""Web layer: thin views per audience, one error handler, auth and CSRF."""

from __future__ import annotations

from flask import Flask

from assetmap import vocab
from assetmap.freshness.rules import STATE_LABELS, STATE_SYMBOLS
from assetmap.web import (
    api,
    auth,
    connector,
    errors,
    freshness_api,
    inputs,
    organiser,
    oruk,
    place,
    public,
    suggest,
)
from assetmap.web import maps as maps_web
from assetmap.web.account import bp as account_bp
from assetmap.web.coordinator import bp as coordinator_bp
from assetmap.web.extensions import csrf
from assetmap.web.handoffs import bp as handoffs_bp
from assetmap.web.opendata import bp as opendata_bp


def init_app(app: Flask) -> None:
    inputs.init_app(app)  # first: the id converter must exist before routes are added
    csrf.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(coordinator_bp)
    app.register_blueprint(connector.bp)
    suggest.init_app(app)
    place.init_app(app)
    app.register_blueprint(organiser.bp)
    app.register_blueprint(freshness_api.bp)
    app.register_blueprint(oruk.bp)
    maps_web.init_app(app)
    app.register_blueprint(opendata_bp)
    app.register_blueprint(handoffs_bp)

    @app.context_processor
    def _vocabulary() -> dict:
        return {"CATEGORY_LABELS": vocab.CATEGORY_LABELS, "TAG_LABELS": vocab.TAG_LABELS,
                "STATUS_LABELS": vocab.STATUS_LABELS,
                "NEED_LABELS": vocab.NEED_LABELS,
                "STATE_LABELS": STATE_LABELS, "STATE_SYMBOLS": STATE_SYMBOLS}

    @app.after_request
    def _security_headers(response):
        # The app serves every asset itself: a strict policy keeps pages from loading or
        # sending anything elsewhere, and stops injected scripts from running.
        # A deployment's own external tile server (TILE_URL) is the one other host allowed.
        tiles = maps_web.external_origin()
        extra = f" {tiles}" if tiles else ""
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; img-src 'self' data:{extra}; style-src 'self'; "
            f"script-src 'self'; connect-src 'self'{extra}; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
