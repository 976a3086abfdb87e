"""Demo data: real Camden venues, wards and postcodes, plus clearly labelled demo listings.

Venues, ward and borough boundaries are real (OpenStreetMap, ODbL; ONS/OS, OGL). The
activities are invented for demonstration, flagged `demo=True`, and shown with a "demo" badge.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import timedelta
from pathlib import Path

from shapely.geometry import MultiPolygon, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap.geo import haversine_m
from assetmap.listings.changes import Actor, apply_changes, create_activity
from assetmap.listings.verification import record_verification
from assetmap.models import Activity, Area, Organisation, Venue, utcnow
from assetmap.places.geocode import MAX_SPREAD_M, geocode_postcode
from assetmap.places.postcodes import DerivedPoint, store_derived
from assetmap.spatial import lat_of, lon_of, point

DEMO_ACTOR = Actor("system", "AssetMap demo data")
DEMO_NOTE = "Demo listing: invented for demonstration at a real venue."

VENUE_KINDS = {
    "amenity=place_of_worship", "amenity=community_centre", "leisure=sports_centre",
    "amenity=library", "leisure=fitness_centre", "leisure=garden", "amenity=arts_centre",
    "amenity=social_facility", "leisure=swimming_pool", "amenity=townhall",
    "amenity=events_venue", "club=social", "leisure=park", "leisure=dance", "amenity=theatre",
}

#: The languages some demo groups run in (codes), beside English: what "spoken in" finds.
DEMO_LANGUAGES: dict[str, tuple[str, ...]] = {"womens-group": ("en", "bn", "so")}
# (category, name, description, schedule, cost, tags, venue kinds)
TEMPLATES: tuple[tuple[str, str, str, str, str, str, tuple[str, ...]], ...] = (
    ("lunch-club", "Lunch Club", "A hot two-course lunch and a chat; volunteers serve at the "
     "table.", "Tuesdays 12:00-14:00", "£4", "over-50s;welcoming-newcomers;drop-in;low-cost",
     ("amenity=community_centre", "amenity=place_of_worship")),
    ("lunch-club", "Friday Friendship Lunch", "Soup, sandwiches and cake with a small, "
     "regular crowd.", "Fridays 12:30-14:00", "small fee", "small-quiet;companion-welcome",
     ("amenity=place_of_worship", "amenity=community_centre")),
    ("coffee-morning", "Coffee Morning", "Tea, coffee and biscuits; drop in for ten minutes "
     "or two hours.", "Wednesdays 10:00-12:00", "free", "drop-in;free;welcoming-newcomers",
     ("amenity=place_of_worship", "amenity=library", "amenity=community_centre")),
    ("walking-group", "Health Walk", "A gentle 45-minute walk at an easy pace with trained "
     "walk leaders.", "Thursdays 10:30-11:30", "free", "free;drop-in;activity-focused",
     ("leisure=park",)),
    ("walking-group", "Slow Strollers", "A short, slow walk with plenty of benches and a "
     "cuppa after.", "Mondays 14:00-15:00", "free",
     "free;over-50s;companion-welcome;step-free", ("leisure=park", "leisure=garden")),
    ("tea-dance", "Tea Dance", "Ballroom and sequence dancing with tea and cake; partners "
     "not needed.", "first Sunday 14:00-16:30", "£3", "over-50s;welcoming-newcomers;low-cost",
     ("amenity=community_centre", "amenity=townhall", "amenity=events_venue")),
    ("dance-class", "Gentle Dance", "Dance to music from the 50s and 60s, seated or "
     "standing.", "Tuesdays 14:00-15:00", "£2", "over-50s;low-cost;activity-focused",
     ("leisure=dance", "amenity=arts_centre", "amenity=community_centre")),
    ("chair-exercise", "Chair Exercise", "Seated strength and balance exercise led by a "
     "qualified instructor.", "Mondays and Thursdays 11:00-12:00", "£2",
     "over-50s;step-free;complex-needs;low-cost", ("amenity=community_centre",
                                                   "leisure=sports_centre")),
    ("yoga", "Chair Yoga", "Yoga adapted for chairs; no mat, no floor work.",
     "Wednesdays 11:00-12:00", "£5", "step-free;small-quiet;over-50s",
     ("leisure=fitness_centre", "amenity=community_centre", "amenity=place_of_worship")),
    ("pilates", "Pilates for Beginners", "Mat pilates for people new to exercise.",
     "Saturdays 09:30-10:30", "£6", "welcoming-newcomers", ("leisure=fitness_centre",
                                                             "leisure=sports_centre")),
    ("zumba", "Zumba Gold", "Low-impact Zumba for older adults.", "Fridays 10:00-11:00",
     "£4", "over-50s;activity-focused;low-cost", ("leisure=sports_centre",
                                                  "leisure=fitness_centre")),
    ("swimming", "Over-50s Swim", "A quiet lane session with a hoist available.",
     "Tuesdays and Fridays 08:00-09:30", "£3.50", "over-50s;accessible-toilet;step-free",
     ("leisure=swimming_pool", "leisure=sports_centre")),
    ("gardening", "Community Garden Group", "Grow vegetables and flowers together; tools "
     "and gloves provided.", "Saturdays 10:00-13:00", "free",
     "free;activity-focused;welcoming-newcomers", ("leisure=garden", "leisure=park")),
    ("cooking-group", "Cook and Eat", "Cook a simple meal together, then sit down and eat "
     "it.", "every other Thursday 17:30-19:30", "small fee",
     "activity-focused;small-quiet;complex-needs", ("amenity=community_centre",
                                                    "amenity=social_facility")),
    ("book-club", "Library Book Club", "One book a month, chosen together; large-print "
     "copies available.", "last Wednesday 18:00-19:30", "free",
     "free;small-quiet;hearing-loop", ("amenity=library",)),
    ("reading-group", "Shared Reading", "Short stories and poems read aloud; nobody has to "
     "read.", "Mondays 10:30-12:00", "free", "free;dementia-friendly;small-quiet",
     ("amenity=library",)),
    ("singing", "Singing for the Brain", "Songs old and new for people living with dementia "
     "and their carers.", "Thursdays 14:00-15:30", "free",
     "dementia-friendly;companion-welcome;free", ("amenity=place_of_worship",
                                                   "amenity=community_centre")),
    ("singing", "Community Choir", "No auditions and no need to read music.",
     "Wednesdays 19:00-20:30", "£3", "welcoming-newcomers;low-cost",
     ("amenity=arts_centre", "amenity=place_of_worship", "amenity=theatre")),
    ("arts-crafts", "Knit and Natter", "Bring your knitting or learn; wool provided.",
     "Tuesdays 14:00-16:00", "free", "free;drop-in;small-quiet;activity-focused",
     ("amenity=library", "amenity=community_centre")),
    ("arts-crafts", "Art Club", "Painting and drawing with a friendly tutor.",
     "Thursdays 10:00-12:00", "£2", "activity-focused;low-cost;step-free",
     ("amenity=arts_centre", "amenity=community_centre")),
    ("bingo", "Bingo Afternoon", "Bingo, tea and a raffle.", "Fridays 14:00-16:00",
     "small fee", "over-50s;drop-in", ("amenity=community_centre", "club=social")),
    ("karaoke", "Karaoke Club", "Sing or just listen; lyrics on a big screen.",
     "first Friday 18:00-21:00", "free", "free;welcoming-newcomers",
     ("club=social", "amenity=community_centre")),
    ("ping-pong", "Table Tennis Drop-in", "Bats and balls provided; all abilities.",
     "Mondays and Wednesdays 13:00-15:00", "£1", "drop-in;activity-focused;low-cost",
     ("leisure=sports_centre", "amenity=community_centre", "amenity=library")),
    ("mens-group", "Men's Shed", "Woodwork, repairs and a brew, side by side.",
     "Tuesdays and Thursdays 10:00-15:00", "free", "men-only;activity-focused;free",
     ("amenity=community_centre",)),
    ("womens-group", "Women's Wellbeing Circle", "A relaxed group for women to talk, craft "
     "and share.", "every other Monday 11:00-13:00", "free",
     "women-only;small-quiet;free", ("amenity=community_centre",
                                                     "amenity=social_facility")),
    ("friendship-group", "Friendship Club", "Games, quizzes and a good natter.",
     "Wednesdays 14:00-16:00", "small fee", "welcoming-newcomers;over-50s;transport-available",
     ("amenity=community_centre", "amenity=place_of_worship")),
    ("befriending", "Telephone Befriending", "A weekly call from a friendly volunteer.",
     "Mondays 10:00-16:00", "free", "phone-option;free;complex-needs",
     ("amenity=social_facility", "amenity=community_centre")),
    ("days-out", "Days Out Club", "Monthly coach trips to the seaside and gardens.",
     "first Saturday 09:00-17:00", "£15", "transport-available;over-50s;companion-welcome",
     ("amenity=community_centre",)),
    ("volunteering", "Volunteer Drop-in", "Find a volunteering role that suits you.",
     "Thursdays 10:00-12:00", "free", "free;drop-in;connector-first-session",
     ("amenity=library", "amenity=community_centre")),
    ("digital-help", "Digital Help Desk", "One-to-one help with phones, tablets and online "
     "forms.", "Tuesdays 10:00-12:00", "free", "free;drop-in;step-free;complex-needs",
     ("amenity=library",)),
    ("repair-cafe", "Repair Café", "Bring broken things; volunteers help you fix them.",
     "last Saturday 11:00-14:00", "free", "free;activity-focused;drop-in",
     ("amenity=community_centre", "amenity=library", "amenity=place_of_worship")),
    ("faith-group", "Open Church Lunch", "A simple lunch open to everyone, any faith or "
     "none.", "Sundays 12:30-14:00", "free", "free;welcoming-newcomers;drop-in",
     ("amenity=place_of_worship",)),
    ("martial-arts", "Tai Chi for Balance", "Slow, flowing movements to improve balance.",
     "Fridays 11:00-12:00", "£3", "over-50s;activity-focused;low-cost",
     ("leisure=park", "amenity=community_centre", "leisure=sports_centre")),
    ("employment-support", "Job Club", "CV help, job searching and interview practice.",
     "Wednesdays 10:00-13:00", "free", "free;drop-in;online-option",
     ("amenity=library", "amenity=community_centre")),
    ("exercise-class", "Strength and Balance", "Falls-prevention exercise in small groups.",
     "Mondays 13:00-14:00", "£2", "over-50s;small-quiet;low-cost;connector-first-session",
     ("leisure=sports_centre", "amenity=community_centre")),
    ("coffee-morning", "Memory Café", "A relaxed café for people with memory problems and "
     "those who care for them.", "second Thursday 10:30-12:30", "free",
     "dementia-friendly;companion-welcome;free;step-free", ("amenity=community_centre",
                                                            "amenity=library")),
)
METHODS = ("connector-visited", "phoned", "organiser-confirmed", "client-attended",
           "coordinator-checked", "source-assured")

#: The areas the demo's phone listings serve, in turn: the whole borough, then the north's
#: wards (Cantelowes, Gospel Oak, Haverstock, Highgate, Kentish Town). Both cover NW5 1TL,
#: so a demo search from there shows them under "Without travelling".
REMOTE_AREAS: tuple[list[str], ...] = (
    ["E09000007"], ["E05000131", "E05000134", "E05000136", "E05000137", "E05000139"])
REMOTE_CATEGORIES = {"befriending"}


def _remote_fields(nth: int, phone: str) -> dict:
    """A phone listing: no venue, the area it serves and how to join (the `nth` of them)."""
    return {
        "mode": "phone", "venue_id": None, "service_area": REMOTE_AREAS[nth % len(REMOTE_AREAS)],
        "join_how": f"Ring {phone} (weekdays, 10am to 4pm) and ask for a befriender. A "
                    "volunteer then calls you once a week at a time that suits you.",
        "first_visit": "The first call is a short chat to get to know you; say if you would "
                       "like someone who speaks your language.",
    }


def load_areas(session: Session, data_dir: Path) -> int:
    """Camden's wards (ONS 2013 boundaries) and the borough (OSM), skipping those loaded."""
    loaded = 0
    sources = (
        (data_dir / "boundaries" / "wards-camden-E09000007.geojson", "ward", "WD13CD", "WD13NM"),
        (data_dir / "boundaries" / "camden-borough-osm.geojson", "borough", "ref:gss", "name"),
    )
    for path, kind, code_key, name_key in sources:
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            props = feature["properties"]
            code = props[code_key]
            if session.scalar(select(Area.id).where(Area.code == code)):
                continue
            geometry = shape(feature["geometry"])
            if geometry.geom_type == "Polygon":
                geometry = MultiPolygon([geometry])
            session.add(Area(name=props[name_key], kind=kind, code=code,
                             geom=f"SRID=4326;{geometry.wkt}"))
            loaded += 1
    session.flush()
    return loaded


