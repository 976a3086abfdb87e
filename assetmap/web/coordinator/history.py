"""/coordinator/listings/<id>/history: every change in words, each with "revert to this"."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from assetmap.coordination import history as svc
from assetmap.db import get_session
from assetmap.errors import NotFound, ValidationError
from assetmap.listings.changes import Actor, get_activity
from assetmap.listings.field_words import field_words
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp

MAX_ID = 2**31 - 1


bp.add_app_template_global(field_words, "field_words")


@bp.get("/listings/<int:activity_id>/history")
@role_required("coordinator")
def listing_history(activity_id: int):
    if activity_id > MAX_ID:
        abort(404)
    session = get_session()
    activity = get_activity(session, activity_id)
    return render_template("coordinator/history.html", activity=activity,
                           entries=svc.entries(session, activity_id))


@bp.post("/changes/<int:change_id>/revert")
@role_required("coordinator")
def change_revert(change_id: int):
    session = get_session()
    if change_id > MAX_ID or (activity_id := svc.change_activity(session, change_id)) is None:
        raise NotFound("There is no such change; reload the history.")
    try:
        _, said = svc.revert_change(session, change_id, Actor("user", current_user.email,
                                                              user_id=current_user.id))
    except ValidationError as exc:
        session.rollback()
        said = exc.message[:1].upper() + exc.message[1:] + "; nothing changed."
    else:
        session.commit()
    flash(said)
    return redirect(url_for("coordinator.listing_history", activity_id=activity_id))
