"""/coordinator/freshness: what is going stale, where, and the work queue with bulk actions."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice

from assetmap import vocab
from assetmap.config import PROJECT_ROOT
from assetmap.coordination import actions, trends
from assetmap.db import get_session
from assetmap.errors import ValidationError
from assetmap.freshness import due
from assetmap.freshness import queue as fq
from assetmap.freshness.rules import STATE_LABELS, STATES
from assetmap.models import Area, Source
from assetmap.params import as_id, int_param
from assetmap.people.areas import my_default_area
from assetmap.values import spreadsheet_cell
from assetmap.web import charts, forms
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp

EXPORT_COLUMNS = ("id", "name", "category", "status", "state", "due_at", "overdue",
                  "last_verified_at", "last_verified_method", "reason", "venue", "postcode",
                  "lat", "lon", "area", "contact_email", "contact_phone", "assigned_to",
                  "sources", "url")


class ActionForm(FlaskForm):
    action = RadioField("What to do with the chosen listings", default="phoned",
                        choices=[SelectChoice(k, v) for k, v in actions.ACTIONS.items()])
    note = TextAreaField("Note (what you learned; kept private)")
    # Checked by the service, and only when assigning.
    assignee = SelectField("Connector (to assign to)", validate_choice=False)


def _assignees() -> list[SelectChoice]:
    return [SelectChoice("", "Nobody (unassign)")] + [
        SelectChoice(str(u.id), f"{u.name or u.email} ({u.role})")
        for u in actions.assignable_users(get_session())]


def _filters() -> tuple[fq.QueueFilter, dict[str, Any]]:
    args = {k: v for k, v in request.args.to_dict().items() if v}
    mine = my_default_area(current_user, request.args.get("area"))
    query = {k: v for k, v in args.items() if not (k == "area" and v == "all")}
    if mine is not None:
        query["area"] = str(mine)
    return forms.queue_filter(get_session(), query), args


def _choices() -> dict:
    session = get_session()
    return {
        "wards": session.execute(select(Area.id, Area.name).where(Area.kind == "ward")
                                 .where(Area.retired.is_(False)).order_by(Area.name)).all(),
        "categories": vocab.CATEGORIES,
        "sources": session.execute(select(Source.id, Source.name).order_by(Source.name)).all(),
        "states": [(s, STATE_LABELS[s]) for s in STATES],
        "assigned_choices": fq.ASSIGNED_CHOICES,
        "assignable": [(str(u.id), u.name or u.email)
                       for u in actions.assignable_users(session)],
    }


def _page(form: ActionForm, chosen: set[int], status: int = 200):
    session = get_session()
    now = due.clock(current_app.config)
    flt, args = _filters()
    page, per_page = forms.page_args(args)
    summary = fq.summary(session, flt, now=now)
    queue = fq.queue(session, flt, now=now, page=page, per_page=per_page)
    form.assignee.choices = _assignees()
    filter_args: dict[str, Any] = flt.to_args()
    if flt.area_id is None and request.args.get("area") is not None:
        # Every ward was chosen ("all", or left blank): the map and downloads must not fall
        # back to a coordinator's own ward.
        filter_args["area"] = "all"
    biggest = max(summary["counts"].values()) or 1
    bars = [{"state": s, "label": STATE_LABELS[s], "count": summary["counts"][s],
             "width": round(100 * summary["counts"][s] / biggest, 1),
             "href": url_for("coordinator.freshness", **(filter_args | {"state": s}))}
            for s in STATES]
    weeks = _weeks()
    shown = trends.all_trends(session, now=now, weeks=weeks, rules=due.current_rules())
    return render_template(
        "coordinator/freshness.html", summary=summary, queue=queue, bars=bars, form=form,
        trends=[(t, charts.draw(t)) for t in shown], weeks=weeks,
        week_choices=trends.WEEK_CHOICES,
        trend_url=lambda **extra: url_for("coordinator.freshness", **(args | extra)),
        chosen=chosen, flt=flt, args=args, filter_args=filter_args, now=now,
        map_link=url_for("coordinator.freshness", **{k: v for k, v in filter_args.items()
                                                      if k != "area"}),
        page_url=lambda p: url_for("coordinator.freshness", **(args | {"page": p})),
        with_filter=lambda **extra: url_for("coordinator.freshness", **(filter_args | extra)),
        flashes_in_page=True,  # what an action did shows beside the queue it was taken on
        **_choices()), status


@bp.get("/freshness")
@role_required("coordinator")
def freshness():
    return _page(ActionForm(), set())


@bp.post("/freshness")
@role_required("coordinator")
def freshness_action():
    """Bulk actions; a bad request shows the page again with the choices kept."""
    form = ActionForm()
    session = get_session()
    raw_ids = request.form.getlist("ids")
    chosen = {i for i in map(as_id, raw_ids) if i is not None}
    if not form.validate_on_submit():
        return _page(form, chosen, 400)
    try:
        if not all(as_id(i) for i in raw_ids):
            raise ValidationError("ids", "the chosen listings were not understood; reload the "
                                         "page and choose again")
        done = actions.apply_action(session, chosen, form.action.data or "", user=current_user,
                               config=current_app.config, now=due.clock(current_app.config),
                               note=form.note.data, assignee=form.assignee.data)
    except ValidationError as exc:
        session.rollback()
        field = getattr(form, exc.field, None)
        if field is not None:
            field.errors = [*field.errors, exc.message]
        else:
            form.form_errors.append(exc.message[:1].upper() + exc.message[1:] + ".")
        return _page(form, chosen, 400)
    session.commit()
    flash(done)
    query = urlencode({k: v for k, v in request.args.items() if v})
    return redirect(url_for("coordinator.freshness") + (f"?{query}" if query else "")
                    + "#queue")


@bp.get("/freshness/wards.json")
@role_required("coordinator")
def freshness_wards() -> Response:
    flt, _args = _filters()
    return Response(json.dumps(fq.ward_map(get_session(), flt,
                                           now=due.clock(current_app.config))),
                    mimetype="application/json")


def _cell(value: object) -> object:
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    return "" if value is None else spreadsheet_cell(value)


@bp.get("/freshness/queue.csv")
@role_required("coordinator")
def freshness_csv() -> Response:
    flt, _args = _filters()
    items = fq.queue_items(get_session(), flt, now=due.clock(current_app.config))

    def rows():
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for item in items:
            writer.writerow([_cell(item[c]) for c in EXPORT_COLUMNS])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    return Response(stream_with_context(rows()), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=freshness-queue.csv"})


@bp.get("/freshness/queue.geojson")
@role_required("coordinator")
def freshness_geojson() -> Response:
    flt, _args = _filters()
    items = fq.queue_items(get_session(), flt, now=due.clock(current_app.config))
    features = [{"type": "Feature", "id": item["id"],
                 "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]}
                 if item["lat"] is not None else None,
                 "properties": {k: v for k, v in item.items() if k not in ("lat", "lon")}}
                for item in items]
    return Response(json.dumps({"type": "FeatureCollection", "features": features}),
                    mimetype="application/geo+json", headers={
                        "Content-Disposition": "attachment; filename=freshness-queue.geojson"})


def _weeks() -> int:
    return int_param(request.args.get("weeks"), "weeks", default=trends.DEFAULT_WEEKS, low=4,
                     high=trends.MAX_WEEKS)


@bp.get("/freshness/trends/<any(fresh, checks, suggestions, feeds):key>.csv")
@role_required("coordinator")
def freshness_trend_csv(key: str) -> Response:
    """The figures behind one trend chart, a row per week."""
    trend = trends.trend(get_session(), key, now=due.clock(current_app.config), weeks=_weeks(),
                         rules=due.current_rules())
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [_cell(value) for value in row] for row in trends.csv_rows(trend))
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=trend-{key}.csv"})


@bp.get("/freshness/rules")
@role_required("coordinator")
def freshness_rules():
    """docs/FRESHNESS.md, the rules in plain words (a file in the repository, not user text)."""
    import markdown

    text = (Path(PROJECT_ROOT) / "docs" / "FRESHNESS.md").read_text(encoding="utf-8")
    return render_template("coordinator/freshness_rules.html",
                           body=markdown.markdown(text, extensions=["tables", "toc"]))
