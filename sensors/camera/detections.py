"""A camera frame's detections as the bus carries them, plus the same values as arrays for the file writers.

The bus contract is a list of ``{bbox: [x, y, w, h], cls, conf}`` dicts (what any subscriber reads).
``Detections`` is that list, also holding the arrays the dicts were made from, so the recorder and the MOT
exporter (in-process or in the export process) format them with the compiled kernels of
``sensors.export.numtext`` instead of walking the dicts (``sensors.export.recorder.frame_line``).
"""

from __future__ import annotations

import gc

import numpy as np

from sensors.base import Deferred

__all__ = ["Detections", "FrameArrays", "detection_dicts"]


class Detections(list):
    """``list`` of detection dicts with ``boxes`` (n, 4; 0.01 px), ``cls`` (n,) indices into ``names``,
    ``conf`` (n,; 0.001): the same values, for writers."""

    __slots__ = ("boxes", "cls", "conf", "names")

    def __init__(self, items: list[dict], boxes: np.ndarray, cls: np.ndarray, conf: np.ndarray,
                 names: tuple[str, ...]) -> None:
        super().__init__(items)
        self.boxes, self.cls, self.conf, self.names = boxes, cls, conf, names

    def copy(self) -> Detections:
        """New dicts (a subscriber may change them), the same arrays (nobody writes to them)."""
        return Detections([dict(d) for d in self], self.boxes, self.cls, self.conf, self.names)


class FrameArrays(Deferred):
    """A frame's detections as arrays only: what a camera publishes when nobody may need the dicts. The bus
    turns it into ``Detections`` (``materialize``) before a subscriber that did not subscribe raw sees it,
    so every such subscriber still gets the list of dicts; the file writers read the arrays."""

    __slots__ = ("boxes", "cls", "conf", "names")

    def __init__(self, boxes: np.ndarray, cls: np.ndarray, conf: np.ndarray, names: tuple[str, ...]) -> None:
        self.boxes, self.cls, self.conf, self.names = boxes, cls, conf, names

    def __len__(self) -> int:
        return len(self.boxes)

    def materialize(self) -> Detections:
        return Detections(detection_dicts(self.boxes, self.cls, self.conf, self.names), self.boxes, self.cls,
                          self.conf, self.names)

    def copy(self) -> FrameArrays:
        return FrameArrays(self.boxes, self.cls, self.conf, self.names)


def detection_dicts(
    boxes: np.ndarray, cls: np.ndarray, conf: np.ndarray, names: tuple[str, ...]
) -> list[dict]:
    """The bus dicts of detections given as arrays (one ``tolist`` per array)."""
    bb, cf = np.asarray(boxes, float).tolist(), np.asarray(conf, float).tolist()
    nm = [names[c] for c in np.asarray(cls).tolist()]
    # Many small acyclic dicts: with the collector running their allocation triggers passes over the whole
    # heap, which cost more than building them (docs/performance.md); pausing it is safe (no cycles).
    paused = gc.isenabled()
    gc.disable()
    try:
        return [{"bbox": b, "cls": n, "conf": c} for b, n, c in zip(bb, nm, cf, strict=True)]
    finally:
        if paused:
            gc.enable()
