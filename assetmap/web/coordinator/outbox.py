"""/coordinator/outbox: messages not delivered (retry or cancel), waiting, and recently sent."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from assetmap.community import outbox as mail
from assetmap.coordination import outbox as svc
from assetmap.db import get_session
from assetmap.errors import ValidationError
from assetmap.freshness import due
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp


@bp.get("/outbox")
@role_required("coordinator")
def outbox():
    now = due.clock(current_app.config)
    return render_template("coordinator/outbox.html", view=svc.load(get_session()), now=now,
                           reason=mail.reason, kinds=svc.KIND_WORDS,
                           statuses=svc.STATUS_WORDS,
                           next_try=lambda message: mail.next_try(message, now))


@bp.post("/outbox/<int:message_id>")
@role_required("coordinator")
def outbox_action(message_id: int):
    session = get_session()
    message = svc.get(session, message_id)
    action = request.form.get("action") or ""
    if action == "retry":
        said = svc.retry(session, message, current_app.config,
                         now=due.clock(current_app.config))
    elif action == "cancel":
        said = svc.cancel(session, message, now=due.clock(current_app.config))
    else:
        raise ValidationError("action", "nothing was chosen: use Retry now or Cancel")
    session.commit()
    flash(said)
    return redirect(url_for("coordinator.outbox"))
