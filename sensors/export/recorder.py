"""The run's event log: every bus message as one JSON line of ``events.jsonl``, in time order.

The recorder streams every message to ``events.jsonl`` as it is published (memory stays flat on long runs)
and writes to a temporary file that is renamed into place only when the run closes cleanly
(``twin.files.AtomicTextFile``). A camera frame whose detections come as arrays
(``sensors.camera.detections``) is formatted by ``frame_line``, which gives the same line as ``dumps`` of
the dicts with the detection list written by a compiled kernel (``sensors.export.numtext``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from sensors.base import Deferred
from sensors.camera.detections import detection_dicts
from sensors.export.bus import Bus, Message, dumps
from sensors.export.numtext import detections_json
from twin.files import AtomicTextFile

__all__ = ["Recorder", "frame_line"]


def _record(t: float, topic: str, payload: dict) -> dict:
    """What a message becomes in events.jsonl: its payload with bus time ``t`` (the payload's own time, if
    different, kept as ``t_event``) and ``topic``."""
    rec = {k: v.materialize() if isinstance(v, Deferred) else v for k, v in payload.items()}
    own = rec.get("t")
    if own is not None and own != t:
        rec["t_event"] = own
    rec["t"] = round(t, 6)
    rec["topic"] = topic
    return rec


def frame_line(rec: dict[str, Any], boxes: np.ndarray, cls: np.ndarray, conf: np.ndarray,
               names: tuple[str, ...]) -> str:
    """``dumps(rec | {"detections": detection_dicts(...)})``, with the detection list made by a kernel."""
    text = detections_json(boxes, cls, conf, names)
    if text is None:
        return dumps({**rec, "detections": detection_dicts(boxes, cls, conf, names)})
    # keys are sorted and JSON strings escape quotes, so the first '"detections":[]' is the key itself
    return dumps({**rec, "detections": []}).replace('"detections":[]', '"detections":' + text, 1)


class Recorder:
    """Streams every bus message as one JSON line ``{"t", "topic", ...payload}`` to ``path`` atomically.

    ``t`` is always the bus time, so the file is in time order. A payload whose own ``t`` differs (an alert
    published when it is raised about something seen earlier) keeps that time as ``t_event``.
    """

    def __init__(self, path: str | os.PathLike, bus: Bus | None = None, pattern: str = "*") -> None:
        self._out = AtomicTextFile(path)
        self.path = self._out.path
        self.lines = 0
        if bus is not None:
            bus.subscribe(pattern, self.write, raw=True)

    def write(self, msg: Message) -> None:
        dets = msg.payload.get("detections")
        if msg.topic == "camera/frame" and hasattr(dets, "boxes"):  # Detections or FrameArrays
            rest = {k: v for k, v in msg.payload.items() if k != "detections"}
            self.write_frame(msg.t, rest, dets.boxes, dets.cls, dets.conf, dets.names)
            return
        self._out.write(dumps(_record(msg.t, msg.topic, msg.payload)) + "\n")
        self.lines += 1

    def write_frame(self, t: float, payload: dict, boxes, cls, conf, names: tuple[str, ...]) -> None:
        """A ``camera/frame`` message whose detections are given as arrays: the line ``write`` would give
        for the dicts (``frame_line``)."""
        self._out.write(frame_line(_record(t, "camera/frame", payload), boxes, cls, conf, names) + "\n")
        self.lines += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        return self._out.close()

    def abort(self) -> None:
        """Drop the partial file (a failed run leaves no half file)."""
        self._out.abort()
