"""The connector's session: search near a client, show, shortlist, print, and word of mouth.

Client data never rests on the server: the search is a GET whose query string the access log
leaves out; routes and handouts are POSTed (the origin travels in the body); the shortlist
lives in the browser's sessionStorage; pages that carry an origin are sent ``no-store``.
"""

from __future__ import annotations

import math
from datetime import datetime
from urllib.parse import parse_qs

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from assetmap import vocab
from assetmap.connector import referral_edit
from assetmap.connector import session as svc
from assetmap.connector import session_search as search_store
from assetmap.connector.pages import referral_choices
from assetmap.db import get_session
from assetmap.errors import NotFound, ValidationError
from assetmap.freshness import assignments
from assetmap.handout.model import session_words
from assetmap.handout.pdf import render_pdf
from assetmap.listings.field_words import field_words
from assetmap.listings.query import activity_with_point
from assetmap.listings.referral import set_referral_fields
from assetmap.listings.serialize import activity_to_dict
from assetmap.models import Activity, utcnow
from assetmap.params import as_id, id_param
from assetmap.values import cost_in_words
from assetmap.walking import PACES
from assetmap.walking.service import walking_service
from assetmap.web import forms
from assetmap.web.api import ATTRIBUTION
from assetmap.web.api import no_store as _no_store
from assetmap.web.auth import role_required
from assetmap.web.errors import wants_json

bp = Blueprint("connector", __name__, url_prefix="/connector")
bp.add_app_template_filter(field_words, "field_words")
bp.add_app_template_filter(svc.why_words, "why_words")

DAYS = (("", "Any day"), ("today", "Today"), ("mon", "Monday"), ("tue", "Tuesday"),
        ("wed", "Wednesday"), ("thu", "Thursday"), ("fri", "Friday"), ("sat", "Saturday"),
        ("sun", "Sunday"))
TIMES = (("", "Any time"), ("morning", "Morning"), ("afternoon", "Afternoon"),
         ("evening", "Evening"))
PACE_LABELS = {"typical": "Typical", "slow": "Slow", "step-free": "Step-free (avoids steps)"}


