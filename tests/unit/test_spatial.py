"""The lon/lat box round a point: it must hold the whole circle, and not much more."""

from __future__ import annotations

import math

import pytest

from assetmap.geo import haversine_m
from assetmap.spatial import BBox


@pytest.mark.parametrize("lat, lon", [(51.5503, -0.1337), (0.0, 10.0), (-33.9, 18.4),
                                      (69.6, 18.9)])
def test_the_box_round_a_point_holds_the_circle_and_little_else(lat, lon):
    box = BBox.around(lat, lon, 250)
    for bearing in range(0, 360, 5):
        # A point 249 m away on this bearing (small-distance approximation, then checked).
        dy = 249 * math.cos(math.radians(bearing)) / 111_320
        dx = 249 * math.sin(math.radians(bearing)) / (111_320 * math.cos(math.radians(lat)))
        plat, plon = lat + dy, lon + dx
        assert haversine_m(lat, lon, plat, plon) < 250
        assert box.min_lat <= plat <= box.max_lat and box.min_lon <= plon <= box.max_lon
    # Each corner of the box is outside the circle: the box is not needlessly big.
    assert haversine_m(lat, lon, box.max_lat, box.max_lon) > 250
    assert 250 < haversine_m(lat, lon, box.max_lat, lon) < 252
    assert 250 < haversine_m(lat, lon, lat, box.max_lon) < 252
