"""``cyclists``: bicycles (class bicycle) riding the walk graph at 4-6 m/s, never on steps, smoothly, and
replaced when they leave through the bbox (Helsinki twin)."""

from __future__ import annotations

import numpy as np

from agents.world import BICYCLE
from tests._lookalikes import max_excess_step, play


def test_cyclists_ride_at_cycling_speed(helsinki):
    p = play(helsinki, "cyclists", until=120.0)
    look = p.look
    assert look.mv.n == round(1.0 * look.net.length.sum() / 2000.0) and look.mv.n > 20
    for _, tg in p.frames:
        assert (tg.cls == BICYCLE).all() and len(tg) == look.mv.n
        assert tg.speed.min() >= 4.0 - 1e-9 and tg.speed.max() <= 6.0 + 1e-9
        assert np.isfinite(tg.xy).all()
    assert 4.5 < np.mean(p.frames[-1][1].speed) < 5.5
    assert max_excess_step(p.frames) < 2.0


def test_cyclists_keep_off_steps(helsinki):
    p = play(helsinki, "cyclists", until=300.0, frames=False)
    net = p.look.net
    hw = [str(net.data[e].get("highway")) for e in p.look.mv.edge]
    assert not any("steps" in h for h in hw)


def test_cyclists_come_and_go_and_every_record_is_tagged(helsinki):
    p = play(helsinki, "cyclists", until=300.0, frames=False)
    kinds = [r["kind"] for r in p.truth]
    assert kinds.count("spawned") == p.look.mv.n + kinds.count("left") > p.look.mv.n
    assert all(r["lookalike"] == "cyclists" and r.get("cls", "bicycle") == "bicycle" for r in p.truth)


def test_speeds_are_settable(helsinki):
    p = play(helsinki, "cyclists", until=10.0, per_km=0.2, speed_mps=3.0, speed_sd=0.0,
             speed_range=[2.0, 8.0])
    assert p.look.mv.n == round(0.2 * p.look.net.length.sum() / 2000.0)
    assert np.allclose(p.frames[-1][1].speed, 3.0)
