"""Community venues from an OpenStreetMap extract (.osm.pbf / .osm / .osm.bz2).

Community centres, libraries, places of worship, social facilities, arts and sports centres,
clubs, parks and the like become standalone `VenueRecord`s with their address, wheelchair
access, opening hours and contact tags. Areas (closed ways and multipolygons) are reduced to a
representative point, which always lies inside the shape, unlike a centroid. Private places
and unnamed parks, gardens, nature reserves, playgrounds and pitches are left out. OSM data is
ODbL: the UI must credit "© OpenStreetMap contributors".
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from scrapers.http import FetchResult, PoliteClient, refuse_unexpected, sniff
from scrapers.normalise import clean, coordinates, join_parts, normalise_postcode
from scrapers.records import (
    FeedFormatError,
    FetchError,
    Flags,
    Page,
    ParseIssue,
    Record,
    VenueRecord,
)

SOURCE_TYPE = "osm"
# Which tags make a community venue; None means any value of that key.
COMMUNITY_TAGS: Mapping[str, frozenset[str] | None] = {
    "amenity": frozenset({
        "community_centre", "social_centre", "social_facility", "library", "place_of_worship",
        "arts_centre", "theatre", "townhall", "events_venue", "conference_centre", "training",
        "kindergarten", "childcare", "nursery",
    }),
    "leisure": frozenset({
        "sports_centre", "fitness_centre", "park", "garden", "playground", "pitch",
        "nature_reserve", "swimming_pool", "dance", "sports_hall",
    }),
    "club": None,
}
# Left out when unnamed: nobody can be sent to "a park" without a name.
NAME_REQUIRED = frozenset({"leisure=park", "leisure=garden", "leisure=playground",
                           "leisure=pitch", "leisure=nature_reserve"})
_WHAT = {"html": "an HTML page", "json": "JSON", "empty": "an empty file"}
_PRIVATE = frozenset({"private", "no"})
_FLAG_TAGS = {"wheelchair": "wheelchair", "toilets:wheelchair": "toilets_wheelchair",
              "hearing_loop": "hearing_loop"}


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme in ("http", "https"):
        return None
    return Path(url)


def _file_format(name: str) -> str:
    lowered = name.lower()
    for suffix, fmt in ((".osm.pbf", "pbf"), (".pbf", "pbf"), (".osm.bz2", "osm.bz2"),
                        (".osm.gz", "osm.gz"), (".osm", "osm")):
        if lowered.endswith(suffix):
            return fmt
    return "pbf"


class OsmScraper:
    """One extract (a local path, file:// URL or http(s) URL) per source."""

    source_type: ClassVar[str] = SOURCE_TYPE

    def __init__(self, *, tags: Mapping[str, Collection[str] | None] = COMMUNITY_TAGS,
                 max_bytes: int = 2 * 1024 ** 3) -> None:
        self.tags = tags
        self.max_bytes = max_bytes

    def fetch(self, client: PoliteClient, url: str,
              state: Mapping[str, Any]) -> Iterator[Page]:
        """The extract as a local path; downloaded to a temporary file if it is a URL.

        The temporary file lives until the caller asks for the next page, so parse and commit
        before moving on. State: `{"http_cache": {...}}` for downloads, else unchanged.
        """
        path = _local_path(url)
        if path is not None:
            if not path.is_file():
                raise FetchError(f"{path} does not exist; check the extract's path", url=url)
            yield Page(str(path), path, dict(state))
            return
        cache = dict(state.get("http_cache") or {})
        suffix = "." + _file_format(urlsplit(url).path)
        with tempfile.NamedTemporaryFile(suffix=suffix) as download:
            result = client.get(url, cache=cache, sink=download, max_bytes=self.max_bytes)
            if result.not_modified:
                return
            download.flush()
            download.seek(0)
            head = FetchResult(result.url, result.status, download.read(512), result.headers)
            refuse_unexpected(head, "an OSM extract", binary_ok=True)
            if sniff(head) in ("html", "json", "empty"):
                raise FeedFormatError(f"{result.url} returned {_WHAT[sniff(head)]} where an "
                                      "OSM extract was expected; check the extract's address",
                                      url=result.url)
            yield Page(result.url, Path(download.name),
                       {"http_cache": {k: v for k, v in cache.items() if k == url}})

    def parse(self, raw: Any, *, base_url: str) -> Iterator[Record | ParseIssue]:
        """Venues from an extract given as a path or as the file's bytes."""
        import osmium
        from osmium.filter import KeyFilter
        from osmium.osm import Area, Node, Way
        from shapely import wkb
        from shapely.geometry import LineString, Point

        if isinstance(raw, bytes | bytearray):
            source: Any = osmium.io.FileBuffer(bytes(raw), _file_format(base_url))
        else:
            source = str(raw)
        processor = osmium.FileProcessor(source).with_areas().with_filter(KeyFilter(*self.tags))
        factory = osmium.geom.WKBFactory()
        closed_ways: dict[int, VenueRecord] = {}
        try:
            for obj in processor:
                tags = dict(obj.tags)
                kind = self._kind(tags)
                if kind is None or tags.get("access") in _PRIVATE or (
                        kind in NAME_REQUIRED and not tags.get("name")):
                    continue
                if isinstance(obj, Node):
                    point = (obj.location.lat, obj.location.lon) if obj.location.valid() else None
                    if point:
                        yield _venue("node", obj.id, tags, kind, point)
                elif isinstance(obj, Area):
                    osm_type = "way" if obj.from_way() else "relation"
                    try:
                        shape = wkb.loads(factory.create_multipolygon(obj), hex=True)
                    except RuntimeError as exc:
                        yield ParseIssue(SOURCE_TYPE, f"area not built: {exc}", "warning",
                                         f"{osm_type}/{obj.orig_id()}", base_url)
                        continue
                    inside = shape.representative_point()
                    if obj.from_way():
                        closed_ways.pop(obj.orig_id(), None)
                    yield _venue(osm_type, obj.orig_id(), tags, kind, (inside.y, inside.x))
                elif isinstance(obj, Way):
                    points = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                    if not points:
                        continue
                    line = LineString(points) if len(points) > 1 else Point(points[0])
                    middle = line.representative_point() if obj.is_closed() else \
                        line.interpolate(0.5, normalized=True)
                    venue = _venue("way", obj.id, tags, kind, (middle.y, middle.x))
                    if obj.is_closed():
                        closed_ways[obj.id] = venue  # kept if no valid area comes for it
                    else:
                        yield venue
        except RuntimeError as exc:
            raise FeedFormatError(f"{base_url} is not a readable OSM extract ({exc})",
                                  url=base_url) from None
        yield from closed_ways.values()

    def _kind(self, tags: Mapping[str, str]) -> str | None:
        for key, values in self.tags.items():
            value = tags.get(key)
            if value and (values is None or value in values):
                return f"{key}={value}"
        return None


def _venue(osm_type: str, osm_id: int, tags: Mapping[str, str], kind: str,
           point: tuple[float, float]) -> VenueRecord:
    street = join_parts(tags.get("addr:housename"),
                        " ".join(p for p in (tags.get("addr:housenumber"),
                                             tags.get("addr:street")) if p),
                        tags.get("addr:place"), tags.get("addr:city"))
    raw_postcode = tags.get("addr:postcode")
    postcode = normalise_postcode(raw_postcode)
    valid = coordinates(*point)
    return VenueRecord(
        SOURCE_TYPE, external_id=f"{osm_type}/{osm_id}", name=clean(tags.get("name")),
        address=join_parts(street, raw_postcode if postcode is None else None),
        postcode=postcode, lat=valid[0] if valid else None, lon=valid[1] if valid else None,
        accessibility=Flags({flag: tags[key] for key, flag in _FLAG_TAGS.items()
                             if tags.get(key)}),
        source_url=f"https://www.openstreetmap.org/{osm_type}/{osm_id}", kind=kind,
        opening_hours=clean(tags.get("opening_hours")),
        website=clean(tags.get("website") or tags.get("contact:website") or tags.get("url")),
        phone=clean(tags.get("phone") or tags.get("contact:phone")),
        email=clean(tags.get("email") or tags.get("contact:email")))
