"""In-process publish/subscribe by topic, stamped with simulation time, delivered in time order.

Every message goes to the subscribers of its topic, of a prefix pattern (``camera/*``) and of ``*``; the
``Recorder`` (``sensors.export.recorder``) is the subscriber that writes them all to ``events.jsonl``.
``dumps`` is the canonical JSON every writer of the run uses.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sensors.base import Deferred

__all__ = ["Bus", "BusError", "Message", "dumps"]


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
