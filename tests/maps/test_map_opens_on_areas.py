"""Every map opens on the signed-in person's own areas, else on the whole place: the box handed
to the page (<body data-place-bounds>) is worked out once, by assetmap.people.areas.map_bounds."""

from __future__ import annotations

import json
import re

import pytest
from shapely.geometry import shape
from shapely.ops import unary_union
from sqlalchemy import select, update

from assetmap.config import PROJECT_ROOT
from assetmap.db import session_scope
from assetmap.demo import load_areas
from assetmap.models import Area
from assetmap.people.accounts import find_user, set_areas

BOUNDARIES = PROJECT_ROOT / "data" / "boundaries"
BOUNDS_RE = re.compile(r'data-place-bounds="([^"]*)"')
TWO_WARDS = ("Kentish Town", "Highgate")
# The page carries five decimals (about a metre).
CLOSE = 1e-5 + 1e-9


def source_bounds(ward_names: tuple[str, ...] | None) -> tuple[float, ...]:
    """The box around wards (or, with None, every ward and the borough) read straight from the
    published files with shapely: an answer worked out apart from the database's."""
    shapes = []
    for name, key in (("wards-camden-E09000007.geojson", "WD13NM"),
                      ("camden-borough-osm.geojson", None)):
        for feature in json.loads((BOUNDARIES / name).read_text())["features"]:
            if ward_names is None or (key and feature["properties"][key] in ward_names):
                shapes.append(shape(feature["geometry"]))
    return unary_union(shapes).bounds


def page_bounds(client, path: str) -> tuple[float, ...] | None:
    response = client.get(path)
    assert response.status_code == 200, path
    found = BOUNDS_RE.search(response.get_data(as_text=True)).group(1)
    return tuple(map(float, found.split(","))) if found else None


def same_box(got: tuple[float, ...] | None, want: tuple[float, ...]) -> bool:
    return got is not None and all(abs(g - w) <= CLOSE for g, w in zip(got, want, strict=True))


@pytest.fixture
def camden_areas(app) -> None:
    with session_scope(app) as s:
        load_areas(s, app.config["DATA_DIR"])


def give_areas(app, email: str, names: tuple[str, ...]) -> None:
    with session_scope(app) as s:
        areas = s.scalars(select(Area).where(Area.name.in_(names))).all()
        assert len(areas) == len(names)
        set_areas(s, find_user(s, email), areas)


@pytest.mark.parametrize(("role", "pages"), [
    ("coordinator", ("/coordinator/freshness", "/coordinator/coverage", "/", "/suggest")),
    ("connector", ("/connector", "/", "/suggest")),
])
def test_a_person_with_two_wards_opens_every_map_on_those_wards(app, client, login, role,
                                                                pages, camden_areas):
    email = login(role)
    give_areas(app, email, TWO_WARDS)
    want = source_bounds(TWO_WARDS)
    place = source_bounds(None)
    assert not same_box(want, place)  # the two wards are a smaller box than the borough
    for path in pages:
        got = page_bounds(client, path)
        assert same_box(got, want), (path, got, want)


def test_without_areas_maps_open_on_the_whole_place(app, client, login, camden_areas):
    place = source_bounds(None)
    assert same_box(page_bounds(client, "/"), place)  # the public
    login("connector")
    assert same_box(page_bounds(client, "/connector"), place)


def test_an_administrator_sees_the_whole_place_whatever_their_areas(app, client, login,
                                                                    camden_areas):
    email = login("admin")
    give_areas(app, email, TWO_WARDS)
    assert same_box(page_bounds(client, "/coordinator/freshness"), source_bounds(None))


def test_retired_areas_do_not_count_and_signing_out_returns_to_the_place(app, client, login,
                                                                          camden_areas):
    email = login("coordinator")
    give_areas(app, email, TWO_WARDS)
    with session_scope(app) as s:
        s.execute(update(Area).where(Area.name == "Highgate").values(retired=True))
    assert same_box(page_bounds(client, "/"), source_bounds(("Kentish Town",)))
    with session_scope(app) as s:
        s.execute(update(Area).where(Area.name == "Kentish Town").values(retired=True))
    # Every area they look after is retired: the place's live areas instead.
    assert same_box(page_bounds(client, "/"), source_bounds(None))
    client.post("/logout")
    assert same_box(page_bounds(client, "/"), source_bounds(None))


def test_a_place_without_areas_hands_the_page_no_box(client, login):
    login("coordinator")
    assert page_bounds(client, "/coordinator/freshness") is None
