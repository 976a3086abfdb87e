"""What a map view shows: the listings inside its box, grouped on the server at low zooms.

A county's 50,000 listings cannot go to the browser at once. The map asks for its view (a bbox
and a zoom); when the view holds few listings, or the map is zoomed in, each comes back as a small
point; otherwise the database groups them into grid cells (about 64 screen pixels square) and
only the counts and centres travel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Row, cast, func, select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.errors import ValidationError
from assetmap.freshness.rules import STATE_LABELS, current
from assetmap.listings.query import ActivityFilter, activities_query, filtered
from assetmap.listings.serialize import to_feature
from assetmap.maps.nearby import when_words
from assetmap.models import Activity, Venue
from assetmap.params import in_range
from assetmap.spatial import BBox, lat_of, lon_of

#: At and above this zoom every listing in view is a point of its own.
POINTS_FROM_ZOOM = 15
#: Below that zoom, a view holding at most this many listings still gets points.
MAX_POINTS = 400
CELL_PIXELS = 64
MAX_ZOOM = 22
MAX_LIST = 100


@dataclass(frozen=True)
class MapView:
    bbox: BBox
    zoom: int
    filter: ActivityFilter
    list_size: int = 0  # also send this many listings in full, nearest the view's centre first

    @classmethod
    def checked(cls, flt: ActivityFilter, zoom: int, list_size: int = 0) -> MapView:
        """A view of the filter's box; ValidationError names `bbox`, `zoom` or `list`."""
        if flt.bbox is None:
            raise ValidationError("bbox", "give the map view as minLon,minLat,maxLon,maxLat")
        return cls(flt.bbox, in_range(zoom, "zoom", 0, MAX_ZOOM), flt,
                   in_range(list_size, "list", 0, MAX_LIST))


def _per_venue(view: MapView):
    """The view's listings counted per venue: (venue id, lat, lon, listings, lowest listing id).

    Counting, grouping and finding the nearest work on these rows, so the database reads each
    listing through the (venue_id, status) index and computes a point's coordinates once per
    venue (a county has several listings a venue), never once per listing.
    """
    lat, lon = lat_of(Venue.geom), lon_of(Venue.geom)
    stmt = (select(Venue.id.label("vid"), lat.label("lat"), lon.label("lon"),
                   func.count().label("n"), func.min(Activity.id).label("first_id"))
            .select_from(Activity).join(Venue, Activity.venue_id == Venue.id)
            .group_by(Venue.id))
    return filtered(stmt, view.filter).subquery()


def view_features(session: Session, view: MapView, *, now: datetime,
                  include_private: bool = False) -> dict:
    """A GeoJSON FeatureCollection of points (kind "listing") or clusters (kind "cluster");
    with `list`, `items` holds that many listings in full, nearest the view's centre first."""
    venues = _per_venue(view)
    clusters: list[dict] = []
    if view.zoom < POINTS_FROM_ZOOM:
        # The cells' counts add up to the total, so one grouping query answers both.
        clusters = _clusters(session, view, venues)
        total = sum(f["properties"]["count"] for f in clusters)
    else:
        total = session.execute(select(func.coalesce(_summed(venues.c.n), 0))).scalar_one()
    clustered = view.zoom < POINTS_FROM_ZOOM and total > MAX_POINTS
    lat, lon = lat_of(Venue.geom), lon_of(Venue.geom)
    features = clusters if clustered else _points(session, view, lat, lon, now)
    found = {"type": "FeatureCollection", "total": total, "clustered": clustered,
             "zoom": view.zoom, "features": features}
    if view.list_size:
        found["items"] = _nearest_items(session, view, venues, now, include_private)
    return found


