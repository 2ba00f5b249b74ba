"""The run's event log: every bus message as one JSON line of ``events.jsonl``, in time order.

The recorder streams every message to ``events.jsonl`` as it is published (memory stays flat on long runs)
and writes to a temporary file that is renamed into place only when the run closes cleanly
(``twin.files.AtomicTextFile``). A camera frame whose detections come as arrays
(``sensors.camera.detections``) is formatted by ``frame_line``, which gives the same line as ``dumps`` of
the dicts with the detection list written by a compiled kernel (``sensors.export.numtext``).

The scenario's ``outputs:`` choose what it keeps (``sensors.export.outputs``): with ``frames=False`` the
``camera/frame`` messages are left out of the file (every other message stays), and ``frame_sink`` receives
every frame's arrays with the number of lines written before it (``sensors.export.parquet.FrameTables``),
so a reader can put the frames back in their place. A frame whose payload holds more than ``camera_id``,
``frame`` and its bus time ``t`` (none does today) is always written to the file and never to the sink. A
path ending in ``.gz`` is written gzip-compressed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensors.base import Deferred
from sensors.camera.detections import detection_dicts
from sensors.export.bus import Bus, Message, dumps
from sensors.export.numtext import detections_json
from twin.files import AtomicTextFile

__all__ = ["FRAME_KEYS", "Recorder", "detection_arrays", "frame_line"]

#: The payload keys of a camera frame besides its detections that a frame table holds.
FRAME_KEYS = frozenset(("camera_id", "frame", "t"))


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


def detection_arrays(dets: Sequence[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """``(boxes, cls, conf, names)`` of detection dicts ``{bbox, cls, conf}`` (what ``Detections`` holds)."""
    names = tuple(dict.fromkeys(str(d["cls"]) for d in dets))
    index = {n: i for i, n in enumerate(names)}
    boxes = np.array([d["bbox"] for d in dets], dtype=float).reshape(len(dets), 4)
    cls = np.array([index[str(d["cls"])] for d in dets], dtype=np.int64)
    conf = np.array([d["conf"] for d in dets], dtype=float)
    return boxes, cls, conf, names


class Recorder:
    """Streams every bus message as one JSON line ``{"t", "topic", ...payload}`` to ``path`` atomically.

    ``t`` is always the bus time, so the file is in time order. A payload whose own ``t`` differs (an alert
    published when it is raised about something seen earlier) keeps that time as ``t_event``.
    """

    def __init__(self, path: str | os.PathLike, bus: Bus | None = None, pattern: str = "*", *,
                 frames: bool = True, frame_sink: Callable[..., None] | None = None) -> None:
        self._out = AtomicTextFile(path)
        self.path = self._out.path
        self.lines = 0
        self.frames = frames
        self.frame_sink = frame_sink
        if bus is not None:
            bus.subscribe(pattern, self.write, raw=True)

    def write(self, msg: Message) -> None:
        dets = msg.payload.get("detections")
        if msg.topic == "camera/frame" and hasattr(dets, "boxes"):  # Detections or FrameArrays
            rest = {k: v for k, v in msg.payload.items() if k != "detections"}
            self.write_frame(msg.t, rest, dets.boxes, dets.cls, dets.conf, dets.names)
            return
        if msg.topic == "camera/frame" and isinstance(dets, list) and not self._keep_line(
                msg.t, msg.payload, lambda: detection_arrays(dets)):
            return
        self._out.write(dumps(_record(msg.t, msg.topic, msg.payload)) + "\n")
        self.lines += 1

    def _keep_line(self, t: float, payload: dict, arrays: Callable[[], tuple]) -> bool:
        """Hand a camera frame to ``frame_sink`` if it takes it; whether its line goes to the file too."""
        keys = set(payload) - {"detections"}
        held = FRAME_KEYS - {"t"} <= keys <= FRAME_KEYS and payload.get("t", t) == t
        if self.frame_sink is not None and held:
            self.frame_sink(self.lines, t, str(payload["camera_id"]), int(payload["frame"]), *arrays())
            return self.frames
        return self.frames or self.frame_sink is not None   # a frame no table holds stays in the file

    def write_frame(self, t: float, payload: dict, boxes, cls, conf, names: tuple[str, ...]) -> None:
        """A ``camera/frame`` message whose detections are given as arrays: the line ``write`` would give
        for the dicts (``frame_line``)."""
        if not self._keep_line(t, payload, lambda: (boxes, cls, conf, names)):
            return
        self._out.write(frame_line(_record(t, "camera/frame", payload), boxes, cls, conf, names) + "\n")
        self.lines += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        return self._out.close()

    def abort(self) -> None:
        """Drop the partial file (a failed run leaves no half file)."""
        self._out.abort()
