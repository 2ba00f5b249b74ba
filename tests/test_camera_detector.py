"""The detector model: confidences calibrated on real detector output (recomputed from the MOT15 files),
simulated true and false confidences matching them, small targets less confident, false detections that
become tracks, class confusion and persistent false sources."""

from __future__ import annotations

import numpy as np
import pytest
from _physical_sensors import X0, Y0, people

from agents.world import BICYCLE, FURNITURE, Targets, WorldView
from analytics.tracking import TrackerParams, TrackStage
from sensors.base import SensorError
from sensors.camera import Camera, CameraConfig
from sensors.camera.detector import PROFILES, confuse, sample_quantiles, tp_logit_shift
from sensors.camera.detector_fit import LEVELS, box_iou, fit_profile, match_frames
from sensors.camera.persistent import FalseSources
from twin.datapath import data_dir

MOT = data_dir() / "datasets" / "mot"
SEQS = [MOT / "TUD-Campus", MOT / "TUD-Stadtmitte"]
NO_PERSISTENT = dict(persistent_fp_static=0.0, persistent_fp_per_hour=0.0)


@pytest.mark.parametrize("name,det_file,platt,tp,fp", [("frcnn", "det_frcnn_sort.txt", False, 1155, 117),
                                                       ("acf", "det.txt", True, 1065, 386)])
def test_profiles_are_recomputed_from_the_detector_files(name, det_file, platt, tp, fp):
    """Hungarian IoU >= 0.5 matching of the real detections to gt.txt gives the documented tables (the
    TP/FP counts of PROVENANCE.md; quantiles rounded to 4 places)."""
    got = fit_profile(SEQS, det_file, platt=platt)
    prof = PROFILES[name]
    assert (got["tp"], got["fp"], got["frames"]) == (tp, fp, 250)
    assert np.allclose(got["tp_conf"], prof.tp_conf, atol=6e-5)
    assert np.allclose(got["fp_conf"], prof.fp_conf, atol=6e-5)
    assert np.allclose(got["near_box"], prof.near_box, atol=6e-5)
    assert got["h_ref_px"] == pytest.approx(prof.h_ref_px, abs=0.01)
    assert got["small_slope"] == pytest.approx(prof.small_slope, abs=6e-5)
    assert got["near_fp_per_tp"] == pytest.approx(prof.near_fp_per_tp, abs=6e-5)
    if name == "frcnn":   # PROVENANCE.md's pooled FRCNN row
        q = [LEVELS.index(x) for x in (0.1, 0.5, 0.9)]
        assert [round(got["tp_conf"][i], 4) for i in q] == [0.961, 0.9945, 0.9984]
        assert [round(got["fp_conf"][i], 4) for i in q] == [0.5424, 0.7599, 0.9629]
        assert got["background_fp_per_frame"] == pytest.approx(0.1)


def test_matching_is_one_to_one_at_iou_half():
    gt = np.array([[1, 1, 0, 0, 10, 20, 1], [1, 2, 50, 0, 10, 20, 1]], float)
    det = np.array([[1, -1, 1, 0, 10, 20, 0.9], [1, -1, 0, 5, 10, 20, 0.8], [1, -1, 56, 0, 10, 20, 0.7]],
                   float)
    is_tp, best, _ = match_frames(det, gt)
    assert is_tp.tolist() == [True, False, False]        # the duplicate and the 0.25-IoU box are false
    assert best[2] == pytest.approx(box_iou(det[2:, 2:6], gt[1:, 2:6])[0, 0]) == pytest.approx(0.25)


def _run(detector: str, *, n: int = 300, dist: float = 10.0, seed: int = 0, fp: float = 3.0, **kw):
    """Seven people in a row ``dist`` m ahead, fully in view; det and gt rows of ``n`` frames."""
    cfg = CameraConfig(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=20.0, detector=detector,
                       fp_per_frame=fp, **{**NO_PERSISTENT, **kw})
    c = Camera("c", cfg, rng=np.random.default_rng(seed))
    tg = people(np.column_stack([X0 + np.linspace(-4, 4, 7) * dist / 10, np.full(7, Y0 + dist)]))
    det, gt = [], []
    for k in range(n):
        for topic, p in c.measure(WorldView(k * 0.2, tg)):
            if topic == "camera/frame":
                det += [[k + 1, -1, *d["bbox"], d["conf"]] for d in p["detections"]]
        gt += [[k + 1, i, *b, 1] for i, b in zip(c.last_truth.ids, c.last_truth.boxes, strict=True)]
    return np.array(det), np.array(gt), c


