"""TDOA localisation and the acoustic detector (grouping, fireworks rejection)."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.acoustic import AcousticDetector, localise_tdoa

MICS = np.array([[0.0, 0.0], [400.0, 0.0], [0.0, 300.0], [400.0, 300.0]])


def arrivals(src, t0=100.0, jitter=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return t0 + np.hypot(*(MICS - src).T) / 343.0 + rng.normal(0, jitter, len(MICS))


def test_tdoa_four_mics_within_one_metre_with_sensible_uncertainty() -> None:
    src = np.array([130.0, 210.0])
    errs, sigmas = [], []
    for seed in range(50):  # 1 ms timing jitter
        fix = localise_tdoa(MICS, arrivals(src, jitter=0.001, seed=seed), sigma_t=0.001)
        errs.append(np.hypot(*(fix.xy - src)))
        sigmas.append(fix.sigma_m)
    errs, sigmas = np.array(errs), np.array(sigmas)
    assert np.median(errs) < 1.0
    # the stated 1-sigma radius covers the error most of the time and is of the same order
    assert 0.5 < np.mean(errs <= 2 * sigmas) and 0.2 < np.median(sigmas) < 3.0
    exact = localise_tdoa(MICS, arrivals(src))
    assert np.hypot(*(exact.xy - src)) < 1e-3 and exact.t0 == pytest.approx(100.0, abs=1e-6)


def test_tdoa_needs_three_mics() -> None:
    with pytest.raises(ValueError, match="three or more"):
        localise_tdoa(MICS[:2], np.array([0.0, 0.1]))


def _msgs(cls, src, conf=0.9, t0=100.0):
    ta = arrivals(np.asarray(src, float), t0=t0)
    return [
        {
            "t": float(t),
            "topic": "acoustic/detection",
            "sensor_id": f"mic{i}",
            "t_arrival": float(t),
            "cls": cls,
            "conf": conf,
            "level_db": 120 - float(t - t0) * 20,
            "xy": MICS[i].tolist(),
        }
        for i, t in sorted(enumerate(ta), key=lambda p: p[1])
    ]


def test_detector_locates_gunshot_and_rejects_fireworks() -> None:
    det = AcousticDetector()
    msgs = (
        _msgs("gunshot", [250, 100])
        + _msgs("fireworks", [50, 50], t0=200.0)
        + _msgs("explosion", [10, 280], t0=300)
    )
    alerts = [a for m in msgs for a in det.update(m)] + det.flush()
    assert [a["kind"] for a in alerts] == ["gunshot", "explosion"] and det.suppressed == 1
    g = alerts[0]
    assert np.hypot(g["xy"][0] - 250, g["xy"][1] - 100) < 0.1 and g["t"] == pytest.approx(100.0, abs=1e-3)
    assert g["evidence"]["method"] == "tdoa" and g["evidence"]["mics"] == 4 and g["conf"] > 0.99
    assert g["source"] == ["mic0", "mic1", "mic2", "mic3"]


def test_two_mics_fall_back_to_loudest() -> None:
    det = AcousticDetector()
    alerts = [a for m in _msgs("gunshot", [20, 20])[:2] for a in det.update(m)] + det.flush()
    assert alerts[0]["xy"] == [0.0, 0.0] and alerts[0]["evidence"]["method"] == "loudest_mic"


def test_group_closes_on_time_from_other_topics() -> None:
    """In a pipeline, any message 1.5 s after the first arrival reports the shot (no acoustic one needed)."""
    from analytics.pipeline import AnalyticsPipeline

    pipe = AnalyticsPipeline()
    out = [a for m in _msgs("gunshot", [200, 150]) for a in pipe.push(m)]
    assert out == []
    last = max(m["t"] for m in _msgs("gunshot", [200, 150]))
    assert (
        pipe.push({"t": last + 0.5, "topic": "counter/line", "sensor_id": "x", "count_in": 1, "count_out": 0})
        == []
    )
    first = min(m["t"] for m in _msgs("gunshot", [200, 150]))
    alerts = pipe.push({"t": first + 1.6, "topic": "camera/health", "camera_id": "c", "status": "ok"})
    assert [a["kind"] for a in alerts] == ["gunshot"] and abs(alerts[0]["xy"][0] - 200) < 0.1
