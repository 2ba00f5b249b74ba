"""Ground truth on disk: the model's records in time order, then merged with the cyber range's records.

Every record gets ``xy`` rounded to the millimetre and ``lonlat`` to 1e-7 degree (about a centimetre) by one
helper (``positions``), and ``t`` rounded to the millisecond. Records are held back ``TRUTH_HOLD_S`` simulated
seconds before they are written, so records stamped a little in the past (an attacker's phase that began
inside a tick) still land in time order; records at the same millisecond keep the order they happened in.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer

from sensors.export.bus import dumps

__all__ = ["TRUTH_HOLD_S", "TruthWriter", "merge_truth", "positions"]

#: Simulated seconds a ground-truth record is held back before it is written.
TRUTH_HOLD_S = 5.0


def positions(tr: Transformer, xy: np.ndarray) -> tuple[list, list]:
    """``xy`` (n, 2) metres rounded to 1 mm and their lon/lat rounded to 1e-7 degree, as lists of pairs.

    >>> tr = Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    >>> positions(tr, np.array([[385000.12345, 6672000.0]]))
    ([[385000.123, 6672000.0]], [[24.9274599, 60.168666]])
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    lon, lat = tr.transform(xy[:, 0], xy[:, 1])
    return np.round(xy, 3).tolist(), np.round(np.column_stack([lon, lat]), 7).tolist()


class TruthWriter:
    """Writes ground-truth records in time order (held back ``TRUTH_HOLD_S``), adding ``lonlat``."""

    def __init__(self, path: Path, crs: str) -> None:
        self.path = path
        self._fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close() or abort()
        self._tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        self._heap: list[tuple[float, int, dict]] = []
        self._seq = 0
        self.lines = 0
        self.kinds: dict[str, int] = {}

    def add(self, records: list[dict]) -> None:
        """Queue records (each with ``t``, ``kind`` and ``xy`` or None)."""
        for r in records:
            heapq.heappush(self._heap, (round(float(r["t"]), 3), self._seq, r))
            self._seq += 1

    def flush(self, until: float) -> None:
        """Write every queued record stamped at or before ``until``."""
        out = []
        while self._heap and self._heap[0][0] <= until:
            out.append(heapq.heappop(self._heap)[2])
        if not out:
            return
        has = [r.get("xy") is not None for r in out]
        xy = np.array([r["xy"] if h else (np.nan, np.nan) for r, h in zip(out, has, strict=True)], float)
        xys, lls = positions(self._tr, xy)
        ts = np.round(np.array([float(r["t"]) for r in out]), 3).tolist()
        lines = []
        for r, h, t, p, ll in zip(out, has, ts, xys, lls, strict=True):
            r = dict(r)
            r["t"] = t
            r["xy"], r["lonlat"] = (p, ll) if h else (None, None)
            self.kinds[r["kind"]] = self.kinds.get(r["kind"], 0) + 1
            lines.append(dumps(r))
        self._fh.write("\n".join(lines) + "\n")
        self.lines += len(lines)

    def close(self) -> None:
        """Write what is left and close the file."""
        self.flush(float("inf"))
        self._fh.close()

    def abort(self) -> None:
        """Close the file without writing what is queued (the run failed; its folder is dropped)."""
        self._fh.close()


def merge_truth(model_file: Path, cyber: list[dict], out: Path, locate: Callable[[dict], Any],
                crs: str) -> int:
    """Stream-merge the time-ordered model truth with the cyber truth into ``out`` (then delete
    ``model_file``); a cyber record without ``xy`` is placed where ``locate`` says. Returns the line count."""
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    extra = []
    for r in cyber:
        r = dict(r)
        xy = r.get("xy") if r.get("xy") is not None else locate(r)
        if xy is not None:
            (r["xy"],), (r["lonlat"],) = positions(tr, np.array([xy], float))
        else:
            r["xy"], r["lonlat"] = None, None
        r["t"] = round(float(r["t"]), 3)
        extra.append((r["t"], dumps(r)))
    extra.sort(key=lambda x: x[0])

    def model_lines() -> Iterator[tuple[float, str]]:
        with open(model_file, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)["t"], line.rstrip("\n")

    n = 0
    with open(out, "w", encoding="utf-8") as fh:
        for _, line in heapq.merge(model_lines(), iter(extra), key=lambda x: x[0]):
            fh.write(line + "\n")
            n += 1
    model_file.unlink()
    return n
