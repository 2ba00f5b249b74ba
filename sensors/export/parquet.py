"""Camera frames, detections, ground truth and tracker output as Parquet tables (``outputs.frames``).

Why: a city run's MOTChallenge text and JSON camera frames are the bulk of its folder (issue #12: 36 GB per
simulated hour with 10,000 people and the 221 Helsinki cameras at 5 fps); the same values as typed columns,
each in its best encoding and zstd-compressed, take a twelfth (``docs/performance.md``, "Output volume").

Files in ``sensors/frames/`` (``FILES``), written with pyarrow's ``ParquetWriter`` one row group at a time
(memory stays bounded: ``DET_GROUP_ROWS``, ``BUFFER_ROWS``), each into a hidden temp file renamed into place
on ``close()`` (``abort()`` drops it):

- ``frames.parquet``: one row per ``camera/frame`` message, in bus order: ``line`` (how many events.jsonl
  lines were written before it: where it goes back into the event stream), ``t`` (bus time, s, as
  events.jsonl has it), ``camera_id``, ``frame``, ``detections`` (how many).
- ``det.parquet``: those frames' detections in the same order: ``camera_id``, ``frame``, ``class`` (the bus's
  class name), ``conf_milli``, ``x_cpx``, ``y_cpx``, ``w_cpx``, ``h_cpx``.
- ``gt.parquet``: each camera's true targets in view (gt.txt): ``camera_id``, ``frame``, ``id``, ``pos`` (the
  row's place within its frame in gt.txt), the box, ``class`` (MOT17 class) and ``vis_milli``.
- ``track.parquet``: the online tracker's output (track.txt): ``camera_id``, ``frame``, ``id`` (1-based),
  ``pos``, the box.

Values are integers at the precision of the bus and the MOT files, so they are exact: boxes in hundredths of
a pixel (``_cpx``), confidence and visibility in thousandths (``_milli``); divided by 100 or 1000 they give
the floats those files hold. gt and track rows are written in row groups of one camera each (listed in the
file's ``twin:row_groups`` metadata), sorted by id then frame, which zstd turns into a few bits per value (a
target moves little from one frame to the next); ``pos`` gives back the text files' order. Frames
and detections stay in bus order (a replay reads them in time order). ``analytics.frames`` reads all four.

File metadata (JSON texts): ``twin:table``; ``twin:cameras``, per camera ``{fps, width, height, frames}``
(what seqinfo.ini holds; in track.parquet the cameras the tracker saw); in frames.parquet
``twin:events_frames``: ``all`` if events.jsonl holds the frames too, ``none`` if only this table does.
Parquet files embed no time stamp: the same run gives the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["BUFFER_ROWS", "DET_GROUP_ROWS", "ENCODINGS", "FILES", "FRAMES_DIR", "SCHEMAS", "FrameTables",
           "TrackTable", "cents"]

#: Where the tables go in a run folder, and their file names by table.
FRAMES_DIR = "sensors/frames"
FILES = {"frames": "frames.parquet", "det": "det.parquet", "gt": "gt.parquet", "track": "track.parquet"}

_NAME = pa.dictionary(pa.int32(), pa.string())
_BOX = [("x_cpx", pa.int32()), ("y_cpx", pa.int32()), ("w_cpx", pa.int32()), ("h_cpx", pa.int32())]
#: The four tables' columns (see the module docstring).
SCHEMAS = {
    "frames": pa.schema([("line", pa.int64()), ("t", pa.float64()), ("camera_id", _NAME),
                         ("frame", pa.int32()), ("detections", pa.int32())]),
    "det": pa.schema([("camera_id", _NAME), ("frame", pa.int32()), ("class", _NAME),
                      ("conf_milli", pa.int16()), *_BOX]),
    "gt": pa.schema([("camera_id", _NAME), ("frame", pa.int32()), ("id", pa.int64()), ("pos", pa.int32()),
                     *_BOX, ("class", pa.int8()), ("vis_milli", pa.int16())]),
    "track": pa.schema([("camera_id", _NAME), ("frame", pa.int32()), ("id", pa.int64()),
                        ("pos", pa.int32()), *_BOX]),
}
#: zstd level of every column, and each column's encoding: the smallest of PLAIN, DELTA_BINARY_PACKED and
#: BYTE_STREAM_SPLIT on a whole-city run (docs/performance.md, "Output volume": gt 2.8 bytes a row against 4.2
#: all delta-encoded, det 9.1 against 10.0; level 6 2 % under level 3 for 0.3 s more CPU a simulated minute).
ZSTD_LEVEL = 6
_B, _P, _D = "BYTE_STREAM_SPLIT", "PLAIN", "DELTA_BINARY_PACKED"
ENCODINGS = {
    "frames": {"line": _D, "t": _B, "frame": _D, "detections": _D},
    "det": {"frame": _B, "conf_milli": _B, "x_cpx": _B, "y_cpx": _B, "w_cpx": _B, "h_cpx": _B},
    "gt": {"frame": _B, "id": _B, "pos": _B, "x_cpx": _P, "y_cpx": _P, "w_cpx": _P, "h_cpx": _P, "class": _P,
           "vis_milli": _P},
    "track": {"frame": _B, "id": _D, "pos": _B, "x_cpx": _B, "y_cpx": _B, "w_cpx": _B, "h_cpx": _B},
}
#: Detections per row group of det.parquet (and at most ``FRAME_GROUP_ROWS`` frames per group of frames).
DET_GROUP_ROWS = 1 << 20
FRAME_GROUP_ROWS = 1 << 18
#: A camera's gt or track rows are written as a row group once it holds ``CAMERA_GROUP_ROWS``; when all
#: cameras together hold ``BUFFER_ROWS`` (gt, about 30 bytes a row) or ``TRACK_BUFFER_ROWS`` (track, in
#: the simulation process) the largest are written until half remain. Smaller groups cost little: whole-
#: camera groups would make gt.parquet 3 % smaller.
CAMERA_GROUP_ROWS = 1 << 18
BUFFER_ROWS = 1 << 21
TRACK_BUFFER_ROWS = 1 << 20


def cents(v: np.ndarray) -> np.ndarray:
    """``v`` in hundredths, rounded as ``f"{x:.2f}"`` rounds each value (half to even on its exact binary
    value; ``x * 100`` can land on the wrong side of a half, so such values are rounded exactly).

    >>> cents(np.array([1.005, 0.125, 12.5, -3.114])).tolist()
    [100, 12, 1250, -311]
    """
    v = np.asarray(v, dtype=float)
    scaled = v * 100.0
    out = np.rint(scaled)
    near = np.flatnonzero(np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6)
    for i in near:
        out.flat[i] = float(Decimal(float(v.flat[i])).quantize(Decimal("0.01"), ROUND_HALF_EVEN) * 100)
    return out.astype(np.int32)


class _Table:
    """One Parquet file streamed row group by row group into a hidden temp file, renamed on ``close``."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind, self.schema = path, kind, SCHEMAS[kind]
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o644)
        self.tmp = Path(tmp)
        names = [f.name for f in self.schema if pa.types.is_dictionary(f.type)]
        self._w = pq.ParquetWriter(self.tmp, self.schema, compression="zstd", compression_level=ZSTD_LEVEL,
                                   use_dictionary=names, column_encoding=ENCODINGS[kind])
        self.groups = 0

    def write(self, columns: dict[str, Any]) -> int:
        """Write one row group; returns its index."""
        table = pa.table(columns, schema=self.schema)
        self._w.write_table(table, row_group_size=max(1, table.num_rows))
        self.groups += 1
        return self.groups - 1

    def close(self, meta: dict[str, Any]) -> Path:
        extra = {f"twin:{k}": json.dumps(v, sort_keys=True) for k, v in meta.items()}
        self._w.add_key_value_metadata({"twin:table": self.kind, **extra})
        self._w.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._w.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _names(values: list[str] | str, n: int, index: np.ndarray | None = None) -> pa.DictionaryArray:
    """A dictionary column of ``n`` rows: one value, or ``values[index]``."""
    if isinstance(values, str):
        return pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), pa.array([values]))
    return pa.DictionaryArray.from_arrays(np.asarray(index, np.int32), pa.array(values, pa.string()))