def _local_path(target: str | None) -> str | None:
    """A same-site path to come back to, or None (never another host)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


@bp.before_request
def _signed_in():
    """An expired sign-in: scripts get a 401 they can explain; a posted form goes back to the
    page it came from after signing in (GET pages are handled by role_required's `next`)."""
    if current_user.is_authenticated:
        return None
    back = _local_path(request.form.get("next")) or url_for("connector.search")
    if wants_json():
        response = jsonify({"error": "signed-out", "message": "Your sign-in has expired. "
                            "Sign in again to carry on.", "login": url_for("auth.login")})
        response.status_code = 401
        return response
    if request.method != "GET":
        return redirect(url_for("auth.login", next=back))
    return None


@bp.context_processor
def _choices() -> dict:
    return {"DAYS": DAYS, "TIMES": TIMES, "PACES": list(PACES), "PACE_LABELS": PACE_LABELS,
            "CATEGORIES": vocab.CATEGORIES, "TAGS": vocab.SUITABILITY_TAGS,
            "NEEDS": vocab.NEEDS,
            "CHECKS": svc.CHECKS, "QUESTIONS": svc.QUESTIONS, "ANSWERS": svc.ANSWERS,
            "attribution": ATTRIBUTION, **referral_choices()}


# -- search ---------------------------------------------------------------------------------

@bp.route("", methods=["GET", "POST"])
@role_required("connector", "coordinator")
def search() -> ResponseReturnValue:
    """The search posts and is shown again from the session cookie after a redirect, so the
    client's postcode is never in the address bar or the history (a GET with a query string
    still works, for links and scripts)."""
    if request.method == "POST":
        search_store.keep(cookie_session, request.form)
        return redirect(url_for("connector.search"), 303)
    args = request.args.to_dict(flat=False) or search_store.recall(cookie_session)
    form = forms.search_form(args)
    outcome = svc.search(get_session(), walking_service(current_app), form,
                         data_dir=current_app.config["DATA_DIR"], now=utcnow())
    page = render_template("connector/search.html", outcome=outcome, form=form,
                           my_checks=assignments.my_checks(get_session(), current_user.id,
                                                           now=utcnow()),
                           map_data=outcome.map_data(), now=utcnow(), ceil=math.ceil,
                           here=request.path)
    return _no_store(make_response(page, 400 if outcome.errors else 200))


@bp.get("/finish")
@role_required("connector", "coordinator")
def finish() -> ResponseReturnValue:
    """"Finish with this client": forget the search (the page clears the shortlist)."""
    search_store.forget(cookie_session)
    return redirect(url_for("connector.search"))


@bp.post("/route")
@role_required("connector", "coordinator")
def route() -> Response:
    """The walk from the search origin (posted, never in a URL) to one listing."""
    data = request.get_json(silent=True) or request.form
    origin = svc.parse_origin(str(data.get("lat", "")), str(data.get("lon", "")), "")
    if origin is None:
        raise ValidationError("lat", "give the starting point as lat and lon")
    activity_id = id_param(data.get("to"), "to", what="activity")
    feature = svc.route_feature(get_session(), walking_service(current_app), origin,
                                activity_id, svc.parse_pace(data.get("pace")))
    return _no_store(jsonify(feature))


# -- shortlist handout ----------------------------------------------------------------------

def _handout():
    form = request.form
    return svc.build_handout(
        get_session(), walking_service(current_app), svc.parse_ids(form.getlist("ids")),
        origin=svc.parse_origin(form.get("lat"), form.get("lon"), form.get("origin_label")),
        pace=svc.parse_pace(form.get("pace")), layout=form.get("layout") or "pages",
        now=utcnow())


@bp.post("/handout")
@role_required("connector", "coordinator")
def handout() -> Response:
    """The print-ready handout (posted: the origin never appears in a URL or a log)."""
    made = _handout()
    return _no_store(make_response(render_template(
        "connector/handout.html", handout=made, fields=request.form)))


@bp.post("/handout.pdf")
@role_required("connector", "coordinator")
def handout_pdf() -> Response:
    response = Response(render_pdf(_handout()), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="activities-handout.pdf"'
    return _no_store(response)


# -- one listing: details, word of mouth, quick edits, report closed ------------------------

def _activity_page(activity_id: int, *, status: int = 200) -> Response:
    session = get_session()
    found = activity_with_point(session, activity_id)
    if found is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    activity, lat, lon = found
    now = utcnow()
    data = activity_to_dict(activity, now=now, lat=lat, lon=lon, include_private=True,
                            sessions=5)
    data["freshness"] = svc.freshness_of(session, activity, data, now)
    said = svc.endorsements(session, [activity_id], now=now, notes=10).get(activity_id)
    page = render_template("connector/activity.html", a=data, endorsement=said, now=now,
                           version=activity.version,
                           shown=referral_edit.referral_values(activity),
                           closed=data["freshness"]["state"] == "possibly-closed",
                           changes=svc.recent_changes(session, activity_id),
                           sessions=[session_words(s, short=True) for s in data["next_sessions"]],
                           cost=cost_in_words(data["cost"]))
    return make_response(page, status)


@bp.get("/activities/<int:activity_id>")
@role_required("connector", "coordinator")
def activity(activity_id: int) -> Response:
    return _activity_page(activity_id)


@bp.post("/activities/<int:activity_id>/checks")
@role_required("connector", "coordinator")
def check(activity_id: int) -> ResponseReturnValue:
    """Word of mouth in two clicks: open the form, press one of the three buttons."""
    session = get_session()
    form = request.form
    kind = form.get("kind", "")
    svc.record_check(session, activity_id, kind, svc.actor_for(current_user),
                     note=form.get("note"), answers={key: form.get(key, "")
                                                     for key, _q in svc.QUESTIONS})
    session.commit()
    message = f"Saved: {svc.CHECKS[kind][1].lower()}. Thank you."
    if wants_json():
        now = utcnow()
        activity = session.get_one(Activity, activity_id)  # record_check found it
        freshness = svc.freshness_of(session, activity, activity_to_dict(activity, now=now),
                                     now)
        said = svc.endorsements(session, [activity_id], now=now).get(activity_id)
        return jsonify({"message": message, "freshness": freshness,
                        "endorsement": said.words(now) if said else [],
                        "why": _why_now(activity_id, form.get("search"), now)})
    flash(message)
    return redirect(_local_path(form.get("next"))
                    or url_for("connector.activity", activity_id=activity_id))


def _why_now(activity_id: int, search: str | None, now: datetime) -> str | None:
    """The result's "why" in the search the check was recorded from: the search kept for
    this session, or the page's own query string (a search opened by a link)."""
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    args = query or search_store.recall(cookie_session)
    if not args:
        return None
    try:
        match = svc.result_now(get_session(), walking_service(current_app),
                               forms.search_form(args), activity_id,
                               data_dir=current_app.config["DATA_DIR"], now=now)
    except ValidationError:  # the search itself is wrong; the page shows why on reload
        return None
    return svc.why_words(match) if match else None


@bp.post("/activities/<int:activity_id>/report-closed")
@role_required("connector", "coordinator")
def report_closed(activity_id: int) -> ResponseReturnValue:
    session = get_session()
    svc.report_closed(session, activity_id, svc.actor_for(current_user),
                      reason=request.form.get("reason"))
    session.commit()
    flash("Thank you. The listing stays on the map marked \"possibly closed\" until a "
          "coordinator confirms.")
    return redirect(url_for("connector.activity", activity_id=activity_id))


def _edit_page(activity: Activity, *, values: dict, base: dict, version: int,
               errors: dict | None = None, status: int = 200) -> Response:
    return make_response(render_template(
        "connector/edit.html", activity=activity, values=values, base=base, version=version,
        errors=errors or {}, fields=svc.EDIT_FIELDS), status)


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@role_required("connector", "coordinator")
def edit(activity_id: int) -> ResponseReturnValue:
    """Quick edits. A save that meets another connector's newer save shows both versions
    and lets the connector merge field by field; nothing typed is lost."""
    session = get_session()
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    if request.method == "GET":
        values = svc.edit_values(activity)
        return _edit_page(activity, values=values, base=values, version=activity.version)
    form: MultiDict = request.form
    version = as_id(form.get("version"))
    if version is None:
        raise ValidationError("version", "the form is incomplete; open the edit page again")
    base = {key: form.get(f"orig_{key}", "") for key in svc.EDIT_KEYS}
    if form.get("merge"):
        mine, missing = svc.merged_values(form)
        if missing:
            original = {key: form.get(f"base_{key}", "") for key in svc.EDIT_KEYS}
            typed = {key: form.get(f"mine_{key}", "") for key in svc.EDIT_KEYS}
            return _conflict_page(activity, svc.describe_conflict(session, activity, original,
                                                                  typed), missing=missing)
    else:
        mine = {key: form.get(key, "") for key in svc.EDIT_KEYS}
    try:
        result = svc.save_quick_edit(session, activity_id, version=version, base=base,
                                     mine=mine, actor=svc.actor_for(current_user),
                                     data_dir=current_app.config["DATA_DIR"])
    except ValidationError as exc:
        session.rollback()
        return _edit_page(activity, values=svc.clean_edit(mine), base=base, version=version,
                          errors=getattr(exc, "errors", None) or {exc.field: exc.message},
                          status=400)
    if result.conflict is not None:
        return _conflict_page(activity, result.conflict)
    session.commit()
    if result.changed:
        flash("Saved. Your change is in the listing's history.")
    else:
        flash("Nothing was changed.")
    return redirect(url_for("connector.activity", activity_id=activity_id))


def _conflict_page(activity: Activity, conflict: svc.EditConflict, *,
                   missing: tuple[str, ...] | list[str] = (), keys: tuple[str, ...] = (),
                   action: str | None = None) -> Response:
    return make_response(render_template(
        "connector/conflict.html", activity=activity, conflict=conflict, missing=set(missing),
        keys=keys or svc.EDIT_KEYS, action=action), 409)


@bp.post("/activities/<int:activity_id>/referral")
@role_required("connector", "coordinator")
def referral(activity_id: int) -> ResponseReturnValue:
    """What a referral needs, as a connector or coordinator knows it. If someone else saved
    any of these fields since the form was opened, nothing is saved: both versions are shown,
    field by field, to merge (as for quick edits)."""
    session = get_session()
    role = "coordinator" if current_user.role in ("coordinator", "admin") else "connector"
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    form: MultiDict = request.form
    action = url_for("connector.referral", activity_id=activity_id)
    shown = referral_edit.shown_from(form)
    if form.get("merge"):
        form, missing = referral_edit.merged_form(request.form)
        if missing:
            conflict = referral_edit.describe(
                session, activity,
                {k: request.form.get(f"base_{k}", "") for k in referral_edit.REFERRAL_KEYS},
                {k: request.form.get(f"mine_{k}", "") for k in referral_edit.REFERRAL_KEYS})
            return _conflict_page(activity, conflict, missing=missing, action=action,
                                  keys=referral_edit.REFERRAL_KEYS)
    if referral_edit.stale(activity, as_id(request.form.get("version")), shown):
        mine = referral_edit.typed_values(session, form, shown)
        return _conflict_page(activity, referral_edit.describe(session, activity, shown, mine),
                              action=action, keys=referral_edit.REFERRAL_KEYS)
    try:
        changed = set_referral_fields(session, activity_id, form,
                                      svc.actor_for(current_user), role=role)
    except ValidationError:
        session.rollback()
        raise
    session.commit()
    if changed:
        flash("Saved. Your change is in the listing's history.")
    elif (form.get("intake") or "").strip():
        flash("Nothing changed; \"taking newcomers\" now says you checked it today.")
    else:
        flash("Nothing was changed.")
    return redirect(url_for("connector.activity", activity_id=activity_id))
