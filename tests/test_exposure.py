"""People exposed round a point, from zone density estimates and tracked points (analytics.exposure)."""

import math

import numpy as np
import pytest

from analytics.exposure import Exposure, ExposureError, ExposureParams

SQUARE = [[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]]


def square(x0, y0, w):
    return [[x0, y0], [x0 + w, y0], [x0 + w, y0 + w], [x0, y0 + w]]


def test_uniform_crowd_matches_the_analytic_circle_inside_on_the_edge_and_at_a_corner():
    """500 people spread over 100 m x 100 m: a 20-m circle inside holds 500 * pi 20^2 / 100^2 of them, one
    centred on an edge half of that, one on a corner a quarter."""
    ex = Exposure({"sq": SQUARE})
    ex.observe(10.0, "sq", 500.0)
    full = 500.0 * math.pi * 20.0**2 / 100.0**2  # 62.83
    inside, _ = ex.exposed((50.0, 50.0), 20.0, t=12.0)
    edge, _ = ex.exposed((100.0, 40.0), 20.0, t=12.0)
    corner, _ = ex.exposed((0.0, 0.0), 20.0, t=12.0)
    assert inside == pytest.approx(full, rel=1e-3)
    assert edge == pytest.approx(full / 2, rel=1e-3)
    assert corner == pytest.approx(full / 4, rel=1e-3)
    # a circle holding the whole zone has everyone, one beside it no one
    assert ex.exposed((50.0, 50.0), 80.0, t=12.0)[0] == pytest.approx(500.0, rel=1e-6)
    assert ex.exposed((300.0, 50.0), 20.0, t=12.0) == (0.0, 0.0)


def test_estimate_is_within_a_few_percent_of_a_uniform_crowd_counted_point_by_point():
    """The analytic value is what a uniform crowd gives: 20,000 people drawn uniformly in the zone, counted
    within 20 m of the centre, differ from the estimate by under 5 %."""
    rng = np.random.default_rng(7)
    people = rng.uniform(0.0, 100.0, size=(20_000, 2))
    truth = int((np.hypot(people[:, 0] - 50.0, people[:, 1] - 50.0) <= 20.0).sum())
    ex = Exposure({"sq": SQUARE})
    ex.observe(0.0, "sq", float(len(people)))
    est, sigma = ex.exposed((50.0, 50.0), 20.0, t=0.0)
    assert abs(est - truth) / truth < 0.05
    assert abs(est - truth) < 3 * sigma


def test_only_estimates_younger_than_the_max_age_count_and_the_latest_wins():
    ex = Exposure({"sq": SQUARE}, params=ExposureParams(max_age_s=60.0))
    ex.observe(100.0, "sq", 1000.0)
    ex.observe(90.0, "sq", 10.0)  # older than the one held: ignored
    assert ex.exposed((50.0, 50.0), 80.0, t=160.0)[0] == pytest.approx(1000.0, rel=1e-6)
    assert ex.exposed((50.0, 50.0), 80.0, t=160.1) == (0.0, 0.0)
    ex.observe(170.0, "sq", 200.0)
    assert ex.exposed((50.0, 50.0), 80.0, t=171.0)[0] == pytest.approx(200.0, rel=1e-6)
    assert ex.zone_people("sq", 171.0) == (200.0, pytest.approx(30.0))
    assert ex.zone_people("sq", 300.0) is None
    assert ex.zone_people("nowhere", 171.0) is None


def test_overlapping_zones_count_the_overlap_once():
    """The crowd detector counts a person in every zone holding them. Two identical zones with 100 each are
    100 people, not 200; a small busy zone inside a large one keeps its density and the large zone's remaining
    people spread over the rest."""
    twin = Exposure({"a": SQUARE, "b": SQUARE})
    twin.observe(0.0, "a", 100.0)
    twin.observe(0.0, "b", 100.0)
    assert twin.exposed((50.0, 50.0), 80.0, t=0.0)[0] == pytest.approx(100.0, rel=1e-4)

    nested = Exposure({"big": square(0, 0, 30), "small": square(0, 0, 10)})
    nested.observe(0.0, "big", 100.0)  # includes the 50 of the small zone
    nested.observe(0.0, "small", 50.0)
    assert nested.exposed((15.0, 15.0), 30.0, t=0.0)[0] == pytest.approx(100.0, rel=1e-4)
    # a 3-m circle inside the small zone sees its density 0.5/m², one in the rest of the big zone 50/800
    assert nested.exposed((5.0, 5.0), 3.0, t=0.0)[0] == pytest.approx(0.5 * math.pi * 9, rel=1e-3)
    assert nested.exposed((20.0, 20.0), 3.0, t=0.0)[0] == pytest.approx(50 / 800 * math.pi * 9, rel=1e-3)


def test_a_zone_without_a_fresh_estimate_leaves_its_ground_uncounted():
    ex = Exposure({"a": square(0, 0, 10), "b": square(10, 0, 10)})
    ex.observe(0.0, "a", 100.0)
    # a circle on the a|b border: a's half counts, b has no estimate
    est, _ = ex.exposed((10.0, 5.0), 2.0, t=0.0)
    assert est == pytest.approx(100 / 100 * math.pi * 4 / 2, rel=1e-3)
    assert ex.coverage((10.0, 5.0), 2.0, t=0.0) == pytest.approx(0.5, rel=1e-3)
    assert ex.coverage((5.0, 5.0), 2.0, t=0.0) == pytest.approx(1.0, rel=1e-6)
    assert ex.coverage((50.0, 5.0), 2.0, t=0.0) == 0.0
    assert ex.coverage((5.0, 5.0), 0.0, t=0.0) == 1.0 and ex.coverage((15.0, 5.0), 0.0, t=0.0) == 0.0
    assert ex.exposed((5.0, 5.0), 0.0, t=0.0) == (0.0, 0.0)


