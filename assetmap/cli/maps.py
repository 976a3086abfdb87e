"""`assetmap tiles ...`: the basemap's vector tiles, built from an OpenStreetMap extract."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask

from assetmap.cli import app_from_env, main
from assetmap.db import session_scope
from assetmap.maps.tiles import TileStore, build_tiles, check_name
from assetmap.places.addresses import build_address_index, fill_missing_addresses
from assetmap.walking.graph import default_name


@main.group()
def tiles() -> None:
    """The basemap: vector tiles of streets, paths, parks, water, stations and landmarks."""


@tiles.command("build")
@click.option("--osm", "osm_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="An OpenStreetMap extract (.osm.pbf).")
@click.option("--name", help="Name of the tileset (default: the file's name up to its first dot).")
def tiles_build(osm_path: Path, name: str | None) -> None:
    """Build (or rebuild) a tileset with tilemaker; the old one stays if the build fails."""
    app = app_from_env()
    name = check_name(name or default_name(osm_path))
    started = time.perf_counter()
    built = build_tiles(osm_path, name, app.config["TILES_DIR"])
    click.echo(f"tiles {built.name!r} built from {osm_path.name} in "
               f"{time.perf_counter() - started:.1f} s: zoom {built.minzoom}-{built.maxzoom}, "
               f"{built.size_bytes / 1e6:.1f} MB")
    fill_addresses(app, osm_path, name)


def fill_addresses(app: Flask, osm_path: Path, name: str) -> None:
    """Read the extract's addresses and fill venues that lack an address or postcode."""
    build_address_index(osm_path, name, app.config["TILES_DIR"])
    with session_scope(app) as session:
        filled = fill_missing_addresses(session, app.config["TILES_DIR"])
    click.echo(f"{filled} venues given an address or postcode from {osm_path.name} (derived)")


@tiles.command("list")
def tiles_list() -> None:
    """The tilesets built so far."""
    for tileset in TileStore(app_from_env().config["TILES_DIR"]).tilesets():
        west, south, east, north = tileset.bounds
        click.echo(f"{tileset.name}: zoom {tileset.minzoom}-{tileset.maxzoom}, "
                   f"{tileset.size_bytes / 1e6:.1f} MB, bbox {west},{south},{east},{north}")
