import pytest
from sqlalchemy import func, select

from assetmap.config import PROJECT_ROOT
from assetmap.demo import load_postcodes
from assetmap.errors import GeocodeError
from assetmap.models import Postcode
from assetmap.places.geocode import geocode_postcode, parse_lat_lon
from assetmap.values import normalise_postcode

DATA = PROJECT_ROOT / "data"


@pytest.fixture
def camden(session):
    """The demo's Camden postcodes in the postcodes table, as `assetmap demo load` puts them."""
    load_postcodes(session, DATA)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Postcode)) > 1000
    return session


@pytest.mark.parametrize("typed", ["nw1 2db", "NW12DB", "  Nw1   2Db "])
def test_postcodes_typed_any_way_normalise(typed):
    assert normalise_postcode(typed) == "NW1 2DB"


def test_full_postcode_resolves_exactly(camden):
    found = geocode_postcode("nw1 2db", DATA, camden)
    assert found.method == "postcode" and not found.approximate
    assert (found.lat, found.lon) == (51.52951, -0.127227)


def test_unknown_full_postcode_falls_back_to_outward_code_flagged_approximate(camden):
    found = geocode_postcode("NW5 9ZZ", DATA, camden)
    assert found.approximate and found.method == "outcode"
    assert found.postcode == "NW5 9ZZ"
    assert abs(found.lat - 51.55435) < 1e-6


def test_outward_codes_newer_than_the_table_come_from_full_postcodes(camden):
    found = geocode_postcode("N1C 9ZZ", DATA, camden)  # N1C was created in 2012
    assert found.approximate and 51.53 < found.lat < 51.545


@pytest.mark.parametrize("bad", ["", "hello", "NW1 2D", "12345", "ZZ99 9ZZ"])
def test_bad_postcodes_get_a_clear_error(camden, bad):
    with pytest.raises(GeocodeError) as info:
        geocode_postcode(bad, DATA, camden)
    assert info.value.field == "postcode"


@pytest.mark.parametrize("lat, lon, field", [("x", "0", "lat"), ("91", "0", "lat"),
                                             ("51", "181", "lon"), ("nan", "0", "lat")])
def test_lat_lon_validation_names_the_field(lat, lon, field):
    with pytest.raises(GeocodeError) as info:
        parse_lat_lon(lat, lon)
    assert info.value.field == field