def load_postcodes(session: Session, data_dir: Path) -> int:
    """Camden's postcodes derived from OpenStreetMap addresses (shipped in data/postcodes),
    into the postcodes table; postcodes imported from a published file are left alone."""
    points = []
    path = data_dir / "postcodes" / "camden-postcodes-from-osm.csv"
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            spread = float(row["max_spread_m"] or 0)
            if spread <= MAX_SPREAD_M:
                points.append(DerivedPoint(row["postcode"], float(row["latitude"]),
                                           float(row["longitude"]), spread))
    return store_derived(session, points, dataset="OpenStreetMap (demo)")


def _address(props: dict) -> str | None:
    parts = [" ".join(p for p in (props.get("addr:housenumber"), props.get("addr:street")) if p),
             props.get("addr:city")]
    text = ", ".join(p for p in parts if p)
    return text or None


def load_venues(session: Session, data_dir: Path) -> int:
    """Named community venues from OpenStreetMap, plus libraries' contact details."""
    path = data_dir / "venues" / "camden-community-venues-osm.geojson"
    loaded = 0
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        props = feature["properties"]
        if props.get("category") not in VENUE_KINDS or not props.get("name"):
            continue
        ref = f"{props['osm_type']}/{props['osm_id']}"
        if session.scalar(select(Venue.id).where(Venue.osm_ref == ref)):
            continue
        lon, lat = feature["geometry"]["coordinates"]
        wheelchair = props.get("wheelchair")
        session.add(Venue(
            name=props["name"], address=_address(props), postcode=props.get("addr:postcode"),
            geom=point(lat, lon), osm_ref=ref, kind=props["category"], wheelchair=wheelchair,
            step_free=True if wheelchair in ("yes", "designated") else (
                False if wheelchair == "no" else None),
            opening_hours=props.get("opening_hours"),
            website=props.get("website") or props.get("contact:website"),
            phone=props.get("phone") or props.get("contact:phone"), demo=False))
        loaded += 1
    session.flush()
    loaded += _load_libraries(session, data_dir)
    return loaded


