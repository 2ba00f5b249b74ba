"""TDOA localisation and the acoustic detector: grouping, the score threshold, degenerate microphone layouts
(never a NaN or an infinity), and the measured alert rates per impulse class on simulated microphones."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.world import IMPULSE_CLASSES, IMPULSE_LEVEL_DB, Impulse
from analytics import acoustic as acoustic_mod
from analytics.acoustic import AcousticDetector, AcousticParams, TdoaFix, layout_problem, localise_tdoa
from sensors.acoustic import ImpulseSignatures, Microphone

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


def _msgs(cls, src, score=0.9, t0=100.0, mics=MICS):
    """Detections of one impulse at ``src`` by every microphone of ``mics``: ``score`` for ``cls``."""
    mics = np.asarray(mics, float)
    ta = t0 + np.hypot(*(mics - np.asarray(src, float)).T) / 343.0
    other = {"gunshot": "explosion", "explosion": "gunshot"}
    scores = {cls: score, other.get(cls, "explosion"): 0.05} if cls in other else {
        "gunshot": 0.1, "explosion": 0.05}
    return [
        {
            "t": float(t),
            "topic": "acoustic/detection",
            "sensor_id": f"mic{i}",
            "t_arrival": float(t),
            "scores": dict(scores),
            "level_db": 120 - float(t - t0) * 20,
            "xy": mics[i].tolist(),
        }
        for i, t in sorted(enumerate(ta), key=lambda p: p[1])
    ]


def _run(det, msgs):
    return [a for m in msgs for a in det.update(m)] + det.flush()


def test_detector_locates_gunshot_and_suppresses_low_scores() -> None:
    det = AcousticDetector()
    msgs = (
        _msgs("gunshot", [250, 100])
        + _msgs("fireworks", [50, 50], t0=200.0)
        + _msgs("explosion", [10, 280], t0=300)
        + _msgs("gunshot", [100, 100], score=0.45, t0=400)        # below the threshold: not alerted
    )
    alerts = _run(det, msgs)
    assert [a["kind"] for a in alerts] == ["gunshot", "explosion"] and det.suppressed == 2
    g = alerts[0]
    assert np.hypot(g["xy"][0] - 250, g["xy"][1] - 100) < 0.1 and g["t"] == pytest.approx(100.0, abs=1e-3)
    assert g["evidence"]["method"] == "tdoa" and g["evidence"]["mics"] == 4 and g["conf"] == 0.9
    assert g["evidence"]["scores"] == {"gunshot": 0.9, "explosion": 0.05}
    assert g["evidence"]["min_score"] == 0.5
    assert g["source"] == ["mic0", "mic1", "mic2", "mic3"]
    assert [a["kind"] for a in _run(AcousticDetector(AcousticParams(min_score=0.4)),
                                    _msgs("gunshot", [100, 100], score=0.45))] == ["gunshot"]


def test_rapid_shots_whose_arrivals_interleave_are_told_apart() -> None:
    """Three shots 0.25 s apart from one shooter on the move: their arrivals at the four microphones
    interleave, but each microphone hears them in the order they were fired, so each shot gets its own
    four-microphone fix (shots from far-apart places this close in time would be confused)."""
    places = [[250, 100], [256, 104], [247, 97]]
    msgs = sorted((m for k, src in enumerate(places) for m in _msgs("gunshot", src, t0=100.0 + 0.25 * k)),
                  key=lambda m: m["t"])
    alerts = _run(AcousticDetector(), msgs)
    assert len(alerts) == 3 and all(a["evidence"]["method"] == "tdoa" for a in alerts)
    for a, src, k in zip(alerts, places, range(3), strict=True):
        assert np.hypot(a["xy"][0] - src[0], a["xy"][1] - src[1]) < 0.5, (a, src)
        assert a["t"] == pytest.approx(100 + 0.25 * k, abs=1e-3)


def test_a_legacy_label_and_confidence_is_read_as_a_score() -> None:
    msgs = _msgs("gunshot", [200, 100])
    for m in msgs:
        del m["scores"]
        m.update(cls="gunshot", conf=0.8)
    alerts = _run(AcousticDetector(), msgs)
    assert [a["kind"] for a in alerts] == ["gunshot"] and alerts[0]["conf"] == 0.8


def _fallback(alerts, reason: str) -> dict:
    (a,) = alerts
    json.dumps(a, allow_nan=False)                       # no NaN or infinity anywhere in it
    ev = a["evidence"]
    assert ev["method"] == "loudest_mic" and ev["sigma_m"] == 150.0 and reason in ev["fallback"], ev
    return a


def test_two_mics_fall_back_to_loudest() -> None:
    a = _fallback(_run(AcousticDetector(), _msgs("gunshot", [20, 20])[:2]), "fewer than three microphones")
    assert a["xy"] == [0.0, 0.0] and a["evidence"]["mics"] == 2


def test_collinear_mics_fall_back_to_loudest() -> None:
    line = [[0.0, 0.0], [150.0, 0.0], [300.0, 0.0], [450.0, 2.0]]
    a = _fallback(_run(AcousticDetector(), _msgs("gunshot", [160, 80], mics=line)), "collinear microphones")
    assert a["xy"] == [150.0, 0.0]                       # the loudest: the nearest to the source


def test_coincident_mics_fall_back_to_loudest() -> None:
    stacked = [[0.0, 0.0], [0.0, 0.0], [0.3, 0.0], [200.0, 0.0]]
    _fallback(_run(AcousticDetector(), _msgs("gunshot", [60, 90], mics=stacked)), "coincident microphones")
    # a duplicate microphone beside three good ones is ignored, not fatal
    five = [*MICS.tolist(), [0.2, 0.0]]
    (a,) = _run(AcousticDetector(), _msgs("gunshot", [130, 210], mics=five))
    assert a["evidence"]["method"] == "tdoa" and np.hypot(a["xy"][0] - 130, a["xy"][1] - 210) < 1.0


def test_a_singular_or_uncertain_fix_falls_back_without_infinity(monkeypatch) -> None:
    """The bug seen on a city run: a singular covariance put sigma = inf into the evidence."""
    bad = TdoaFix(xy=np.array([1.0, 2.0]), t0=100.0, cov=np.full((2, 2), np.inf), rms_m=0.0)
    monkeypatch.setattr(acoustic_mod, "localise_tdoa", lambda *a, **k: bad)
    assert not bad.ok and bad.sigma_m == float("inf")
    _fallback(_run(AcousticDetector(), _msgs("gunshot", [200, 100])), "singular geometry")
    wide = TdoaFix(xy=np.array([1.0, 2.0]), t0=100.0, cov=np.eye(2) * 1e6, rms_m=0.0)
    monkeypatch.setattr(acoustic_mod, "localise_tdoa", lambda *a, **k: wide)
    _fallback(_run(AcousticDetector(), _msgs("gunshot", [200, 100])), "uncertain fix (1414 m > 200 m)")


def test_layouts_and_bad_input() -> None:
    assert layout_problem(MICS) is None
    assert "fewer than three" in layout_problem(MICS[:2])
    with pytest.raises(ValueError, match="finite"):
        localise_tdoa(MICS, np.array([0.0, np.nan, 0.1, 0.2]))
    det = AcousticDetector()
    with pytest.raises(ValueError, match="must be finite"):
        det.update({**_msgs("gunshot", [1, 1])[0], "xy": [np.inf, 0.0]})


def _alert_rates(min_score: float, n: int = 300, seed: int = 1) -> dict[str, dict[str, float]]:
    """Impulses of each class at random places inside a 300 m square of four microphones, with levels from
    IMPULSE_LEVEL_DB: the share heard by any microphone and the share that raised each alert kind."""
    rng = np.random.default_rng(seed)
    sig = ImpulseSignatures(np.random.default_rng(seed + 1))
    corners = [(0.0, 0.0), (300.0, 0.0), (0.0, 300.0), (300.0, 300.0)]
    out = {}
    for cls in IMPULSE_CLASSES:
        mics = [Microphone(f"m{i}", xy, rng=np.random.default_rng(10 * seed + i), signatures=sig)
                for i, xy in enumerate(corners)]
        det = AcousticDetector(AcousticParams(min_score=min_score))
        heard, kinds = 0, {"gunshot": 0, "explosion": 0}
        for k in range(n):
            mean, sd = IMPULSE_LEVEL_DB[cls]
            level = float(rng.normal(mean, sd))
            imp = Impulse(10.0 * k, tuple(rng.uniform(0, 300, 2)), cls, level, id=f"{k}")
            dets = sorted((d for m in mics for d in m.hear([imp])), key=lambda d: d["t_arrival"])
            heard += bool(dets)
            for a in _run(det, [{"t": d["t_arrival"], "topic": "acoustic/detection", **d} for d in dets]):
                kinds[a["kind"]] += 1
        out[cls] = {"heard": heard / n, **{k: v / n for k, v in kinds.items()}}
    return out


def test_measured_alert_rates_per_impulse_class() -> None:
    """With the default threshold shots and explosions are found, and look-alikes honestly raise false
    alarms at about the rates the classifier model documents (figures in docs/performance.md)."""
    r = _alert_rates(0.5)
    assert r["gunshot"]["gunshot"] > 0.9 and r["explosion"]["explosion"] > 0.9
    assert 0.18 < r["fireworks"]["gunshot"] < 0.38          # the main false-alarm source
    assert 0.08 < r["backfire"]["gunshot"] < 0.25
    assert r["construction"]["gunshot"] < 0.08 and r["door_slam"]["gunshot"] < 0.03
    assert r["door_slam"]["heard"] < 0.2           # 115 dB at 1 m: only a microphone close by hears it
    strict = _alert_rates(0.9)                      # a stricter threshold: fewer false alarms, more misses
    assert strict["fireworks"]["gunshot"] < 0.1 and strict["gunshot"]["gunshot"] < 0.8


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
