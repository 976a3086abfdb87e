"""Router distances against networkx shortest paths over an independently parsed OSM graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from assetmap.walking import Router


def comparable_nodes(g: nx.Graph, oracle) -> list[int]:
    """Nodes of the largest component that a coordinate pins down unambiguously.

    The router is asked by coordinates, so barrier nodes (split in the graph) and OSM nodes
    sharing their exact location with another node (Camden has a few) are left out.
    """
    seen: dict[tuple[float, float], int] = {}
    for n in g:
        seen[oracle.location[n]] = seen.get(oracle.location[n], 0) + 1
    nodes = max(nx.connected_components(g), key=len)
    return sorted(n for n in nodes
                  if n not in oracle.barriers and seen[oracle.location[n]] == 1)


def compare(router: Router, oracle_graph: nx.Graph, oracle, pace: str, origins: int,
            seed: int) -> int:
    """Check every (origin, node) distance; returns how many pairs were compared."""
    nodes = comparable_nodes(oracle_graph, oracle)
    rng = np.random.default_rng(seed)
    lats = np.array([oracle.location[n][0] for n in nodes])
    lons = np.array([oracle.location[n][1] for n in nodes])
    compared = 0
    for origin in rng.choice(nodes, size=min(origins, len(nodes)), replace=False):
        expected = nx.single_source_dijkstra_path_length(oracle_graph, int(origin))
        reach = router.reach(*oracle.location[int(origin)], minutes=600, pace=pace)
        assert not reach.estimated
        got, minutes = router.walk_to_points(reach, lats, lons)
        want = np.array([expected[n] for n in nodes])
        np.testing.assert_allclose(got, want, rtol=0.01, atol=0.5)
        np.testing.assert_allclose(minutes, got / router.pace(pace).metres_per_minute)
        compared += len(nodes)
    return compared


def test_granary_typical_matches_networkx(granary: Router, granary_oracle) -> None:
    assert compare(granary, granary_oracle.typical, granary_oracle, "typical", 40, 1) > 3000


def test_granary_step_free_matches_networkx(granary: Router, granary_oracle) -> None:
    assert compare(granary, granary_oracle.step_free, granary_oracle, "step-free", 40, 2) > 1000


def test_rules_fixture_matches_networkx(rules: Router, rules_oracle) -> None:
    compare(rules, rules_oracle.typical, rules_oracle, "typical", 100, 3)
    compare(rules, rules_oracle.step_free, rules_oracle, "step-free", 100, 4)


def test_route_metres_match_networkx_path(granary: Router, granary_oracle) -> None:
    nodes = comparable_nodes(granary_oracle.typical, granary_oracle)
    rng = np.random.default_rng(5)
    for a, b in rng.choice(nodes, size=(60, 2)):
        want = nx.dijkstra_path_length(granary_oracle.typical, int(a), int(b))
        got = granary.route(*granary_oracle.location[int(a)], *granary_oracle.location[int(b)])
        assert got.metres == pytest.approx(want, rel=0.01, abs=0.5)


@pytest.mark.slow
def test_camden_matches_networkx(camden: Router, camden_oracle) -> None:
    assert compare(camden, camden_oracle.typical, camden_oracle, "typical", 6, 6) > 100_000
    compare(camden, camden_oracle.step_free, camden_oracle, "step-free", 3, 7)
