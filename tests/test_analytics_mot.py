"""MOTChallenge reading, motmetrics scoring (reproducing the package's expected values) and ByteTrack."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from analytics.base import AnalyticsInputError, ReadStats
from analytics.mot import iter_mot_frames, load_mot, write_mot
from analytics.motscore import MOT_METRICS, iou_distance, mot_metrics, mot_metrics_reference
from analytics.tracking import CameraTracker, track_mot
from twin.datapath import data_dir

MOT = data_dir() / "datasets" / "mot"


def _expected() -> dict[str, dict[str, float]]:
    with open(MOT / "expected_metrics.csv", newline="") as fh:
        return {
            r["sequence"]: {k: float(v) for k, v in r.items() if k != "sequence"} for r in csv.DictReader(fh)
        }


@pytest.mark.parametrize("seq", ["TUD-Campus", "TUD-Stadtmitte"])
def test_scoring_reproduces_expected_metrics(seq: str) -> None:
    """Scoring the shipped CEM results against gt gives motmetrics' own expected values (atol 1e-3)."""
    got = mot_metrics(load_mot(MOT / seq / "gt.txt"), load_mot(MOT / seq / "test.txt"))
    exp = _expected()[seq]
    for k in MOT_METRICS:
        assert got[k] == pytest.approx(exp[k], abs=1e-3), k
    if seq == "TUD-Campus":
        assert got["mota"] == pytest.approx(0.526462, abs=1e-6) and got["num_switches"] == 7


@pytest.mark.parametrize(
    "seq,mota_min,idf1_min", [("TUD-Campus", 0.53, 0.49), ("TUD-Stadtmitte", 0.55, 0.57)]
)
def test_bytetrack_on_result_boxes(seq: str, mota_min: float, idf1_min: float, tmp_path) -> None:
    """Re-tracking the result boxes (ids dropped) with ByteTrack, then scoring with motmetrics, runs.

    Measured with the defaults (tuned for the simulator's 2-5 fps): Campus MOTA 0.535 IDF1 0.499, 4 switches;
    Stadtmitte MOTA 0.561 IDF1 0.574, 6 switches (the CEM results themselves: 0.526/0.558 and 0.564/0.645)."""
    hyp = track_mot(str(MOT / seq / "test.txt"), fps=25.0)
    assert hyp.shape[1] == 10 and len(hyp) > 150 and hyp[:, 1].min() == 1  # MOTChallenge ids are 1-based
    m = mot_metrics(load_mot(MOT / seq / "gt.txt"), hyp)
    assert m["mota"] >= mota_min and m["idf1"] >= idf1_min
    assert m["num_switches"] <= 10
    write_mot(tmp_path / "res.txt", hyp)
    assert np.allclose(load_mot(tmp_path / "res.txt")[:, :6], hyp[:, :6], atol=0.01)


@pytest.mark.parametrize("seq", ["TUD-Campus", "TUD-Stadtmitte"])
def test_fast_scoring_equals_motmetrics(seq: str) -> None:
    """The numpy scorer gives motmetrics' numbers: counts exactly, ratios to the last float bit or so."""
    gt, hyp = load_mot(MOT / seq / "gt.txt"), load_mot(MOT / seq / "test.txt")
    fast, ref = mot_metrics(gt, hyp), mot_metrics_reference(gt, hyp)
    for k in MOT_METRICS:
        assert fast[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-15), k
    for k in ("num_switches", "num_fragmentations", "num_misses", "num_false_positives", "mostly_tracked"):
        assert fast[k] == ref[k], k