def _nearest_items(session: Session, view: MapView, venues, now: datetime,
                   include_private: bool) -> list[dict]:
    box = view.bbox
    clat, clon = (box.min_lat + box.max_lat) / 2, (box.min_lon + box.max_lon) / 2
    squeeze = math.cos(math.radians(clat)) ** 2  # a degree of longitude is shorter

    def order(lat, lon):
        return (lat - clat) * (lat - clat) + (lon - clon) * (lon - clon) * squeeze

    # The nearest venues first (each holds at least one listing, so list_size of them is
    # enough); the listings are then read at those venues only, not sorted across the view.
    near = session.execute(select(venues.c.vid, venues.c.n, order(venues.c.lat, venues.c.lon))
                           .order_by(order(venues.c.lat, venues.c.lon), venues.c.vid)
                           .limit(view.list_size)).all()
    if not near:
        return []
    lat, lon = lat_of(Venue.geom), lon_of(Venue.geom)
    ids_stmt = (select(Activity.id).select_from(Activity)
                .join(Venue, Activity.venue_id == Venue.id)
                .order_by(order(lat, lon), Activity.id).limit(view.list_size))
    chosen = _venues_holding(near, view.list_size)
    if chosen is not None:
        ids_stmt = ids_stmt.where(Venue.id.in_(chosen))
    ids = list(session.execute(filtered(ids_stmt, view.filter)).scalars())
    if not ids:
        return []
    rows = {a.id: (a, alat, alon) for a, alat, alon in session.execute(
        activities_query(view.filter).where(Activity.id.in_(ids)))}
    items = [to_feature(rows[i][0], now=now, lat=rows[i][1], lon=rows[i][2],
                        include_private=include_private) for i in ids if i in rows]
    for item in items:
        item["properties"]["when"] = when_words(item["properties"])
    return items


def _summed(counts):
    """A sum of counts as an integer (PostgreSQL's sum of bigints is numeric, a Decimal)."""
    return cast(func.sum(counts), Integer)


def _venues_holding(near: Sequence[Row], wanted: int) -> list[int] | None:
    """The venues (nearest first: id, listings, distance) that hold the `wanted` nearest
    listings, or None when a tie at the edge means another venue might (then ask them all)."""
    held = 0
    for _vid, n, dist in near:
        held += n
        if held >= wanted:
            if len(near) == wanted and near[-1][2] == dist:  # one not read may be as near
                return None
            return [vid for vid, _n, d in near if d <= dist]
    return [vid for vid, _n, _d in near]  # the view holds fewer: every venue in it was read


def cell_degrees(zoom: int) -> float:
    """The grid cell's side in degrees of longitude at `zoom` (CELL_PIXELS on screen)."""
    return 360.0 / (256 * (1 << zoom)) * CELL_PIXELS


def _clusters(session: Session, view: MapView, venues) -> list[dict]:
    size = cell_degrees(view.zoom)
    # Latitude cells a little shorter than longitude cells keep them roughly square at
    # British latitudes; exact squareness does not matter for counting.
    gx = func.floor(venues.c.lon / size)
    gy = func.floor(venues.c.lat / (size * 0.62))
    n = _summed(venues.c.n)
    stmt = (select(gx, gy, n, func.sum(venues.c.lat * venues.c.n) / n,
                   func.sum(venues.c.lon * venues.c.n) / n, func.min(venues.c.first_id))
            .group_by(gx, gy))
    features = []
    for _x, _y, count, clat, clon, first_id in session.execute(stmt):
        features.append({
            "type": "Feature", "id": f"c{first_id}",
            "geometry": {"type": "Point", "coordinates": [round(clon, 6), round(clat, 6)]},
            "properties": {"kind": "cluster", "count": count}})
    return features


def _points(session: Session, view: MapView, lat, lon, now: datetime) -> list[dict]:
    stmt = (select(Activity.id, Activity.name, Activity.category, Activity.freshness_state,
                   Activity.freshness_due_at, Activity.last_verified_at,
                   Activity.last_verified_method, Activity.possibly_closed, lat, lon)
            .select_from(Activity).join(Venue, Activity.venue_id == Venue.id)
            .order_by(Activity.id))
    stmt = filtered(stmt, view.filter)
    features = []
    for (aid, name, category, cached, due_at, verified_at, method, closed, plat,
         plon) in session.execute(stmt):
        state = current(now, cached_state=cached, due_at=due_at, last_verified_at=verified_at,
                        method=method, category=category,
                        possibly_closed=bool(closed)).state
        features.append({
            "type": "Feature", "id": aid,
            "geometry": {"type": "Point", "coordinates": [round(plon, 6), round(plat, 6)]},
            "properties": {"kind": "listing", "name": name,
                           "category_label": vocab.CATEGORY_LABELS.get(category, category),
                           "state": state, "state_label": STATE_LABELS[state]}})
    return features
