"""The fast (concave hull) isochrone stays close to the precise buffered-streets one."""

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
