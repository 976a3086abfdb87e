"""Coordinators see and manage sources: last runs with counts and errors, on/off, run now."""

from __future__ import annotations

import threading

from flask import current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from assetmap.db import get_session
from assetmap.errors import AssetMapError, NotFound
from assetmap.feeds.run import add_source, run_source
from assetmap.models import ScrapeRun, Source
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp
from scrapers import SCRAPERS


class SourceForm(FlaskForm):
    type = SelectField("Type", choices=sorted(SCRAPERS))
    url = StringField("Feed URL", validators=[DataRequired(), Length(max=1000)])
    name = StringField("Name", validators=[Length(max=200)])
    every = StringField("How often", default="6h")


@bp.get("/sources")
@role_required("coordinator")
def sources():
    session = get_session()
    rows = []
    for source in session.scalars(select(Source).order_by(Source.id)):
        runs = session.scalars(select(ScrapeRun).where(ScrapeRun.source_id == source.id)
                               .order_by(ScrapeRun.started_at.desc()).limit(5)).all()
        rows.append((source, runs))
    return render_template("coordinator/sources.html", rows=rows, form=SourceForm())


@bp.post("/sources")
@role_required("coordinator")
def add():
    form = SourceForm()
    if not form.validate_on_submit():
        return render_template("coordinator/sources.html", rows=[], form=form), 400
    try:
        source = add_source(get_session(), type=form.type.data, url=form.url.data.strip(),
                            name=(form.name.data or "").strip() or None,
                            every=form.every.data or "6h")
    except AssetMapError as exc:
        field = getattr(exc, "field", "url")
        getattr(form, field, form.url).errors.append(getattr(exc, "message", str(exc)))
        return render_template("coordinator/sources.html", rows=[], form=form), 400
    get_session().commit()
    flash(f"Source {source.name} added.")
    return redirect(url_for("coordinator.sources"))


def _source(source_id: int) -> Source:
    source = get_session().get(Source, source_id)
    if source is None:
        raise NotFound(f"no source with id {source_id}")
    return source


@bp.post("/sources/<int:source_id>/toggle")
@role_required("coordinator")
def toggle(source_id: int):
    source = _source(source_id)
    source.enabled = not source.enabled
    get_session().commit()
    flash(f"{source.name} {'enabled' if source.enabled else 'disabled'}.")
    return redirect(url_for("coordinator.sources"))


@bp.post("/sources/<int:source_id>/run")
@role_required("coordinator")
def run_now(source_id: int):
    """Start a run in the background of this worker; the page shows it as running."""
    source = _source(source_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as Flask
    threading.Thread(target=_run_quietly, args=(app, source.id), daemon=True).start()
    flash(f"Run of {source.name} started; refresh to see its progress.")
    return redirect(url_for("coordinator.sources") + f"#source-{source.id}")


def _run_quietly(app, source_id: int) -> None:
    try:
        run_source(app, source_id)
    except AssetMapError as exc:  # e.g. already running: the page shows the current run
        app.logger.warning("run of source %s not started: %s", source_id, exc)

