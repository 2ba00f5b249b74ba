"""``joggers``: persons running at 2.5-4 m/s on the walk graph, so they look like running people; each is
well faster than any walker (Helsinki twin)."""

from __future__ import annotations

import numpy as np

from agents.crowd_params import CrowdParams
from agents.world import PERSON
from tests._lookalikes import max_excess_step, play


def test_joggers_are_persons_running(helsinki):
    p = play(helsinki, "joggers", until=120.0)
    look = p.look
    assert look.mv.n == round(0.3 * look.net.length.sum() / 2000.0) and look.mv.n > 5
    for _, tg in p.frames:
        assert (tg.cls == PERSON).all()
        assert tg.speed.min() >= 2.5 - 1e-9 and tg.speed.max() <= 4.0 + 1e-9
        assert (tg.height_m > 1.3).all() and (tg.width_m == 0.5).all()
    assert p.frames[-1][1].speed.min() > CrowdParams().v0_max      # faster than the fastest walker
    assert max_excess_step(p.frames) < 2.0


def test_joggers_records(helsinki):
    p = play(helsinki, "joggers", until=200.0, frames=False)
    assert all(r["lookalike"] == "joggers" for r in p.truth)
    sp = [r for r in p.truth if r["kind"] == "spawned"]
    assert {r["what"] for r in sp} == {"jogger"} and {r["cls"] for r in sp} == {"person"}
    assert len(np.unique([r["id"] for r in sp])) == len(sp)


def test_disabled_by_zero_density(helsinki):
    p = play(helsinki, "joggers", until=5.0, per_km=0.0)
    assert p.look.mv.n == 0 and p.look.targets() is None and p.truth == []