def _box_columns(cpx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.ascontiguousarray(cpx[:, j], np.int32) for j, k in enumerate(("x_cpx", "y_cpx", "w_cpx",
                                                                              "h_cpx"))}


class _ByCamera:
    """A gt or track table whose rows wait per camera and go out as one row group per camera, sorted by id
    then frame (see the module docstring); ``extra`` names the columns after the box."""

    def __init__(self, table: _Table, extra: tuple[str, ...], buffer_rows: int) -> None:
        self.table, self.extra, self.buffer_rows = table, extra, buffer_rows
        self._parts: dict[str, list[tuple]] = {}
        self._rows: dict[str, int] = {}
        self.total = 0
        self.row_groups: dict[str, list[int]] = {}

    def add(self, camera_id: str, frame: int, ids: np.ndarray, cpx: np.ndarray, *extra: np.ndarray) -> None:
        n = len(ids)
        if not n:
            return
        self._parts.setdefault(camera_id, []).append((frame, ids, cpx, *extra))
        self._rows[camera_id] = self._rows.get(camera_id, 0) + n
        self.total += n
        if self._rows[camera_id] >= CAMERA_GROUP_ROWS:
            self._flush(camera_id)
        elif self.total >= self.buffer_rows:
            for cam in sorted(self._rows, key=lambda c: (-self._rows[c], c)):
                self._flush(cam)
                if self.total <= self.buffer_rows // 2:
                    break

    def _flush(self, camera_id: str) -> None:
        parts = self._parts.pop(camera_id)
        self.total -= self._rows.pop(camera_id)
        sizes = [len(p[1]) for p in parts]
        frames = np.repeat(np.array([p[0] for p in parts], np.int32), sizes)
        ids = np.concatenate([p[1] for p in parts]).astype(np.int64)
        pos = np.concatenate([np.arange(s, dtype=np.int32) for s in sizes])
        order = np.lexsort((frames, ids))
        cols: dict[str, Any] = {"camera_id": _names(camera_id, len(ids)), "frame": frames[order],
                                "id": ids[order], "pos": pos[order]}
        cols.update(_box_columns(np.concatenate([p[2] for p in parts])[order]))
        for j, name in enumerate(self.extra):
            cols[name] = np.concatenate([p[3 + j] for p in parts])[order]
        self.row_groups.setdefault(camera_id, []).append(self.table.write(cols))

    def close(self, meta: dict[str, Any]) -> Path:
        for cam in sorted(self._parts):
            self._flush(cam)
        return self.table.close({**meta, "row_groups": self.row_groups})


