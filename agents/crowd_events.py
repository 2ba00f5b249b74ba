"""The crowd's ground-truth events: one dict per person, ``{"t", "kind", "id", "xy"}`` plus extras.

``t`` is rounded to the millisecond and ``xy`` (metres) to the centimetre; a step from ``t`` to ``t + dt``
stamps its events ``t + dt`` (the state they describe).
"""

from __future__ import annotations

import numpy as np

from agents.crowd_streets import Streets
from agents.people import GROUPS, People

__all__ = ["spawned_events", "truth_events"]


def truth_events(t: float, kind: str, rows: np.ndarray, xy: np.ndarray, **extra) -> list[dict]:
    """One ``kind`` event at ``t`` per row, at ``xy`` (k, 2).

    Each extra is a value for all, or a list or array with one value per row.
    """
    if len(rows) == 0:
        return []
    xy = np.round(xy, 2).tolist()
    t = round(float(t), 3)
    out = [{"t": t, "kind": kind, "id": r, "xy": p} for r, p in zip(rows.tolist(), xy, strict=True)]
    for key, v in extra.items():
        vals = v.tolist() if isinstance(v, np.ndarray) else v if isinstance(v, list) else [v] * len(out)
        for ev, x in zip(out, vals, strict=True):
            ev[key] = x
    return out


def spawned_events(t: float, rows: np.ndarray, people: People, streets: Streets) -> list[dict]:
    """``spawned`` events of ``rows`` where they are now, with their ``group`` name."""
    if len(rows) == 0:
        return []
    group = [GROUPS[g] for g in people.group[rows]]
    return truth_events(t, "spawned", rows, streets.positions(people, rows), group=group)
