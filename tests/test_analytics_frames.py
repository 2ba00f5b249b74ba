"""analytics.frames: a run's camera data read back the same from Parquet tables, .gz text or plain text."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analytics.base import AnalyticsInputError, ReadStats
from analytics.frames import FILES, FRAMES_DIR, events_path, iter_run, mot_rows, table_path, track_rows
from analytics.mot import write_mot
from analytics.tracking import track_mot
from sensors.export import parquet
from sensors.export.bus import Message
from sensors.export.outputs import OutputParams, open_writers


def test_the_reader_knows_the_writers_layout():
    assert (FRAMES_DIR, FILES) == (parquet.FRAMES_DIR, parquet.FILES)


def _record(tmp_path, outputs: OutputParams) -> list[Message]:
    """Bus messages (frames of two cameras between other messages) recorded as ``outputs`` says."""
    rec, cams = open_writers(tmp_path, tmp_path / outputs.events_name, outputs, True)
    msgs = [Message(0.0, "camera/calibration", {"camera_id": "a", "fps": 2.0, "resolution": [640, 480]})]
    for k in range(1, 7):
        t = (k - 1) / 2
        for cam in ("a", "b"):
            dets = [{"bbox": [10.5 * k, 20.25, 30.0, 60.01], "cls": "person", "conf": 0.912},
                    {"bbox": [300.0, 40.0, 80.0, 50.0], "cls": "vehicle", "conf": 0.5}][: k % 3]
            payload = {"camera_id": cam, "t": t, "frame": k, "detections": dets}
            msgs.append(Message(t, "camera/frame", payload))
        msgs.append(Message(t, "camera/health", {"camera_id": "a", "stream": "up", "fps": 2.0}))
    msgs.append(Message(3.0, "analytics/alert", {"kind": "loitering", "t": 2.0, "conf": 0.7}))
    for m in msgs:
        rec.write(m)
        if m.topic in ("camera/frame", "camera/calibration"):   # what CameraFiles subscribes to
            cams.on_message(m)
    rec.close()
    cams.close()
    return msgs


def test_replay_puts_the_frames_back_in_their_places(tmp_path):
    full = _record(tmp_path / "full", OutputParams(mot="all", camera_frames="all", frames="none"))
    _record(tmp_path / "tables", OutputParams())
    _record(tmp_path / "gz", OutputParams(compress="gzip"))
    want = list(iter_run(tmp_path / "full"))
    assert len(want) == len(full) and [m["topic"] for m in want] == [m.topic for m in full]
    assert want[-1]["t_event"] == 2.0       # a payload's own time kept as in events.jsonl
    lines = (tmp_path / "tables" / "events.jsonl").read_text().splitlines()
    assert len(lines) == len(full) - 12     # no camera frame in events.jsonl
    st = ReadStats("run")
    assert list(iter_run(tmp_path / "tables", st)) == want and st.records == len(lines)
    assert list(iter_run(tmp_path / "gz")) == want
    assert events_path(tmp_path / "gz").name == "events.jsonl.gz"
    assert mot_rows(tmp_path / "tables", "det", "a")[:, :7].tolist() == [
        [1, -1, 10.5, 20.25, 30.0, 60.01, 0.912], [2, -1, 21.0, 20.25, 30.0, 60.01, 0.912],
        [2, -1, 300.0, 40.0, 80.0, 50.0, 0.5], [4, -1, 42.0, 20.25, 30.0, 60.01, 0.912],
        [5, -1, 52.5, 20.25, 30.0, 60.01, 0.912], [5, -1, 300.0, 40.0, 80.0, 50.0, 0.5]]


def test_track_rows_is_track_mot(tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for f in range(1, 30):
        for j in range(4):
            rows.append([f, -1, 100 * j + 3 * f + rng.normal(0, 1), 200 + rng.normal(0, 1), 30, 80,
                         round(rng.uniform(0.3, 1), 3), -1, -1, -1])
    write_mot(tmp_path / "det.txt", rows)
    from analytics.mot import load_mot

    got = track_rows(load_mot(tmp_path / "det.txt"), fps=5.0)
    assert len(got) > 80 and np.array_equal(got, track_mot(str(tmp_path / "det.txt"), fps=5.0))
    assert track_rows(np.empty((0, 10))).shape == (0, 10)


def test_missing_tables_and_bad_files(tmp_path):
    assert table_path(tmp_path, "gt") is None and mot_rows(tmp_path, "gt", "c1") is None
    with pytest.raises(AnalyticsInputError, match="events.jsonl: no such file"):
        list(iter_run(tmp_path))
    (tmp_path / "events.jsonl").write_text(json.dumps({"t": 0, "topic": "x"}) + "\n")
    (tmp_path / FRAMES_DIR).mkdir(parents=True)
    (tmp_path / FRAMES_DIR / "frames.parquet").write_text("not parquet")
    with pytest.raises(AnalyticsInputError, match=r"frames.parquet: line 1: not a Parquet table"):
        list(iter_run(tmp_path))