class FrameTables:
    """``frames``, ``det`` and ``gt`` tables of a run (see the module docstring). ``frame`` takes each camera
    frame with the events.jsonl line it follows, ``truth`` each frame's truth (a camera's ``truth_sink``
    signature), ``set_sequence_info`` each camera's frame rate and image size."""

    def __init__(self, out_dir: str | os.PathLike, *, events_frames: str = "none") -> None:
        folder = Path(out_dir) / FRAMES_DIR
        self.events_frames = events_frames
        self._frames = _Table(folder / FILES["frames"], "frames")
        self._det = _Table(folder / FILES["det"], "det")
        self._gt = _ByCamera(_Table(folder / FILES["gt"], "gt"), ("class", "vis_milli"), BUFFER_ROWS)
        self._cams: list[str] = []
        self._cam_index: dict[str, int] = {}
        self._classes: list[str] = []
        self._class_maps: dict[tuple[str, ...], np.ndarray] = {}
        self.cameras: dict[str, dict[str, Any]] = {}
        self._fbuf: list[tuple[int, float, int, int, int]] = []
        self._dbuf: list[tuple] = []
        self._drows = 0

    def _camera(self, camera_id: str) -> dict[str, Any]:
        info = self.cameras.get(camera_id)
        if info is None:
            info = self.cameras[camera_id] = {"fps": 5.0, "width": 1920, "height": 1080, "frames": 0}
        return info

    def set_sequence_info(self, camera_id: str, *, fps: float, size: tuple[int, int]) -> None:
        """Frame rate and image size (width, height px) of a camera, for the ``twin:cameras`` metadata."""
        self._camera(camera_id).update(fps=float(fps), width=int(size[0]), height=int(size[1]))

    def frame(self, line: int, t: float, camera_id: str, frame: int, boxes: np.ndarray, cls: np.ndarray,
              conf: np.ndarray, names: tuple[str, ...]) -> None:
        """One ``camera/frame`` message (bus time ``t``) and its detections, after ``line`` events lines."""
        ci = self._cam_index.get(camera_id)
        if ci is None:
            ci = self._cam_index[camera_id] = len(self._cams)
            self._cams.append(camera_id)
        info = self._camera(camera_id)
        info["frames"] = max(info["frames"], int(frame))
        n = len(boxes)
        self._fbuf.append((int(line), round(float(t), 6), ci, int(frame), n))
        if n:
            cmap = self._class_maps.get(names)
            if cmap is None:
                for name in names:
                    if name not in self._classes:
                        self._classes.append(name)
                cmap = self._class_maps[names] = np.array([self._classes.index(x) for x in names], np.int32)
            self._dbuf.append((ci, int(frame), cmap[np.asarray(cls, np.int64)],
                               np.rint(np.asarray(conf, float) * 1000.0).astype(np.int16),
                               np.rint(np.asarray(boxes, float).reshape(n, 4) * 100.0).astype(np.int32)))
            self._drows += n
        if self._drows >= DET_GROUP_ROWS or len(self._fbuf) >= FRAME_GROUP_ROWS:
            self._flush_frames()

    def truth(self, camera_id: str, frame: int, t: float, truth: Any) -> None:
        """Truth sink: this frame's true targets in view (``sensors.camera.CameraTruth``) to gt.parquet."""
        info = self._camera(camera_id)
        info["frames"] = max(info["frames"], int(frame))
        b = np.asarray(truth.boxes, float)
        n = len(truth.ids)
        if n:
            # copies (np.array): the arrays are often views of a whole batch, which a view would keep alive
            self._gt.add(camera_id, int(frame), np.array(truth.ids, np.int64),
                         np.rint(b[:, :4] * 100.0).astype(np.int32), np.array(truth.mot_cls, np.int8),
                         np.rint(np.asarray(truth.visibility, float) * 1000.0).astype(np.int16))

    def _flush_frames(self) -> None:
        if self._fbuf:
            line, t, ci, fr, n = (np.array(c) for c in zip(*self._fbuf, strict=True))
            self._frames.write({"line": line.astype(np.int64), "t": t.astype(float),
                                "camera_id": _names(self._cams, len(ci), ci), "frame": fr.astype(np.int32),
                                "detections": n.astype(np.int32)})
            self._fbuf = []
        if self._dbuf:
            sizes = [len(d[2]) for d in self._dbuf]
            ci = np.repeat(np.array([d[0] for d in self._dbuf], np.int32), sizes)
            cols: dict[str, Any] = {
                "camera_id": _names(self._cams, len(ci), ci),
                "frame": np.repeat(np.array([d[1] for d in self._dbuf], np.int32), sizes),
                "class": _names(self._classes, len(ci), np.concatenate([d[2] for d in self._dbuf])),
                "conf_milli": np.concatenate([d[3] for d in self._dbuf]),
            }
            cols.update(_box_columns(np.concatenate([d[4] for d in self._dbuf])))
            self._det.write(cols)
            self._dbuf, self._drows = [], 0

    def close(self) -> list[Path]:
        """Write what waits and move the three files into place; returns their paths."""
        self._flush_frames()
        cams = dict(sorted(self.cameras.items()))
        return [self._frames.close({"cameras": cams, "events_frames": self.events_frames}),
                self._det.close({"cameras": cams}), self._gt.close({"cameras": cams})]

    def abort(self) -> None:
        """Drop the partial files."""
        for t in (self._frames, self._det, self._gt.table):
            try:
                t.abort()
            except Exception:  # noqa: BLE001 - cleaning up after a failure: drop the rest too
                continue


class TrackTable:
    """``track.parquet``: the online tracker's MOT rows, camera by camera (see the module docstring)."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        table = _Table(Path(out_dir) / FRAMES_DIR / FILES["track"], "track")
        self._t = _ByCamera(table, (), TRACK_BUFFER_ROWS)

    def add(self, camera_id: str, rows: np.ndarray) -> None:
        """One frame's rows ``(frame, id, x, y, w, h)``, boxes rounded as track.txt has them (``cents``)."""
        r = np.asarray(rows, float)
        if len(r):
            self._t.add(camera_id, int(r[0, 0]), r[:, 1].astype(np.int64), cents(r[:, 2:6]))

    def close(self, cameras: Sequence[str]) -> Path:
        """Write what waits and move the file into place; ``cameras``: every camera the tracker saw."""
        return self._t.close({"cameras": sorted(cameras)})

    def abort(self) -> None:
        self._t.table.abort()
