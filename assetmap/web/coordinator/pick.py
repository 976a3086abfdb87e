"""/coordinator/find-listing: pick a listing by name or venue for an organiser check or as
the listing a suggestion merges into."""

from __future__ import annotations

from flask import render_template, request

from assetmap.community import moderation
from assetmap.coordination import pick
from assetmap.db import get_session
from assetmap.errors import ValidationError
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp

PURPOSES = {"organiser-check": "Ask an organiser to check a listing",
            "merge": "Choose the listing to merge the suggestion into"}
MAX_ID = 2**31 - 1


@bp.get("/find-listing")
@role_required("coordinator")
def find_listing():
    session = get_session()
    purpose = request.args.get("for") or "organiser-check"
    if purpose not in PURPOSES:
        raise ValidationError("for", "unknown purpose", allowed=list(PURPOSES))
    suggestion = None
    if purpose == "merge":
        raw = request.args.get("suggestion") or ""
        if not raw.isdigit() or int(raw) > MAX_ID:
            raise ValidationError("suggestion", "choose a suggestion from the queue")
        suggestion = moderation.get_suggestion(session, int(raw))
    query = request.args.get("q")
    found, error = [], None
    if query is not None:
        try:
            found = pick.search(session, query)
        except ValidationError as exc:
            error = exc.message
    return render_template("coordinator/find_listing.html", purpose=purpose,
                           title=PURPOSES[purpose], suggestion=suggestion, query=query or "",
                           found=found, error=error), 400 if error else 200
