"""``road_traffic``: cars, vans and buses on the drive graph at street speeds, following each other, stopping
at the kerb for minutes, vans delivering into squares; every record tagged (Helsinki twin)."""

from __future__ import annotations

import numpy as np
import shapely

from agents.lookalikes.road_traffic import VEHICLE_TYPES
from agents.world import VEHICLE
from tests._lookalikes import DT, max_excess_step, play, track


def test_hundreds_of_vehicles_of_the_documented_mix_and_sizes(helsinki):
    p = play(helsinki, "road_traffic", until=60.0)
    look = p.look
    km = look.net.length.sum() / 1000.0
    assert look.mv.n == round(10.0 * km) and look.mv.n >= 200
    share = np.bincount(look.vtype, minlength=3) / look.mv.n
    assert abs(share[1] - 0.10) < 0.05 and abs(share[2] - 0.05) < 0.04
    for _, tg in p.frames:
        assert len(tg) >= look.mv.n and (tg.cls == VEHICLE).all()
        assert np.isfinite(tg.xy).all() and np.isfinite(tg.speed).all()
        assert len(np.unique(tg.ids)) == len(tg.ids)
    tg = p.frames[-1][1]
    sizes = {(h, w) for h, w in zip(tg.height_m.round(2), tg.width_m.round(2), strict=True)}
    assert sizes <= {(v[2], v[1]) for v in VEHICLE_TYPES.values()}


def test_street_speeds_and_no_jumps(helsinki):
    p = play(helsinki, "road_traffic", until=120.0)
    v = np.concatenate([tg.speed for _, tg in p.frames])
    assert v.max() <= 40 / 3.6 * 1.3 + 1e-9          # the fastest street's limit times the highest factor
    moving = v[v > 0.5]
    assert 4.0 < np.median(moving) < 12.0             # urban street speeds, m/s
    assert max_excess_step(p.frames) < 3.0            # lane changes at corners are eased, no teleports


def test_vehicles_keep_their_distance(helsinki):
    p = play(helsinki, "road_traffic", until=90.0, frames=False)
    look, mv = p.look, p.look.mv
    moving = look.parked_until <= p.model.t
    o = np.flatnonzero(moving)[np.argsort((mv.edge * 1e6 + mv.offset)[moving], kind="stable")]
    same = mv.edge[o[1:]] == mv.edge[o[:-1]]
    length = look.dims[look.vtype, 0]
    gap = mv.offset[o[1:]] - mv.offset[o[:-1]] - (length[o[1:]] + length[o[:-1]]) / 2
    assert gap[same].min() > -1.0                    # nobody drives through the vehicle ahead


def test_kerb_stops_last_minutes_at_the_kerb(helsinki):
    p = play(helsinki, "road_traffic", until=200.0)
    stops = [r for r in p.mine() if r["kind"] == "kerb_stop" and "place" not in r and r["t"] > 0]
    assert stops
    assert {r["vehicle"] for r in stops} <= {"car", "van"}
    r = max(stops, key=lambda r: r["duration_s"])
    ts, xy, v = track(p.frames, r["id"])
    during = (ts > r["t"] + DT) & (ts < r["t"] + r["duration_s"])
    assert during.any() and (v[during] == 0).all()
    assert np.hypot(*(xy[during][-1] - r["xy"])) < 1.0          # at the kerb where it stopped
    durations = np.array([s["duration_s"] for s in p.mine() if s["kind"] == "kerb_stop"])
    assert np.median(durations[[s["vehicle"] == "van" for s in p.mine() if s["kind"] == "kerb_stop"]]) > 60


def test_some_vehicles_pass_close_to_squares(helsinki):
    p = play(helsinki, "road_traffic", until=60.0)
    sq = shapely.union_all([a.polygon for a in helsinki.assets
                            if a.type == "square" and a.polygon is not None])
    xy = np.vstack([tg.xy for _, tg in p.frames])
    d = shapely.distance(sq, shapely.points(xy))
    assert (d < 5.0).sum() > 0


def test_vans_deliver_into_squares_at_walking_pace(helsinki):
    p = play(helsinki, "road_traffic", until=400.0, vehicles_per_km=0.5, square_deliveries_per_km2_h=100.0)
    stops = [r for r in p.mine() if r["kind"] == "kerb_stop" and "place" in r]
    assert stops and all(r["vehicle"] == "van" for r in stops)
    squares = {a.id: a.polygon for a in helsinki.assets if a.type == "square" and a.polygon is not None}
    r = stops[0]
    assert shapely.contains_xy(squares[r["place"]], *r["xy"]) or shapely.distance(
        squares[r["place"]], shapely.Point(*r["xy"])) < 1e-6
    ts, _, v = track(p.frames, r["id"])
    assert len(ts) and v.max() <= 2.0 + 1e-9


def test_vehicles_leave_and_others_enter_through_the_bbox(helsinki):
    p = play(helsinki, "road_traffic", until=300.0, frames=False)
    left = [r for r in p.mine() if r["kind"] == "left"]
    spawned = [r for r in p.mine() if r["kind"] == "spawned"]
    assert left and len(spawned) == p.look.mv.n + len(left) + sum(
        r.get("place") is not None for r in spawned)
    assert all(r["lookalike"] == "road_traffic" for r in p.truth)


def test_same_seed_same_traffic(helsinki):
    a = play(helsinki, "road_traffic", until=60.0, frames=False)
    b = play(helsinki, "road_traffic", until=60.0, frames=False)
    c = play(helsinki, "road_traffic", until=60.0, frames=False, seed=4)
    assert a.truth == b.truth and a.truth != c.truth
