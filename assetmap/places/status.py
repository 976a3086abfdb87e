"""What a deployment has and lacks, in words, with the command that fills each gap.

Shared by `assetmap place status` and the admin page, so both say the same thing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap.models import Activity, Area, Postcode, Source, User, Venue
from assetmap.spatial import max_x, max_y, min_x, min_y
from assetmap.walking import NetworkRegistry

KIND_WORDS = {"ward": ("ward", "wards"), "borough": ("borough", "boroughs"),
              "lsoa": ("LSOA", "LSOAs"), "msoa": ("MSOA", "MSOAs")}


@dataclass(frozen=True)
class Section:
    title: str
    summary: str
    ok: bool  # False: something the deployment needs is missing
    details: list[str] = field(default_factory=list)
    next_step: str | None = None
    optional: bool = False  # nice to have; nothing is wrong without it


@dataclass(frozen=True)
class PlaceStatus:
    place_name: str | None
    sections: list[Section]
    bounds: tuple[float, float, float, float] | None  # min_lon, min_lat, max_lon, max_lat


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _kind_words(kind: str, n: int) -> str:
    one, many = KIND_WORDS.get(kind, (kind, kind + "s"))
    return _plural(n, one, many)


def place_bounds(session: Session, area_ids: Collection[int] | None = None,
                 ) -> tuple[float, float, float, float] | None:
    """The box around the deployment's live areas (min_lon, min_lat, max_lon, max_lat), or
    around the live ones among `area_ids`; None when there are none."""
    query = (select(func.min(min_x(Area.geom)), func.min(min_y(Area.geom)),
                    func.max(max_x(Area.geom)), func.max(max_y(Area.geom)))
             .where(Area.retired.is_(False)))
    if area_ids is not None:
        query = query.where(Area.id.in_(list(area_ids)))
    row = session.execute(query).one()
    if row[0] is None:
        return None
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def place_name(session: Session, config: Mapping[str, Any]) -> str | None:
    """ASSETMAP_PLACE_NAME, else the one live borough's name, else None."""
    if config.get("PLACE_NAME"):
        return str(config["PLACE_NAME"])
    names = session.scalars(select(Area.name).where(Area.kind == "borough")
                            .where(Area.retired.is_(False)).limit(2)).all()
    return names[0] if len(names) == 1 else None


def _areas(session: Session) -> Section:
    rows = session.execute(select(Area.kind, Area.retired, func.count())
                           .group_by(Area.kind, Area.retired)).all()
    live = {kind: n for kind, retired, n in rows if not retired}
    retired = sum(n for _, was_retired, n in rows if was_retired)
    if not live:
        return Section("Areas", "none — maps cannot open on your place and coverage has no "
                       "wards", ok=False, next_step="import your wards and borough from the ONS "
                       "Open Geography Portal: `assetmap areas import FILE --kind ward`, then "
                       "`--kind borough`")
    parts = [_kind_words(kind, n) for kind, n in sorted(live.items())]
    details = [f"{_plural(retired, 'retired area')} kept for history"] if retired else []
    missing = [kind for kind in ("ward", "borough") if kind not in live]
    return Section("Areas", ", ".join(parts), ok=not missing, details=details,
                   next_step=(f"import the {' and '.join(k + 's' for k in missing)}: "
                              f"`assetmap areas import FILE --kind {missing[0]}`")
                   if missing else None)


def _postcodes(session: Session) -> Section:
    rows = session.execute(select(Postcode.derived, Postcode.dataset,
                                  func.count(), func.count(Postcode.terminated))
                           .group_by(Postcode.derived, Postcode.dataset)).all()
    total = sum(r[2] for r in rows)
    hint = ("import the ONS Postcode Directory (or OS Code-Point Open) with `assetmap postcodes "
            "import FILE --within YOUR_BOROUGH_CODE`")
    if not total:
        return Section("Postcodes", "0 — full postcodes will be placed at their district's "
                       "centre, often 1–2 km out, so walking times will be wrong", ok=False,
                       next_step=hint + "; with only an OpenStreetMap extract, `assetmap "
                       "postcodes derive --osm FILE`")
    official = sum(r[2] for r in rows if not r[0])
    derived = total - official
    details = [f"{_plural(n, 'postcode')} from {dataset}"
               + (f" ({n_term:,} no longer in use)" if n_term else "")
               + (" — derived from addresses, not published" if was_derived else "")
               for was_derived, dataset, n, n_term in rows]
    districts = session.scalars(select(Postcode.district_code).where(
        Postcode.district_code.is_not(None)).group_by(Postcode.district_code)).all()
    if districts:
        names = sorted(session.scalars(select(Area.name).where(Area.code.in_(districts))))
        others = len(districts) - len(names)
        shown = names[:8]
        others += len(names) - len(shown)
        words = ", ".join(shown)
        if others:
            words += (" and " if words else "") + _plural(others, "council area") + (
                " not loaded as areas" if not names else "")
        details.append(f"covering {words}")
    summary = f"{total:,} ({official:,} published, {derived:,} derived)"
    return Section("Postcodes", summary, ok=official > 0, details=details,
                   next_step=None if official else hint)


