"""How messages travel to the analytics workers: camera frames as their arrays, rebuilt on arrival.

A frame's detections on the simulator's bus carry their boxes, classes and confidences as arrays besides
(or instead of) the list of ``{bbox, cls, conf}`` dicts; pickling the arrays costs a fraction of pickling the
dicts. The worker rebuilds the same dicts from them (the bus's own rule: values through ``float`` arrays'
``tolist``) and keeps the arrays on the list, as the bus's list keeps them. A frame without such arrays (a
plain list, as a real feed gives) travels as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DetectionList", "pack_message", "stub"]

_ARRAYS = ("boxes", "cls", "conf", "names")


class DetectionList(list):
    """A frame's detection dicts with the arrays they were made from (``boxes``, ``cls``, ``conf``,
    ``names``); pickles as the arrays alone."""

    __slots__ = _ARRAYS

    def __reduce__(self) -> tuple:
        return _rebuild, (self.boxes, self.cls, self.conf, self.names)


class _Packed:
    """The arrays of a frame's detections, on their way to a worker (becomes a ``DetectionList``)."""

    __slots__ = _ARRAYS

    def __init__(self, boxes: np.ndarray, cls: np.ndarray, conf: np.ndarray, names: tuple[str, ...]) -> None:
        self.boxes, self.cls, self.conf, self.names = boxes, cls, conf, names

    def __reduce__(self) -> tuple:
        return _rebuild, (self.boxes, self.cls, self.conf, self.names)


def _rebuild(boxes: np.ndarray, cls: np.ndarray, conf: np.ndarray, names: tuple[str, ...]) -> DetectionList:
    bb, cf = np.asarray(boxes, float).tolist(), np.asarray(conf, float).tolist()
    nm = [names[c] for c in np.asarray(cls).tolist()]
    out = DetectionList({"bbox": b, "cls": n, "conf": c} for b, n, c in zip(bb, nm, cf, strict=True))
    out.boxes, out.cls, out.conf, out.names = boxes, cls, conf, names
    return out


def pack_message(msg: dict[str, Any]) -> dict[str, Any]:
    """``msg`` ready to pickle: a camera frame whose detections hold arrays of the same length sends those."""
    dets = msg.get("detections")
    if msg.get("topic") != "camera/frame" or dets is None or not all(hasattr(dets, a) for a in _ARRAYS):
        return msg
    try:
        if not len(dets.boxes) == len(dets.cls) == len(dets.conf) == len(dets):
            return msg
    except TypeError:
        return msg
    return {**msg, "detections": _Packed(dets.boxes, dets.cls, dets.conf, dets.names)}


def stub(msg: dict[str, Any]) -> dict[str, Any]:
    """A camera frame as the detectors reading every topic get it: without its detections."""
    return {k: v for k, v in msg.items() if k != "detections"}
