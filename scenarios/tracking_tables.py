"""Tracking scores of the cameras whose MOT data is not plain text: compressed text (``.gz``) or the Parquet
frame tables of ``sensors/frames/`` (the scenario's ``outputs:``, ``sensors.export.outputs``).

``scenarios.evaluation`` scores each camera folder with a plain ``gt/gt.txt``; ``tracking_tables`` scores the
others by the same rules from what the run wrote instead: the online tracker's output when the run has it
(``track.txt.gz``, or the camera in ``track.parquet``: ``"tracks": "online"``), else the detections tracked
here at the camera's frame rate (``"retracked"``). The rows read are those ``load_mot`` reads from the text
(``analytics.frames.mot_rows``), so a run scores the same whichever form it wrote.
"""

from __future__ import annotations

import configparser
import gzip
from pathlib import Path
from typing import Any

import numpy as np

from analytics.frames import det_rows_by_camera, mot_rows, table_cameras, table_path, track_rows
from analytics.mot import load_mot
from analytics.motscore import mot_metrics
from analytics.tracking import track_mot

__all__ = ["TRACKING_KEYS", "tracking_tables"]

#: The figures reported per camera (as ``scenarios.evaluation`` reports them for plain text).
TRACKING_KEYS = ("mota", "idf1", "num_switches", "motp", "recall", "precision", "num_false_positives",
                 "num_misses")


def _has_rows(path: Path) -> bool:
    """Whether a ``.gz`` text file holds a non-blank line."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        return any(line.strip() for line in fh)


def _score(gt: np.ndarray, hyp: np.ndarray, source: str) -> dict[str, Any]:
    m = mot_metrics(gt, hyp)
    return {"tracks": source} | {k: round(m[k], 4) for k in TRACKING_KEYS}


def _seqinfo_fps(path: Path) -> float | None:
    """``frameRate`` of a MOTChallenge ``seqinfo.ini``, if the file is there and has one."""
    ini = configparser.ConfigParser()
    try:
        return float(ini["Sequence"]["frameRate"]) if ini.read(path, encoding="utf-8") else None
    except (configparser.Error, KeyError, ValueError):
        return None


def _gz_camera(cam: Path, fps: float) -> dict[str, Any] | None:
    """A camera folder's scores from its ``.gz`` text, None if it has no gt rows or nothing to score."""
    gt, track, det = cam / "gt" / "gt.txt.gz", cam / "track" / "track.txt.gz", cam / "det" / "det.txt.gz"
    if not gt.is_file() or not _has_rows(gt):
        return None
    if track.is_file():
        hyp, source = (load_mot(track) if _has_rows(track) else np.empty((0, 10))), "online"
    elif det.is_file():
        cam_fps = _seqinfo_fps(cam / "seqinfo.ini") or fps
        hyp = track_mot(str(det), fps=cam_fps) if _has_rows(det) else np.empty((0, 10))
        source = "retracked"
    else:
        return None
    return _score(load_mot(gt), hyp, source)


def _table_cameras(run: Path, fps: float, done: set[str]) -> dict[str, dict[str, Any]]:
    """Scores of the cameras of ``gt.parquet`` not in ``done``."""
    gt_path = table_path(run, "gt")
    if gt_path is None:
        return {}
    track_path, det_path = table_path(run, "track"), table_path(run, "det")
    tracked = table_cameras(track_path) if track_path is not None else {}
    seqs = table_cameras(det_path) if det_path is not None else {}
    det: dict[str, np.ndarray] | None = None
    out = {}
    for cam in sorted(set(table_cameras(gt_path)) - done):
        gt = mot_rows(run, "gt", cam)
        if gt is None or not len(gt):
            continue
        if cam in tracked:
            out[cam] = _score(gt, mot_rows(run, "track", cam), "online")
        elif cam in seqs:
            det = det_rows_by_camera(run) if det is None else det
            rows = det.get(cam, np.empty((0, 10)))
            cam_fps = float(seqs[cam].get("fps") or fps)
            out[cam] = _score(gt, track_rows(rows, fps=cam_fps) if len(rows) else np.empty((0, 10)),
                              "retracked")
    return out


def tracking_tables(run_dir: str | Path, fps: float = 5.0) -> dict[str, dict[str, Any]]:
    """Per camera without a plain ``gt/gt.txt``: MOTA, IDF1, ... from its ``.gz`` text or the frame tables
    (see the module docstring); ``fps`` is the frame rate of a camera the run gives none for."""
    run = Path(run_dir)
    cams = run / "sensors" / "cameras"
    folders = sorted(cams.iterdir()) if cams.is_dir() else []
    done = {c.name for c in folders if (c / "gt" / "gt.txt").is_file()}
    out = {}
    for cam in folders:
        if cam.name not in done:
            scores = _gz_camera(cam, fps)
            if scores is not None:
                out[cam.name] = scores
    return out | _table_cameras(run, fps, done | set(out))
