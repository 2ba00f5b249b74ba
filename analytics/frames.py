"""Readers of a run's camera data whatever form it was written in: Parquet frame tables, MOT text (plain or
``.gz``) and ``events.jsonl`` (plain or ``.gz``).

The simulation writes (``outputs:`` of the scenario) the camera frames, their detections, the ground truth
and the online tracker's output to ``sensors/frames/{frames,det,gt,track}.parquet`` and/or as MOTChallenge
text per camera, and keeps the camera frames in events.jsonl or not. The tables' layout is documented where
they are written (``sensors.export.parquet``): integers at the precision of the text (boxes in 0.01 px,
confidence and visibility in 0.001), gt and track rows in row groups of one camera each, ``pos`` for the order
within a frame, ``line`` for each frame's place in events.jsonl.

- ``mot_rows(run, kind, camera_id)``: one camera's det, gt or track rows as the (N, 10) array ``load_mot``
  gives for its text file (the same numbers, rows and order), ``table_cameras`` which cameras a table has.
- ``iter_run(run)``: the run's bus messages in their order, the camera frames put back from the frame table
  when events.jsonl was written without them (what ``run_sim.py analyze RUN_DIR`` replays).
- ``track_rows(rows, fps)``: ``analytics.tracking.track_mot`` on det rows already loaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from analytics.base import AnalyticsInputError, ReadStats
from analytics.events import iter_jsonl
from analytics.tracking import CameraTracker, TrackerParams

__all__ = ["FILES", "FRAMES_DIR", "det_rows_by_camera", "events_path", "iter_frames", "iter_run", "mot_rows",
           "table_cameras", "table_path", "track_rows"]

#: Where a run keeps its frame tables, and their names (as ``sensors.export.parquet`` writes them).
FRAMES_DIR = "sensors/frames"
FILES = {"frames": "frames.parquet", "det": "det.parquet", "gt": "gt.parquet", "track": "track.parquet"}
#: Box values whose MOT text ``%.7g`` rounds (the writers print smaller ones exactly).
_TEXT_LIMIT = 1e5


def table_path(run_dir: str | os.PathLike, kind: str) -> Path | None:
    """The ``kind`` table (frames, det, gt, track) of a run folder, None if the run has none."""
    p = Path(run_dir) / FRAMES_DIR / FILES[kind]
    return p if p.is_file() else None


def events_path(run_dir: str | os.PathLike) -> Path | None:
    """The run's ``events.jsonl`` or ``events.jsonl.gz``, None if it has neither."""
    for name in ("events.jsonl", "events.jsonl.gz"):
        p = Path(run_dir) / name
        if p.is_file():
            return p
    return None


