"""`assetmap network ...` and `assetmap match`: walking networks and matches."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from assetmap.cli import app_from_env, main
from assetmap.cli.maps import fill_addresses
from assetmap.db import session_scope
from assetmap.errors import ValidationError
from assetmap.matching.rank import MatchQuery, origin_at
from assetmap.matching.search import find_matches
from assetmap.models import utcnow
from assetmap.params import int_param, list_param
from assetmap.places.geocode import optional_lat_lon
from assetmap.places.networks import network_ground
from assetmap.walking import MINUTES_RANGE, NetworkRegistry, WalkingNetworkError
from assetmap.walking.graph import default_name
from assetmap.walking.service import walking_service
from assetmap.walking.stops import build_stops


@main.group()
def network() -> None:
    """Walking networks built from OpenStreetMap extracts."""


@network.command("build")
@click.option("--osm", "osm_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="An OpenStreetMap extract (.osm.pbf or .osm).")
@click.option("--name", help="Name of the network (default: the file's name up to its first dot).")
@click.option("--within", "within", metavar="AREA_CODE",
              help="Keep the streets of this area (plus --margin); default: all the place's "
                   "areas, or the whole extract when none are loaded.")
@click.option("--margin", type=click.IntRange(0, 50_000),
              help="Metres beyond the areas (default ASSETMAP_NETWORK_MARGIN_M, 2000).")
@click.option("--whole-extract", is_flag=True, help="Keep every street in the extract.")
def network_build(osm_path: Path, name: str | None, within: str | None, margin: int | None,
                  whole_extract: bool) -> None:
    """Build (or rebuild) a walking network; the cached one stays if the build fails."""
    if not osm_path.exists():
        raise ValidationError("--osm", f"{osm_path} does not exist")
    app = app_from_env()
    name = name or default_name(osm_path)
    ground = None
    if not whole_extract:
        margin = app.config["NETWORK_MARGIN_M"] if margin is None else margin
        with session_scope(app) as session:
            ground = network_ground(session, area_code=within, margin_m=margin)
    try:
        info = NetworkRegistry(app.config["NETWORK_DIR"]).build(osm_path, name, within=ground)
    except WalkingNetworkError as exc:
        raise ValidationError("--osm", str(exc)) from None
    click.echo(f"network {info.name!r} built from {osm_path.name}: {info.meta.n_nodes} nodes, "
               f"{info.meta.n_edges} edges")
    fill_addresses(app, osm_path, name)
    stops = build_stops(osm_path, app.config["NETWORK_DIR"], info.name)
    click.echo(f"{stops} bus stops and stations kept beside it for \"getting there\"")


@network.command("list")
def network_list() -> None:
    """The networks built so far, with the area each covers, and any that cannot be used."""
    registry = NetworkRegistry(app_from_env().config["NETWORK_DIR"])
    for info in registry.networks():
        click.echo(f"{info.name}: {info.meta.n_nodes} nodes, {info.meta.n_edges} edges, "
                   f"bbox {info.meta.bbox}, from {info.meta.source}")
    for name, why in sorted(registry.problems().items()):
        # Not "name:" like a usable network: `make run` rebuilds what it does not list so.
        click.echo(f"{name} is not used ({why}); run `assetmap network build --osm FILE "
                   f"--name {name}`")


@main.command("match")
@click.option("--postcode")
@click.option("--lat")
@click.option("--lon")
@click.option("--minutes", default="15", show_default=True)
@click.option("--pace", default="typical", show_default=True,
              help="typical, slow or step-free")
@click.option("--needs", default="", help="Needs, comma-separated (hard filters): suitability tags "
              "or near-bus-stop.")
@click.option("--interests", default="", help="Categories, comma-separated (ranked higher).")
@click.option("--day", help="mon..sun, today or week")
@click.option("--time", "time_of_day", help="morning, afternoon or evening")
@click.option("--free", is_flag=True, help="Free activities only.")
@click.option("--newcomers", is_flag=True,
              help="Only groups taking newcomers (not said to be full or on a waiting list).")
@click.option("--language", default="", help="Only listings that run in this language "
              "(a code such as so, bsl, or a name).")
@click.option("--json", "as_json", is_flag=True, help="Print the full answer as JSON.")
def match(postcode, lat, lon, minutes, pace, needs, interests, day, time_of_day, free,
          newcomers, language, as_json) -> None:
    """Activities within a walk of a postcode or point, best first, with reasons."""
    app = app_from_env()
    with session_scope(app) as session:
        origin = origin_at(session, app.config["DATA_DIR"], postcode=postcode or "",
                           point=optional_lat_lon(lat, lon))
        query = MatchQuery.checked(
            origin, minutes=int_param(minutes, "minutes", default=15, low=MINUTES_RANGE[0],
                                      high=MINUTES_RANGE[1]),
            pace=pace, needs=list_param(needs), interests=list_param(interests), day=day,
            time_of_day=time_of_day, free_only=free, newcomers=newcomers, language=language)
        result = find_matches(session, walking_service(app), query, now=utcnow(),
                              remote=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1))
        return
    where = query.postcode or f"{query.lat:.5f},{query.lon:.5f}"
    click.echo(f"{len(result.matches)} matches within {query.minutes} min ({query.pace}) of "
               f"{where}" + (" (estimated: no walking network covers it)"
                             if result.estimated else ""))
    for m in result.matches:
        intake = f"  ({m['intake']['words']})" if m.get("intake") else ""
        click.echo(f"{math.ceil(m['walk_minutes']):>3} min  {m['name']}  "
                   f"[{m['freshness']['label']}]  {m['schedule_text']}{intake}")
    if result.remote:
        click.echo(f"Without travelling: {len(result.remote)} by phone or online")
        for m in result.remote:
            click.echo(f"  {m['mode_words']}  {m['name']}  [{m['freshness']['label']}]  "
                       f"serves {m['service_area_words']}"
                       + (f"  join: {m['join_how']}" if m["join_how"] else ""))
