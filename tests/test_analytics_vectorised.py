"""The vectorised analytics paths agree with the straightforward per-item computations they replace."""

from __future__ import annotations

from collections import deque

import numpy as np
import shapely

from analytics.crowd import CrowdDensityDetector, DensityParams, _WindowExtreme
from analytics.geometry import Zones
from analytics.loitering import LoiteringDetector, LoiteringParams


def test_zones_contains_matches_one_test_per_polygon() -> None:
    rng = np.random.default_rng(3)
    polys = {
        f"z{i}": [(x, y), (x + rng.uniform(5, 50), y), (x + 20, y + rng.uniform(5, 50)), (x - 5, y + 10)]
        for i, (x, y) in enumerate(rng.uniform(0, 300, (40, 2)))
    }
    polys["square"] = [(0, 0), (10, 0), (10, 10), (0, 10)]
    zones = Zones(polys)
    xy = rng.uniform(-10, 320, (300, 2))
    xy[::13] = np.nan
    # interior, boundary edge, vertex and an infinite point of the square
    xy = np.vstack([xy, [[5, 5], [10, 5], [0, 0], [np.inf, 1]]])
    want = np.array([shapely.contains_xy(p, xy[:, 0], xy[:, 1]) for p in zones.polygons])
    got = zones.contains(xy)
    assert got.shape == (41, 304) and want.sum() > 20
    np.testing.assert_array_equal(got, want)
    assert got[-1, -4] and not got[-1, -3] and not got[-1, -2] and not got[-1, -1]
    assert zones.contains(np.zeros((0, 2))).shape == (41, 0) and Zones(None).contains(xy).shape == (0, 304)


def test_window_extreme_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    lo, hi = _WindowExtreme(3.0, is_max=False), _WindowExtreme(3.0, is_max=True)
    window: deque[tuple[float, float]] = deque()
    t = 0.0
    for _ in range(500):
        t += float(rng.choice([0.0, 0.25, 1.0, 2.5]))
        v = float(rng.integers(0, 6))  # small integers: many ties
        window.append((t, v))
        while t - window[0][0] > 3.0:
            window.popleft()
        assert lo.push(t, v) == min(c for _, c in window)
        assert hi.push(t, v) == max(c for _, c in window)


def test_density_smoothing_is_the_max_over_cameras_of_their_window_means() -> None:
    zones = {"a": [(0, 0), (10, 0), (10, 10), (0, 10)], "b": [(20, 0), (30, 0), (30, 10), (20, 10)]}
    det = CrowdDensityDetector(zones, DensityParams(smooth_s=1.0, history_s=0.0))
    frames = [  # (t, camera, people's x): camera 2 sees no one in b until t=0.8
        (0.0, "c1", [1, 2, 21]),
        (0.0, "c2", [3]),
        (0.4, "c1", [1]),
        (0.4, "c2", [3, 4, 5, 6]),
        (0.8, "c1", [1, 2, 3, 25]),
        (0.8, "c2", [22]),
        (1.2, "c1", [1, 21, 22, 23]),
        (1.6, "c2", []),
    ]
    for t, cam, xs in frames:
        det.update(
            {
                "t": t,
                "topic": "track/frame",
                "camera_id": cam,
                "ids": [f"{cam}:{i}" for i in range(len(xs))],
                "cls": ["person"] * len(xs),
                "xy": [[x, 5.0] for x in xs],
            }
        )
    # zone a at 1.6 (camera 2): c1's window at 1.2 is frames 0.4, 0.8, 1.2 -> (1+3+1)/3; c2's window at 1.6 is
    # frames 0.8 and 1.6 -> (0+0)/2; zone b: c1 (0+1+3)/3, c2 (since its first sighting at 0.8) (1+0)/2
    rows = [(t, z, p) for t, z, p in det.history if t == 1.6]
    assert rows == [(1.6, "a", 5 / 3), (1.6, "b", 4 / 3)]
    assert det.estimates["b"][0] == 1.6 and det.estimates["b"][2] == (4 / 3) / 100.0


def test_loitering_stitch_takes_over_a_lost_track_of_the_same_camera_only() -> None:
    det = LoiteringDetector(LoiteringParams(dwell_s=6.0, radius_m=5.0, forget_s=3.0, hold_s=100.0,
                                            min_speed_mps=0.0))  # a stander, to test the stitching alone
    out = []
    for k in range(9):
        t = float(k)
        if t < 4:  # cam:1 stands at the origin, then is lost; other:8 appears 3 m away; cam:2 re-finds cam:1
            ids, xy = ["cam:1"], [[0.0, 0.0]]
        elif t == 4:
            ids, xy = ["other:8"], [[3.0, 0.0]]
        else:
            ids, xy = ["other:8", "cam:2"], [[3.0, 0.0], [0.0, 0.0]]
        out += det.update(
            {"t": t, "topic": "track/frame", "camera_id": "cam", "ids": ids, "cls": ["person"] * len(ids),
             "xy": xy}
        )
    # cam:2 keeps cam:1's clock (dwell 6 s at t=6); other:8, of another camera, starts its own at t=4
    assert [(a["evidence"]["track"], a["t"], a["evidence"]["dwell_s"]) for a in out] == [("cam:2", 6.0, 6.0)]
    assert det._dwell["other:8"].pts[0][0] == 4.0 and det._dwell["cam:2"].pts[0][0] == 0.0
