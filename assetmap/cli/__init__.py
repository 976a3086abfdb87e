"""The `assetmap` command. Errors print one readable line and exit non-zero."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from flask import Flask

from assetmap import create_app, migrate
from assetmap import db as dbmod
from assetmap.db import session_scope
from assetmap.demo import load_demo
from assetmap.errors import AssetMapError, ConfigError, ValidationError
from assetmap.listings.transfer import export_rows, import_file, to_csv, to_geojson_text
from assetmap.models import Activity
from assetmap.people.accounts import find_areas
from assetmap.people.users import create_user, deactivate, find_user, set_password
from assetmap.web.serving import prepare_to_serve


class AssetMapGroup(click.Group):
    """Turns domain errors into one line on stderr, exiting with the error's `exit_code`: 2 for
    bad input (and a missing program), 1 otherwise."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AssetMapError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


def app_from_env() -> Flask:
    return create_app()


@click.group(cls=AssetMapGroup)
@click.version_option(package_name="assetmap")
def main() -> None:
    """AssetMap: community activities near a person, by walking minutes, kept fresh.

    Configuration comes from ASSETMAP_* environment variables (see README).
    """


# -- serve ---------------------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="HOST")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535),
              envvar="PORT")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--with-scheduler", is_flag=True,
              help="Also run the one scheduler process (feeds, mail, reminders, digests) "
                   "beside the web workers, stopped with them. For one-machine set-ups.")
def serve(host: str, port: int, workers: int, with_scheduler: bool) -> None:
    """Run the web app under gunicorn (a production WSGI server)."""
    from gunicorn.app.base import BaseApplication

    app = app_from_env()
    engine = dbmod.get_engine(app)
    if migrate.pending(engine):
        raise ConfigError("the database schema is out of date: run 'assetmap db upgrade'")
    prepare_to_serve(app)  # ends by closing its connections: each worker opens its own

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            # Search origins are client data: log the path only, never the query string.
            self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms')

        def load(self) -> Flask:
            return app

    click.echo(f"AssetMap on http://{host}:{port}/ ({workers} workers)")
    if not with_scheduler:
        Server().run()
        return
    # A child process, not a thread in a worker: exactly one scheduler however many workers.
    child = subprocess.Popen([sys.executable, "-m", "assetmap", "scheduler"])
    click.echo(f"scheduler running beside the web app (process {child.pid})")
    try:
        Server().run()
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


# -- database ------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or upgrade the database schema."""
    app = app_from_env()
    migrate.upgrade(dbmod.get_engine(app), revision)
    click.echo(f"database at {revision}: {app.config['DATABASE_URL']}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Step the schema back to REVISION (e.g. base)."""
    migrate.downgrade(dbmod.get_engine(app_from_env()), revision)


# -- demo data -----------------------------------------------------------------------------

@main.group()
def demo() -> None:
    """Demo data: real Camden venues and areas, invented listings."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Only when there are no listings at all.")
def demo_load(if_empty: bool) -> None:
    from sqlalchemy import func, select

    app = app_from_env()
    with session_scope(app) as session:
        if if_empty and session.scalar(select(func.count()).select_from(Activity)):
            click.echo("database has listings; demo data not loaded")
            return
        created = load_demo(session, app.config["DATA_DIR"])
    click.echo(f"demo data loaded: {created} demo activities")


# -- import / export -----------------------------------------------------------------------

@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_(file: Path, as_json: bool) -> None:
    """Import listings from a CSV or GeoJSON FILE; prints what happened to each row."""
    if not file.exists():
        raise ValidationError("FILE", f"{file} does not exist")
    app = app_from_env()
    with session_scope(app) as session:
        report = import_file(session, file, data_dir=app.config["DATA_DIR"])
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for row in report.rows:
            click.echo(row.line())
        click.echo(report.summary())
    if report.count("rejected"):
        sys.exit(3)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv"]), default="geojson",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
def export(fmt: str, output: Path | None) -> None:
    """Export every listing (public fields only) as GeoJSON or CSV; re-importable."""
    with session_scope(app_from_env()) as session:
        rows = export_rows(session)
    text = to_csv(rows) if fmt == "csv" else to_geojson_text(rows)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{len(rows)} listings written to {output}", err=True)
    else:
        click.echo(text)


# -- users ---------------------------------------------------------------------------------

@main.group()
def user() -> None:
    """User accounts."""


@user.command("add")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["connector", "coordinator", "admin"]))
@click.option("--name")
@click.option("--area", "areas", multiple=True,
              help="A ward or borough (code or name) they look after; repeat for more.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_add(email: str, role: str, name: str | None, areas: tuple[str, ...],
             password: str) -> None:
    with session_scope(app_from_env()) as session:
        found = find_areas(session, areas)
        created = create_user(session, email=email, role=role, password=password, name=name)
        created.areas = found
        where = f" for {', '.join(a.name for a in found)}" if found else ""
        click.echo(f"user {created.email} added as {created.role}{where}")


@user.command("password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_password(email: str, password: str) -> None:
    """Set a new password; the user's open sessions end."""
    with session_scope(app_from_env()) as session:
        set_password(session, find_user(session, email), password)
        click.echo(f"password changed for {email}; their sessions have ended")


@user.command("deactivate")
@click.argument("email")
def user_deactivate(email: str) -> None:
    """Stop a user signing in; their open sessions end at once."""
    with session_scope(app_from_env()) as session:
        deactivate(session, find_user(session, email))
        click.echo(f"{email} deactivated; their sessions have ended")


# Feature commands live in their own modules and register themselves on `main`.
from assetmap.cli import (  # noqa: E402, F401
    community,
    coordinator,
    maps,  # noqa: E402, F401
    people,
    places,  # noqa: E402, F401
    population,
    sources,
    walking,
)
