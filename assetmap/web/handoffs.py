"""Hand-offs and unmet needs: the connector's "let the group know", their hand-off list and
"how did it go", the organiser's one-click answer, "Nothing suitable", and the coordinators'
counts. Views are thin over `assetmap.handoffs`.

The organiser's token travels in the query string or a hidden field, never in the path (access
logs record paths only). The "Nothing suitable" form carries a ward code, needs, interests,
day and time: never the search's postcode or point.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from assetmap import vocab
from assetmap.connector.session import SearchForm, SearchOutcome
from assetmap.db import get_session
from assetmap.errors import NotFound, ValidationError
from assetmap.handoffs import service as svc
from assetmap.handoffs import unmet
from assetmap.handoffs.privacy import IdentifiersFound
from assetmap.handout.model import session_words
from assetmap.listings.serialize import activity_to_dict
from assetmap.models import Activity, utcnow
from assetmap.params import int_param
from assetmap.walking.service import walking_service
from assetmap.web.auth import role_required

bp = Blueprint("handoffs", __name__)

CONNECTORS = ("connector", "coordinator")
MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id from a URL would be a 500 there


@bp.before_request
def _ids_in_range() -> None:
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound("There is nothing with that number.")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# -- helpers for the connector's existing pages (one include line each) ----------------------

@bp.app_context_processor
def _helpers() -> dict:
    return {"handoff_panel": handoff_panel, "near_miss_panel": near_miss_panel,
            "HANDOFF_ANSWERS": svc.ANSWERS, "HANDOFF_OUTCOMES": svc.OUTCOMES}


def handoff_panel(activity_id: int) -> dict:
    """Word of mouth and this connector's hand-offs for the listing page's partial."""
    session = get_session()
    now = utcnow()
    said = svc.outcomes_by_listing(session, [activity_id], now=now).get(activity_id)
    mine = (svc.handoffs_of(session, current_user, current_app.config,
                            activity_id=activity_id, now=now, limit=5)
            if current_user.is_authenticated else [])
    return {"words": said.words() if said else None, "mine": mine}


def near_miss_panel(outcome: SearchOutcome, form: SearchForm) -> dict | None:
    """Near misses and the "Nothing suitable" form, for a search with few fitting matches."""
    if outcome.result is None or outcome.errors:
        return None
    if len(unmet.fitting(outcome)) >= unmet.HANDFUL:
        return None
    session = get_session()
    misses = unmet.near_misses(session, walking_service(current_app), outcome,
                               data_dir=current_app.config["DATA_DIR"], now=utcnow())
    return {"misses": misses, "form": unmet.unmet_form(session, form, outcome),
            "fitting": len(unmet.fitting(outcome))}


# -- let the group know ----------------------------------------------------------------------

def _send_page(activity: Activity, *, message: str = "", hint: str = "",
               errors: dict | None = None, status: int = 200) -> Response:
    data = activity_to_dict(activity, now=utcnow(), sessions=5)
    sessions = [session_words(s) for s in data["next_sessions"]]
    return _no_store(make_response(render_template(
        "handoffs/send.html", activity=activity, sessions=sessions, message=message,
        hint=hint, errors=errors or {}, max_message=svc.MAX_MESSAGE), status))


@bp.route("/connector/activities/<int:activity_id>/let-them-know", methods=["GET", "POST"])
@role_required(*CONNECTORS)
def send(activity_id: int) -> ResponseReturnValue:
    session = get_session()
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    if request.method == "GET":
        return _send_page(activity)
    form = request.form
    hint = form.get("session", "")
    try:
        handoff = svc.send_handoff(session, activity_id, current_user, current_app.config,
                                   message=form.get("message"), session_hint=hint)
    except IdentifiersFound as exc:
        session.rollback()
        return _send_page(activity, message=exc.suggestion, hint=hint,
                          errors={"message": exc.message}, status=400)
    except ValidationError as exc:
        session.rollback()
        return _send_page(activity, message="", hint=hint,
                          errors={exc.field: exc.message}, status=400)
    session.commit()
    flash(f"Sent to the group. Your reference is {handoff.reference}: you can note it in "
          "your own records. Their answer will show here and in your hand-offs.")
    return redirect(url_for("connector.activity", activity_id=activity_id) + "#handoffs")


# -- the connector's hand-offs ---------------------------------------------------------------

@bp.get("/connector/handoffs")
@role_required(*CONNECTORS)
def mine() -> Response:
    views = svc.handoffs_of(get_session(), current_user, current_app.config)
    return _no_store(make_response(render_template(
        "handoffs/mine.html", due=[v for v in views if v.due],
        others=[v for v in views if not v.due],
        weeks=svc.follow_up_days(current_app.config) // 7)))


@bp.post("/connector/handoffs/<int:handoff_id>/outcome")
@role_required(*CONNECTORS)
def outcome(handoff_id: int) -> ResponseReturnValue:
    session = get_session()
    done = svc.record_outcome(session, handoff_id, current_user,
                              request.form.get("outcome", ""))
    session.commit()
    assert done.outcome is not None  # record_outcome just set it
    flash(f"Saved: {svc.OUTCOMES[done.outcome].lower()} ({done.reference}). Thank you.")
    return redirect(url_for("handoffs.mine"))


# -- nothing suitable ------------------------------------------------------------------------

@bp.post("/connector/nothing-suitable")
@role_required(*CONNECTORS)
def nothing_suitable() -> ResponseReturnValue:
    form = request.form
    session = get_session()
    unmet.record_unmet(session, ward=form.get("ward"), needs=form.getlist("needs"),
                       interests=form.getlist("interests"), day=form.get("day"),
                       time_of_day=form.get("time"), now=utcnow())
    session.commit()
    flash("Recorded: nothing suitable. Coordinators see these counted by ward to find where "
          "groups are needed. Nothing about the client was kept.")
    return redirect(url_for("connector.search"))


# -- the organiser's answer ------------------------------------------------------------------

@bp.errorhandler(svc.AnswerRefused)
def _refused(exc: svc.AnswerRefused):
    get_session().rollback()
    return _no_store(make_response(render_template(
        "handoffs/refused.html", reason=exc.reason), exc.status_code))


@bp.route("/group/answer/<int:activity_id>", methods=["GET", "POST"])
def answer(activity_id: int) -> Response:
    session = get_session()
    token = request.values.get("token", "")
    handoff = svc.open_answer(session, activity_id, token, current_app.config,
                              for_answer=request.method == "POST")
    activity = session.get(Activity, activity_id)
    if request.method == "GET":
        response = make_response(render_template(
            "handoffs/answer.html", activity=activity, handoff=handoff, token=token))
    else:
        svc.record_answer(session, handoff, request.form.get("answer", ""))
        session.commit()
        response = make_response(render_template(
            "handoffs/answered.html", activity=activity, handoff=handoff))
    response.headers["X-Robots-Tag"] = "noindex"
    return _no_store(response)


# -- coordinators ------------------------------------------------------------------------------

def _year() -> int:
    return int_param(request.args.get("year"), "year", default=utcnow().year, low=2000,
                     high=2100)


def _bounds(year: int) -> tuple[datetime, datetime]:
    start = utcnow().replace(year=year, month=1, day=1, hour=0, minute=0, second=0,
                             microsecond=0)
    return start, start.replace(year=year + 1)


@bp.get("/coordinator/handoffs")
@role_required("coordinator")
def coordinator_outcomes() -> Response:
    year = _year()
    since, until = _bounds(year)
    session = get_session()
    rows = svc.outcomes_by_category(session, since=since, until=until)
    return make_response(render_template(
        "handoffs/coordinator_outcomes.html", rows=rows, year=year,
        answered=svc.answered_by_category(session, since=since, until=until)))


@bp.get("/coordinator/handoffs.csv")
@role_required("coordinator")
def coordinator_outcomes_csv() -> Response:
    year = _year()
    since, until = _bounds(year)
    session = get_session()
    rows = svc.csv_rows(svc.outcomes_by_category(session, since=since, until=until),
                        svc.answered_by_category(session, since=since, until=until))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(svc.CSV_HEADER)
    writer.writerows(rows)
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="hand-off-outcomes-{year}.csv"')
    return response


@bp.get("/coordinator/unmet")
@role_required("coordinator")
def coordinator_unmet() -> Response:
    months = int_param(request.args.get("months"), "months", default=12, low=1, high=60)
    today = utcnow().date()
    since = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    rows = unmet.unmet_summary(get_session(), since=since, until=today + timedelta(days=1))
    return make_response(render_template(
        "handoffs/coordinator_unmet.html", rows=rows, months=months, since=since,
        categories=vocab.CATEGORIES))


def unmet_teaser(limit: int = 5) -> list[unmet.UnmetRow]:
    """The biggest unmet searches of the last three months, for the coverage page."""
    today = utcnow().date()
    since = date(today.year, today.month, 1) - timedelta(days=62)
    return unmet.unmet_summary(get_session(), since=since.replace(day=1),
                               until=today + timedelta(days=1))[:limit]


@bp.app_context_processor
def _coverage_helpers() -> dict:
    return {"unmet_teaser": unmet_teaser}