def _networks(network_dir: Path) -> Section:
    registry = NetworkRegistry(network_dir)
    networks = registry.networks()
    stale = [f"{name}: not used ({why})" for name, why in sorted(registry.problems().items())]
    if stale:
        return Section("Walking networks", _plural(len(networks), "network") + " usable",
                       ok=False, details=stale, next_step="rebuild with `assetmap network build "
                       "--osm FILE --name NAME`")
    if not networks:
        return Section("Walking networks", "none — walking minutes are estimated from straight "
                       "lines", ok=False, next_step="download an OpenStreetMap extract of your "
                       "area (e.g. from Geofabrik) and run `assetmap network build --osm FILE`")
    details = [f"{info.name}: {_plural(info.meta.n_nodes, 'junction')}, about "
               f"{info.area_m2 / 1e6:,.0f} km², from {info.meta.source}" for info in networks]
    return Section("Walking networks", _plural(len(networks), "network"), ok=True,
                   details=details)


def _listings(session: Session) -> list[Section]:
    venues = session.scalar(select(func.count()).select_from(Venue)) or 0
    activities = dict(session.execute(select(Activity.demo, func.count())
                                      .group_by(Activity.demo)).tuples().all())
    real, demo = activities.get(False, 0), activities.get(True, 0)
    sources = session.execute(select(Source.type, func.count()).group_by(Source.type)).all()
    listing_words = _plural(real, "listing") + (f" and {demo:,} demo listings" if demo else "")
    return [
        Section("Venues", _plural(venues, "venue"), ok=venues > 0,
                next_step=None if venues else "venues are added with listings: `assetmap "
                "import FILE` or a feed (`assetmap sources add`)"),
        Section("Listings", listing_words, ok=real > 0,
                next_step=None if real else "import listings with `assetmap import FILE` or add "
                "a feed with `assetmap sources add`"),
        Section("Sources", ", ".join(f"{_plural(n, t + ' feed')}" for t, n in sources)
                or "no feeds — listings come from imports and people only", ok=True,
                optional=not sources, next_step=None if sources else
                "feeds keep listings fresh by themselves: `assetmap sources add`"),
    ]


def _users(session: Session) -> Section:
    rows = session.execute(select(User.role, func.count()).where(User.active.is_(True))
                           .group_by(User.role)).all()
    if not rows:
        return Section("Users", "none", ok=False, next_step="add an admin: `assetmap user add "
                       "--email you@example.org --role admin`")
    return Section("Users", ", ".join(_plural(n, role) for role, n in sorted(rows)), ok=True)


def place_status(session: Session, config: Mapping[str, Any]) -> PlaceStatus:
    name = place_name(session, config)
    sections = [
        Section("Place", name or "not named yet", ok=bool(name), next_step=None if name else
                "set ASSETMAP_PLACE_NAME, or import your borough's boundary"),
        _areas(session), _postcodes(session), _networks(Path(config["NETWORK_DIR"])),
        *_listings(session), _users(session),
    ]
    return PlaceStatus(name, sections, place_bounds(session))


# Credit lines for what is loaded (the licences in data/PROVENANCE.md), so a deployment shows
# the attributions its own data needs and no others.
CREDIT_OSM = "© OpenStreetMap contributors (ODbL)"
CREDIT_ONS = "Contains National Statistics data © Crown copyright and database right"
CREDIT_OS = "Contains OS data © Crown copyright and database right"
CREDIT_ROYAL_MAIL = "Contains Royal Mail data © Royal Mail copyright and database right"


def dataset_credits(session: Session, network_dir: Path | None = None) -> list[str]:
    """The credit lines the loaded datasets require, in a stable order."""
    credits: list[str] = []
    datasets = set(session.scalars(select(Postcode.dataset).group_by(Postcode.dataset)))
    has_osm_venue = session.scalar(select(Venue.id).where(Venue.osm_ref.is_not(None)).limit(1))
    has_network = bool(network_dir and NetworkRegistry(network_dir).networks())
    if has_osm_venue or has_network or any(d.startswith("OpenStreetMap") for d in datasets):
        credits.append(CREDIT_OSM)
    official = {d for d in datasets if not d.startswith("OpenStreetMap")}
    has_areas = session.scalar(select(Area.id).limit(1)) is not None
    if has_areas or official:
        credits.append(CREDIT_ONS)
    if has_areas or "Code-Point Open" in official:
        credits.append(CREDIT_OS)  # boundaries are OS Boundary-Line derived
    if official:
        credits.append(CREDIT_ROYAL_MAIL)
    return credits


def attribution_text(session: Session, network_dir: Path | None = None) -> str:
    credits = dataset_credits(session, network_dir)
    return ("Map data: " + "; ".join(credits) + ".") if credits else ""
