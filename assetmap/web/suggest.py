"""Suggest a group: the public form at /suggest, and POST /api/v1/suggestions for partners.

Both accept the same suggestion and share one rate limit per client address, counted in
Flask-Limiter's storage (RATELIMIT_STORAGE_URI: memory:// for one process, Redis for several
workers). Only accepted suggestions count, so a person correcting a typo loses nothing; the
count is taken atomically, so parallel requests cannot slip past it. The form carries two spam
traps; the JSON API (for partner sites, which send on their users' behalf) only the limit.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse as parse_rate
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from assetmap import vocab
from assetmap.community.suggestions import (
    API_FIELDS,
    FILL_TOKEN_FIELD,
    FREQUENCIES,
    HONEYPOT_FIELD,
    LIMITS,
    WEEKS_OF_MONTH,
    SuggestionInvalid,
    cut_to_limits,
    fill_token,
    parse_api,
    parse_form,
    seconds_to_fill,
    submit,
    to_api,
    trapped,
)
from assetmap.db import get_session
from assetmap.errors import ConfigError, ValidationError
from assetmap.schedule import DAY_CODES, DAY_NAMES, LONDON
from assetmap.values import size_words
from assetmap.web.errors import error_response, wants_json
from assetmap.web.extensions import csrf
from assetmap.web.inputs import received_form

bp = Blueprint("suggest", __name__)
LIMITER = "assetmap.suggest_limiter"
_REFERENCE = re.compile(r"^S-[A-Z0-9]{4}-[A-Z0-9]{4}$")


def init_app(app: Flask) -> None:
    """Register the routes and a rate limiter reading RATELIMIT_* from the app's config."""
    try:
        parse_rate(app.config["SUGGEST_RATE_LIMIT"])
    except ValueError:
        raise ConfigError(f"ASSETMAP_SUGGEST_RATE_LIMIT {app.config['SUGGEST_RATE_LIMIT']!r} "
                          "is not a rate; write e.g. '5 per hour' or '20/day'") from None
    limiter = Limiter(get_remote_address, strategy="moving-window")
    limiter.init_app(app)
    app.extensions[LIMITER] = limiter
    csrf.exempt(api_create)  # partner sites post JSON without a session; rate limited instead
    app.register_blueprint(bp)


def _wait_seconds() -> int | None:
    """Count one accepted suggestion for this address: None if allowed, else seconds to wait."""
    limiter: Limiter | None = current_app.extensions.get(LIMITER)
    if limiter is None or not limiter.enabled:
        return None
    item = parse_rate(current_app.config["SUGGEST_RATE_LIMIT"])
    scope = (current_app.config.get("RATELIMIT_KEY_PREFIX") or "assetmap", "suggestions",
             get_remote_address())
    try:
        if limiter.limiter.hit(item, *scope):
            return None
        stats = limiter.limiter.get_window_stats(item, *scope)
    except Exception:  # storage down: better a suggestion too many than a person turned away
        current_app.logger.exception("suggestion rate limit storage failed; request accepted")
        return None
    return max(1, math.ceil(stats.reset_time - time.time()))


