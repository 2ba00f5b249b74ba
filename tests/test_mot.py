"""MOTChallenge export: det.txt/gt.txt/seqinfo.ini per camera, parseable, consistent, atomic."""

from __future__ import annotations

import configparser

import motmetrics as mm
import numpy as np
from _physical_sensors import X0, Y0, people

from agents.world import WorldView
from analytics.mot import load_mot
from sensors.camera import Camera, CameraConfig
from sensors.camera.config import PERFECT_DETECTOR
from sensors.export.bus import Bus
from sensors.export.mot import MotExporter


def run_cameras(tmp_path, n_frames=20, **kw):
    """Two cameras with an ideal detector (no false detection or confusion; misses and noise as given)."""
    cfg = dict(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=12.0, **PERFECT_DETECTOR)
    cfg.update(kw)
    cams = [Camera("cam-a", CameraConfig(**cfg), rng=np.random.default_rng(0)),
            Camera("cam-b", CameraConfig(**{**cfg, "yaw_deg": 180.0}), rng=np.random.default_rng(1))]
    bus, exp = Bus(), MotExporter(tmp_path)
    exp.subscribe(bus)
    exp.attach(cams)
    ids = np.array([5, 1_000_000_007, 42])
    for k in range(n_frames):
        t = k * 0.2
        xy = np.array([[X0 - 3 + 0.3 * k, Y0 + 20], [X0 + 2, Y0 + 35 - 0.5 * k], [X0 + 1, Y0 - 25]])
        tg = people(xy, ids)
        for c in cams:
            for topic, payload in c.measure(WorldView(t, tg)):
                bus.publish(t, topic, payload)
    return cams, exp


def test_export_files_and_their_contents(tmp_path):
    cams, exp = run_cameras(tmp_path, miss_rate=0.0, bbox_noise=0.0)
    base = tmp_path / "sensors" / "cameras" / "cam-a"
    assert not (base / "det" / "det.txt").exists()          # nothing in place before close
    paths = exp.close()
    assert len(paths) == 6 and all(p.exists() for p in paths)
    assert not list(tmp_path.rglob(".*.tmp"))
    det = (base / "det" / "det.txt").read_text().splitlines()
    assert len(det) == 40 and all(len(r.split(",")) == 10 and r.split(",")[1] == "-1" for r in det)
    gt = load_mot(base / "gt" / "gt.txt")
    assert gt.shape == (40, 10) and set(gt[:, 1].astype(int)) == {5, 1_000_000_007}
    assert (gt[:, 6] == 1).all() and (gt[:, 7] == 1).all()
    # both walkers are wholly in the image; where their boxes cross, the nearer one hides ~5 % of the other
    assert (gt[:, 8] > 0.9).all() and 0 < (gt[:, 8] < 1).sum() < 10
    gt_b = load_mot(tmp_path / "sensors" / "cameras" / "cam-b" / "gt" / "gt.txt")
    assert set(gt_b[:, 1].astype(int)) == {42}             # the camera looking south sees only id 42
    ini = configparser.ConfigParser()
    ini.read(base / "seqinfo.ini")
    assert dict(ini["Sequence"]) == {"name": "cam-a", "imdir": "img1", "framerate": "5", "seqlength": "20",
                                     "imwidth": "1920", "imheight": "1080", "imext": ".jpg"}


def test_noise_free_detections_match_ground_truth_boxes(tmp_path):
    """A noise-free camera's detections (read by motmetrics) are the gt boxes: every one matches, IoU ~ 1."""
    _, exp = run_cameras(tmp_path, miss_rate=0.0, bbox_noise=0.0, h50_px=-1e6)
    exp.close()
    base = tmp_path / "sensors" / "cameras" / "cam-a"
    gt = mm.io.loadtxt(str(base / "gt" / "gt.txt"), fmt="mot16")
    det = mm.io.loadtxt(str(base / "det" / "det.txt"), fmt="mot16")
    frames = sorted(set(gt.index.get_level_values(0)))
    assert frames == sorted(set(det.index.get_level_values(0))) == list(range(1, 21))
    best = []
    for frame in frames:
        g = gt.loc[frame][["X", "Y", "Width", "Height"]].to_numpy()
        d = det.loc[frame][["X", "Y", "Width", "Height"]].to_numpy()
        assert len(g) == len(d) == 2
        best += list(_iou(g, d).max(axis=1))
    assert min(best) > 0.99


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax1, ay1, bx1, by1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    return inter / (a[:, None, 2] * a[:, None, 3] + b[None, :, 2] * b[None, :, 3] - inter)


