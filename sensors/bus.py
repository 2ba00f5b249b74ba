"""In-process publish/subscribe by topic, stamped with simulation time, recorded in time order.

The recorder streams every message to ``events.jsonl`` as it is published (memory stays flat on long runs)
and writes to a temporary file that is renamed into place only when the run closes cleanly.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.files import AtomicTextFile

__all__ = ["Bus", "BusError", "Deferred", "Message", "Recorder", "dumps"]


class BusError(ValueError):
    """A message published out of time order, or a bad topic."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Message:
    """One message: simulation time ``t`` (s), a topic such as ``camera/frame`` and a JSON-able payload."""

    t: float
    topic: str
    payload: dict


def dumps(obj: Any) -> str:
    """Canonical compact JSON (sorted keys, no spaces) so equal runs give byte-identical files."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_default)


def _default(o: Any):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


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


class Deferred(ABC):
    """A payload value published in a compact form (e.g. a camera frame's detections as arrays) whose
    contract form ``materialize()`` builds. The bus builds it, once, before the first subscriber that did
    not subscribe ``raw`` sees the message; raw subscribers (the file writers) read the compact form."""

    __slots__ = ()

    @abstractmethod
    def materialize(self) -> Any:
        """The value in its contract form (what subscribers that are not raw receive)."""


class Bus:
    """Topic-based publish/subscribe; subscribers to ``"camera/*"`` or ``"*"`` get all matching topics.

    Messages must be published in non-decreasing time, so every subscriber sees them in time order.
    Subscribers see payloads in their contract form (``Deferred`` values materialized) unless they
    subscribed ``raw=True``.
    """

    def __init__(self) -> None:
        self._subs: dict[str, list[tuple[Callable[[Message], None], bool]]] = defaultdict(list)
        self._t = float("-inf")
        self.count = 0

    def subscribe(self, pattern: str, callback: Callable[[Message], None], *, raw: bool = False) -> None:
        """Call ``callback(message)`` for each topic equal to ``pattern``, under ``prefix/*``, or ``*``.

        ``raw``: the callback also accepts ``Deferred`` payload values (it need not wait for their
        materialization)."""
        self._subs[pattern].append((callback, raw))

    def publish(self, t: float, topic: str, payload: dict) -> Message:
        if not topic or topic.startswith("/"):
            raise BusError(f"bad topic {topic!r}")
        if t < self._t - 1e-9:
            raise BusError(f"message on {topic!r} at t={t} is older than the last one at t={self._t}")
        self._t = max(self._t, t)
        msg = Message(float(t), topic, payload)
        self.count += 1
        deferred = [k for k, v in payload.items() if isinstance(v, Deferred)]
        for pattern in self._patterns_for(topic):
            for cb, raw in self._subs.get(pattern, ()):
                if deferred and not raw:
                    for k in deferred:
                        payload[k] = payload[k].materialize()
                    deferred = []
                cb(msg)
        return msg

    @staticmethod
    def _patterns_for(topic: str) -> list[str]:
        parts = topic.split("/")
        return [topic, "*"] + ["/".join(parts[:i]) + "/*" for i in range(len(parts) - 1, 0, -1)]


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
        if msg.topic == "camera/frame" and hasattr(dets, "boxes"):  # sensors.camera.detections.Detections
            rest = {k: v for k, v in msg.payload.items() if k != "detections"}
            self.write_frame(msg.t, rest, dets.boxes, dets.cls, dets.conf, dets.names)
            return
        self._out.write(dumps(_record(msg.t, msg.topic, msg.payload)) + "\n")
        self.lines += 1

    def write_frame(self, t: float, payload: dict, boxes, cls, conf, names: tuple[str, ...]) -> None:
        """A ``camera/frame`` message whose detections are given as arrays (``sensors.camera.detections``):
        the line ``write`` would give for the dicts, the detection list formatted by a compiled kernel."""
        from sensors.camera.detections import frame_line

        self._out.write(frame_line(_record(t, "camera/frame", payload), boxes, cls, conf, names) + "\n")
        self.lines += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        return self._out.close()

    def abort(self) -> None:
        """Drop the partial file (a failed run leaves no half file)."""
        self._out.abort()
