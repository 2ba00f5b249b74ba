"""``luggage``: somebody sets a bag down (a left object tagged with the look-alike), stays by it for minutes,
perhaps steps a few metres away and back, and takes it away again (Helsinki twin)."""

from __future__ import annotations

import numpy as np

from agents.world import OBJECT
from tests._lookalikes import play, track


def _episodes(p):
    recs = p.mine()
    placed = {r["id"]: r for r in recs if r["kind"] == "object_placed"}
    removed = {r["id"]: r for r in recs if r["kind"] == "object_removed"}
    return recs, placed, removed


def test_bags_are_put_down_and_picked_up_within_minutes(helsinki):
    p = play(helsinki, "luggage", until=1200.0, frames=False, per_km2_h=200.0)
    recs, placed, removed = _episodes(p)
    done = sorted(set(placed) & set(removed))
    assert len(done) > 50
    hold = np.array([removed[i]["t"] - placed[i]["t"] for i in done])
    assert 120.0 < np.median(hold) < 260.0 and hold.max() < 1200.0
    assert all(removed[i]["reason"] == "picked_up" and removed[i]["lookalike"] == "luggage" for i in done)
    owners = {r["id"] for r in recs if r["kind"] == "spawned"}
    assert {placed[i]["by"] for i in placed} <= owners
    per_h = len([r for r in recs if r["kind"] == "spawned"]) / (1200.0 / 3600.0)
    from agents.lookalikes.sites import area_km2
    expected = 200.0 * area_km2(helsinki)
    assert abs(per_h - expected) < 0.35 * expected


def test_the_owner_stays_by_the_bag_but_for_a_short_step_away(helsinki):
    p = play(helsinki, "luggage", until=700.0, per_km2_h=200.0, step_away_share=1.0)
    recs, placed, removed = _episodes(p)
    away = {r["id"]: r for r in recs if r["kind"] == "stepped_away"}
    back = {r["id"]: r for r in recs if r["kind"] == "came_back"}
    checked = 0
    for oid in sorted(set(placed) & set(removed)):
        owner = placed[oid]["by"]
        ts, xy, _ = track(p.frames, owner)
        during = (ts >= placed[oid]["t"] + 0.5) & (ts <= removed[oid]["t"] - 0.5)
        d = np.hypot(*(xy[during] - placed[oid]["xy"]).T)
        if owner in away:
            out = (ts[during] > away[owner]["t"]) & (ts[during] < back[owner]["t"])
            assert d[~out].max() <= 0.6 + 1e-6 and 3.0 - 0.6 <= d[out].max() <= 10.0 + 0.6 + 1e-6
        else:
            assert d.max() <= 0.6 + 1e-6
        checked += 1
    assert checked >= 3 and away


def test_the_bag_is_an_object_target_while_down(helsinki):
    p = play(helsinki, "luggage", until=300.0, per_km2_h=300.0)
    recs, placed, removed = _episodes(p)
    oid = next(iter(placed))
    t0, t1 = placed[oid]["t"], removed.get(oid, {"t": 1e9})["t"]
    assert oid in p.model.objects or oid in removed
    inside = [t for t, _ in p.frames if t0 < t < t1]
    assert inside
    objs = p.model.individual_targets()
    assert set(objs.ids[objs.cls == OBJECT]) == set(placed) - set(removed)
