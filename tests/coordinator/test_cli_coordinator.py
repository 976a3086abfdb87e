"""`assetmap stale`, `assetmap coverage` and `assetmap freshness run`."""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import box

from assetmap.cli import main
from assetmap.db import session_scope
from assetmap.models import Area
from assetmap.walking import NetworkRegistry
from tests.coordinator.conftest import NOW
from tests.coordinator.test_coverage import N, grid_osm, node_at


def test_stale_errors_are_one_line(runner, wards):
    bad_area = runner.invoke(main, ["stale", "--area", "Atlantis"])
    assert bad_area.exit_code == 2 and bad_area.output.startswith("error: area: no ward")
    assert len(bad_area.output.strip().splitlines()) == 1
    bad_at = runner.invoke(main, ["stale", "--at", "yesterday"])
    assert bad_at.exit_code == 2 and "error: --at:" in bad_at.output
    bad_state = runner.invoke(main, ["stale", "--state", "mouldy"])
    assert bad_state.exit_code == 2 and "state" in bad_state.output


def test_stale_prints_counts_wards_and_the_queue(runner, scenario):
    result = runner.invoke(main, ["stale", "--at", NOW.isoformat(), "--limit", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Freshness as of 2026-06-01 12:00 UTC: 10 listings"
    assert "  Very stale              1" in lines
    assert any(line.startswith("  Highgate") and "3 of 3" in line for line in lines)
    assert "Queue: 8 listings, most overdue first (first 3)" in lines
    assert "Feed only" in result.output and "Phoned quiz" not in result.output


def test_freshness_run_sends_through_smtp(runner, make_listing, mailbox, monkeypatch):
    monkeypatch.setenv("ASSETMAP_SMTP_PORT", str(mailbox.port))
    make_listing("Lunch club", checks=((200, "phoned"),), email="lunch@example.org")
    result = runner.invoke(main, ["freshness", "run", "--at", NOW.isoformat(), "--no-coverage"])
    assert result.exit_code == 0, result.output
    assert "reminders: 1 sent (1 at level 1)" in result.output
    assert result.output.startswith("freshness: 1 listings (1 stale)")
    assert mailbox.wait_for(1)[0]["To"] == "lunch@example.org"
    again = runner.invoke(main, ["freshness", "run", "--at", NOW.isoformat(), "--no-coverage"])
    assert "reminders: 0 sent" in again.output


def test_coverage_command(app, runner, make_listing, tmp_path):
    missing = runner.invoke(main, ["coverage"])
    assert missing.exit_code == 2 and "no walking network covers the wards" in missing.output
    grid_osm(tmp_path / "grid.osm")
    NetworkRegistry(Path(app.config["NETWORK_DIR"])).build(tmp_path / "grid.osm", "grid")
    lo_lat, lo_lon = node_at(-1, -1)
    hi_lat, hi_lon = node_at(N, 3.5)
    with session_scope(app) as s:
        shape = shapely.MultiPolygon([box(lo_lon, lo_lat, hi_lon, hi_lat)])
        s.add(Area(name="Grid West", kind="ward", code="T1", geom=f"SRID=4326;{shape.wkt}"))
    make_listing("Men's shed", checks=((10, "phoned"),), at=node_at(3, 1),
                 category="mens-group")
    result = runner.invoke(main, ["coverage", "--minutes", "3", "--at", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Coverage at 3 minutes' walk of an active, fresh listing:" in result.output
    assert "Grid West" in result.output and "No walking network covers: Belsize" in result.output
    as_json = json.loads(runner.invoke(main, ["coverage", "--minutes", "3", "--json", "--at",
                                              NOW.isoformat()]).output)
    mens = next(r for r in as_json["results"] if r["category"] == "mens-group")
    assert mens["ward"] == "Grid West" and 0 < mens["share"] < 1
    assert mens["sentence"] == (f"no men's group within 3 minutes' walk of "
                                f"{round((1 - mens['share']) * 100)}% of Grid West")
