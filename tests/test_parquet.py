"""sensors.export.parquet: the frame tables hold every value exactly, in bounded row groups, reproducibly."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from analytics.frames import iter_frames, mot_rows, table_cameras
from sensors.camera.group import CameraTruth
from sensors.export import parquet
from sensors.export.parquet import FRAMES_DIR, FrameTables, TrackTable, cents

NAMES = ("person", "vehicle", "object", "bicycle")


def _feed(out, *, frames: int = 40, cams=("c1", "c2"), seed: int = 3) -> FrameTables:
    """Two cameras, ``frames`` frames each: 0-5 detections and 0-6 true targets (ids 100-107) a frame."""
    rng = np.random.default_rng(seed)
    tables = FrameTables(out)
    for cam in cams:
        tables.set_sequence_info(cam, fps=5.0, size=(1920, 1080))
    line = 0
    for k in range(1, frames + 1):
        for cam in cams:
            n = int(rng.integers(0, 6))
            boxes = np.round(rng.uniform(0, 900, (n, 4)) + [0, 0, 5, 5], 2)
            conf = np.round(rng.uniform(0, 1, n), 3)
            tables.frame(line, (k - 1) / 5, cam, k, boxes, rng.integers(0, 4, n), conf, NAMES)
            m = int(rng.integers(0, 7))
            ids = rng.permutation(np.arange(100, 108))[:m]
            truth = CameraTruth(ids, rng.uniform(-50, 1900, (m, 5)), rng.choice([1, 3, 4, 10], m),
                                rng.uniform(0, 1, m))
            tables.truth(cam, k, (k - 1) / 5, truth)
            line += 1
    return tables


def test_cents_round_as_text_formatting_does():
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.uniform(-2000, 2000, 20_000), np.arange(-200, 200) / 8 + 0.005,
                        [1.005, 2.675, 0.125, 0.375, -0.125, 1e-9, -1e-9]])
    want = np.array([round(float(f"{x:.2f}") * 100) for x in v])
    assert np.array_equal(cents(v), want)


def test_tables_round_trip_and_keep_the_text_order(tmp_path):
    tables = _feed(tmp_path)
    paths = tables.close()
    assert [p.name for p in paths] == ["frames.parquet", "det.parquet", "gt.parquet"]
    gt = mot_rows(tmp_path, "gt", "c1")
    # frames in order, and within a frame the rows in the order the camera gave them (ids not sorted)
    assert np.all(np.diff(gt[:, 0]) >= 0)
    assert any(np.any(np.diff(gt[gt[:, 0] == f, 1]) < 0) for f in np.unique(gt[:, 0]))
    assert set(gt[:, 7]) <= {1, 3, 4, 10} and np.all((0 <= gt[:, 8]) & (gt[:, 8] <= 1))
    msgs = [m for _, m in iter_frames(tmp_path / FRAMES_DIR / "frames.parquet")]
    assert len(msgs) == 80 and [m["camera_id"] for m in msgs[:2]] == ["c1", "c2"]
    assert {d["cls"] for m in msgs for d in m["detections"]} <= set(NAMES)
    assert table_cameras(paths[0]) == {c: {"fps": 5.0, "width": 1920, "height": 1080, "frames": 40}
                                      for c in ("c1", "c2")}


def test_same_input_same_bytes(tmp_path):
    for name in ("a", "b"):
        _feed(tmp_path / name).close()
    a, b = tmp_path / "a" / FRAMES_DIR, tmp_path / "b" / FRAMES_DIR
    for f in ("frames.parquet", "det.parquet", "gt.parquet"):
        assert (a / f).read_bytes() == (b / f).read_bytes()


def test_small_buffers_give_many_row_groups_and_the_same_rows(tmp_path, monkeypatch):
    """Memory is bounded by the buffer sizes: with tiny ones the rows go out in many one-camera groups."""
    _feed(tmp_path / "big", frames=200).close()
    monkeypatch.setattr(parquet, "CAMERA_GROUP_ROWS", 64)
    monkeypatch.setattr(parquet, "BUFFER_ROWS", 100)
    monkeypatch.setattr(parquet, "DET_GROUP_ROWS", 50)
    _feed(tmp_path / "small", frames=200).close()
    gt = pq.ParquetFile(tmp_path / "small" / FRAMES_DIR / "gt.parquet")
    groups = json.loads(gt.metadata.metadata[b"twin:row_groups"])
    assert gt.metadata.num_row_groups == len(groups["c1"]) + len(groups["c2"]) > 10
    assert all(gt.metadata.row_group(g).num_rows <= 64 + 6 for g in range(gt.metadata.num_row_groups))
    det = pq.ParquetFile(tmp_path / "small" / FRAMES_DIR / "det.parquet")
    assert det.metadata.num_row_groups > 10
    for kind in ("gt", "det"):
        for cam in ("c1", "c2"):
            big, small = mot_rows(tmp_path / "big", kind, cam), mot_rows(tmp_path / "small", kind, cam)
            assert len(big) > 100 and np.array_equal(big, small)
    big = [m for _, m in iter_frames(tmp_path / "big" / FRAMES_DIR / "frames.parquet")]
    assert big == [m for _, m in iter_frames(tmp_path / "small" / FRAMES_DIR / "frames.parquet")]


def test_track_table_rows_are_track_txt_rows(tmp_path):
    table = TrackTable(tmp_path)
    rows = {1: [[1, 3, 10.004, 20.125, 30.5, 60.0]], 2: [[2, 3, 11.0, 21.0, 30.0, 60.0],
                                                         [2, 1, 500.555, 40.0, 20.0, 50.0]]}
    for r in rows.values():
        table.add("c1", np.array(r, float))
    table.close(["c1", "c0"])
    got = mot_rows(tmp_path, "track", "c1")
    assert got[:, :6].tolist() == [[1, 3, 10.0, 20.12, 30.5, 60.0], [2, 3, 11.0, 21.0, 30.0, 60.0],
                                   [2, 1, 500.56, 40.0, 20.0, 50.0]]
    assert got[:, 6:].tolist() == [[1, -1, -1, -1]] * 3
    assert sorted(table_cameras(tmp_path / FRAMES_DIR / "track.parquet")) == ["c0", "c1"]
    assert mot_rows(tmp_path, "track", "c0").shape == (0, 10)


def test_abort_leaves_no_file(tmp_path):
    tables = _feed(tmp_path)
    tables.abort()
    track = TrackTable(tmp_path)
    track.add("c1", np.array([[1, 1, 1.0, 1.0, 2.0, 2.0]]))
    track.abort()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("value", [123456.78, -100000.25])
def test_values_the_text_rounds_are_read_as_the_text_has_them(tmp_path, value):
    """MOT text prints box values of 1e5 px and more with %.7g: the reader gives what that text gives."""
    tables = FrameTables(tmp_path)
    tables.truth("c1", 1, 0.0, CameraTruth(np.array([5]), np.array([[value, 10.0, 5.0, 5.0, 0.0]]),
                                           np.array([1]), np.array([0.5])))
    tables.close()
    assert mot_rows(tmp_path, "gt", "c1")[0, 2] == float(f"{value:.7g}")


def test_the_tables_copy_what_they_are_given(tmp_path):
    """The export process hands over views of a whole batch's arrays: the tables must not keep them (a kept
    view pins the batch: the export process grew 70 MB a simulated minute on the city run) nor see later
    changes to them."""
    batch_ids, batch_cls = np.arange(1000, dtype=np.int64), np.ones(1000, dtype=np.int8)
    tables = FrameTables(tmp_path)
    tables.truth("c1", 1, 0.0, CameraTruth(batch_ids[10:13], np.full((3, 5), 20.0), batch_cls[10:13],
                                           np.full(3, 0.5)))
    batch_ids[:] = -7
    batch_cls[:] = 4
    tables.close()
    gt = mot_rows(tmp_path, "gt", "c1")
    assert gt[:, 1].tolist() == [10, 11, 12] and gt[:, 7].tolist() == [1, 1, 1]
