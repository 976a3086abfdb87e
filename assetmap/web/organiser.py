"""The organiser's pages, reached from the personal link in an "Is this still right?" e-mail.

The token travels in the query string (GET) or a hidden field (POST), never in the path, so
access logs, which record paths only, never hold it. Opening a page changes nothing; every
answer is a POST with a CSRF token. A refused link gets a page that says why.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from assetmap.community import organiser as service
from assetmap.community.suggestions import SuggestionInvalid
from assetmap.db import get_session
from assetmap.models import Activity, OrganiserLink
from assetmap.referral.intake import INTAKE_LABELS

bp = Blueprint("organiser", __name__, url_prefix="/organiser")


@bp.after_request
def _private(response: Response) -> Response:
    # Personal pages: not kept by shared caches or browsers, not indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.errorhandler(service.LinkRefused)
def _refused(exc: service.LinkRefused):
    get_session().rollback()
    return render_template("organiser/refused.html", reason=exc.reason), exc.status_code


def _link() -> tuple[OrganiserLink, Activity, str]:
    token = request.values.get("token", "")
    session = get_session()
    link = service.open_link(session, token, current_app.config)
    activity = session.get(Activity, link.activity_id)
    assert activity is not None
    return link, activity, token


@bp.get("/check")
def check():
    link, activity, token = _link()
    return render_template("organiser/check.html", activity=activity, link=link, token=token,
                           summary=service.listing_summary(activity),
                           INTAKE_LABELS=INTAKE_LABELS)


@bp.post("/confirm")
def confirm():
    link, activity, _token = _link()
    service.confirm(get_session(), link, intake=request.form.get("intake"))
    get_session().commit()
    return render_template("organiser/done.html", answer="confirmed", activity=activity)


@bp.route("/changes", methods=["GET", "POST"])
def changes():
    link, activity, token = _link()
    if request.method == "GET":
        return render_template("organiser/changes.html", activity=activity, token=token,
                               values=service.change_form_values(activity), errors={})
    try:
        service.propose_changes(get_session(), link, request.form,
                                data_dir=current_app.config["DATA_DIR"])
    except SuggestionInvalid as exc:
        get_session().rollback()
        return render_template("organiser/changes.html", activity=activity, token=token,
                               values=request.form, errors=exc.errors), 400
    get_session().commit()
    return render_template("organiser/done.html", answer="changed", activity=activity)


@bp.route("/stopped", methods=["GET", "POST"])
def stopped():
    link, activity, token = _link()
    if request.method == "GET":
        return render_template("organiser/stopped.html", activity=activity, token=token)
    service.report_stopped(get_session(), link, request.form.get("note"))
    get_session().commit()
    return render_template("organiser/done.html", answer="stopped", activity=activity)
