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


ONS = """Mid-2022 population estimates for 2022 wards in England and Wales
Source: Office for National Statistics

Ward 2022 Code,Ward 2022 Name,LAD 2022 Code,LAD 2022 Name,Total,F0,F1
E05000129,Bloomsbury,E09000007,Camden,"12,031",40,41
E05000137,Highgate,E09000007,Camden,11456,38,39
E05000140,Kilburn,E09000007,Camden,2000,50,51
E05099999,Elsewhere,E09000999,Elsewhere,9000,1,1
"""


def test_population_import_weighs_the_gaps(app, runner, wards, tmp_path):
    with session_scope(app) as s:
        _result(s, wards["Kilburn"], None, 100)             # 99% of few people
        _result(s, wards["Highgate"], None, 3_000)          # 70% of many more
        _result(s, wards["Belsize"], "singing", 5_000)
    with session_scope(app) as s:
        assert [g.ward for g in coverage.worst_gaps(s, minutes=15)][:2] == ["Kilburn",
                                                                          "Highgate"]
    path = tmp_path / "sapewards.csv"
    path.write_text(ONS, encoding="utf-8")
    result = runner.invoke(main, ["areas", "population", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("population set for 3 areas from 4 rows; 1 codes are not "
                                     "areas here (E05099999)")
    with session_scope(app) as s:
        gaps = coverage.worst_gaps(s, minutes=15)
        assert [g.ward for g in gaps][:2] == ["Highgate", "Kilburn"]  # 8,019 people vs 1,980
        assert gaps[0].population == 11456


def test_population_file_errors_are_one_line_and_change_nothing(app, runner, wards, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Ward 2022 Code,Total\nE05000129,12031\nE05000135,lots\n", encoding="utf-8")
    result = runner.invoke(main, ["areas", "population", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: FILE: bad.csv row 3: population 'lots' is not a "
                                     "whole number")
    no_code = tmp_path / "nocode.csv"
    no_code.write_text("Name,Total\nBloomsbury,1\n", encoding="utf-8")
    result = runner.invoke(main, ["areas", "population", str(no_code)])
    assert result.exit_code == 2 and "no area code column" in result.output
    with session_scope(app) as s:
        from sqlalchemy import func, select

        from assetmap.models import Area
        assert s.scalar(select(func.count()).where(Area.population.is_not(None))) == 0
