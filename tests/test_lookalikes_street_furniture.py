"""``street_furniture``: static benches and bins (class furniture) along walkways, on squares and at stops,
recorded once at the start (Helsinki twin)."""

from __future__ import annotations

import numpy as np
import shapely

from agents.lookalikes.sites import transit_stops
from agents.lookalikes.street_furniture import FURNITURE_SIZES, WALKWAYS
from agents.world import FURNITURE
from tests._lookalikes import play


def test_bins_along_walkways_and_benches_on_squares(helsinki):
    p = play(helsinki, "street_furniture", until=2.0)
    items = [r["item"] for r in p.truth]
    assert len(p.truth) == len(p.look.xy) and all(r["t"] == 0.0 and r["kind"] == "furniture" for r in p.truth)
    ways = 0.0
    for _, _, d in helsinki.walk.edges(data=True):
        h = d.get("highway")
        if any(x in WALKWAYS for x in (h if isinstance(h, list) else [h])):
            ways += d["length"]
    ways /= 2   # each way is stored both ways (one way: close enough for the bound)
    n_bins = items.count("bin") - len(transit_stops(helsinki)[0])
    assert 0.5 * ways / 100.0 < n_bins < 2.0 * ways / 100.0
    squares = [a.polygon for a in helsinki.assets if a.type == "square" and a.polygon is not None]
    area = sum(q.area for q in squares if q.area >= 100.0)
    n_benches = items.count("bench") - len(transit_stops(helsinki)[0])
    assert abs(n_benches - area / 1000.0) < 4 * np.sqrt(area / 1000.0)
    union = shapely.union_all(squares)
    benches = np.array([r["xy"] for r in p.truth if r["item"] == "bench"])
    benches = benches[: len(benches) - len(transit_stops(helsinki)[0])]    # the squares' (the stops' last)
    assert shapely.contains_xy(union, benches[:, 0], benches[:, 1]).mean() > 0.8


def test_furniture_stands_still_with_its_size(helsinki):
    p = play(helsinki, "street_furniture", until=3.0)
    (_, a), (_, b) = p.frames[0], p.frames[-1]
    assert (a.cls == FURNITURE).all() and np.array_equal(a.ids, b.ids) and np.array_equal(a.xy, b.xy)
    assert (a.speed == 0).all()
    sizes = {tuple(x) for x in np.column_stack([a.height_m, a.width_m]).tolist()}
    assert sizes == {tuple(v) for v in FURNITURE_SIZES.values()}


def test_a_bench_and_a_bin_beside_every_stop(helsinki):
    stops = np.array([s.xy for s in transit_stops(helsinki)[0]])
    p = play(helsinki, "street_furniture", until=1.0, bin_spacing_m=1e6, benches_per_1000m2=0.0)
    for item in ("bench", "bin"):
        xy = np.array([r["xy"] for r in p.truth if r["item"] == item])
        d = np.hypot(*(xy[:, None] - stops[None]).transpose(2, 0, 1)).min(axis=1)
        near = (d <= 3.0 + 1e-9) & (d >= 2.0 - 1e-9)
        assert near.sum() == len(stops)        # (a way longer than a random share of 1e6 m may hold a bin)
    none = play(helsinki, "street_furniture", until=1.0, bin_spacing_m=1e6, benches_per_1000m2=0.0,
                at_stops=False)
    assert none.truth == [] and len(none.look.targets()) == 0
