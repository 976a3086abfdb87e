"""Venues: found by OSM reference, or by name near the same point, else created."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap.errors import ValidationError
from assetmap.geo import haversine_m
from assetmap.models import Venue
from assetmap.places.addresses import fill_new_venue
from assetmap.places.geocode import geocode_postcode
from assetmap.spatial import BBox, in_bbox, lat_of, lon_of, point
from assetmap.values import normalise_postcode

SAME_VENUE_METRES = 150


def venue_point(session: Session, venue: Venue) -> tuple[float, float]:
    lat, lon = session.execute(select(lat_of(Venue.geom), lon_of(Venue.geom))
                               .where(Venue.id == venue.id)).one()
    return lat, lon


def resolve_location(*, postcode: str | None, lat: float | None, lon: float | None,
                     data_dir: Path, session: Session) -> tuple[str | None, float, float, bool]:
    """(postcode, lat, lon, approximate) from a postcode and/or coordinates."""
    clean_postcode = normalise_postcode(postcode) if postcode else None
    if lat is not None and lon is not None:
        return clean_postcode, lat, lon, False
    if clean_postcode:
        found = geocode_postcode(clean_postcode, data_dir, session)
        return clean_postcode, found.lat, found.lon, found.approximate
    raise ValidationError("postcode", "give the venue's postcode or its lat and lon")


def find_or_create_venue(session: Session, *, name: str, data_dir: Path,
                         address: str | None = None, postcode: str | None = None,
                         lat: float | None = None, lon: float | None = None,
                         osm_ref: str | None = None, **details: object) -> Venue:
    if osm_ref:
        existing = session.scalar(select(Venue).where(Venue.osm_ref == osm_ref))
        if existing:
            return existing
    postcode, lat, lon, approximate = resolve_location(postcode=postcode, lat=lat, lon=lon,
                                                       data_dir=data_dir, session=session)
    delta = 0.003  # ~200-300 m box around the point, then an exact distance check
    box = BBox(lon - delta, lat - delta, lon + delta, lat + delta)
    candidates = session.execute(
        select(Venue, lat_of(Venue.geom), lon_of(Venue.geom))
        .where(func.lower(Venue.name) == name.strip().lower())
        .where(in_bbox(Venue.geom, box))).all()
    nearest = min(((haversine_m(lat, lon, vlat, vlon), venue.id, venue)
                   for venue, vlat, vlon in candidates), default=None)
    if nearest is not None and nearest[0] <= SAME_VENUE_METRES:
        return nearest[2]
    venue = Venue(name=name.strip(), address=address, postcode=postcode, geom=point(lat, lon),
                  location_approximate=approximate, osm_ref=osm_ref, **details)
    fill_new_venue(venue, lat, lon)  # a missing address from the extract, marked derived
    session.add(venue)
    session.flush()
    return venue
