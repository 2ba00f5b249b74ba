"""Batched frames (``AnalyticsPipeline(batch_frames=True)``, what a run uses) give the per-frame path's
alerts, alert by alert, on library scenarios and on a hand-made stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scenarios.alerting as alerting
from analytics.pipeline import AnalyticsPipeline
from scenarios.engine import run_scenario

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"


class _PerFrame(AnalyticsPipeline):
    def __init__(self, **kw):
        kw["batch_frames"] = False
        super().__init__(**kw)


@pytest.mark.parametrize("scenario", ["helsinki/default.yaml", "helsinki/senate-assailant.yaml",
                                      "kouvola/school-intrusion.yaml", "helsinki/detect-crowd_surge.yaml"])
def test_a_run_raises_the_same_alerts_batched_and_frame_by_frame(scenario, tmp_path, monkeypatch):
    batched = run_scenario(LIBRARY / scenario, out=tmp_path / "batched", quiet=True, metrics=False)
    monkeypatch.setattr(alerting, "AnalyticsPipeline", _PerFrame)
    single = run_scenario(LIBRARY / scenario, out=tmp_path / "single", quiet=True, metrics=False)
    a = (batched.out_dir / "alerts.jsonl").read_text()
    b = (single.out_dir / "alerts.jsonl").read_text()
    assert a == b
    assert a.count("\n") > 0
    for name in ("density_estimates.csv", "analytics.json"):
        assert (batched.out_dir / name).read_bytes() == (single.out_dir / name).read_bytes()


def _frame(t: float, cam: str, boxes: list[list[float]]) -> dict:
    return {"t": t, "topic": "camera/frame", "camera_id": cam, "frame": int(t * 5) + 1,
            "detections": [{"bbox": b, "conf": 0.9, "cls": "person"} for b in boxes]}


def _stream() -> list[dict]:
    """Two cameras, a calibration each, people walking, a zone; then a health message mid-instant."""
    h = np.array([[0.02, 0, 0], [0, 0.02, 0], [0, 0, 1.0]]).tolist()  # 2 cm a pixel
    msgs = [{"t": 0.0, "topic": "camera/calibration", "camera_id": c, "fps": 5, "image_to_ground": h}
            for c in ("a", "b")]
    for k in range(60):
        t = k * 0.2
        x = 100 + 40 * k  # 4 m/s on the ground: running
        msgs.append(_frame(t, "a", [[x, 500, 100, 100], [900, 300, 40, 100]]))
        msgs.append(_frame(t, "b", [[200, 400 + 30 * k, 40, 100]]))
        if k == 30:
            msgs.append({"t": t, "topic": "camera/health", "camera_id": "a", "stream": "up"})
    return msgs


def test_held_frames_are_processed_when_their_instant_ends():
    msgs = _stream()
    one, two = AnalyticsPipeline(), AnalyticsPipeline(batch_frames=True)
    a = [x for m in msgs for x in one.push(m)] + one.flush()
    b = []
    for m in msgs:
        b += two.push(m)
        if m["topic"] == "camera/frame":
            assert two.pending >= 1  # held until the instant's frames end
    b += two.flush()
    assert two.pending == 0
    assert a == b
    assert {x["kind"] for x in a} >= {"running"}
    assert one.tracks.mot_rows("a").tolist() == two.tracks.mot_rows("a").tolist()
    assert len(one.tracks.mot_rows("a")) > 50
