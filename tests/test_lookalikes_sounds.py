"""``sounds``: fireworks, slammed doors, construction and backfires as impulses (the ``cls`` names the
microphones classify) at the documented rates and levels, each with a tagged ``sound`` record; none is
heard before it happens (Helsinki twin)."""

from __future__ import annotations

import numpy as np

from agents.lookalikes import LOOKALIKE_KINDS
from agents.lookalikes.sites import area_km2
from agents.lookalikes.sounds import SOUND_CLASSES
from agents.model import CityModel
from tests._lookalikes import DT, params


def _run(twin, until: float, **given):
    model = CityModel(twin, rng=np.random.default_rng(1))
    look = LOOKALIKE_KINDS["sounds"](model, params("sounds", **given), rng=np.random.default_rng(2))
    look.start(0.0)
    model.lookalikes.append(look)
    truth, t = [], 0.0
    while t < until:
        n = len(model.impulses)
        model.advance(t, DT)
        t += DT
        assert all(t - DT <= i.t <= t for i in model.impulses[n:])     # each impulse in the tick it happens
        truth += model.drain_truth()
    return model, look, truth


def test_impulses_of_the_four_classes_with_records(helsinki):
    model, look, truth = _run(helsinki, 3600.0)
    cls = [i.cls for i in model.impulses]
    assert set(cls) == set(SOUND_CLASSES)
    assert len(truth) == len(model.impulses)
    assert all(r["kind"] == "sound" and r["lookalike"] == "sounds" for r in truth)
    assert [r["id"] for r in truth] == [i.id for i in model.impulses]
    for c, (mean, sd) in SOUND_CLASSES.items():
        lv = np.array([i.level_db for i in model.impulses if i.cls == c])
        assert abs(lv.mean() - mean) < 4 * sd / np.sqrt(len(lv)) + 0.5
    area = area_km2(helsinki)
    slams = cls.count("door_slam")
    assert abs(slams - 60.0 * area) < 5 * np.sqrt(60.0 * area)


def test_bursts_have_a_gunfire_like_cadence(helsinki):
    model, _, _ = _run(helsinki, 600.0, door_slam_per_km2_h=0.0, backfire_per_km2_h=0.0,
                       construction_sites_per_km2=0.0, fireworks_per_km2_h=30.0)
    t = np.array([i.t for i in model.impulses])
    assert len(t) > 30 and {i.cls for i in model.impulses} == {"fireworks"}
    gaps = np.diff(np.sort(t))
    assert (gaps < 10.0).mean() > 0.5
    model, look, _ = _run(helsinki, 600.0, door_slam_per_km2_h=0.0, backfire_per_km2_h=0.0,
                          fireworks_per_km2_h=0.0, construction_sites_per_km2=5.0,
                          construction_bursts_per_h=30.0)
    assert len(look.sites) >= 1 and {i.cls for i in model.impulses} == {"construction"}
    xy = np.array([i.xy for i in model.impulses])
    d = np.hypot(*(xy[:, None] - look.sites[None]).transpose(2, 0, 1)).min(axis=1)
    assert d.max() < 1e-6                                 # every blow at a construction site


def test_silent_when_every_rate_is_zero(helsinki):
    model, _, truth = _run(helsinki, 120.0, door_slam_per_km2_h=0.0, backfire_per_km2_h=0.0,
                           fireworks_per_km2_h=0.0, construction_sites_per_km2=0.0)
    assert model.impulses == [] and truth == []
