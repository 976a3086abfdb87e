"""/coordinator/coverage: where the community offer is thin, ward by ward.

`assetmap.coverage` (numpy, the walking network) is imported by the views that use it, so
starting the app stays cheap."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.exceptions import NotFound
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from assetmap import vocab
from assetmap.coverage import gaps as cov
from assetmap.db import get_session
from assetmap.errors import ValidationError
from assetmap.freshness import due
from assetmap.maps import share
from assetmap.models import Area
from assetmap.walking.service import walking_service
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp

SORTS = {"ward": lambda r: r.ward.lower(), "share": lambda r: r.share,
         "streets": lambda r: r.street_m}


class RecomputeForm(FlaskForm):
    minutes = IntegerField("Walking minutes", validators=[
        InputRequired("Give the walk in whole minutes"),
        NumberRange(1, 60, "Give between 1 and 60 minutes")])


def _minutes(stored: list[int]) -> int:
    default = int(current_app.config["COVERAGE_MINUTES"])
    raw = (request.args.get("minutes") or "").strip()
    if not raw:
        return default if default in stored or not stored else stored[0]
    if not raw.isdigit() or not 1 <= int(raw) <= 60:
        raise ValidationError("minutes", "give a whole number of minutes from 1 to 60")
    return int(raw)


def _category() -> str | None:
    raw = (request.args.get("category") or "").strip()
    if raw and raw not in vocab.CATEGORY_IDS:
        raise ValidationError("category", f"unknown category {raw!r}",
                              allowed=sorted(vocab.CATEGORY_IDS))
    return raw or None


def _page(form: RecomputeForm, status: int = 200):
    session = get_session()
    stored = cov.stored_minutes(session)
    minutes = _minutes(stored)
    category = _category()
    sort = request.args.get("sort", "share")
    if sort not in SORTS:
        raise ValidationError("sort", f"cannot sort by {sort!r}", allowed=list(SORTS))
    order = request.args.get("order", "asc")
    if order not in ("asc", "desc"):
        raise ValidationError("order", "use asc or desc", allowed=["asc", "desc"])
    rows = sorted(cov.results(session, minutes=minutes, category=category), key=SORTS[sort],
                  reverse=order == "desc")
    keep: dict[str, Any] = {k: v for k, v in {"minutes": minutes, "category": category}.items()
                            if v}

    def sort_link(column: str) -> str:
        flip = "desc" if sort == column and order == "asc" else "asc"
        return url_for("coordinator.coverage", **keep, sort=column, order=flip)

    if form.minutes.data is None:
        form.minutes.data = minutes
    return render_template(
        "coordinator/coverage.html", rows=rows, minutes=minutes, stored=stored,
        category=category, categories=vocab.CATEGORIES, sort=sort, order=order,
        sort_link=sort_link, keep=keep, form=form,
        gaps=cov.worst_gaps(session, minutes=minutes),
        computed_at=cov.last_computed(session),
        wards=session.execute(select(Area.name, Area.code).where(Area.kind == "ward",
                                                                 Area.retired.is_(False))
                              .order_by(Area.name)).all()), status


@bp.get("/coverage")
@role_required("coordinator")
def coverage():
    return _page(RecomputeForm(formdata=None))


@bp.post("/coverage")
@role_required("coordinator")
def coverage_recompute():
    """Recompute now (a few seconds for a borough), then show the result."""
    form = RecomputeForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    session = get_session()
    done = cov.run(session, walking_service(current_app).registry,
                   now=due.clock(current_app.config), minutes=form.minutes.data)
    session.commit()
    wards = len({r.area_id for r in done.results})
    message = f"Coverage recomputed for {wards} wards at {done.minutes} minutes' walk."
    if done.skipped:
        message += (" No walking network covers: " + ", ".join(done.skipped)
                    + " (build one with 'assetmap network build').")
    flash(message)
    return redirect(url_for("coordinator.coverage", minutes=done.minutes,
                            category=request.args.get("category") or None))


@bp.get("/coverage/wards.json")
@role_required("coordinator")
def coverage_wards() -> Response:
    """Wards shaded by the share of their streets NOT within the walk (the gap)."""
    session = get_session()
    minutes = _minutes(cov.stored_minutes(session))
    rows = {r.area_id: r for r in cov.results(session, minutes=minutes, category=_category())}
    shapes = session.execute(select(Area.id, Area.name, Area.geom.ST_AsGeoJSON())
                             .where(Area.kind == "ward", Area.retired.is_(False))).all()
    features = []
    for area_id, name, geo in shapes:
        row = rows.get(area_id)
        features.append({"type": "Feature", "id": area_id, "geometry": json.loads(geo),
                         "properties": {
                             "name": name, "total": 1 if row else 0,
                             "share": round(1 - row.share, 4) if row else 0,
                             "label": row.sentence if row else "not computed"}})
    return Response(json.dumps({"type": "FeatureCollection", "features": features}),
                    mimetype="application/json")


@bp.get("/wards/<code>/map")
@role_required("coordinator")
def ward_map_file(code: str) -> Response:
    """One ward's map as a single HTML file to e-mail (opens offline; `assetmap.maps.share`)."""
    session = get_session()
    area = share.find_ward(session, code)
    if area is None:
        raise NotFound("There is no ward with that code. Choose a ward on the coverage page.")
    made = share.ward_file(session, area, now=due.clock(current_app.config),
                           registry=walking_service(current_app).registry,
                           config=current_app.config)
    return Response(made.html, mimetype="text/html", headers={
        "Content-Disposition": f'attachment; filename="{made.file_name}"'})
