"""Web layer: thin views per audience, one error handler, auth and CSRF."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from .. import vocab
from ..freshness import STATE_LABELS

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    from . import api, auth, connector, errors, freshness_api, organiser, oruk, public, suggest
    from .coordinator import bp as coordinator_bp
    from .handoffs import bp as handoffs_bp

    csrf.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(coordinator_bp)
    app.register_blueprint(connector.bp)
    suggest.init_app(app)
    app.register_blueprint(organiser.bp)
    app.register_blueprint(freshness_api.bp)
    app.register_blueprint(oruk.bp)
    app.register_blueprint(handoffs_bp)

    @app.context_processor
    def _vocabulary() -> dict:
        return {"CATEGORY_LABELS": vocab.CATEGORY_LABELS, "TAG_LABELS": vocab.TAG_LABELS,
                "STATE_LABELS": STATE_LABELS}

    @app.after_request
    def _security_headers(response):
        # The app serves every asset itself: a strict policy keeps pages from loading or
        # sending anything elsewhere, and stops injected scripts from running.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
