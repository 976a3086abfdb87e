"""The moderation queue: community suggestions and review items, decided by coordinators.

Routes live on the coordinator blueprint. The queue's count is offered to every template (as a
function, so it is only counted where the navigation shows it to a coordinator).
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from assetmap import vocab
from assetmap.community import moderation
from assetmap.community import outbox as mail
from assetmap.community.organiser import send_organiser_check
from assetmap.db import get_session
from assetmap.errors import AssetMapError, Conflict, NotFound, ValidationError
from assetmap.listings.changes import Actor, get_activity
from assetmap.models import utcnow
from assetmap.params import as_id
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp


def _actor() -> Actor:
    return Actor("user", current_user.email, user_id=current_user.id)


@bp.app_context_processor
def _moderation_count() -> dict:
    def count() -> int | None:
        try:
            return moderation.pending_count(get_session())
        except (SQLAlchemyError, AssetMapError):  # never let the nav break an error page
            return None

    return {"moderation_count": count}


def _queue_page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    queue = moderation.load_queue(get_session())
    page = render_template("coordinator/suggestions.html", queue=queue, errors=errors or {},
                           values=values or {}, categories=vocab.CATEGORIES,
                           describe=moderation.describe_value)
    return page, status


def _back(anchor: str = ""):
    return redirect(url_for("coordinator.suggestions_queue") + anchor, 303)


@bp.get("/suggestions")
@role_required("coordinator")
def suggestions_queue():
    return _queue_page()


@bp.post("/suggestions/<int:suggestion_id>/approve")
@role_required("coordinator")
def suggestion_approve(suggestion_id: int):
    session = get_session()
    suggestion = moderation.get_suggestion(session, suggestion_id)
    category = request.form.get("category") or None
    if category and category not in vocab.CATEGORY_IDS:
        return _queue_page({f"s{suggestion_id}": {"category": "choose a kind from the list"}},
                           status=400)
    try:
        activity = moderation.approve(session, suggestion, _actor(), category=category,
                                      data_dir=current_app.config["DATA_DIR"])
    except Conflict as exc:
        flash(str(exc))
        return _back()
    session.commit()
    flash(f"Approved: “{activity.name}” is now listing {activity.id}, on the map.")
    return _back()


@bp.route("/suggestions/<int:suggestion_id>/merge/<int:activity_id>",
          methods=["GET", "POST"])
@role_required("coordinator")
def suggestion_merge(suggestion_id: int, activity_id: int):
    session = get_session()
    suggestion = moderation.get_suggestion(session, suggestion_id)
    activity = get_activity(session, activity_id)
    if request.method == "POST":
        try:
            records = moderation.merge(session, suggestion, activity,
                                       request.form.getlist("use"), _actor(),
                                       data_dir=current_app.config["DATA_DIR"],
                                       checked=request.form.get("checked") == "yes")
        except Conflict as exc:
            flash(str(exc))
            return _back()
        session.commit()
        changed = sorted({r.field for r in records})
        flash(f"Merged {suggestion.reference} into “{activity.name}”: "
              + (", ".join(changed) if changed else "no field changed, listing confirmed")
              + ".")
        return _back()
    rows = moderation.proposal_rows(activity, moderation.proposal_from_suggestion(suggestion))
    return render_template("coordinator/suggestions_merge.html", suggestion=suggestion,
                           activity=activity, rows=rows)


@bp.post("/suggestions/<int:suggestion_id>/reject")
@role_required("coordinator")
def suggestion_reject(suggestion_id: int):
    session = get_session()
    suggestion = moderation.get_suggestion(session, suggestion_id)
    reason = request.form.get("reason", "")
    try:
        moderation.reject(session, suggestion, _actor(), reason)
    except Conflict as exc:
        flash(str(exc))
        return _back()
    except ValidationError as exc:
        return _queue_page({f"s{suggestion_id}": {exc.field: exc.message}},
                           {f"s{suggestion_id}": {"reason": reason}}, status=400)
    session.commit()
    flash(f"Rejected {suggestion.reference}.")
    return _back()


@bp.post("/review/<int:item_id>")
@role_required("coordinator")
def review_resolve(item_id: int):
    session = get_session()
    item = moderation.get_review_item(session, item_id)
    note = request.form.get("note", "")
    try:
        done = moderation.resolve_review(session, item, request.form.get("action", ""),
                                         _actor(), note=note, keys=request.form.getlist("use"),
                                         data_dir=current_app.config["DATA_DIR"])
    except Conflict as exc:
        flash(str(exc))
        return _back()
    except ValidationError as exc:
        session.rollback()
        return _queue_page({f"r{item_id}": {exc.field: exc.message}},
                           {f"r{item_id}": {"note": note}}, status=400)
    session.commit()
    flash(done)
    return _back()


@bp.post("/organiser-check")
@role_required("coordinator")
def organiser_check_send():
    """Send a listing's organiser an "Is this still right?" link (from the queue)."""
    session = get_session()
    raw = request.form.get("activity_id", "").strip()
    if as_id(raw) is None:
        return _queue_page({"send": {"activity_id": "give the listing's number, e.g. 12"}},
                           {"send": {"activity_id": raw}}, status=400)
    try:
        activity = get_activity(session, as_id(raw))  # type: ignore[arg-type]
        message = send_organiser_check(session, activity, current_app.config)
    except (NotFound, ValidationError) as exc:
        session.rollback()
        return _queue_page({"send": {"activity_id": getattr(exc, "message", str(exc))}},
                           {"send": {"activity_id": raw}}, status=400)
    session.commit()
    if message.status == "sent":
        flash(f"Sent “Is this still right?” for “{activity.name}” to {message.to_address}.")
    else:
        flash(mail.delivery_words(message, now=utcnow()))
    return _back()