def _synthetic_with_switches(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four walkers over 60 frames; the hypothesis swaps two ids at frame 20, drops one walker for frames
    30-34 (a fragmentation), gives a new id after the gap, duplicates a box, and adds clutter; plus two
    people side by side whose two hypotheses overlap both and trade ids every 10 frames."""
    gt, hyp = [], []
    for f in range(1, 61):
        for k in range(4):
            x, y = 20.0 + 4 * f + (60 * k if k < 2 else 0), 50.0 + 90 * k
            gt.append([f, k + 1, x, y, 30, 80])
            if k == 3 and 30 <= f <= 34:
                continue
            hid = k + 11
            if f >= 20 and k in (0, 1):
                hid = 12 if k == 0 else 11
            if k == 3 and f > 34:
                hid = 40
            j = rng.normal(0, 2.0, 4)
            hyp.append([f, hid, x + j[0], y + j[1], 30 + j[2], 80 + j[3]])
        # Two people side by side and two hypotheses overlapping both: competing pairs (the LAP path).
        gt += [[f, 50, 600, 600, 30, 80], [f, 51, 606, 600, 30, 80]]
        swap = (f // 10) % 2
        hyp += [[f, 60 + swap, 602 + rng.normal(0, 1), 600, 30, 80], [f, 61 - swap, 604, 600, 30, 80]]
        if f % 7 == 0:
            hyp.append([f, 99, *rng.uniform(0, 400, 2), 30, 80])
        if f == 45:
            hyp.append([f, 41, gt[-1][2] + 1, gt[-1][3], 30, 80])
    pad = np.full((1, 4), -1.0)
    return (
        np.hstack([np.array(gt, float), np.repeat(pad, len(gt), 0)]),
        np.hstack([np.array(hyp, float), np.repeat(pad, len(hyp), 0)]),
    )


def test_fast_scoring_equals_motmetrics_on_switches() -> None:
    gt, hyp = _synthetic_with_switches(np.random.default_rng(3))
    fast, ref = mot_metrics(gt, hyp), mot_metrics_reference(gt, hyp)
    for k in MOT_METRICS:
        assert fast[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-15), k
    assert fast["num_switches"] >= 2 and fast["num_fragmentations"] >= 1 and fast["num_false_positives"] >= 8
    # Tracks out of frame order, and a frame with hypotheses only, score the same.
    extra = np.array([[61, 7, 0, 0, 30, 80, -1, -1, -1, -1]])
    perm = np.random.default_rng(4).permutation(len(hyp))
    a, b = mot_metrics(gt, np.vstack([hyp[perm], extra])), mot_metrics_reference(gt, np.vstack([hyp, extra]))
    assert all(a[k] == pytest.approx(b[k], rel=1e-12) for k in MOT_METRICS)


def _streamed(path) -> np.ndarray:
    """The rows of ``iter_mot_frames`` stacked: the rules ``load_mot`` must keep."""
    frames = [rows for _, rows in iter_mot_frames(path)]
    return np.vstack(frames) if frames else np.empty((0, 10))


def test_load_mot_equals_streaming_reader(tmp_path) -> None:
    """Clean files take the one-parse path; anything odd falls back to the streaming reader's rules."""
    p = tmp_path / "det.txt"
    p.write_text("1,-1,1,2,3,4,0.9\n1,-1,5,5,5,5,0.5\n2,-1,1,2,3,4,0.8\n")
    assert np.array_equal(load_mot(p), _streamed(p)) and load_mot(p).shape == (3, 10)
    p.write_text("1,-1,1,2,3,4,0.9\n1,-1,oops\n2,-1,1,2,3,4,0.8,-1,-1,-1\n1,-1,5,5,5,5,0.5\n2,3,1,1,0,4,1\n")
    assert np.array_equal(load_mot(p), _streamed(p)) and len(load_mot(p)) == 2
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        assert np.array_equal(load_mot(MOT / seq / "gt.txt"), _streamed(MOT / seq / "gt.txt"))
    stats = ReadStats(str(p))
    assert np.array_equal(load_mot(p, stats), _streamed(p)) and stats.malformed == 3
    with pytest.raises(AnalyticsInputError, match="no such file"):
        load_mot(tmp_path / "missing.txt")


def test_iou_distance_matches_definition() -> None:
    d = iou_distance(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 10, 10], [0, 0, 10, 10], [2, 0, 10, 10]]))
    assert np.isnan(d[0, 0])  # IoU 1/3 < 0.5
    assert d[0, 1] == 0.0 and d[0, 2] == pytest.approx(1 - 80 / 120)


def test_tracker_keeps_identity_of_crossing_free_targets() -> None:
    """Two boxes moving steadily keep two ids over 20 frames; a third appearing gets a new one."""
    tr = CameraTracker("c", fps=5)
    seen = set()
    for f in range(20):
        b = np.array(
            [[10 + 3 * f, 50, 40, 100], [400 - 3 * f, 60, 40, 100]]
            + ([[200, 300, 40, 100]] if f >= 10 else [])
        )
        ids, xywh, _, ground = tr.update(b, np.full(len(b), 0.9), np.zeros(len(b), int), t=f / 5)
        seen.update(ids.tolist())
        assert ground is None
    assert len(seen) == 3 and len(ids) == 3


def test_reader_counts_malformed_and_rejects_non_mot(tmp_path) -> None:
    p = tmp_path / "det.txt"
    p.write_text("1,-1,1,2,3,4,0.9\n1,-1,oops\n2,-1,1,2,3,4,0.8,-1,-1,-1\n1,-1,5,5,5,5,0.5\n")
    st = ReadStats(str(p))
    frames = list(iter_mot_frames(p, st))
    assert [f for f, _ in frames] == [1, 2] and st.malformed == 2 and st.first_bad == [2, 4]
    bad = tmp_path / "x.txt"
    bad.write_text("hello world\n")
    with pytest.raises(AnalyticsInputError, match="line 1"):
        list(iter_mot_frames(bad))
    with pytest.raises(AnalyticsInputError, match="no such file"):
        load_mot(tmp_path / "missing.txt")


def test_track_stage_rows_equal_track_mot(tmp_path) -> None:
    """The online stage's recorded rows, written with write_track_files, are what track_mot gives for the
    same detections (same frames, times and frame rate)."""
    from analytics.tracking import TRACK_FILE, TrackStage, write_track_files

    det = load_mot(MOT / "TUD-Campus" / "test.txt")
    stage = TrackStage(default_fps=25.0)
    for f in np.unique(det[:, 0]).astype(int):
        rows = det[det[:, 0] == f]
        dets = [{"bbox": r[2:6].tolist(), "conf": 1.0, "cls": "person"} for r in rows]
        msg = {"topic": "camera/frame", "camera_id": "c", "t": (f - 1) / 25.0, "frame": f, "detections": dets}
        stage.update(msg)
    ref = track_mot(str(MOT / "TUD-Campus" / "test.txt"), fps=25.0)
    assert np.allclose(stage.mot_rows("c"), ref) and len(ref) > 150
    (path,) = write_track_files(stage, tmp_path)
    assert path == tmp_path / "sensors" / "cameras" / "c" / TRACK_FILE
    assert np.allclose(load_mot(path), ref, atol=0.005)
