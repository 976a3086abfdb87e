"""Coordinators see and manage sources: last runs with counts and errors, on/off, run now."""

from __future__ import annotations

import threading

from flask import current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from assetmap.db import get_session
from assetmap.errors import AssetMapError, NotFound
from assetmap.feeds.run import add_source, run_source
from assetmap.models import ScrapeRun, Source
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp
from scrapers import SCRAPERS

#: What each kind of feed is, as the coordinator choosing one would say it (ids stay in the CLI).
TYPE_WORDS: dict[str, str] = {
    "openactive": "OpenActive sessions (an RPDE feed)",
    "openreferral": "Open Referral UK services (an HSDS API)",
    "ical": "A calendar (iCalendar, .ics)",
    "jsonld": "Web pages listing events (schema.org JSON-LD)",
    "osm": "Community venues from an OpenStreetMap extract",
}
RUN_WORDS: dict[str, str] = {"ok": "Worked", "failed": "Failed", "running": "Running now"}


class SourceForm(FlaskForm):
    type = SelectField("Kind of feed",
                       choices=[SelectChoice(key, TYPE_WORDS.get(key, key))
                                for key in sorted(SCRAPERS)])
    url = StringField("Feed address (URL)", validators=[DataRequired(), Length(max=1000)])
    name = StringField("Name (optional)", validators=[Length(max=200)])
    every = StringField("How often", default="6h",
                        description="For example 30m, 6h or 1d (minutes, hours or days).")


def every_words(seconds: int) -> str:
    """'every 6 hours', 'every day', 'every 30 minutes': how often a feed runs."""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"every {unit}" if n == 1 else f"every {n} {unit}s"
    return f"every {seconds} seconds"


def _page(form: SourceForm, status: int = 200):
    """The feeds with their last runs, and the form (kept as typed after a mistake)."""
    session = get_session()
    rows = []
    for source in session.scalars(select(Source).order_by(Source.id)):
        runs = session.scalars(select(ScrapeRun).where(ScrapeRun.source_id == source.id)
                               .order_by(ScrapeRun.started_at.desc()).limit(5)).all()
        rows.append((source, runs))
    return render_template("coordinator/sources.html", rows=rows, form=form,
                           type_words=TYPE_WORDS, run_words=RUN_WORDS,
                           every_words=every_words), status


@bp.get("/sources")
@role_required("coordinator")
def sources():
    return _page(SourceForm())


@bp.post("/sources")
@role_required("coordinator")
def add():
    form = SourceForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        source = add_source(get_session(), type=form.type.data, url=form.url.data.strip(),
                            name=(form.name.data or "").strip() or None,
                            every=form.every.data or "6h")
    except AssetMapError as exc:
        field = getattr(exc, "field", "url")
        getattr(form, field, form.url).errors.append(getattr(exc, "message", str(exc)))
        get_session().rollback()
        return _page(form, 400)
    get_session().commit()
    flash(f"Feed “{source.name}” added; it runs {every_words(source.every_seconds)}.")
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

