"""`assetmap sources ...`, `assetmap scrape` and `assetmap scheduler`."""

from __future__ import annotations

import contextlib
import sys

import click
from sqlalchemy import select

from assetmap.cli import app_from_env, main
from assetmap.db import session_scope
from assetmap.errors import ValidationError
from assetmap.feeds.run import add_source, run_source
from assetmap.jobs.scheduler import build_scheduler, single_instance
from assetmap.models import Source


@main.group()
def sources() -> None:
    """Feeds AssetMap harvests."""


@sources.command("add")
@click.option("--type", "type_", required=True,
              help="openactive, openreferral, ical, jsonld or osm")
@click.option("--url", required=True)
@click.option("--name")
@click.option("--every", default="6h", show_default=True, help="e.g. 30m, 6h, 1d")
def sources_add(type_: str, url: str, name: str | None, every: str) -> None:
    with session_scope(app_from_env()) as session:
        source = add_source(session, type=type_, url=url, name=name, every=every)
        click.echo(f"source {source.id} added: {source.type} {source.url}")


@sources.command("list")
def sources_list() -> None:
    with session_scope(app_from_env()) as session:
        for s in session.scalars(select(Source).order_by(Source.id)):
            last = s.runs[0] if s.runs else None
            status = (f"last run {last.started_at:%Y-%m-%d %H:%M} {last.status}"
                      + (f": {last.error}" if last.error else "")) if last else "never run"
            click.echo(f"{s.id:>3} {'on ' if s.enabled else 'off'} {s.type:<12} every "
                       f"{s.every_seconds // 60} min  {s.name}  ({status})")


@sources.command("enable")
@click.argument("source_id", type=int)
def sources_enable(source_id: int) -> None:
    _set_enabled(source_id, True)


@sources.command("disable")
@click.argument("source_id", type=int)
def sources_disable(source_id: int) -> None:
    _set_enabled(source_id, False)


def _set_enabled(source_id: int, enabled: bool) -> None:
    with session_scope(app_from_env()) as session:
        source = session.get(Source, source_id)
        if source is None:
            raise ValidationError("SOURCE_ID", f"no source with id {source_id}")
        source.enabled = enabled
    click.echo(f"source {source_id} {'enabled' if enabled else 'disabled'}")


@main.command()
@click.argument("source_id", type=int, required=False)
@click.option("--all", "run_all", is_flag=True, help="Every enabled source, one after another.")
def scrape(source_id: int | None, run_all: bool) -> None:
    """Run a source now, in the foreground, with a line per page and a summary."""
    app = app_from_env()
    if run_all == (source_id is not None):
        raise ValidationError("SOURCE_ID", "give one source id, or --all")
    with session_scope(app) as session:
        ids = ([source_id] if source_id is not None else
               list(session.scalars(select(Source.id).where(Source.enabled)
                                    .order_by(Source.id))))
    failed = 0
    for sid in ids:
        run = run_source(app, sid, progress=click.echo)
        counts = ", ".join(f"{v} {k}" for k, v in run.counts.items() if v)
        click.echo(f"source {sid}: run {run.id} {run.status}"
                   + (f": {run.error}" if run.error else "") + (f" ({counts})" if counts else ""))
        failed += run.status != "ok"
    if failed:
        sys.exit(1)


@main.command()
def scheduler() -> None:
    """The single long-running process that runs every enabled source on its schedule."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = app_from_env()
    with single_instance(app):
        click.echo("scheduler running; Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            build_scheduler(app).start()
