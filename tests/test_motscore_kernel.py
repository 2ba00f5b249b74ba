"""The numba frame loop of mot_metrics gives the Python loop's events bit for bit, and so the same metrics."""

from __future__ import annotations

import numpy as np
import pytest

import analytics.motscore as ms
from analytics.mot import load_mot
from analytics.motscore import MOT_METRICS, _mot_metrics_python, mot_metrics, mot_metrics_reference
from analytics.motscore_kernel import MATCH, MISS, SWITCH, frame_events
from analytics.tracking import track_mot
from twin.datapath import data_dir

MOT = data_dir() / "datasets" / "mot"


def _python_events(monkeypatch, gt, hyp, iou_threshold=0.5):
    """The Python loop's metrics and the arguments it hands to ``_summarise`` (its events)."""
    seen = {}
    real = ms._summarise

    def spy(types, oids, d, n_fp, rows, raw):
        seen.update(types=types, oids=oids, d=d, n_fp=n_fp, raw=raw)
        return real(types, oids, d, n_fp, rows, raw)

    monkeypatch.setattr(ms, "_summarise", spy)
    out = _mot_metrics_python(gt, hyp, iou_threshold=iou_threshold)
    monkeypatch.setattr(ms, "_summarise", real)
    return out, seen


def _assert_same(monkeypatch, gt, hyp, iou_threshold=0.5):
    """Kernel events == Python events (distances bit for bit), and every metric exactly equal."""
    py, ev = _python_events(monkeypatch, gt, hyp, iou_threshold)
    k = frame_events(*ms._prepare(gt, hyp), 1.0 - iou_threshold)
    assert np.array_equal(k.types, ev["types"]) and k.types.dtype == ev["types"].dtype
    assert np.array_equal(k.oids, ev["oids"])
    assert k.d.tobytes() == ev["d"].astype(np.float64).tobytes()
    assert k.n_fp == ev["n_fp"]
    assert np.array_equal(k.raw_o, ev["raw"][0]) and np.array_equal(k.raw_h, ev["raw"][1])
    fast = mot_metrics(gt, hyp, iou_threshold=iou_threshold)
    for key in MOT_METRICS:
        assert np.float64(fast[key]).tobytes() == np.float64(py[key]).tobytes(), key
    return fast, k