def _load_libraries(session: Session, data_dir: Path) -> int:
    """Camden's public libraries (LibrariesHacked); merged into the OSM library nearby."""
    loaded = 0
    osm_libraries = session.execute(
        select(Venue, lat_of(Venue.geom), lon_of(Venue.geom))
        .where(Venue.kind == "amenity=library")).all()
    path = data_dir / "venues" / "libraries-camden.csv"
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("Year closed"):
                continue
            try:
                where = geocode_postcode(row["Postcode"], data_dir, session)
            except ValueError:
                continue
            match = next((v for v, lat, lon in osm_libraries
                          if haversine_m(lat, lon, where.lat, where.lon) < 250), None)
            if match is not None:
                match.postcode = match.postcode or where.postcode
                match.address = match.address or row["Address 1"]
                continue
            if session.scalar(select(Venue.id).where(Venue.name == row["Library name"])):
                continue
            session.add(Venue(name=row["Library name"], address=row["Address 1"],
                              postcode=where.postcode, geom=point(where.lat, where.lon),
                              location_approximate=where.approximate,
                              kind="amenity=library", website=row.get("URL") or None))
            loaded += 1
    session.flush()
    return loaded


def load_demo(session: Session, data_dir: Path, *, count: int = 72, seed: int = 2026) -> int:
    """Areas, venues and `count` demo activities. Does nothing if demo activities exist."""
    load_areas(session, data_dir)
    load_postcodes(session, data_dir)
    load_venues(session, data_dir)
    if session.scalar(select(func.count()).select_from(Activity).where(Activity.demo)):
        _mend_remote(session)
        return 0
    rng = random.Random(seed)
    venues_by_kind: dict[str, list[Venue]] = {}
    for venue in session.scalars(select(Venue).order_by(Venue.id)):
        venues_by_kind.setdefault(venue.kind or "", []).append(venue)
    now = utcnow()
    created = 0
    organisations: dict[int, Organisation] = {}
    remote = 0
    for index in range(count):
        category, name, description, schedule, cost, tags, kinds = TEMPLATES[
            index % len(TEMPLATES)]
        candidates = [v for k in kinds for v in venues_by_kind.get(k, [])]
        venue = rng.choice(candidates)
        organisation = organisations.get(venue.id)
        if organisation is None:
            organisation = Organisation(name=f"{venue.name} community team")
            session.add(organisation)
            session.flush()
            organisations[venue.id] = organisation
        phone = f"020 7946 {index:04d}"
        fields: dict[str, object] = {
            "name": f"{name} at {venue.name}", "category": category,
            "description": f"{description}\n\n{DEMO_NOTE}", "schedules": [schedule],
            "tags": [t for t in tags.split(";") if t], "venue_id": venue.id,
            "organisation_id": organisation.id,
            "contact_email": f"hello+{index}@example.org",
            "contact_phone": phone,
            "first_visit": "Someone will meet you at the door; come ten minutes early.",
        }
        if category in DEMO_LANGUAGES:
            fields["languages"] = list(DEMO_LANGUAGES[category])
        if category in REMOTE_CATEGORIES:
            fields |= _remote_fields(remote, phone)
            fields["name"] = f"{name} from {venue.name}"  # run from there, not held there
            remote += 1
        fields |= _demo_cost(cost)
        created_at = now - timedelta(days=rng.randint(400, 900))
        activity = create_activity(session, fields, DEMO_ACTOR, at=created_at, demo=True)
        # A realistic spread: most checked in the last year, some long ago, some never.
        roll = rng.random()
        if roll < 0.88:
            age_days = rng.choice((rng.randint(2, 120), rng.randint(120, 240),
                                   rng.randint(240, 700)))
            record_verification(session, activity, rng.choice(METHODS), DEMO_ACTOR,
                                at=now - timedelta(days=age_days, hours=rng.randint(0, 8)),
                                note=None)
        created += 1
    session.flush()
    return created


def _mend_remote(session: Session) -> int:
    """Demo data loaded before the phone listings said their area (they had a venue and no
    area, so "Without travelling" stayed empty): give them what a new load gives. A second
    run finds nothing to mend."""
    # In Python: an emptied JSON column may hold JSON null rather than SQL NULL.
    stale = [a for a in session.scalars(
        select(Activity).where(Activity.demo, Activity.category.in_(REMOTE_CATEGORIES))
        .order_by(Activity.id)) if not a.service_area]
    for nth, activity in enumerate(stale):
        apply_changes(session, activity, _remote_fields(nth, activity.contact_phone or "") | {
            "name": activity.name.replace(" at ", " from ", 1)}, DEMO_ACTOR)
    session.flush()
    return len(stale)


def _demo_cost(cost: str) -> dict:
    if cost == "free":
        return {"cost_kind": "free"}
    if cost == "small fee":
        return {"cost_kind": "small-fee", "cost_text": "small donation welcome"}
    return {"cost_kind": "amount", "cost_amount": cost.lstrip("£")}
