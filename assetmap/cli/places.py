"""`assetmap areas ...`, `assetmap postcodes ...`, `assetmap place status`: set up a place."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assetmap.cli import app_from_env, main
from assetmap.db import session_scope
from assetmap.errors import ValidationError
from assetmap.places.areas import KINDS, import_areas
from assetmap.places.postcodes import (
    derive_points,
    import_postcodes,
    inspect_file,
    keep_within,
    store_derived,
)
from assetmap.places.status import place_status

FILE = click.Path(dir_okay=False, path_type=Path)


@main.group()
def areas() -> None:
    """Boundaries: wards, boroughs and other areas (ONS / OS Boundary-Line files)."""


@areas.command("import")
@click.argument("file", type=FILE)
@click.option("--kind", required=True, type=click.Choice(KINDS),
              help="What the file's areas are.")
@click.option("--code-field", help="The field holding each area's code (default: found by "
                                   "its ONS name, e.g. WD24CD).")
@click.option("--name-field", help="The field holding each area's name (e.g. WD24NM).")
def areas_import(file: Path, kind: str, code_field: str | None, name_field: str | None) -> None:
    """Import or update areas from a GeoJSON, GeoPackage or zipped Shapefile in any CRS."""
    with session_scope(app_from_env()) as session:
        report = import_areas(session, file, kind=kind, code_field=code_field,
                              name_field=name_field)
    click.echo(report.summary())


@main.group()
def postcodes() -> None:
    """Postcodes: the ONS Postcode Directory, OS Code-Point Open, or derived from OSM."""


@postcodes.command("import")
@click.argument("file", type=FILE)
@click.option("--within", "within", metavar="AREA_CODE",
              help="Keep only postcodes inside this area (e.g. E09000012), plus --margin.")
@click.option("--margin", default=2000, show_default=True, type=click.IntRange(0, 50_000),
              help="Metres kept beyond the --within boundary.")
@click.option("--bbox", help="Keep only postcodes in min_lon,min_lat,max_lon,max_lat.")
def postcodes_import(file: Path, within: str | None, margin: int, bbox: str | None) -> None:
    """Import ONSPD / NSPL (CSV or zip) or OS Code-Point Open (zip): all rows, streamed."""
    app = app_from_env()
    source = inspect_file(file)  # a file that is not a postcode file fails before any work
    with session_scope(app) as session:
        keep = keep_within(session, within, bbox, margin_m=margin)
        if sys.stderr.isatty():  # a bar in a terminal; nothing extra in logs and pipes
            with click.progressbar(length=source.size, label=f"{file.name} "
                                   f"({source.dataset})", file=sys.stderr) as bar:
                report = import_postcodes(session, file, keep=keep, progress=bar.update)
        else:
            report = import_postcodes(session, file, keep=keep)
    click.echo(report.summary())


@postcodes.command("derive")
@click.option("--osm", "osm_path", required=True, type=FILE,
              help="An OpenStreetMap extract (.osm.pbf) with addr:postcode tags.")
def postcodes_derive(osm_path: Path) -> None:
    """Without a postcode file: a point per postcode from the extract's addresses (marked
    derived; published postcodes imported later replace them)."""
    if not osm_path.is_file():
        raise ValidationError(str(osm_path), "no such file")
    points = derive_points(osm_path)
    if not points:
        raise ValidationError(str(osm_path), "has no addresses with addr:postcode")
    with session_scope(app_from_env()) as session:
        changed = store_derived(session, points, dataset="OpenStreetMap")
    click.echo(f"{len(points):,} postcodes derived from the addresses in {osm_path.name}, "
               f"{changed:,} of them new or changed (published postcodes are left as they were)")


@main.group()
def place() -> None:
    """The place this deployment serves."""


@place.command("status")
def status() -> None:
    """What the deployment has and lacks, in words, with the next steps."""
    app = app_from_env()
    with session_scope(app) as session:
        report = place_status(session, app.config)
    for section in report.sections:
        click.echo(f"{section.title}: {section.summary}")
        for line in section.details:
            click.echo(f"  {line}")
        if section.next_step:
            click.echo(f"  next: {section.next_step}")