def _scene(rng: np.random.Generator, n_frames: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Walkers whose paths cross, a tracker that swaps and drops ids, duplicates boxes and hypothesis ids
    within a frame, adds clutter, and frames with only gt, only hypotheses, or neither."""
    gt, hyp = [], []
    n_walk = 12
    start = rng.uniform(0, 300, (n_walk, 2))
    vel = rng.uniform(-6, 6, (n_walk, 2))
    size = rng.uniform(20, 40, (n_walk, 2))
    for f in range(1, n_frames + 1):
        if f % 17 == 0:
            continue  # an empty frame (no rows at all)
        pos = start + vel * f
        for k in range(n_walk):
            if f % 13 != 0:  # every 13th frame has hypotheses only
                gt.append([f, k + 1, *pos[k], *size[k]])
                if rng.random() < 0.03:
                    gt.append([f, k + 1, *(pos[k] + 3), *size[k]])  # a gt id twice in the frame
            if f % 11 == 0 or rng.random() < 0.1:
                continue  # every 11th frame has gt only; random drops
            hid = k + 100 + (f // 25) * (k % 3 == 0)  # some tracks change id
            if 30 <= f < 40 and k in (2, 3):
                hid = 103 if k == 2 else 102  # two tracks swap ids
            box = pos[k] + rng.normal(0, 2.5, 2)
            wh = size[k] + rng.normal(0, 2, 2)
            if k == 5:
                box, wh = pos[k], size[k]  # this one's boxes are the gt boxes themselves
            hyp.append([f, hid, *box, *wh])
            if rng.random() < 0.08:
                hyp.append([f, hid, *(box + rng.normal(0, 1.5, 2)), *size[k]])  # same id twice in the frame
            if rng.random() < 0.05:
                hyp.append([f, hid + 1, *box, *size[k]])  # an exact duplicate box, another id
        for _ in range(rng.integers(0, 3)):
            hyp.append([f, int(rng.integers(500, 505)), *rng.uniform(0, 300, 2), 30, 30])  # clutter
        # Two people side by side, two hypotheses overlapping both (competing pairs: the LAP path), with new
        # hypothesis ids every third frame and swapped ones every seventh.
        if f % 13 != 0:
            gt += [[f, 50, 600, 600, 30, 80], [f, 51, 606, 600, 30, 80]]
        h1, h2 = 1000 + 2 * (f // 3), 1001 + 2 * (f // 3)
        h1, h2 = (h2, h1) if f % 7 == 0 else (h1, h2)
        hyp += [[f, h1, 602 + rng.normal(0, 1), 600, 30, 80], [f, h2, 604, 600, 30, 80]]
    pad = lambda a: np.hstack([np.array(a, float), np.full((len(a), 4), -1.0)])  # noqa: E731
    return pad(gt), pad(hyp)


def _scipy_calls(monkeypatch, fn, *args) -> list[np.ndarray]:
    """The cost matrices ``fn`` hands scipy's LAP solver (not the IDF1 matching, which maximises)."""
    import scipy.optimize

    seen = []
    real = scipy.optimize.linear_sum_assignment

    def spy(costs, maximize=False):
        if not maximize:
            seen.append(np.array(costs, copy=True))
        return real(costs, maximize=maximize)

    monkeypatch.setattr(scipy.optimize, "linear_sum_assignment", spy)
    fn(*args)
    monkeypatch.setattr(scipy.optimize, "linear_sum_assignment", real)
    return seen


@pytest.mark.parametrize("seed", range(8))
def test_random_scenes_equal_python_loop(monkeypatch, seed: int) -> None:
    gt, hyp = _scene(np.random.default_rng(seed))
    fast, k = _assert_same(monkeypatch, gt, hyp)
    assert (k.types == SWITCH).sum() >= 5 and (k.types == MATCH).sum() > 500 and (k.types == MISS).sum() > 50
    assert fast["num_false_positives"] > 50 and fast["num_fragmentations"] >= 1
    # The LAP frames: the kernel hands scipy the very matrices motmetrics' solver builds in the Python loop.
    by_python = _scipy_calls(monkeypatch, _mot_metrics_python, gt, hyp)
    by_kernel = _scipy_calls(monkeypatch, frame_events, *ms._prepare(gt, hyp), 0.5)
    assert len(by_kernel) == len(by_python) >= 25  # the two side by side at least
    for a, b in zip(by_kernel, by_python, strict=True):
        assert a.shape == b.shape and a.tobytes() == b.tobytes()
    assert not any(np.isnan(a).any() for a in by_kernel)  # no-pair entries carry the large finite cost
    assert any(a.max() > 2 for a in by_kernel)


def test_random_scene_equals_motmetrics(monkeypatch) -> None:
    gt, hyp = _scene(np.random.default_rng(42), n_frames=40)
    fast, _ = _assert_same(monkeypatch, gt, hyp)
    ref = mot_metrics_reference(gt, hyp)
    for key in MOT_METRICS:
        assert fast[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-15), key
    assert fast["num_switches"] == ref["num_switches"] >= 3


@pytest.mark.parametrize("thr", [0.0, 0.3, 0.7, 1.0])
def test_other_iou_thresholds(monkeypatch, thr: float) -> None:
    """Threshold 0 makes every pair finite (distance 1 for disjoint boxes): dense LAP frames and a RAW
    buffer that must grow; 1 pairs only identical boxes."""
    gt, hyp = _scene(np.random.default_rng(7), n_frames=30)
    fast, k = _assert_same(monkeypatch, gt, hyp, iou_threshold=thr)
    if thr == 0.0:
        assert len(k.raw_o) > 4 * len(gt)  # all pairs of every frame with both
    if thr == 1.0:
        assert (k.types != MISS).sum() >= 1 and fast["recall"] < 0.1


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")
def test_degenerate_boxes_and_ids(monkeypatch) -> None:
    """Zero, negative and NaN sizes, coinciding boxes, ids far apart (the np.unique compaction), non-finite
    ids (the Python loop)."""
    rng = np.random.default_rng(5)
    gt, hyp = _scene(rng, n_frames=30)
    gt[::7, 4] = 0.0
    hyp[::5, 5] = -3.0
    hyp[::11, 2] = np.nan
    hyp[::9, 2:6] = gt[: len(hyp[::9]), 2:6]
    _assert_same(monkeypatch, gt, hyp)
    _assert_same(monkeypatch, gt, hyp, iou_threshold=0.0)
    wide = gt.copy()
    wide[:, 1] *= 10**12
    _assert_same(monkeypatch, wide, hyp)
    bad = hyp.copy()
    bad[3, 1] = np.inf
    assert mot_metrics(gt, bad) == _mot_metrics_python(gt, bad)


def test_empty_inputs() -> None:
    gt, _ = _scene(np.random.default_rng(1), n_frames=10)
    for g, h in ((gt, np.empty((0, 10))), (np.empty((0, 10)), gt), (np.empty((0, 6)), np.empty((0, 6)))):
        a, b = mot_metrics(g, h), _mot_metrics_python(g, h)
        assert all(np.float64(a[k]).tobytes() == np.float64(b[k]).tobytes() for k in MOT_METRICS)
    assert mot_metrics(gt, np.empty((0, 10)))["num_misses"] == len(gt)


@pytest.mark.parametrize("seq", ["TUD-Campus", "TUD-Stadtmitte"])
def test_motchallenge_sequences_equal_python_loop(monkeypatch, seq: str) -> None:
    gt = load_mot(MOT / seq / "gt.txt")
    fast, _ = _assert_same(monkeypatch, gt, load_mot(MOT / seq / "test.txt"))
    assert fast["num_switches"] == (7 if seq == "TUD-Campus" else fast["num_switches"])
    _assert_same(monkeypatch, gt, track_mot(str(MOT / seq / "test.txt"), fps=25.0))


def _reversed_scipy(costs):
    """motmetrics' scipy solver on the matrix with rows and columns reversed: other optima on ties."""
    from motmetrics.lap import lsa_solve_scipy

    nr, nc = costs.shape
    r, c = lsa_solve_scipy(costs[::-1, ::-1].copy())
    order = np.argsort(nr - 1 - r)
    return (nr - 1 - r)[order], (nc - 1 - c)[order]


def test_another_motmetrics_solver_is_used_as_the_python_loop_uses_it(monkeypatch) -> None:
    """With motmetrics' default solver changed, the kernel hands it the Python loop's masked distances."""
    from motmetrics import lap

    gt, hyp = _scene(np.random.default_rng(11))
    dup = hyp.copy()
    dup[:, 1] += 1000  # every hypothesis twice, under two ids: ties everywhere
    hyp = np.vstack([hyp, dup])
    default = frame_events(*ms._prepare(gt, hyp), 0.5)
    with lap.set_default_solver(_reversed_scipy):
        _assert_same(monkeypatch, gt, hyp)
        other = frame_events(*ms._prepare(gt, hyp), 0.5)
    assert not np.array_equal(default.oids, other.oids) or not np.array_equal(default.types, other.types)