def test_abort_leaves_nothing(tmp_path):
    _, exp = run_cameras(tmp_path, n_frames=3)
    exp.abort()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_waiting_rows_do_not_hold_the_cameras_batch_arrays(tmp_path):
    """Rows wait per camera until a few thousand are formatted together; they must not keep the whole
    multi-camera batch they were sliced from alive (that grew memory without bound on long runs)."""
    from sensors.camera.group import CameraTruth

    exp = MotExporter(tmp_path)
    batch_boxes = np.round(np.random.default_rng(0).uniform(0, 500, (5000, 4)), 2)
    batch_ids = np.arange(5000)
    for frame in range(1, 4):
        exp.frame("c1", frame, batch_boxes[10:13], np.array([0.5, 0.6, 0.7]))
        exp.truth("c1", frame, frame / 5, CameraTruth(batch_ids[10:13], batch_boxes[10:13], np.ones(3, int),
                                                      np.ones(3)))
    seq = exp._seqs["c1"]
    held = [a for row in seq.det_wait + seq.gt_wait for a in row[1:]]
    assert held and all(a.base is None or a.base.size <= 12 for a in held)
    exp.close()
    det = (tmp_path / "sensors/cameras/c1/det/det.txt").read_text().splitlines()
    gt = (tmp_path / "sensors/cameras/c1/gt/gt.txt").read_text().splitlines()
    assert len(det) == len(gt) == 9 and det[0].startswith("1,-1,") and gt[-1].startswith("3,12,")


def test_sequence_info_sets_seqinfo_frame_rate_and_size(tmp_path):
    exp = MotExporter(tmp_path)
    exp.set_sequence_info("c7", fps=2.5, size=(640, 480))
    exp.frame("c7", 3, np.zeros((0, 4)), np.zeros(0))
    exp.close()
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "sensors" / "cameras" / "c7" / "seqinfo.ini")
    seq = ini["Sequence"]
    assert (seq["framerate"], seq["seqlength"], seq["imwidth"], seq["imheight"]) == ("2.5", "3", "640", "480")


def test_gt_classes_of_every_target_class(tmp_path):
    """gt.txt classes (MOT17 numbering): person 1, vehicle 3, bicycle 4, furniture 10 (occluder on the
    ground); a left object (bag) keeps 13, which MOT17 does not use."""
    from agents.world import CLASS_NAMES, Targets
    from sensors.camera.config import PERFECT_OPTICS

    cam = Camera("c", CameraConfig(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=12.0, **PERFECT_DETECTOR,
                                   **PERFECT_OPTICS), rng=np.random.default_rng(0))
    exp = MotExporter(tmp_path)
    exp.attach([cam])
    n = len(CLASS_NAMES)
    xy = np.column_stack([X0 + np.linspace(-8, 8, n), np.full(n, Y0 + 25)])
    tg = Targets(np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int8), xy,
                 np.array([1.7, 1.5, 0.5, 1.8, 0.9]), np.array([0.5, 1.8, 0.4, 0.7, 1.6]), np.zeros(n))
    list(cam.measure(WorldView(0.0, tg)))
    exp.close()
    gt = load_mot(tmp_path / "sensors" / "cameras" / "c" / "gt" / "gt.txt")
    assert dict(zip(gt[:, 1].astype(int).tolist(), gt[:, 7].astype(int).tolist(), strict=True)) == {
        0: 1, 1: 3, 2: 13, 3: 4, 4: 10}
