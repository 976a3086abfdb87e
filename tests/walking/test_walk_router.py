"""Router behaviour: step-free and access rules, snapping, routes, isochrones, estimates."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import shapely
from pyproj import Geod

from assetmap.walking import DETOUR_FACTOR, PACES, Pace, Router, make_paces

GEOD = Geod(ellps="WGS84")
M_LAT = 1 / 111_195  # degrees per metre north in the rules fixture (51.5 N)
M_LON = 1 / 69_220  # degrees per metre east


def at(x: float, y: float) -> tuple[float, float]:
    """(lat, lon) of a point x metres east and y metres north of node 1 of walk-rules.osm."""
    return 51.5 + y * M_LAT, -0.1 + x * M_LON


def geodesic_length(route) -> float:
    coords = np.array(route.geometry["coordinates"])
    return GEOD.line_length(coords[:, 0], coords[:, 1])


def segments(route) -> set[frozenset[tuple[float, float]]]:
    """The route's straight pieces as unordered (lat, lon) pairs."""
    c = route.geometry["coordinates"]
    return {frozenset({(a[1], a[0]), (b[1], b[0])}) for a, b in zip(c, c[1:], strict=False)}


def random_points(router: Router, n: int, seed: int) -> np.ndarray:
    min_lon, min_lat, max_lon, max_lat = router.graph.meta.bbox
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(min_lat, max_lat, n), rng.uniform(min_lon, max_lon, n)])


# --- the walking rules, seen through routes -------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "typical", "step_free"),
    [
        ((0, 0), (300, 0), 900, 900),  # not along the foot=no footway (300 m)
        ((0, 0), (300, 300), 600, 600),  # not along the motorway (424 m)
        ((300, 0), (400, 0), 100, 316.2),  # steps; step-free takes the ramp
        ((400, 0), (600, 0), 200, 360.6),  # over the stile; step-free goes round
        ((600, 0), (800, 0), 447.2, 447.2),  # private gate: round by the oneway street
        ((800, 0), (600, 0), 447.2, 447.2),  # ...which is walkable against its direction
        ((0, 300), (300, 600), 600, 600),  # trunk without a sidewalk is not walkable
        ((300, 600), (0, 600), 900, 900),  # construction is not walkable
        ((300, -200), (400, -300), 200, 200),  # round the pedestrian area's outline
        ((300, 300), (800, 300), 500, 500),  # private road with foot=yes, past the gate
    ],
)
def test_rules_fixture_walks(rules: Router, a, b, typical, step_free) -> None:
    for pace, want in (("typical", typical), ("step-free", step_free)):
        route = rules.route(*at(*a), *at(*b), pace=pace)
        assert not route.estimated
        assert route.metres == pytest.approx(want, rel=0.002), pace


def test_no_route_uses_an_excluded_way(rules: Router, rules_oracle) -> None:
    excluded = {rules_oracle.location[n] for n in rules_oracle.excluded_nodes}
    assert len(excluded) >= 4
    points = random_points(rules, 60, seed=10)
    for (lat1, lon1), (lat2, lon2) in zip(points[:30], points[30:], strict=True):
        for pace in PACES:
            route = rules.route(lat1, lon1, lat2, lon2, pace=pace)
            coords = {(c[1], c[0]) for c in route.geometry["coordinates"]}
            assert not coords & excluded


def test_step_free_never_uses_steps(granary: Router, granary_oracle) -> None:
    steps = granary_oracle.steps_segments
    points = random_points(granary, 200, seed=11)
    longer = 0
    for (lat1, lon1), (lat2, lon2) in zip(points[:100], points[100:], strict=True):
        typical = granary.route(lat1, lon1, lat2, lon2)
        step_free = granary.route(lat1, lon1, lat2, lon2, pace="step-free")
        assert not segments(step_free) & steps
        if segments(typical) & steps and not step_free.estimated:
            assert step_free.metres >= typical.metres - 1e-6
            longer += step_free.metres > typical.metres + 1
    assert longer >= 5  # granary has real step shortcuts


def test_step_free_avoids_the_steps_shortcut_explicitly(rules: Router, rules_oracle) -> None:
    loc = rules_oracle.location
    typical = rules.route(*loc[4], *loc[8])
    step_free = rules.route(*loc[4], *loc[8], pace="step-free")
    assert frozenset({loc[4], loc[8]}) in segments(typical)
    assert frozenset({loc[4], loc[8]}) not in segments(step_free)
    assert step_free.metres > 3 * typical.metres


