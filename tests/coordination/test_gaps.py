"""Coverage leads with the biggest gap; wards without listings say "no listings"."""

from __future__ import annotations

import html

from assetmap.cli import main
from assetmap.coverage import gaps as coverage
from assetmap.db import session_scope
from assetmap.models import CoverageResult
from tests.coordinator.conftest import NOW


def _result(s, area_id: int, category: str | None, covered: float, streets: float = 10_000):
    s.add(CoverageResult(area_id=area_id, category=category, minutes=15,
                         street_metres=streets, covered_metres=covered, computed_at=NOW))


def test_a_ward_with_almost_nothing_fresh_leads_the_gaps(app, wards):
    with session_scope(app) as s:
        _result(s, wards["Kilburn"], None, 100)          # 99% of streets: nothing fresh
        _result(s, wards["Highgate"], None, 9_000)
        _result(s, wards["Highgate"], "singing", 0)      # no singing at all in Highgate
        _result(s, wards["Belsize"], "singing", 5_000)   # singing exists somewhere
        _result(s, wards["Belsize"], None, 9_500)
        _result(s, wards["Kilburn"], "singing", 0, streets=8_000)
    with session_scope(app) as s:
        gaps = coverage.worst_gaps(s, minutes=15)
        assert [(g.ward, g.category) for g in gaps] == [
            ("Kilburn", None), ("Highgate", "singing"), ("Kilburn", "singing"),
            ("Belsize", "singing")]
        assert gaps[0].sentence == ("no active, fresh listing within 15 minutes' walk of 99% "
                                    "of Kilburn")
        assert [g.ward for g in coverage.worst_gaps(s, minutes=15, limit=1)] == ["Kilburn"]


def test_the_home_shows_the_headline_gap(app, client, login, wards):
    with session_scope(app) as s:
        _result(s, wards["Kilburn"], None, 100)
    login("coordinator")
    page = html.unescape(client.get("/coordinator/").get_data(as_text=True))
    assert ("No active, fresh listing within 15 minutes' walk of 99% of Kilburn."
            in page)


def test_wards_without_listings_say_so(app, client, login, runner, make_listing):
    make_listing("Kilburn lunch", checks=((300, "phoned"),))
    login("coordinator")
    page = client.get("/coordinator/freshness?area=all").get_data(as_text=True)
    table = page.split('id="area-heading"')[1].split("</table>")[0]
    kilburn = table.split(">Kilburn<")[1].split("</tr>")[0]
    highgate = table.split(">Highgate<")[1].split("</tr>")[0]
    assert "100%" in kilburn
    assert "no listings" in highgate and "0%" not in highgate
    output = runner.invoke(main, ["stale", "--at", NOW.isoformat()]).output
    assert any(line.split() == ["Highgate", "no", "listings"] for line in output.splitlines())
