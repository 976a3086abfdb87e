"""Venues without an address or postcode get the nearest one from the extract, marked derived."""

from __future__ import annotations

import json
import shutil

import pytest

from assetmap.config import PROJECT_ROOT
from assetmap.places.addresses import (
    MAX_ADDRESS_M,
    AddressIndex,
    build_address_index,
    fill_missing_addresses,
)

CAMDEN = PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf"


@pytest.fixture(scope="module")
def camden_addresses(tmp_path_factory):
    folder = tmp_path_factory.mktemp("camden-addresses")
    return build_address_index(CAMDEN, "camden", folder)


@pytest.fixture
def addresses(app, camden_addresses):
    target = app.config["TILES_DIR"]
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(camden_addresses, target)
    return target


def a_known_address(path) -> tuple[float, float, str, str]:
    rows = json.loads(path.read_text())["addresses"]
    return next(r for r in rows if r[2] and r[3])


def test_the_index_holds_the_extracts_addresses(camden_addresses):
    index = AddressIndex([camden_addresses])
    assert len(index) > 5000
    lat, lon, text, postcode = a_known_address(camden_addresses)
    found = index.nearest(lat + 0.00005, lon)  # about 5 m north
    assert found.metres < 10
    assert found.postcode  # the same or a neighbour's, never empty this close
    far = index.nearest(52.5, -1.5)
    assert far.text is None and far.postcode is None


def test_missing_address_and_postcode_are_filled_and_marked(app, session, addresses):
    from assetmap.listings.venues import find_or_create_venue

    lat, lon, text, postcode = a_known_address(next(addresses.glob("*.addresses.json")))
    venue = find_or_create_venue(session, name="Hall with no address", lat=lat, lon=lon,
                                 data_dir=app.config["DATA_DIR"])
    assert venue.address and venue.postcode and venue.address_derived is True
    given = find_or_create_venue(session, name="Hall with an address", lat=lat, lon=lon,
                                 address="Back door, 1 Elsewhere Street", postcode="NW1 2DB",
                                 data_dir=app.config["DATA_DIR"])
    assert given.address == "Back door, 1 Elsewhere Street" and given.postcode == "NW1 2DB"
    assert given.address_derived is False
    # A point that is only a postcode area's centre says nothing about the street.
    rough = find_or_create_venue(session, name="Somewhere in NW5", postcode="NW5",
                                 data_dir=app.config["DATA_DIR"])
    assert rough.location_approximate and rough.address is None


def test_fill_after_a_build_skips_far_and_complete_venues(app, session, addresses):
    from assetmap.models import Venue
    from assetmap.spatial import point

    lat, lon, _text, _pc = a_known_address(next(addresses.glob("*.addresses.json")))
    near = Venue(name="Near", geom=point(lat, lon))
    far = Venue(name="Far away", geom=point(52.5, -1.5))
    done = Venue(name="Done", geom=point(lat, lon), address="1 Given Road", postcode="NW1 2DB")
    session.add_all([near, far, done])
    session.flush()
    assert fill_missing_addresses(session, addresses) == 1
    assert near.address_derived and near.address
    assert not far.address_derived and far.address is None
    assert done.address == "1 Given Road" and not done.address_derived
    assert MAX_ADDRESS_M <= 100


def test_derived_address_shows_on_the_activity_page(app, client, addresses):
    from assetmap.db import session_scope
    from assetmap.listings.changes import SYSTEM, create_activity
    from assetmap.listings.venues import find_or_create_venue

    lat, lon, _text, _pc = a_known_address(next(addresses.glob("*.addresses.json")))
    with app.app_context(), session_scope(app) as s:
        venue = find_or_create_venue(s, name="Derived Hall", lat=lat, lon=lon,
                                     data_dir=app.config["DATA_DIR"])
        address, postcode = venue.address, venue.postcode
        activity_id = create_activity(s, {"name": "Knit group", "category": "arts-crafts",
                                          "venue_id": venue.id}, SYSTEM).id
    page = client.get(f"/activities/{activity_id}").get_data(as_text=True)
    assert address in page and postcode in page
    assert "address from OpenStreetMap" in page
