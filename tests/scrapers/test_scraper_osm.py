"""OpenStreetMap community venues from recorded extracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import Point, shape

from scrapers.osm import OsmScraper
from scrapers.records import FeedFormatError, FetchError, VenueRecord

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def extract() -> Path:
    return Path(__file__).resolve().parent.parent / "fixtures" / "osm" / "granary-square.osm.pbf"


def venues(raw, base_url: str = "granary-square.osm.pbf") -> dict[str, VenueRecord]:
    return {v.external_id: v for v in OsmScraper().parse(raw, base_url=base_url)}


def test_granary_square_nodes_ways_and_relations(extract):
    found = venues(extract)

    assert set(found) == {"relation/12727580", "way/453267219", "way/944565395"}
    park = found["relation/12727580"]
    assert (park.name, park.kind) == ("Camley Street Natural Park", "leisure=nature_reserve")
    assert park.website == "https://www.wildlondon.org.uk/reserves/camley-street-natural-park"
    assert park.source_url == "https://www.openstreetmap.org/relation/12727580"
    club = found["way/944565395"]
    assert (club.name, club.kind) == ("St Pancras Cruising Club", "club=sport")
    assert 51.53 < club.lat < 51.54 and -0.13 < club.lon < -0.12


def test_a_representative_point_lies_inside_the_area(extract):
    import osmium
    from shapely import wkb

    factory = osmium.geom.WKBFactory()
    area = next(wkb.loads(factory.create_multipolygon(o), hex=True)
                for o in osmium.FileProcessor(str(extract)).with_areas()
                if o.is_area() and o.orig_id() == 12727580)
    park = venues(extract)["relation/12727580"]
    # The nature reserve has a hole in the middle: its centroid falls in the hole.
    assert not area.contains(area.centroid)
    assert area.contains(Point(park.lon, park.lat))


def test_unnamed_parks_and_other_places_are_left_out(extract):
    found = venues(extract)
    assert "way/947437572" not in found  # an unnamed leisure=park
    assert not any(v.kind and v.kind.startswith("amenity=restaurant") for v in found.values())


def test_parse_from_bytes(extract):
    assert set(venues(extract.read_bytes())) == set(venues(extract))
    with pytest.raises(FeedFormatError, match="not a readable OSM extract"):
        venues(b"<html>not found</html>", "extract.osm.pbf")


def test_tags_are_mapped_to_address_access_and_contact(tmp_path):
    (tmp_path / "one.osm").write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="51.5380910" lon="-0.1493317" version="1">'
        '<tag k="amenity" v="community_centre"/><tag k="name" v="Cecil Sharp House"/>'
        '<tag k="addr:housenumber" v="2"/><tag k="addr:street" v="Regent\'s Park Road"/>'
        '<tag k="addr:postcode" v="nw1 7ay"/><tag k="wheelchair" v="limited"/>'
        '<tag k="toilets:wheelchair" v="yes"/><tag k="opening_hours" v="Mo-Fr 09:00-17:00"/>'
        '<tag k="contact:phone" v="+44 20 7485 2206"/></node>'
        '<node id="2" lat="51.5" lon="-0.1" version="1"><tag k="amenity" v="library"/>'
        '<tag k="name" v="Members only"/><tag k="access" v="private"/></node>'
        '</osm>', encoding="utf-8")
    (house,) = venues(tmp_path / "one.osm").values()
    assert (house.address, house.postcode) == ("2 Regent's Park Road", "NW1 7AY")
    assert house.accessibility == {"wheelchair": "limited", "toilets_wheelchair": "yes"}
    assert house.opening_hours == "Mo-Fr 09:00-17:00" and house.phone == "+44 20 7485 2206"
    assert house.external_id == "node/1" and house.kind == "amenity=community_centre"


@pytest.mark.slow
def test_camden_matches_the_reference_venue_list():
    """Same venues, categories and points as the team's reference GeoJSON for Camden."""
    found = venues(DATA / "osm" / "camden.osm.pbf")
    reference = json.loads((DATA / "venues" / "camden-community-venues-osm.geojson")
                           .read_text(encoding="utf-8"))["features"]
    expected = {f"{f['properties']['osm_type']}/{f['properties']['osm_id']}": f
                for f in reference}
    assert set(found) == set(expected)
    for key, feature in expected.items():
        venue = found[key]
        assert venue.kind == feature["properties"]["category"]
        assert venue.name == feature["properties"].get("name")
        assert Point(venue.lon, venue.lat).distance(shape(feature["geometry"])) < 1e-6


def test_fetch_a_local_extract_and_a_file_url(extract, polite_client):
    (page,) = OsmScraper().fetch(polite_client, str(extract), {})
    assert page.raw == extract
    (page,) = OsmScraper().fetch(polite_client, extract.as_uri(), {"keep": 1})
    assert page.raw == extract and page.state == {"keep": 1}
    with pytest.raises(FetchError, match="does not exist"):
        list(OsmScraper().fetch(polite_client, "/nowhere/extract.osm.pbf", {}))


def test_fetch_downloads_over_http_to_a_temporary_file(feed_server, polite_client, extract):
    feed_server.route("/extracts/kx.osm.pbf", feed_server.reply(
        body=extract.read_bytes(), etag='"kx1"',
        headers={"Content-Type": "application/octet-stream"}))
    url = feed_server.url("/extracts/kx.osm.pbf")
    scraper = OsmScraper()
    pages = scraper.fetch(polite_client, url, {})
    page = next(pages)
    assert page.raw.suffix == ".pbf" and page.raw.stat().st_size == extract.stat().st_size
    assert set(venues(page.raw)) == set(venues(extract))
    downloaded = page.raw
    assert list(pages) == []  # the caller moves on: the temporary file goes
    assert not downloaded.exists()
    assert list(scraper.fetch(polite_client, url, page.state)) == []  # 304 next time
