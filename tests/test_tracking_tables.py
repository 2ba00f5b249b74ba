"""scenarios.tracking_tables: a run scores the same tracking figures from Parquet tables, .gz or text."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.mot import write_mot
from analytics.tracking import track_mot
from scenarios.evaluation import score_run
from scenarios.tracking_tables import tracking_tables
from sensors.camera.group import CameraTruth
from sensors.export.mot import MotExporter
from sensors.export.parquet import FrameTables, TrackTable

FRAMES = 40


def _scene(seed: int = 2) -> dict:
    """Two cameras: per frame the true boxes of 6 walkers (some half hidden) and noisy detections."""
    rng = np.random.default_rng(seed)
    out = {}
    for cam in ("c1", "c2"):
        frames = []
        for k in range(1, FRAMES + 1):
            ids = np.array([11, 5, 8, 2, 14, 7])
            xy = np.column_stack([40 + 150 * np.arange(6) + 4 * k, 300 + 20 * np.arange(6)])
            boxes = np.column_stack([xy, np.full(6, 40.0), np.full(6, 110.0), np.zeros(6)])
            vis = np.round(rng.uniform(0, 1, 6), 3)
            seen = vis > 0.3
            det = np.round(boxes[seen, :4] + rng.normal(0, 2, (seen.sum(), 4)), 2)
            frames.append((k, CameraTruth(ids, boxes, np.array([1, 1, 1, 3, 4, 1]), vis), det,
                           np.round(rng.uniform(0.4, 1, seen.sum()), 3)))
        out[cam] = frames
    return out


def _write(run, scene, form: str) -> None:
    """The scene as a run folder: MOT text (plain or gz) or frame tables; c1 with the tracker's output."""
    (run / "ground_truth.jsonl").parent.mkdir(parents=True, exist_ok=True)
    (run / "ground_truth.jsonl").write_text("")
    if form == "tables":
        writer = FrameTables(run)
    else:
        writer = MotExporter(run, gzip=form == "gz")
    line = 0
    for cam, frames in scene.items():
        writer.set_sequence_info(cam, fps=5.0, size=(1920, 1080))
        for k, truth, det, conf in frames:
            if form == "tables":
                writer.frame(line, (k - 1) / 5, cam, k, det, np.zeros(len(det), int), conf, ("person",))
                line += 1
            else:
                writer.frame(cam, k, det, conf)
            writer.truth(cam, k, (k - 1) / 5, truth)
    writer.close()
    det_rows = [[k, -1, *b, c, -1, -1, -1] for k, _, det, conf in scene["c1"]
                for b, c in zip(det, conf, strict=True)]
    write_mot(run / "c1-det.txt", det_rows)
    tracks = track_mot(str(run / "c1-det.txt"), fps=5.0)
    (run / "c1-det.txt").unlink()
    if form == "tables":
        table = TrackTable(run)
        for f in np.unique(tracks[:, 0]):
            table.add("c1", tracks[tracks[:, 0] == f][:, :6])
        table.close(["c1"])
    else:
        write_mot(run / "sensors/cameras/c1/track" / ("track.txt" + (".gz" if form == "gz" else "")), tracks)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root, scene = tmp_path_factory.mktemp("tracking"), _scene()
    for form in ("text", "gz", "tables"):
        _write(root / form, scene, form)
    return root


def test_every_form_scores_the_same(runs):
    text = score_run(runs / "text")["tracking"]
    assert sorted(text) == ["c1", "c2"]
    assert text["c1"]["tracks"] == "online" and text["c2"]["tracks"] == "retracked"
    assert 0.2 < text["c1"]["mota"] < 1 and text["c1"]["num_misses"] > 0
    assert tracking_tables(runs / "text") == {}        # plain text is scenarios.evaluation's own
    assert tracking_tables(runs / "gz") == text
    assert tracking_tables(runs / "tables") == text
    assert score_run(runs / "tables")["tracking"] == text == score_run(runs / "gz")["tracking"]


def test_plain_text_wins_over_a_table_of_the_same_camera(runs, tmp_path):
    import shutil

    both = tmp_path / "both"
    shutil.copytree(runs / "tables", both)
    shutil.copytree(runs / "text" / "sensors" / "cameras", both / "sensors" / "cameras")
    assert tracking_tables(both) == {}
    assert score_run(both)["tracking"] == score_run(runs / "text")["tracking"]