@pytest.mark.parametrize("name", ["frcnn", "acf"])
def test_simulated_confidences_match_the_calibration(name):
    """Scored like the real files (Hungarian IoU >= 0.5), the simulated detector's true and false
    confidences have the calibration's q10/q50/q90: the share of simulated values below each calibrated
    quantile is within 0.03 (TP, ~2,000 values) and 0.035 (FP, 1,000-1,600) of its level. Targets are
    ~220 px tall, above the profile's h_ref (no small-target penalty)."""
    det, gt, c = _run(name)
    assert c.last_truth.boxes[:, 3].min() > PROFILES[name].h_ref_px
    is_tp, _, _ = match_frames(det, gt)
    conf = det[:, 6]
    prof = PROFILES[name]
    assert is_tp.sum() > 1900 and (~is_tp).sum() > 900
    for q in (0.1, 0.5, 0.9):
        i = LEVELS.index(q)
        assert abs(np.mean(conf[is_tp] <= prof.tp_conf[i]) - q) < 0.03
        assert abs(np.mean(conf[~is_tp] <= prof.fp_conf[i]) - q) < 0.035
    above = np.mean(conf[~is_tp] >= TrackerParams().high_conf_det_threshold)
    assert above > 0.75 if name == "frcnn" else 0.25 < above < 0.45   # FRCNN 0.81, ACF 0.33 measured


def test_small_targets_are_less_confident():
    """At 60 m (48 px) the median true confidence is the calibrated median lowered by the measured slope:
    logit 5.20 - 2.05 * log(136.7 / 48) = 3.06, conf 0.955 (at 10 m: 0.9945)."""
    det, gt, c = _run("frcnn", dist=60.0, n=100, fp=0.0, near_fp_scale=0.0)
    h = c.last_truth.boxes[:, 3].mean()
    expect = 1 / (1 + np.exp(-(np.log(0.9945 / 0.0055) - tp_logit_shift(np.array([0]), np.array([h]))[0])))
    assert 45 < h < 50 and expect == pytest.approx(0.955, abs=0.003)
    assert np.median(det[:, 6]) == pytest.approx(expect, abs=0.006)
    near, *_ = _run("frcnn", n=100, fp=0.0, near_fp_scale=0.0)
    assert np.median(near[:, 6]) == pytest.approx(0.9945, abs=0.0015)


def test_quantile_sampling_reproduces_the_table():
    u = np.random.default_rng(0).random(200_000)
    for name, k in (("frcnn", 0), ("acf", 1)):
        for false, table in ((False, PROFILES[name].tp_conf), (True, PROFILES[name].fp_conf)):
            v = 1 / (1 + np.exp(-sample_quantiles(np.full(len(u), k), u, false=false)))
            below = [np.mean(v <= x) for x in table[1:-1]]
            assert np.allclose(below, LEVELS[1:-1], atol=3e-3)
            assert table[0] - 1e-9 <= v.min() and v.max() <= table[-1] + 1e-9


def test_a_persistent_false_detection_becomes_a_track():
    """Clutter that stays (a poster taken for a person) now scores like real false detections, above the
    tracker's activation threshold, so ByteTrack confirms it as a track."""
    cfg = CameraConfig(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=15.0, fp_per_frame=0.0,
                       persistent_fp_static=3.0, persistent_fp_per_hour=0.0)
    c = Camera("c", cfg, rng=np.random.default_rng(1))
    assert len(c.false_sources.static.cls) >= 1
    stage = TrackStage()
    ids = set()
    for k in range(25):
        for topic, p in c.measure(WorldView(k * 0.2, Targets.empty())):
            for out in stage.update({"topic": topic, **p}):
                ids |= set(out["ids"])
    assert ids and stage.detections >= 0.6 * 25 * len(c.false_sources.static.cls)


def _classes(tg: Targets, n: int = 400, **kw) -> tuple[np.ndarray, np.ndarray]:
    cfg = CameraConfig(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=20.0, fp_per_frame=0.0,
                       near_fp_scale=0.0, miss_rate=0.0, **NO_PERSISTENT, **kw)
    c = Camera("c", cfg, rng=np.random.default_rng(2))
    cls, conf = [], []
    for k in range(n):
        for topic, p in c.measure(WorldView(k * 0.2, tg)):
            if topic == "camera/frame":
                cls += [d["cls"] for d in p["detections"]]
                conf += [d["conf"] for d in p["detections"]]
    return np.array(cls), np.array(conf)


def _things(code: int, h: float, w: float) -> Targets:
    xy = np.column_stack([X0 + np.linspace(-4, 4, 5), np.full(5, Y0 + 12.0)])
    return Targets(np.arange(5, dtype=np.int64), np.full(5, code, np.int8), xy, np.full(5, h), np.full(5, w),
                   np.zeros(5))