def test_without_zones_only_tracked_points_count():
    ex = Exposure(None)
    ex.observe(0.0, "sq", 10.0)
    ex.observe_points(0.0, [[1.0, 1.0], [2.0, 2.0], [30.0, 0.0]], camera="c")
    assert ex.exposed((0.0, 0.0), 5.0, t=0.5)[0] == 2.0
    assert ex.coverage((0.0, 0.0), 5.0, t=0.5) == 0.0 and ex.coverage((0.0, 0.0), 0.0, t=0.5) == 0.0


def test_tracked_points_outside_zones_count_once_across_cameras():
    ex = Exposure({"sq": SQUARE}, params=ExposureParams(points_max_age_s=2.0, merge_m=1.0))
    ex.observe_points(10.0, [[200.0, 0.0], [200.6, 0.0], [210.0, 0.0], [50.0, 50.0], [np.nan, 3.0]],
                      camera="cam-1")
    # cam-2 sees one of cam-1's two close walkers (0.2 m off) and one person cam-1 does not see
    ex.observe_points(10.5, [[200.2, 0.0], [205.0, 3.0]], camera="cam-2")
    # within 6 m of (203, 0): cam-1's two walkers (cam-2's point is one of them) and cam-2's other person
    # (cam-1's third person, 7 m off, is outside)
    assert ex.exposed((203.0, 0.0), 6.0, t=11.0)[0] == 3.0
    # the point inside the zone was dropped (the zone's estimate counts it), the NaN point too
    assert ex.exposed((50.0, 50.0), 5.0, t=11.0) == (0.0, 0.0)
    # a frame older than points_max_age_s no longer counts: at 12.2 only cam-2's frame is fresh
    assert ex.exposed((203.0, 0.0), 6.0, t=12.2)[0] == 2.0
    # a new frame of a camera replaces its previous one
    ex.observe_points(12.0, [], camera="cam-2")
    assert ex.exposed((203.0, 0.0), 6.0, t=12.2)[0] == 0.0


def test_zone_people_and_points_add_and_sigma_follows_the_stated_model():
    p = ExposureParams(count_rel_sigma=0.15, points_rel_sigma=0.2)
    ex = Exposure({"sq": SQUARE}, params=p)
    ex.observe(0.0, "sq", 400.0)
    ex.observe_points(0.0, [[101.0, 50.0], [102.0, 50.0], [103.0, 50.0], [104.0, 50.0]], camera="c")
    est, sigma = ex.exposed((100.0, 50.0), 10.0, t=0.0)
    n = 400.0 * (math.pi * 100 / 2) / 10_000  # half the circle in the zone: 6.28
    assert est == pytest.approx(n + 4.0, rel=1e-3)
    share = (math.pi * 100 / 2) / 10_000
    expected = math.sqrt(n * (1 - share) + (0.15 * n) ** 2 + (0.2 * 4.0) ** 2)
    assert sigma == pytest.approx(expected, rel=1e-3)


def test_circle_areas_are_cached_and_the_cache_is_bounded():
    ex = Exposure({"sq": SQUARE}, params=ExposureParams(cache_size=2))
    ex.observe(0.0, "sq", 100.0)
    first = ex.exposed((50.0, 50.0), 10.0, t=0.0)
    for x in (10.0, 20.0, 30.0):
        ex.exposed((x, 50.0), 5.0, t=0.0)
    assert len(ex._circles) == 2
    assert ex.exposed((50.0, 50.0), 10.0, t=0.0) == first


def test_shapely_polygons_and_degenerate_zones_are_accepted():
    import shapely

    ex = Exposure({"p": shapely.Polygon(SQUARE), "flat": [[0, 0], [1, 1], [2, 2]]})
    ex.observe(0.0, "p", 100.0)
    ex.observe(0.0, "flat", 5.0)  # no area: nothing to spread over
    assert ex.exposed((50.0, 50.0), 80.0, t=0.0)[0] == pytest.approx(100.0, rel=1e-6)


def test_bad_inputs_raise_exposure_error_and_unknown_zones_are_counted():
    ex = Exposure({"sq": SQUARE})
    with pytest.raises(ExposureError, match="people"):
        ex.observe(0.0, "sq", -1.0)
    with pytest.raises(ExposureError, match="t"):
        ex.observe(float("nan"), "sq", 1.0)
    with pytest.raises(ExposureError, match="radius_m"):
        ex.exposed((0.0, 0.0), -5.0, t=0.0)
    with pytest.raises(ExposureError, match="xy"):
        ex.exposed((0.0,), 5.0, t=0.0)
    with pytest.raises(ExposureError, match="xy"):
        ex.observe_points(0.0, [1.0, 2.0, 3.0], camera="c")
    with pytest.raises(ExposureError, match="zones"):
        Exposure({"bad": [[0, 0], [1]]})
    ex.observe(0.0, "counter-7", 12.0)
    ex.observe(1.0, "counter-7", 13.0)
    assert ex.unknown_zones == {"counter-7": 2}