def _rate_words() -> str:
    item = parse_rate(current_app.config["SUGGEST_RATE_LIMIT"])
    unit = item.GRANULARITY.name
    return f"{item.amount} suggestions per " + (
        unit if item.multiples == 1 else f"{item.multiples} {unit}s")


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> Response:
    """413 that names the limit (the default message does not); the public form comes back
    as the form, filled in with what arrived up to the limit (each box cut to its own limit,
    and marked), with the problem in plain words. Nothing of it is stored."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.method == "POST" and request.path == url_for("suggest.suggest_form") \
            and not wants_json():
        received, cut = received_form(request)
        fields, errors = cut_to_limits(list(received.items(multi=True)), cut)
        form = MultiDict(fields)
        token = form.get(FILL_TOKEN_FIELD)
        secret = current_app.config["SECRET_KEY"]
        return _render(form, errors=errors, notice="too-large", status=413,
                       token=token if seconds_to_fill(secret, token, time.time()) is not None
                       else None, size_words=size_words(limit))
    words = f"{limit} bytes ({size_words(limit)})" if limit else size_words(limit)
    return error_response(413, {"error": "too-large", "limit_bytes": limit,
                                "message": f"The request is larger than the limit of {words}. "
                                           "Shorten the text and send it again."})


# -- the public form -----------------------------------------------------------------------

def _render(form: MultiDict, *, errors: dict[str, str] | None = None,
            token: str | None = None, notice: str | None = None, wait: int | None = None,
            status: int = 200, size_words: str | None = None) -> Response:
    if token is None:
        token = fill_token(current_app.config["SECRET_KEY"], time.time())
    page = render_template(
        "suggest/form.html", form=form, errors=errors or {}, token=token, notice=notice,
        wait_minutes=math.ceil(wait / 60) if wait else None, categories=vocab.CATEGORIES,
        tags=vocab.OFFERED_TAGS, days=[(c, DAY_NAMES[c]) for c in DAY_CODES],
        frequencies=FREQUENCIES, weeks=WEEKS_OF_MONTH, honeypot=HONEYPOT_FIELD,
        token_field=FILL_TOKEN_FIELD, chosen_days=form.getlist("days"),
        chosen_tags=form.getlist("tags"), rate_words=_rate_words(), limits=LIMITS,
        size_words=size_words)
    response = Response(page, status=status)
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


@bp.route("/suggest", methods=["GET", "POST"])
def suggest_form() -> ResponseReturnValue:
    if request.method == "GET":
        return _render(MultiDict())
    form = request.form
    if trapped(form):
        current_app.logger.info("a suggestion filled the honeypot field and was dropped")
        return redirect(url_for(".thanks"), 303)
    secret, now = current_app.config["SECRET_KEY"], time.time()
    token = form.get(FILL_TOKEN_FIELD)
    taken = seconds_to_fill(secret, token, now)
    if taken is None:
        return _render(form, notice="check", status=400)
    if taken < float(current_app.config["SUGGEST_MIN_FILL_SECONDS"]):
        # Keep the original start time: by the time they press Send again it has passed.
        return _render(form, token=token, notice="check", status=400)
    try:
        draft = parse_form(form, days=form.getlist("days"), tags=form.getlist("tags"),
                           data_dir=current_app.config["DATA_DIR"], session=get_session(),
                           today=datetime.now(LONDON).date())
    except SuggestionInvalid as exc:
        return _render(form, errors=exc.errors, token=token, status=400)
    wait = _wait_seconds()
    if wait:
        return _render(form, token=token, notice="rate", wait=wait, status=429)
    session = get_session()
    suggestion = submit(session, draft, channel="web")
    session.commit()
    return redirect(url_for(".thanks", ref=suggestion.reference), 303)


@bp.get("/suggest/thanks")
def thanks() -> str:
    reference = request.args.get("ref", "")
    return render_template("suggest/thanks.html",
                           reference=reference if _REFERENCE.match(reference) else None)


# -- the partner API -----------------------------------------------------------------------

@bp.after_request
def _cors(response: Response) -> Response:
    """Partner pages may post from their visitors' browsers: any origin, no credentials (so
    each visitor is counted by their own address)."""
    if request.endpoint == "suggest.api_create":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.post("/api/v1/suggestions")
def api_create() -> ResponseReturnValue:
    """A community suggestion of a new activity, for coordinators to review.

    201 with a reference; 400 naming every bad field; 413 too large; 429 over the limit.
    ---
    post:
      requestBody:
        required: true
        description: the suggested activity (name, category, schedule, venue...)
        content:
          application/json:
            schema: {type: object}
      responses:
        201: {description: Received; the answer carries a reference}
        413: {description: The body is too large}
        429: {description: Too many suggestions from this address; see Retry-After}
    """
    if not request.is_json:
        raise ValidationError("body", "send a JSON object with Content-Type: application/json",
                              allowed=list(API_FIELDS))
    data = request.get_json(silent=True)
    if data is None:
        raise ValidationError("body", "is not valid JSON", allowed=list(API_FIELDS))
    draft = parse_api(data, data_dir=current_app.config["DATA_DIR"], session=get_session(),
                      today=datetime.now(LONDON).date())
    wait = _wait_seconds()
    if wait:
        response = error_response(429, {
            "error": "too-many-requests", "retry_after": wait,
            "message": f"This address has sent the most suggestions allowed "
                       f"({_rate_words()}); try again in {wait} seconds."})
        response.headers["Retry-After"] = str(wait)
        return response
    session = get_session()
    suggestion = submit(session, draft, channel="api")
    session.commit()
    return jsonify(to_api(suggestion)), 201
