"""The handout's words, directions and map, without a database."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
import shapely

from assetmap.geo import haversine_m
from assetmap.handout.directions import directions, distance_words, route_street_labels
from assetmap.handout.drawing import NEAR_SIZE, MapSpec, MapStop, Place, _label_shape
from assetmap.handout.model import first_visit_words, session_words, trim_words
from assetmap.values import cost_in_words
from assetmap.walking.graph import Street, build_graph
from assetmap.walking.router import Router

# A tiny street grid (lat, lon): A Street runs north, then B Road east, then a crossing.
P0 = (51.5300, -0.1400)
P1 = (51.5318, -0.1400)  # 200 m north
P2 = (51.5318, -0.1371)  # 200 m east
VENUE = (51.53195, -0.13710)  # a few metres north of the end of B Road


def _streets(ways: dict[str, list[tuple[float, float]]],
             *points: tuple[float, float]) -> list[Street | None]:
    """The street of each segment of a route through `points`, as a graph's edge labels give
    it (None where no way joins two points: the snap line to the venue)."""
    out: list[Street | None] = []
    for a, b in zip(points[:-1], points[1:], strict=True):
        label = next((name for name, pts in ways.items() if a in pts and b in pts), None)
        out.append(None if label is None else Street(label, not label.startswith("the ")))
    return out


def _coords(*points: tuple[float, float]) -> list[list[float]]:
    return [[lon, lat] for lat, lon in points]


def test_turn_by_turn_with_street_names_and_the_side_of_arrival():
    streets = _streets({"A Street": [P0, P1], "B Road": [P1, P2]}, P0, P1, P2, VENUE)
    steps = directions(_coords(P0, P1, P2, VENUE), destination="The Hall",
                          metres_per_minute=50, streets=streets)
    assert steps.kind == "streets"
    assert steps.steps[0] == "Head north along A Street for 200 m."
    assert steps.steps[1] == "Turn right onto B Road and walk 200 m."
    assert steps.steps[2].startswith("The Hall is on your left.")
    assert "About 9 minutes in all (400 m)" in steps.steps[2]


def test_streets_followed_straight_on_join_one_sentence():
    north = (51.5336, -0.1400)
    streets = _streets({"A Street": [P0, P1], "C Street": [P1, north]}, P0, P1, north)
    steps = directions(_coords(P0, P1, north), destination="X", metres_per_minute=80,
                          streets=streets).steps
    assert steps[0] == "Head north along A Street, carrying straight on along C Street (400 m)."


def test_without_street_names_directions_use_headings():
    steps = directions(_coords(P0, P1, P2, VENUE), destination="The Hall",
                          metres_per_minute=50, streets=None)
    assert steps.kind == "headings"
    assert steps.steps[0] == "Head north for 200 m."
    assert steps.steps[1] == "Turn right and walk east for 200 m."


def test_a_route_outside_every_network_is_an_honest_estimate():
    steps = directions(_coords(P0, P2), destination="The Hall", metres_per_minute=50,
                          estimated=True)
    assert steps.kind == "estimate"
    assert "north-east as the crow flies" in steps.steps[0]
    assert "no street map" in steps.steps[1]


@pytest.mark.parametrize("metres, words", [(10, "a few steps"), (64, "60 m"), (430, "450 m"),
                                          (1234, "1.2 km")])
def test_distances_in_words(metres, words):
    assert distance_words(metres) == words


def test_session_words_are_in_london_time():
    # 10:30 UTC in July is 11:30 in London (British Summer Time).
    session = {"start": datetime(2026, 7, 7, 10, 30, tzinfo=UTC).isoformat(),
               "end": datetime(2026, 7, 7, 11, 0, tzinfo=UTC).isoformat()}
    assert session_words(session) == "Tuesday 7 July, 11:30am to 12 noon"


@pytest.mark.parametrize("cost, words", [
    ({"kind": "free"}, "Free"), ({"kind": "amount", "amount": "3.50"}, "£3.50"),
    ({"kind": "amount", "amount": "4.00"}, "£4"),
    ({"kind": "small-fee", "text": "donation welcome"}, "A small fee (donation welcome)"),
    ({"kind": "unknown"}, "Ask the organiser")])
def test_cost_words(cost, words):
    assert cost_in_words(cost) == words


def test_first_visit_uses_the_organisers_words_else_the_tags():
    assert first_visit_words({"first_visit": "Ring Jo first.", "tags": ["drop-in"]}) == [
        "Ring Jo first."]
    lines = first_visit_words({"tags": ["drop-in", "companion-welcome"]})
    assert lines[0].startswith("You can just turn up") and len(lines) == 2
    assert "ringing first" in first_visit_words({"tags": []})[0]


def test_map_puts_start_north_of_a_place_to_its_south_and_fits_the_box():
    south = (51.5250, -0.1400)
    drawing = MapSpec(None, (_coords(P0, south),), Place(*P0, "Start"),
                         (Place(*south, "1"),)).draw(1000, 560)
    start, place = drawing.markers
    assert start.kind == "start" and place.label == "1"
    assert start.y < place.y and math.isclose(start.x, place.x, abs_tol=0.5)
    for m in drawing.markers:
        assert 0 < m.x < 1000 and 0 < m.y < 560
    # The scale bar is a round number of metres, drawn to scale.
    metres = haversine_m(*P0, *south)
    assert math.isclose(drawing.scale_length / drawing.scale_metres,
                        math.dist((start.x, start.y), (place.x, place.y)) / metres, rel_tol=0.02)


def test_street_names_that_would_overlap_are_left_off():
    stretch = [P0, P1]
    spec = MapSpec(None, (_coords(P0, P1),), None, (Place(*P1, "1"),),
                      street_labels=(("Long Street Name", stretch), ("Other Street", stretch)))
    labels = spec.draw().labels
    assert [label.text for label in labels] == ["Long Street Name"]
    assert labels[0].angle in (90.0, -90.0)  # along the north-south street


def test_directions_on_a_built_network_name_its_streets():
    """From an extract to words, with nothing but the graph: the labels stored at build."""
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "osm" / "street-names.osm"
    graph = build_graph(fixture)
    start = (51.5 - 3 / 111195, -0.1 + 10 / 69220)
    end = (51.5 - 3 / 111195, -0.1 + 290 / 69220)
    route = Router(graph).route(*start, *end)
    coords = route.geometry["coordinates"]
    streets = graph.streets_along(route.edges)
    steps = directions(coords, destination="The Hall", metres_per_minute=80,
                          streets=streets)
    assert steps.kind == "streets"
    assert steps.steps[0] == ("Head east along Kentish Town Road, carrying straight on along "
                              "Leighton Road (300 m).")
    assert [name for name, _ in route_street_labels(coords, streets)] == [
        "Kentish Town Road", "Leighton Road"]


def test_route_map_names_the_route_streets_nearby_and_the_nearest_stop():
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "osm" / "street-names.osm"
    graph = build_graph(fixture)

    def at(x: float, y: float) -> tuple[float, float]:
        return 51.5 + y / 111195, -0.1 + x / 69220

    route = Router(graph).route(*at(10, -3), *at(190, -3))
    coords = route.geometry["coordinates"]
    streets = graph.streets_along(route.edges)
    spec = MapSpec(graph, (coords,), Place(*at(10, -3), "Start"),
                      (Place(*at(190, -3), "1"),), False,
                      tuple(route_street_labels(coords, streets)),
                      (MapStop(*at(150, -40), "bus", "Leighton Road"),
                       MapStop(*at(60, 60), "station", "Kentish Town")))
    drawing = spec.draw(1600, 900)  # a page-wide map: room for every name
    by_kind = {kind: [label.text for label in drawing.labels if label.kind == kind]
               for kind in ("route", "near")}
    # The towpath is out of view; the pavement beside the route shares its name.
    assert by_kind == {"route": ["Kentish Town Road"], "near": ["Leighton Road"]}
    assert [(s.kind, s.text) for s in drawing.stops] == [
        ("bus", "Bus stop Leighton Road"), ("station", "Kentish Town station")]
    # Streets are drawn by kind, as the basemap draws them.
    assert drawing.lines_of("major") and drawing.lines_of("minor") and drawing.lines_of("path")
    # Nothing written over anything else, and all of it inside the map.
    shapes = [_label_shape(label, 13.0) for label in drawing.labels]
    size = 13.0 * NEAR_SIZE
    for s in drawing.stops:
        width = len(s.text) * size
        left = s.text_x if s.anchor == "start" else s.text_x - width
        shapes.append(shapely.box(left, s.text_y - size, left + width, s.text_y + size * 0.3))
    for i, a in enumerate(shapes):
        assert shapely.box(0, 0, 1600, 900).contains(a)
        assert not any(a.intersects(b) for b in shapes[i + 1:])


def test_the_nearest_stop_is_always_in_view_and_named():
    far = MapStop(P0[0] + 0.004, P0[1] - 0.004, "station", "Far Town")  # ~500 m away
    spec = MapSpec(None, (_coords(P0, P1),), Place(*P0, "Start"), (Place(*P1, "1"),),
                      stops=(far,))
    (mark,) = spec.draw(1000, 560).stops
    assert 0 < mark.x < 1000 and 0 < mark.y < 560
    assert mark.text == "Far Town station"


@pytest.mark.parametrize("text, limit, trimmed", [
    ("Soup and  cake\nwith friends.", 40, "Soup and cake with friends."),
    ("Soup, sandwiches and cake with a small crowd.", 20, "Soup, sandwiches and…"),
    ("Soup, sandwiches and cake with a small crowd.", 16, "Soup, sandwiches…"),
    ("Soup, sandwiches and cake with a small crowd.", 18, "Soup, sandwiches…"),
    ("Extraordinarily long", 5, "Extraordinarily…"),
])
def test_trim_words_cuts_at_the_end_of_a_word_and_says_so(text, limit, trimmed):
    assert trim_words(text, limit) == trimmed
