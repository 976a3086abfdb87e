"""The fast (concave hull) isochrone stays close to the precise buffered-streets one."""

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from assetmap.walking import Router


@pytest.mark.parametrize("lat, lon", [(51.5295, -0.1272), (51.55, -0.15), (51.54, -0.19)])
def test_fast_isochrone_overlaps_the_precise_one(camden_graph, lat, lon):
    router = Router(camden_graph)
    reach = router.reach(lat, lon, 15, "typical")
    fast = shape(router.isochrone(reach))
    precise = shape(router.isochrone(reach, precise=True))
    assert fast.is_valid and precise.is_valid
    iou = fast.intersection(precise).area / fast.union(precise).area
    assert iou >= 0.85
    reached = reach.reached_nodes()
    points = shapely.points(camden_graph.node_lon[reached], camden_graph.node_lat[reached])
    assert shapely.contains(fast.buffer(1e-6), points).all()


def _pieces_over_every_edge(router: Router, reach, limit: float) -> list:
    """The walked stretches worked out over every edge of the network (slow but plain)."""
    g = router.graph
    nm = reach.node_metres
    ok = router._profile(reach.pace.avoid_steps).edge_ok
    from_u = np.where(nm[g.edge_u] <= limit, limit - nm[g.edge_u], -1.0)
    from_v = np.where(nm[g.edge_v] <= limit, limit - nm[g.edge_v], -1.0)
    touched = ok & ((from_u >= 0) | (from_v >= 0))
    full = touched & (np.maximum(from_u, 0) + np.maximum(from_v, 0) >= g.edge_metres)
    pieces = [g.edge_geometry(int(e)) for e in np.flatnonzero(full)]
    for e in np.flatnonzero(touched & ~full).tolist():
        if from_u[e] >= 0:
            pieces.append(router._piece(e, 0.0, from_u[e]))
        if from_v[e] >= 0:
            pieces.append(router._piece(e, g.edge_metres[e] - from_v[e], g.edge_metres[e]))
    return pieces


@pytest.mark.parametrize("pace", ["typical", "step-free"])
def test_walked_streets_are_found_from_the_reached_nodes_alone(camden_graph, pace):
    """The isochrone reads only the edges at reached nodes (a city has hundreds of thousands
    of others): the same stretches, in the same order, as a pass over every edge."""
    router = Router(camden_graph)
    rng = np.random.default_rng(8)
    g = camden_graph
    for node in rng.choice(g.n_nodes, 15):
        reach = router.reach(float(g.node_lat[node]) + 2e-4, float(g.node_lon[node]), 10, pace)
        if reach.estimated:
            continue
        for limit in (reach.limit_m, reach.limit_m / 3):
            lat, lon, piece = router._walked_pieces(reach, limit)
            cuts = np.flatnonzero(np.diff(piece)) + 1
            assert np.array_equal(np.unique(piece), np.arange(len(cuts) + 1))  # in order
            got = list(zip(np.split(lat, cuts), np.split(lon, cuts), strict=True))
            if limit >= reach.origin.metres:
                got = got[:-2]  # the origin's snap line and its own edge come last
            want = _pieces_over_every_edge(router, reach, limit)
            assert len(got) == len(want)
            for (lat_a, lon_a), (lat_b, lon_b) in zip(got, want, strict=True):
                assert np.array_equal(lat_a, lat_b) and np.array_equal(lon_a, lon_b)