def _open(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise AnalyticsInputError(f"{path}: line 1: not a Parquet table ({exc})") from None


def _meta(pf: Any, key: str, default: Any = None) -> Any:
    raw = (pf.metadata.metadata or {}).get(f"twin:{key}".encode())
    return default if raw is None else json.loads(raw)


def table_cameras(path: str | os.PathLike) -> dict[str, Any]:
    """The cameras a table lists (``twin:cameras``): ``{id: {fps, width, height, frames}}`` for frames, det
    and gt; ``{id: {}}`` for track (the cameras the tracker saw)."""
    cams = _meta(_open(Path(path)), "cameras", {})
    return {c: {} for c in cams} if isinstance(cams, list) else dict(cams)


def _names(col: Any) -> np.ndarray:
    """A dictionary column (chunked) as an array of its texts."""
    parts = [np.asarray(ch.dictionary.to_pylist(), dtype=object)[ch.indices.to_numpy()] for ch in col.chunks]
    return np.concatenate(parts) if parts else np.empty(0, dtype=object)


def _text_values(cpx: np.ndarray) -> np.ndarray:
    """Box values in pixels as the MOT text holds them: exact, but ``%.7g`` for |value| >= 1e5 px."""
    v = cpx / 100.0
    big = np.flatnonzero(np.abs(v) >= _TEXT_LIMIT)
    for i in big:
        v.flat[i] = float(f"{v.flat[i]:.7g}")
    return v


def _to_mot(t: Any, kind: str) -> np.ndarray:
    """A table's rows (one camera's) as MOT rows (N, 10) in the text file's order, empty boxes left out."""
    col = {name: t.column(name).to_numpy() for name in t.column_names if name not in ("camera_id", "class")}
    out = np.full((t.num_rows, 10), -1.0)
    order = np.lexsort((col["pos"], col["frame"])) if kind != "det" else np.arange(t.num_rows)
    col = {k: v[order] for k, v in col.items()}
    out[:, 0] = col["frame"]
    if kind != "det":
        out[:, 1] = col["id"]
    for j, k in enumerate(("x_cpx", "y_cpx", "w_cpx", "h_cpx")):
        out[:, 2 + j] = _text_values(col[k]) if kind != "track" else col[k] / 100.0
    out[:, 6] = col["conf_milli"] / 1000.0 if kind == "det" else 1.0
    if kind == "gt":
        out[:, 7] = t.column("class").to_numpy()[order]
        out[:, 8] = col["vis_milli"] / 1000.0
    return out[(out[:, 4] > 0) & (out[:, 5] > 0)]


def mot_rows(run_dir: str | os.PathLike, kind: str, camera_id: str) -> np.ndarray | None:
    """One camera's ``kind`` rows (det, gt, track) from the run's table, as the (N, 10) array ``load_mot``
    gives for the camera's text file (rows with a box of no width or height left out, as that reader does);
    None if the run has no such table."""
    path = table_path(run_dir, kind)
    if path is None:
        return None
    pf = _open(path)
    if kind == "det":
        t = pf.read()
        return _to_mot(t.filter(np.asarray(_names(t.column("camera_id")) == camera_id)), kind)
    groups = _meta(pf, "row_groups", {}).get(camera_id, [])
    return _to_mot(pf.read_row_groups(groups) if groups else pf.schema_arrow.empty_table(), kind)


def det_rows_by_camera(run_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every camera's det rows (as ``mot_rows``) from one read of the det table; empty without one."""
    path = table_path(run_dir, "det")
    if path is None:
        return {}
    t = _open(path).read()
    names, codes = _codes(t.column("camera_id"))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    t = t.take(order)
    return {names[c]: _to_mot(t.slice(bounds[c], bounds[c + 1] - bounds[c]), "det")
            for c in sorted(range(len(names)), key=lambda c: names[c]) if bounds[c + 1] > bounds[c]}


def _codes(col: Any) -> tuple[list[str], np.ndarray]:
    """A dictionary column (chunked) as (its distinct texts, each row's index into them)."""
    names: dict[str, int] = {}
    parts = []
    for ch in col.chunks:
        remap = np.array([names.setdefault(v, len(names)) for v in ch.dictionary.to_pylist()], np.int64)
        parts.append(remap[ch.indices.to_numpy()] if len(remap) else np.zeros(0, np.int64))
    return list(names), np.concatenate(parts) if parts else np.zeros(0, np.int64)


def track_rows(rows: np.ndarray, *, fps: float = 5.0, params: TrackerParams | None = None) -> np.ndarray:
    """ByteTrack on det rows (N, 10) in frame order: what ``analytics.tracking.track_mot`` gives for the text
    file that holds them (1-based ids, a negative confidence read as 1)."""
    tracker = CameraTracker("mot", fps=fps, params=params if params is not None else TrackerParams())
    out = []
    cuts = np.flatnonzero(np.diff(rows[:, 0])) + 1
    for r in np.split(rows, cuts) if len(rows) else []:
        frame = int(r[0, 0])
        conf = np.where(r[:, 6] >= 0, r[:, 6], 1.0)
        ids, xywh, _, _ = tracker.update(r[:, 2:6], conf, np.zeros(len(r), int), t=(frame - 1) / fps)
        if len(ids):
            res = np.full((len(ids), 10), -1.0)
            res[:, 0], res[:, 1], res[:, 2:6], res[:, 6] = frame, ids + 1, xywh, 1.0
            out.append(res)
    return np.vstack(out) if out else np.empty((0, 10))


class _DetCursor:
    """The det table's detections as bus dicts, handed out in table order row group by row group."""

    def __init__(self, path: Path) -> None:
        self.path, self.pf = path, _open(path)
        self.group, self.buf, self.i = 0, [], 0

    def _load(self) -> None:
        if self.group >= self.pf.num_row_groups:
            raise AnalyticsInputError(f"{self.path}: line 1: fewer detections than frames.parquet counts")
        t = self.pf.read_row_group(self.group)
        self.group += 1
        box = np.column_stack([t.column(k).to_numpy() for k in ("x_cpx", "y_cpx", "w_cpx", "h_cpx")]) / 100.0
        conf = (t.column("conf_milli").to_numpy() / 1000.0).tolist()
        cls = _names(t.column("class")).tolist()
        self.buf = [{"bbox": b, "cls": c, "conf": f} for b, c, f in zip(box.tolist(), cls, conf, strict=True)]
        self.i = 0

    def take(self, k: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < k:
            if self.i >= len(self.buf):
                self._load()
            j = min(len(self.buf), self.i + k - len(out))
            out += self.buf[self.i:j]
            self.i = j
        return out


def iter_frames(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, message)``: every ``camera/frame`` message of a frames table (with its det table beside it)
    in bus order, ``line`` the number of events.jsonl lines written before it."""
    frames = _open(Path(path))
    det = _DetCursor(Path(path).with_name(FILES["det"]))
    for g in range(frames.num_row_groups):
        ft = frames.read_row_group(g)
        line, t, fr, n = (ft.column(k).to_numpy() for k in ("line", "t", "frame", "detections"))
        cams = _names(ft.column("camera_id"))
        for i in range(len(line)):
            yield int(line[i]), {"camera_id": str(cams[i]), "detections": det.take(int(n[i])),
                                 "frame": int(fr[i]), "t": float(t[i]), "topic": "camera/frame"}


def iter_run(run_dir: str | os.PathLike, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Every bus message a run recorded, in bus order: the lines of its events.jsonl(.gz) and, when that was
    written without the camera frames (``twin:events_frames: none``), the frames of its frame table put back
    in their places.

    Raises
    ------
    AnalyticsInputError
        If the folder has no events.jsonl, or a file is not what it should be.
    """
    ev = events_path(run_dir)
    if ev is None:
        raise AnalyticsInputError(f"{Path(run_dir) / 'events.jsonl'}: no such file (nor events.jsonl.gz)")
    stats = stats if stats is not None else ReadStats(str(ev))
    path = table_path(run_dir, "frames")
    if path is None or _meta(_open(path), "events_frames", "all") != "none":
        yield from iter_jsonl(ev, stats)
        return
    frames = iter_frames(path)
    nxt = next(frames, None)
    for rec in iter_jsonl(ev, stats):
        while nxt is not None and nxt[0] < stats.lines:
            yield nxt[1]
            nxt = next(frames, None)
        yield rec
    while nxt is not None:
        yield nxt[1]
        nxt = next(frames, None)