def test_raised_kerb_closes_only_the_crossing_for_step_free(rules: Router, rules_oracle) -> None:
    loc = rules_oracle.location
    typical = rules.reach(*loc[8], minutes=60, pace="typical")
    step_free = rules.reach(*loc[8], minutes=60, pace="step-free")
    end = np.array([loc[35]])
    m_typ, _ = rules.walk_to_points(typical, end[:, 0], end[:, 1])
    m_sf, _ = rules.walk_to_points(step_free, end[:, 0], end[:, 1])
    assert m_typ[0] == pytest.approx(180.3 + 100, rel=0.002)  # over the kerb
    assert m_sf[0] > 800  # round to the road 50 m from the crossing's end instead
    # ...and the footway through node 12 stays open to step-free walkers.
    through = np.array([loc[10]])
    assert rules.walk_to_points(step_free, through[:, 0], through[:, 1])[0][0] == pytest.approx(
        360.6, rel=0.002)


# --- snapping --------------------------------------------------------------------------------


def test_snaps_to_the_edge_not_the_nearest_node(rules: Router) -> None:
    snap = rules.snap(*at(30, 100))  # 30 m east of Loop Road; nearest node is 58 m away
    assert snap.metres == pytest.approx(30, rel=0.01)
    assert (snap.snapped_lat, snap.snapped_lon) == pytest.approx(at(0, 100), abs=1e-7)


def test_snap_distance_counts_in_the_walk(rules: Router) -> None:
    reach = rules.reach(*at(30, 100), minutes=30)
    assert reach.origin.metres == pytest.approx(30, rel=0.01)
    m, _ = rules.walk_to_points(reach, [at(-40, 250)[0]], [at(-40, 250)[1]])
    assert m[0] == pytest.approx(30 + 150 + 40, rel=0.01)


def test_island_is_not_snapped_to(rules: Router) -> None:
    snap = rules.snap(*at(150, 75))  # right on the 30 m island footway
    assert snap.metres == pytest.approx(150, rel=0.01)  # joins Loop Road instead
    g = rules.graph
    assert g.node_component[g.edge_u[snap.edge]] == np.bincount(g.node_component).argmax()


def test_snap_many_matches_single_snaps(granary: Router) -> None:
    points = random_points(granary, 300, seed=12)
    batch = granary.snap_many(points[:, 0], points[:, 1])
    for i in range(0, 300, 7):
        one = granary.snap(*points[i])
        assert batch.edge[i] == one.edge
        assert batch.metres[i] == pytest.approx(one.metres)
        assert batch.offset_m[i] == pytest.approx(one.offset_m)
        length = granary.graph.edge_metres[one.edge]
        assert batch.fraction[i] == pytest.approx(one.offset_m / length)


def test_snap_is_the_true_nearest_segment(granary: Router) -> None:
    """Brute force over every segment of the main component (granary's only snappable one)."""
    g = granary.graph
    points = random_points(granary, 60, seed=13)
    batch = granary.snap_many(points[:, 0], points[:, 1])
    main = g.node_component[g.edge_u] == np.bincount(g.node_component).argmax()
    starts = [i for e in np.flatnonzero(main)
              for i in range(g.geom_indptr[e], g.geom_indptr[e + 1] - 1)]
    for i, (lat, lon) in enumerate(points):
        best = min(_point_segment_m(lat, lon, g.geom_lat[j], g.geom_lon[j], g.geom_lat[j + 1],
                                    g.geom_lon[j + 1]) for j in starts)
        assert batch.metres[i] == pytest.approx(best, rel=1e-3, abs=0.05)


