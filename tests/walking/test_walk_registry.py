"""NetworkRegistry: listing built networks, picking one for a point, building safely."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from assetmap.walking import NetworkRegistry, Router, WalkingNetworkError, save_graph

GRANARY_SQUARE = (51.5355, -0.1253)
REGENTS_PARK = (51.5313, -0.1570)  # in Camden, far outside the Granary Square extract


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def registry(tmp_path: Path, granary_graph, rules_graph) -> NetworkRegistry:
    save_graph(granary_graph, tmp_path / "granary.walkgraph.npz")
    save_graph(rules_graph, tmp_path / "rules.walkgraph.npz")
    (tmp_path / "notes.txt").write_text("not a network")
    (tmp_path / "broken.walkgraph.npz").write_bytes(b"not a zip")
    return NetworkRegistry(tmp_path)


def test_lists_built_networks(registry: NetworkRegistry) -> None:
    infos = registry.networks()
    assert [i.name for i in infos] == ["granary", "rules"]  # the broken file is skipped
    assert infos[0].meta.source == "granary-square.osm.pbf"
    assert infos[0].area_m2 > 0


def test_for_point_picks_the_covering_network(registry: NetworkRegistry) -> None:
    router = registry.for_point(*GRANARY_SQUARE)
    assert isinstance(router, Router) and router.graph.meta.name == "granary-square"
    assert registry.for_point(51.5013, -0.0950).graph.meta.name == "walk-rules"
    assert registry.for_point(*REGENTS_PARK) is None
    assert registry.for_point(48.85, 2.35) is None


def test_routers_load_lazily_and_stay_loaded(registry: NetworkRegistry) -> None:
    assert registry._routers == {}
    first = registry.for_point(*GRANARY_SQUARE)
    assert len(registry._routers) == 1
    assert registry.for_point(*GRANARY_SQUARE) is first
    assert registry.router("granary") is first


def test_prefers_the_smallest_network_that_covers(
    registry: NetworkRegistry, camden_path: Path
) -> None:
    registry.build(camden_path, "camden")
    assert registry.for_point(*GRANARY_SQUARE).graph.meta.name == "granary-square"
    assert registry.for_point(*REGENTS_PARK).graph.meta.name == "camden"


def test_build_adds_and_replaces(registry: NetworkRegistry, paths: dict[str, Path]) -> None:
    old = registry.router("rules")
    info = registry.build(paths["granary"], "rules")  # same name, new content
    assert info.meta.source == "granary-square.osm.pbf"
    new = registry.router("rules")
    assert new is not old and new.graph.meta.source == "granary-square.osm.pbf"
    registry.build(paths["rules"], "second")
    assert "second" in [i.name for i in registry.networks()]


@pytest.mark.parametrize("bad", ["no_walkable", "not_osm"])
def test_failed_build_leaves_the_cache_untouched(
    registry: NetworkRegistry, tmp_path: Path, paths: dict[str, Path], bad: str
) -> None:
    target = registry.path_for("granary")
    before = digest(target), target.stat().st_mtime_ns
    router = registry.router("granary")
    source = paths.get(bad)
    if source is None:
        source = tmp_path / "junk.osm.pbf"
        source.write_bytes(os.urandom(2048))
    with pytest.raises(WalkingNetworkError):
        registry.build(source, "granary")
    assert (digest(target), target.stat().st_mtime_ns) == before
    assert registry.router("granary") is router
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_network_names_cannot_escape_the_cache_dir(registry: NetworkRegistry) -> None:
    for name in ("../evil", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="network name"):
            registry.path_for(name)


def test_unknown_network_and_missing_dir(tmp_path: Path, registry: NetworkRegistry) -> None:
    with pytest.raises(KeyError):
        registry.router("nope")
    empty = NetworkRegistry(tmp_path / "does-not-exist")
    assert empty.networks() == [] and empty.for_point(*GRANARY_SQUARE) is None


def test_a_cache_of_an_old_format_is_named_not_silently_dropped(
    registry: NetworkRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    old = json.loads(registry.networks()[0].meta.to_json())
    np.savez(tmp_path / "hackney.walkgraph.npz",
             meta=np.frombuffer(json.dumps({**old, "format_version": 1}).encode(), np.uint8))
    with caplog.at_level(logging.WARNING, logger="assetmap.walking.registry"):
        assert [i.name for i in registry.networks()] == ["granary", "rules"]
        registry.networks()  # said once, not on every request
    assert [r.getMessage() for r in caplog.records if "hackney" in r.getMessage()] == [
        "walking network hackney.walkgraph.npz is left out: hackney.walkgraph.npz is network "
        "cache format 1, this code reads 3: rebuild it with 'assetmap network build'"]
    problems = registry.problems()
    assert "rebuild" in problems["hackney"] and "not a network cache" in problems["broken"]
