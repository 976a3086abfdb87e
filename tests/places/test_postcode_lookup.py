"""The nearest live postcode (a terminated postcode's answer) and what a big import leaves
behind, on both backends."""

from __future__ import annotations

import math
import random
from datetime import date
from pathlib import Path

from sqlalchemy import text

from assetmap.cli import main
from assetmap.db import session_scope
from assetmap.models import Postcode
from assetmap.places.geocode import nearest_live_postcode
from assetmap.places.postcodes import DerivedPoint, store_derived

FIXTURES = Path(__file__).parent.parent / "fixtures" / "places"

HERE = (55.0, -2.0)  # far north: a degree of longitude is 0.57 of a degree of latitude


def ground(lat: float, lon: float, at: tuple[float, float]) -> float:
    return math.hypot(lat - at[0], (lon - at[1]) * math.cos(math.radians(at[0])))


def test_the_nearest_live_postcode_is_the_nearest_on_the_ground(bare_app):
    lat, lon = HERE
    # Nine postcodes due north are nearer in degrees than one due east, but not on the
    # ground: ranking by degrees alone would answer AB1 1AA.
    points = [DerivedPoint(f"AB1 1{chr(65 + i)}A", round(lat + 0.0020 + i * 0.0001, 6), lon, 0)
              for i in range(9)]
    points.append(DerivedPoint("AB2 1AA", lat, round(lon + 0.0030, 6), 0))
    rng = random.Random(5)
    points += [DerivedPoint(f"AB{3 + i // 400} {i // 20 % 10}{chr(65 + i % 20)}A",
                            round(lat + rng.uniform(-0.3, 0.3), 6),
                            round(lon + rng.uniform(-0.5, 0.5), 6), 0) for i in range(2000)]
    points = list({p.postcode: p for p in points}.values())
    with session_scope(bare_app) as s:
        store_derived(s, points, dataset="OpenStreetMap")
        s.add(Postcode(postcode="AB2 9ZZ", outward="AB2", lat=lat, lon=lon + 0.0001,
                       terminated=date(2015, 5, 1), derived=False, dataset="ONSPD / NSPL"))
    with session_scope(bare_app) as s:
        assert nearest_live_postcode(s, lat, lon) == "AB2 1AA"
        for _ in range(40):
            at = (lat + rng.uniform(-0.3, 0.3), lon + rng.uniform(-0.5, 0.5))
            best = min(points, key=lambda p: ground(p.lat, p.lon, at))
            assert nearest_live_postcode(s, *at) == best.postcode


def _indexes(app) -> set[tuple]:
    with session_scope(app) as s:
        if s.get_bind().dialect.name == "postgresql":
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'postcodes'"
        else:
            query = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                     "AND tbl_name = 'postcodes'")
        return {tuple(row) for row in s.execute(text(query))}


def test_a_first_load_leaves_the_indexes_the_migrations_made(bare_app, runner):
    before = _indexes(bare_app)
    assert {"ix_postcodes_outward", "ix_postcodes_lat_lon"} <= {name for name, _ in before}
    result = runner.invoke(main, ["postcodes", "import", str(FIXTURES / "onspd-sample.csv")])
    assert result.exit_code == 0, result.output
    assert _indexes(bare_app) == before