def test_cyclists_are_often_reported_as_people():
    """Bicycle row of the confusion matrix: 78 % bicycle, 20 % person, 2 % vehicle (2,000 detections)."""
    cls, _ = _classes(_things(BICYCLE, 1.8, 0.7))
    assert len(cls) == 2000
    assert np.mean(cls == "bicycle") == pytest.approx(0.78, abs=0.03)
    assert np.mean(cls == "person") == pytest.approx(0.20, abs=0.03)


def test_furniture_is_mostly_unreported_and_sometimes_a_bag_with_a_false_confidence():
    """A bench has no detector class: 10 % of sightings are reported (8 % as a bag, 2 % as a person),
    with false-positive confidences (FRCNN FP median 0.76, not the TP's 0.99)."""
    cls, conf = _classes(_things(FURNITURE, 0.9, 1.6), n=1000)
    assert len(cls) / 5000 == pytest.approx(0.10, abs=0.015)
    assert np.mean(cls == "object") == pytest.approx(0.8, abs=0.07) and set(cls) <= {"object", "person"}
    assert np.median(conf) == pytest.approx(0.76, abs=0.05)


def test_confusion_draw_follows_the_rows():
    rows = np.repeat(np.array([[0.5, 0.2, 0.1, 0.0]]), 100_000, axis=0)
    got = confuse(rows, np.random.default_rng(3).random(100_000))
    assert np.allclose([np.mean(got == k) for k in (0, 1, 2, 3, -1)], [0.5, 0.2, 0.1, 0.0, 0.2], atol=0.005)


def test_persistent_sources_follow_their_rates_and_stay_put():
    """Static sources: Poisson(mean) per camera; transient: per_hour a camera-hour, each living 2 s plus an
    exponential of mean life_s; a source keeps its place, class and confidence level."""
    rng = np.random.default_rng(4)
    srcs = [FalseSources.draw(rng, (0.0, 0.0), 0.0, 30.0, 3.0, 60.0, static=0.5, per_hour=60.0, life_s=15.0)
            for _ in range(400)]
    assert np.mean([len(s.static.cls) for s in srcs]) == pytest.approx(0.5, abs=0.08)
    blocks = [s._block(k) for s in srcs[:50] for k in range(4)]
    assert np.mean([len(b.t0) for b in blocks]) == pytest.approx(60.0, rel=0.05)
    life = np.concatenate([b.t1 - b.t0 for b in blocks])
    assert life.min() >= 2.0 and np.mean(life) == pytest.approx(17.0, rel=0.06)
    s = srcs[0]
    t = np.arange(0.0, 7200.0, 1.0)
    n_on = np.array([len(s.active(x).cls) for x in t])
    assert np.mean(n_on) == pytest.approx(len(s.static.cls) + 60 * 17 / 3600, abs=0.15)
    a, b = s.active(100.0), s.active(100.0)
    assert np.array_equal(a.xy, b.xy) and np.array_equal(a.level, b.level)
    xy = np.vstack([x.static.xy for x in srcs])
    r = np.hypot(xy[:, 0], xy[:, 1])
    bearing = np.degrees(np.arctan2(xy[:, 0], xy[:, 1]))
    assert r.min() >= 3.0 and r.max() <= 60.0 and np.abs(bearing).max() <= 30


def test_a_static_source_is_seen_most_frames_at_one_place():
    cfg = CameraConfig(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=15.0, fp_per_frame=0.0,
                       persistent_fp_static=1.0, persistent_fp_per_hour=0.0, bbox_noise=0.03)
    c = Camera("c", cfg, rng=np.random.default_rng(0))
    assert len(c.false_sources.static.cls) == 1
    boxes = []
    for k in range(200):
        for topic, p in c.measure(WorldView(k * 0.2, Targets.empty())):
            if topic == "camera/frame":
                boxes += [d["bbox"] for d in p["detections"]]
    b = np.array(boxes)
    assert len(b) / 200 == pytest.approx(0.8, abs=0.07)
    foot = b[:, 0] + b[:, 2] / 2
    assert np.std(foot) < 0.1 * np.median(b[:, 3]) + 1       # jitter of box noise only, same place


@pytest.mark.parametrize("field,value", [("detector", "yolo"), ("persistent_fp_detect", 1.5),
                                         ("lens_k1_range", (0.1, -0.1)), ("confusion", ((1.0,),)),
                                         ("calib_yaw_sigma_deg", -1.0), ("near_fp_scale", -1.0)])
def test_bad_detector_fields_raise_sensor_error_naming_them(field, value):
    with pytest.raises(SensorError, match=field):
        Camera("c", CameraConfig(xy=(X0, Y0), **{field: value}), rng=np.random.default_rng(0))
