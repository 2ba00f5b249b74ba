"""scenarios.track_files: the tracker's output streamed to track.parquet, the stage's memory kept flat, and
track.txt only for the cameras with MOT text."""

from __future__ import annotations

import numpy as np

from analytics.frames import mot_rows, table_cameras
from analytics.mot import load_mot
from analytics.tracking import TrackStage
from scenarios.track_files import TrackFiles
from sensors.export.outputs import OutputParams


def _frames(stage: TrackStage, files: TrackFiles, n: int = 30) -> dict[str, np.ndarray]:
    """``n`` frames of three walkers for cameras a and b (and c, which sees nobody); the rows tracked."""
    rows: dict[str, list[np.ndarray]] = {"a": [], "b": []}
    for k in range(1, n + 1):
        for cam in ("a", "b", "c"):
            dets = [] if cam == "c" else [{"bbox": [100.0 * j + 3 * k, 200.0, 30.0, 80.0], "cls": "person",
                                           "conf": 0.9} for j in range(3)]
            stage.update({"t": k / 5, "topic": "camera/frame", "camera_id": cam, "frame": k,
                          "detections": dets})
            if cam != "c" and stage.mot_frames.get(cam):
                rows[cam].append(stage.mot_frames[cam][-1].copy())
            files.take(stage, cam)
    return {c: np.vstack(r) for c, r in rows.items()}


def test_rows_stream_to_the_table_and_leave_the_stage(tmp_path):
    stage = TrackStage()
    files = TrackFiles(tmp_path, OutputParams(mot=("a",)))
    rows = _frames(stage, files)
    assert len(rows["a"]) > 60 and len(rows["b"]) > 60
    assert stage.mot_frames["b"] == []                       # no text for b: dropped once in the table
    assert len(stage.mot_frames["a"]) == 29                  # a's track.txt is written at the end
    paths = files.close(stage)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["sensors/cameras/a/track/track.txt",
                                                                   "sensors/frames/track.parquet"]
    assert sorted(table_cameras(paths[-1])) == ["a", "b", "c"]
    text = load_mot(paths[0])
    for cam in ("a", "b"):
        got = mot_rows(tmp_path, "track", cam)
        assert np.array_equal(got[:, :2], rows[cam][:, :2])
        assert np.allclose(got[:, 2:6], rows[cam][:, 2:6], atol=0.005)
    assert np.array_equal(mot_rows(tmp_path, "track", "a"), text)
    assert mot_rows(tmp_path, "track", "c").shape == (0, 10)


def test_text_only_and_gzip(tmp_path):
    stage = TrackStage()
    files = TrackFiles(tmp_path, OutputParams(mot="all", frames="none", compress="gzip"))
    _frames(stage, files, n=10)
    paths = files.close(stage)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        f"sensors/cameras/{c}/track/track.txt.gz" for c in ("a", "b", "c")]
    assert len(load_mot(paths[0])) > 20 and not (tmp_path / "sensors" / "frames").exists()