def _point_segment_m(lat, lon, lat1, lon1, lat2, lon2) -> float:
    ky = 111_195.0
    kx = ky * math.cos(math.radians(lat))
    ax, ay, bx, by = (lon1 - lon) * kx, (lat1 - lat) * ky, (lon2 - lon) * kx, (lat2 - lat) * ky
    dx, dy = bx - ax, by - ay
    t = 0.0 if dx == dy == 0 else min(1.0, max(0.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
    return math.hypot(ax + t * dx, ay + t * dy)


# --- reach and walk_to_points ---------------------------------------------------------------


def test_walk_to_points_agrees_with_routes(granary: Router) -> None:
    points = random_points(granary, 120, seed=14)
    origin, dests = points[0], points[1:]
    for pace in PACES:
        reach = granary.reach(*origin, minutes=60, pace=pace)
        metres, minutes = granary.walk_to_points(reach, dests[:, 0], dests[:, 1])
        for i in range(0, len(dests), 5):
            route = granary.route(*origin, *dests[i], pace=pace)
            assert metres[i] == pytest.approx(route.metres, rel=1e-9), pace
            assert minutes[i] == pytest.approx(route.minutes, rel=1e-9)


def test_beyond_the_limit_is_inf(granary: Router) -> None:
    points = random_points(granary, 200, seed=15)
    full = granary.reach(*points[0], minutes=60)
    short = granary.reach(*points[0], minutes=3)
    m_full, _ = granary.walk_to_points(full, points[:, 0], points[:, 1])
    m_short, min_short = granary.walk_to_points(short, points[:, 0], points[:, 1])
    inside = m_full <= short.limit_m
    assert inside.any() and (~inside).any()
    np.testing.assert_allclose(m_short[inside], m_full[inside])
    assert np.all(np.isinf(m_short[~inside])) and np.all(min_short[inside] <= 3 + 1e-9)
    assert short.limit_m == pytest.approx(3 * 4800 / 60)


def test_same_edge_origin_and_destination(rules: Router) -> None:
    a, b = at(0, 50), at(0, 120)  # both on Loop Road's 300 m edge from node 1
    assert rules.snap(*a).edge == rules.snap(*b).edge
    reach = rules.reach(*a, minutes=10)
    assert rules.walk_to_points(reach, [b[0]], [b[1]])[0][0] == pytest.approx(70, rel=1e-3)
    route = rules.route(*a, *b)
    assert route.metres == pytest.approx(70, rel=1e-3)
    assert geodesic_length(route) == pytest.approx(70, rel=0.01)
    back = rules.route(*b, *a)
    assert back.metres == pytest.approx(70, rel=1e-3)


def test_snapped_points_are_reusable_but_tied_to_the_step_rule(granary: Router) -> None:
    points = random_points(granary, 50, seed=16)
    snaps = granary.snap_many(points[:, 0], points[:, 1])
    reach = granary.reach(*points[0], minutes=20)
    np.testing.assert_array_equal(granary.walk_to_snaps(reach, snaps)[0],
                                  granary.walk_to_points(reach, points[:, 0], points[:, 1])[0])
    with pytest.raises(ValueError, match="step rule"):
        granary.walk_to_snaps(granary.reach(*points[0], 20, "step-free"), snaps)


def test_concurrent_queries_agree_with_sequential_ones(granary_graph) -> None:
    """Each thread rewrites its own copy of the virtual-origin slots."""
    router = Router(granary_graph)
    points = random_points(router, 80, seed=20)
    dests = random_points(router, 500, seed=21)
    snaps = {rule: router.snap_many(dests[:, 0], dests[:, 1], avoid_steps=rule)
             for rule in (False, True)}

    def walk(i: int) -> np.ndarray:
        pace = ("typical", "slow", "step-free")[i % 3]
        reach = router.reach(*points[i], 10, pace)
        return router.walk_to_snaps(reach, snaps[reach.pace.avoid_steps])[0]

    sequential = [walk(i) for i in range(len(points))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            for want, got in zip(sequential, pool.map(walk, range(len(points))), strict=True):
                np.testing.assert_array_equal(got, want)


# --- routes and isochrones ------------------------------------------------------------------


def test_route_geometry_length_matches_metres(granary: Router) -> None:
    points = random_points(granary, 80, seed=17)
    for (lat1, lon1), (lat2, lon2) in zip(points[:40], points[40:], strict=True):
        for pace in ("typical", "step-free"):
            route = granary.route(lat1, lon1, lat2, lon2, pace=pace)
            assert route.geometry["type"] == "LineString"
            assert not route.estimated
            assert geodesic_length(route) == pytest.approx(route.metres, rel=0.01)
            first, last = route.geometry["coordinates"][0], route.geometry["coordinates"][-1]
            assert first == pytest.approx([lon1, lat1]) and last == pytest.approx([lon2, lat2])
            assert route.minutes == pytest.approx(route.metres / PACES[pace].metres_per_minute)


@pytest.mark.parametrize(("network", "seed"), [("granary", 18), ("camden", 19)])
def test_isochrone_is_valid_and_holds_what_was_reached(request, network: str, seed: int) -> None:
    router: Router = request.getfixturevalue(network)
    g = router.graph
    points = random_points(router, 6, seed)
    for lat, lon in points:
        for pace, minutes in (("typical", 10), ("step-free", 5)):
            reach = router.reach(lat, lon, minutes, pace)
            if reach.estimated:
                continue
            shape = shapely.geometry.shape(router.isochrone(reach))
            assert shape.geom_type in ("Polygon", "MultiPolygon") and shape.is_valid
            assert shape.contains(shapely.Point(lon, lat))
            nodes = reach.reached_nodes()
            assert shapely.contains_xy(shape, g.node_lon[nodes], g.node_lat[nodes]).all()
            half = shapely.geometry.shape(router.isochrone(reach, minutes / 2))
            assert half.is_valid and half.area <= shape.area


def test_isochrone_of_a_short_reach_is_small(granary: Router) -> None:
    reach = granary.reach(51.5355, -0.1253, minutes=1)
    shape = shapely.geometry.shape(granary.isochrone(reach))
    area_m2 = abs(GEOD.geometry_area_perimeter(shape)[0])
    assert 0 < area_m2 < math.pi * (80 + 40) ** 2


# --- estimates --------------------------------------------------------------------------------


def test_far_origin_is_estimated(granary: Router) -> None:
    lat, lon = 51.60, -0.20  # ~9 km away from Granary Square
    reach = granary.reach(lat, lon, minutes=15)
    assert reach.estimated and reach.node_metres is None
    dests = np.array([[51.601, -0.20], [51.60, -0.201], [51.7, -0.2]])
    metres, minutes = granary.walk_to_points(reach, dests[:, 0], dests[:, 1])
    straight = np.array([GEOD.inv(lon, lat, d[1], d[0])[2] for d in dests])
    np.testing.assert_allclose(metres[:2], DETOUR_FACTOR * straight[:2], rtol=0.01)
    assert np.isinf(metres[2])
    np.testing.assert_allclose(minutes[:2], metres[:2] / PACES["typical"].metres_per_minute)
    iso = shapely.geometry.shape(granary.isochrone(reach))
    assert iso.is_valid and iso.contains(shapely.Point(lon, lat))
    route = granary.route(lat, lon, 51.5355, -0.1253)
    assert route.estimated and route.minutes > 0
    straight = GEOD.inv(lon, lat, -0.1253, 51.5355)[2]
    assert route.metres == pytest.approx(DETOUR_FACTOR * straight, rel=0.01)


def test_origin_near_but_over_500m_from_the_network_is_estimated(rules: Router) -> None:
    assert rules.reach(*at(-600, 0), 15).estimated
    assert not rules.reach(*at(-400, 0), 15).estimated


def test_bad_input_is_refused(granary: Router) -> None:
    with pytest.raises(ValueError, match="unknown pace"):
        granary.reach(51.5355, -0.1253, 10, "sprint")
    with pytest.raises(ValueError, match="minutes"):
        granary.reach(51.5355, -0.1253, -1)
    with pytest.raises(ValueError, match="WGS84"):
        granary.reach(float("nan"), -0.1253, 10)


# --- paces -------------------------------------------------------------------------------------


def test_default_paces() -> None:
    assert PACES["typical"].kmh == pytest.approx(4.8)
    assert PACES["slow"].kmh == pytest.approx(3.0)
    assert PACES["step-free"].kmh == PACES["slow"].kmh and PACES["step-free"].avoid_steps
    assert not PACES["typical"].avoid_steps and not PACES["slow"].avoid_steps


def test_paces_are_configurable(granary_graph) -> None:
    paces = make_paces({"typical": 5.0, "slow": 2.5, "stroll": 2.0})
    assert paces["step-free"] == Pace("step-free", 2.5, avoid_steps=True)
    assert paces["stroll"].kmh == 2.0 and not paces["stroll"].avoid_steps
    router = Router(granary_graph, paces)
    reach = router.reach(51.5355, -0.1253, 12, "stroll")
    assert reach.limit_m == pytest.approx(12 * 2000 / 60)
    with pytest.raises(ValueError, match="positive"):
        make_paces({"slow": 0})
