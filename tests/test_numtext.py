"""The compiled text kernels print exactly what Python's formats print, and fall back where they cannot."""

from __future__ import annotations

import numpy as np
import pytest

from sensors.camera.detections import Detections, detection_dicts
from sensors.export.bus import dumps
from sensors.export.numtext import DET_ROW, GT_ROW, det_text, detections_json, gt_text
from sensors.export.recorder import frame_line

NAMES = ("person", "vehicle", "object")


def _boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """0.01 px boxes over many magnitudes: 0, 0.01-0.99, integers, large and negative values."""
    scale = rng.choice([1.0, 0.001, 100.0, 0.0, -1.0], (n, 4))
    return np.round(rng.uniform(0, 3000, (n, 4)) * scale, 2)


def test_gt_rows_equal_percent_formatting_including_fallback_rows() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    frames, ids, cls = rng.integers(1, 100_000, n), rng.integers(-5, 2_000_000_000, n), rng.integers(1, 14, n)
    boxes, vis = _boxes(rng, n), np.round(rng.uniform(0, 1, n), 3)
    boxes[5, 2], boxes[7, 1], boxes[9, 0] = np.nan, -0.0, 123456.78  # need Python's own formatting
    boxes[11] = [0.01, 0.1, 99999.99, -0.05]
    vis[13], vis[15], vis[16] = 1.0, 0.0, 1.5
    rows = zip(frames, ids, boxes, cls, vis, strict=True)
    ref = "".join(GT_ROW % (f, i, *b, c, v) for f, i, b, c, v in rows)
    assert gt_text(frames, ids, boxes, cls, vis) == ref
    assert gt_text(frames[:0], ids[:0], boxes[:0], cls[:0], vis[:0]) == ""


def test_det_rows_equal_percent_formatting() -> None:
    rng = np.random.default_rng(2)
    n = 20_000
    frames, boxes, conf = rng.integers(1, 5000, n), _boxes(rng, n), np.round(rng.uniform(0, 1, n), 3)
    conf[3], conf[4], conf[8] = 1.0, 0.0, -0.5
    boxes[6, 3] = np.inf
    ref = "".join(DET_ROW % (f, *b, c) for f, b, c in zip(frames, boxes, conf, strict=True))
    assert det_text(frames, boxes, conf) == ref
    assert det_text(frames[:2], boxes[:2], conf[:2]).count("\n") == 2


def test_detection_json_equals_dumps_of_the_dicts() -> None:
    rng = np.random.default_rng(3)
    for k in range(500):
        m = int(rng.integers(0, 30))
        boxes = np.round(rng.uniform(0, 1920, (m, 4)) * rng.choice([1.0, 0.01, 0.0], (m, 4)), 2)
        conf, cls = np.round(rng.uniform(0, 1, m), 3), rng.integers(0, 3, m)
        if k == 0:
            conf[:] = 1.0
        assert detections_json(boxes, cls, conf, NAMES) == dumps(detection_dicts(boxes, cls, conf, NAMES))


def test_detection_json_refuses_what_it_cannot_print() -> None:
    boxes = np.array([[1.0, 2.0, 3.0, 4.0], [np.nan, 0.0, 1.0, 1.0]])
    assert detections_json(boxes, np.array([0, 1]), np.array([0.5, 0.5]), NAMES) is None
    assert detections_json(boxes[:1], np.array([0]), np.array([-0.0]), NAMES) is None


@pytest.mark.parametrize("bad", [False, True])
def test_frame_line_is_the_recorders_generic_line(bad: bool) -> None:
    boxes = np.array([[10.0, 20.5, 30.25, 60.0], [0.0, 0.1, 1.0, 2.0]])
    if bad:
        boxes[1, 0] = -0.0  # the kernel refuses: the line comes from dumps of the dicts
    cls, conf = np.array([0, 2]), np.array([0.9, 0.123])
    dets = Detections(detection_dicts(boxes, cls, conf, NAMES), boxes, cls, conf, NAMES)
    rec = {"camera_id": "cam-7", "frame": 12, "t": 2.4, "topic": "camera/frame", "t_event": 2.39}
    assert frame_line(rec, boxes, cls, conf, NAMES) == dumps({**rec, "detections": list(dets)})
    copy = dets.copy()
    assert copy == dets and copy[0] is not dets[0] and copy.boxes is dets.boxes
