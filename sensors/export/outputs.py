"""What a run writes of its camera data (and of where people are): the scenario's ``outputs:`` block and the
writers it selects.

A camera-heavy run's folder is mostly camera data (issue #12: a 20-minute city run wrote 1.3 GB of
events.jsonl and 4.0 GB of MOTChallenge text). ``OutputParams`` declares the choices (the scenario schema is
derived from it, ``scenarios.specs``); ``open_writers`` builds the writers of ``events.jsonl`` and the camera
files accordingly, the same in the simulation process and in the export process (``sensors.export.process``).

Defaults (``OutputParams()``): every camera frame, detection, ground-truth box and tracker box goes to the
Parquet tables of ``sensors/frames/`` (``sensors.export.parquet``), events.jsonl keeps every message but the
camera frames, no MOT text is written, and ``positions.parquet`` gets everyone's position every second
(written by the run loop: ``scenarios.replay_positions``). Scoring (``scenarios.evaluation``) and replay
(``run_sim.py analyze RUN_DIR``) read the tables as they read the text, with the same results.
``LEGACY`` is what the writers do when no scenario says (every frame in events.jsonl, MOT text for every
camera, no tables): the unit-level API of ``Recorder``, ``MotExporter`` and ``ExportProcess``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sensors.export.bus import Message
from sensors.export.mot import MotExporter
from sensors.export.recorder import Recorder

__all__ = ["LEGACY", "CameraFiles", "OutputParams", "open_writers"]


def _f(default, doc: str, **meta):
    return field(default=default, metadata={"doc": doc, **meta})


@dataclass(frozen=True)
class OutputParams:
    """The scenario's ``outputs:`` block (each field's ``doc`` says what it selects)."""

    mot: str | tuple[str, ...] = _f(
        "none", "per-camera MOTChallenge text, sensors/cameras/<id>/{det/det.txt, gt/gt.txt, "
        "track/track.txt, seqinfo.ini}: all, none, or a list of camera ids", choices=("all", "none"),
        item={"doc": "a camera id of this run"}, what="all, none or a list of camera ids")
    camera_frames: str = _f(
        "none", "camera/frame messages (each frame's detections) in events.jsonl: all, or none (every other "
        "message stays: calibrations, camera health, counters, network, alerts)", choices=("all", "none"))
    frames: str = _f(
        "parquet", "every camera frame, detection, ground-truth box and tracker box as Parquet tables in "
        "sensors/frames/ (what scoring and replay read when events.jsonl and the MOT text lack them): "
        "parquet or none", choices=("parquet", "none"))
    positions_every_s: float = _f(
        1.0, "every person's, vehicle's and left object's ground position (x, y m) and role in "
        "positions.parquet, sampled every this many simulated seconds (what run_sim.py replay draws; "
        "scenarios.replay_positions); 0: none", ge=0)
    compress: str = _f(
        "none", "gzip: events.jsonl and the MOT text files written gzip-compressed under .gz names (the same "
        "formats inside); none: plain text", choices=("none", "gzip"))

    @property
    def suffix(self) -> str:
        """``.gz`` when text files are compressed, else empty."""
        return ".gz" if self.compress == "gzip" else ""

    @property
    def events_name(self) -> str:
        """The event log's file name: ``events.jsonl`` or ``events.jsonl.gz``."""
        return "events.jsonl" + self.suffix

    def mot_cameras(self) -> frozenset[str] | None:
        """The cameras with MOT text: None for every camera (``all``), else the ids (empty for ``none``)."""
        if self.mot == "all":
            return None
        return frozenset() if self.mot == "none" else frozenset(self.mot)


#: What the writers do when no scenario says: events.jsonl with every frame, MOT text for every camera.
LEGACY = OutputParams(mot="all", camera_frames="all", frames="none", compress="none")


class CameraFiles:
    """The camera side of a run's files: MOT text for the chosen cameras and the Parquet frame tables (the
    tables' frames come from the recorder, which knows their place in events.jsonl). The interface is
    ``MotExporter``'s, so the export process drives either."""

    def __init__(self, out_dir: str | os.PathLike, outputs: OutputParams, tables: Any = None) -> None:
        cams = outputs.mot_cameras()
        self.mot = None if cams is not None and not cams else MotExporter(out_dir, cameras=cams,
                                                                          gzip=outputs.compress == "gzip")
        self.tables = tables

    # the MOT exporter's own wiring: it calls only on_message, truth and set_sequence_info, defined below
    subscribe = MotExporter.subscribe
    attach = MotExporter.attach

    def set_sequence_info(self, camera_id: str, *, fps: float, size: tuple[int, int]) -> None:
        for w in (self.mot, self.tables):
            if w is not None:
                w.set_sequence_info(camera_id, fps=fps, size=size)

    def on_message(self, msg: Message) -> None:
        if self.mot is not None:
            self.mot.on_message(msg)
        if self.tables is not None and msg.topic == "camera/calibration":
            p = msg.payload
            self.tables.set_sequence_info(str(p["camera_id"]), fps=p["fps"], size=p["resolution"])

    def frame(self, camera_id: str, frame: int, boxes, conf) -> None:
        if self.mot is not None:
            self.mot.frame(camera_id, frame, boxes, conf)

    def truth(self, camera_id: str, frame: int, t: float, truth) -> None:
        for w in (self.mot, self.tables):
            if w is not None:
                w.truth(camera_id, frame, t, truth)

    def close(self) -> list[Path]:
        """Finish every file and move it into place; returns their paths."""
        return (self.mot.close() if self.mot is not None else []) + (
            self.tables.close() if self.tables is not None else [])

    def abort(self) -> None:
        for w in (self.mot, self.tables):
            if w is not None:
                w.abort()


def open_writers(out_dir: str | os.PathLike, events_path: str | os.PathLike, outputs: OutputParams | None,
                 cameras: bool) -> tuple[Recorder, CameraFiles | None]:
    """The run's ``Recorder`` and, if it has cameras, its ``CameraFiles``, as ``outputs`` says (None:
    ``LEGACY``). ``events_path`` is where events.jsonl goes (``OutputParams.events_name``)."""
    outputs = LEGACY if outputs is None else outputs
    tables = None
    if cameras and outputs.frames == "parquet":
        from sensors.export.parquet import FrameTables

        tables = FrameTables(out_dir, events_frames=outputs.camera_frames)
    try:
        recorder = Recorder(events_path, frames=outputs.camera_frames == "all",
                            frame_sink=tables.frame if tables is not None else None)
    except BaseException:
        if tables is not None:
            tables.abort()
        raise
    return recorder, CameraFiles(out_dir, outputs, tables) if cameras else None
