"""What ``run_sim.py replay`` reads of a run folder: positions, camera views and health, alerts, incidents,
and the twin's streets and buildings as the backdrop.

Everything comes from the recorded files, nothing is simulated again: ``positions.parquet``
(``scenarios.replay_positions``), the ``camera/calibration`` and ``camera/health`` messages of
``events.jsonl`` (or ``events.jsonl.gz``; a camera's ground view is ``analytics.camera_views.view_polygon``
of its calibration), ``alerts.jsonl``, ``incidents.jsonl`` (every state change of every incident),
``network.json`` (where each camera address is) and ``scenario.yaml`` (the run's length, its start time, and
the city and bbox of the twin drawn beneath).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import yaml

from analytics.camera_views import view_polygon
from scenarios.replay_positions import POSITIONS_FILE, Positions, read_positions

__all__ = ["Backdrop", "CameraTrack", "ReplayError", "RunRecord", "load_backdrop", "load_run"]


class ReplayError(ValueError):
    """A run folder that cannot be replayed, or bad replay options (one line; exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class CameraTrack:
    """One camera over the run: its calibrations' views and its stream's up/down changes."""

    id: str
    calib_t: np.ndarray                       # float (C,), when each calibration was published
    views: list[np.ndarray | None]            # each calibration's ground polygon (K, 2), or None
    xy: list[tuple[float, float] | None]      # each calibration's camera position
    health_t: np.ndarray                      # float (H,), health message times
    health_up: np.ndarray                     # bool (H,), stream up at that message

    def at(self, t: float) -> tuple[np.ndarray | None, tuple[float, float] | None, bool]:
        """The view, the position and whether the stream is up at ``t`` (up until a message says)."""
        k = int(np.searchsorted(self.calib_t, t, side="right")) - 1
        h = int(np.searchsorted(self.health_t, t, side="right")) - 1
        up = True if h < 0 else bool(self.health_up[h])
        return (None, None, up) if k < 0 else (self.views[k], self.xy[k], up)


@dataclass(frozen=True)
class RunRecord:
    """A run folder's recorded files, as the replay draws them."""

    path: Path
    duration_s: float
    start_time: str | None
    t_from: float                              # the window shown, clipped to [0, duration_s]
    t_to: float
    positions: Positions
    cameras: list[CameraTrack]
    alerts: list[dict]
    incidents: list[dict]                      # every state change, in file order (t_updated ascending)
    camera_hosts: dict[str, tuple[float, float]] = field(default_factory=dict)   # camera IP or id -> xy
    scenario: dict = field(default_factory=dict)


def _jsonl(path: Path) -> Iterator[dict]:
    if not path.exists():
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ReplayError(f"{path}:{n}: not JSON ({exc.msg})") from None


def _camera_messages(run: Path) -> Iterator[dict]:
    """The calibration and health messages of events.jsonl (other lines are skipped unparsed)."""
    for name in ("events.jsonl", "events.jsonl.gz"):
        path = run / name
        if not path.exists():
            continue
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if '"camera/calibration"' in line or '"camera/health"' in line:
                    yield json.loads(line)
        return


def _cameras(run: Path) -> list[CameraTrack]:
    calib: dict[str, list[tuple[float, Any, Any]]] = {}
    health: dict[str, list[tuple[float, bool]]] = {}
    for m in _camera_messages(run):
        cid = str(m.get("camera_id"))
        if m.get("topic") == "camera/calibration":
            view = view_polygon(m)
            xy = m.get("xy")
            calib.setdefault(cid, []).append((float(m.get("t", 0.0)),
                                              None if view is None else np.asarray(view, float),
                                              None if xy is None else (float(xy[0]), float(xy[1]))))
        else:
            health.setdefault(cid, []).append((float(m.get("t", 0.0)), m.get("stream", "up") == "up"))
    out = []
    for cid in sorted(set(calib) | set(health)):
        c, h = calib.get(cid, []), health.get(cid, [])
        out.append(CameraTrack(cid, np.array([x[0] for x in c], float), [x[1] for x in c], [x[2] for x in c],
                               np.array([x[0] for x in h], float), np.array([x[1] for x in h], bool)))
    return out


def load_run(run_dir: str | Path, *, t_from: float | None = None, t_to: float | None = None) -> RunRecord:
    """Read a run folder for replay: the window ``t_from``..``t_to`` (default the whole run) clipped to the
    run's ``[0, duration_s]``, and the positions in it.

    Raises
    ------
    ReplayError
        No such folder, no ``positions.parquet`` in it, or an empty window.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise ReplayError(f"RUN_DIR: no such folder {str(run)!r}")
    pos = run / POSITIONS_FILE
    if not pos.exists():
        raise ReplayError(f"{run}: no {POSITIONS_FILE} (rerun with outputs.positions_every_s > 0)")
    sc: dict = {}
    if (run / "scenario.yaml").exists():
        sc = yaml.safe_load((run / "scenario.yaml").read_text(encoding="utf-8")) or {}
    duration = sc.get("duration_s")
    if duration is None:
        t_max = pq.ParquetFile(pos).metadata
        duration = max((t_max.row_group(i).column(0).statistics.max for i in range(t_max.num_row_groups)),
                       default=0.0)
    a, b = _window(float(duration), t_from, t_to)
    return RunRecord(path=run, duration_s=float(duration), start_time=sc.get("start_time"), t_from=a, t_to=b,
                     positions=read_positions(pos, t_from=a, t_to=b), cameras=_cameras(run),
                     alerts=list(_jsonl(run / "alerts.jsonl")),
                     incidents=list(_jsonl(run / "incidents.jsonl")), scenario=sc,
                     camera_hosts=_camera_hosts(run / "network.json"))


def _camera_hosts(path: Path) -> dict[str, tuple[float, float]]:
    """Each camera's address and id in the run's network plan -> its position (where a stream loss that
    names only an address is drawn)."""
    if not path.exists():
        return {}
    try:
        nodes = json.loads(path.read_text(encoding="utf-8")).get("nodes", [])
    except (json.JSONDecodeError, AttributeError):
        return {}
    out = {}
    for n in nodes:
        if n.get("kind") == "camera" and n.get("xy") is not None:
            for key in (n.get("ip"), n.get("camera_id"), n.get("id")):
                if key is not None:
                    out[str(key)] = (float(n["xy"][0]), float(n["xy"][1]))
    return out


def _window(duration: float, t_from: float | None, t_to: float | None) -> tuple[float, float]:
    a = 0.0 if t_from is None else min(max(float(t_from), 0.0), duration)
    b = duration if t_to is None else min(max(float(t_to), 0.0), duration)
    if not a < b:
        raise ReplayError(f"--from/--to: the window [{a:g}, {b:g}] s within the run's [0, {duration:g}] s "
                          "is empty")
    return a, b


@dataclass(frozen=True)
class Backdrop:
    """The twin's streets (segments (S, 2, 2)) and building footprints (rings), in metres."""

    streets: np.ndarray
    buildings: list[np.ndarray]


def load_backdrop(scenario: dict) -> Backdrop:
    """The twin of the run's ``city`` and ``bbox`` (the project's cached loader) as lines and polygons.

    Raises whatever the loader raises (the caller skips the backdrop then)."""
    from twin import load_twin
    from twin.graphs import edge_polylines

    twin = load_twin(scenario["city"], bbox=scenario.get("bbox"))
    segs: list[np.ndarray] = []
    for g in (twin.walk, twin.drive):
        if g is not None:
            segs.extend(seg for c in edge_polylines(g) for seg in np.stack([c[:-1], c[1:]], axis=1))
    rings = []
    polys = getattr(getattr(twin, "buildings", None), "polygons", None)
    for p in (polys if polys is not None else []):
        for part in getattr(p, "geoms", [p]):
            rings.append(np.asarray(part.exterior.coords, float)[:, :2])
    return Backdrop(np.array(segs, float).reshape(-1, 2, 2), rings)
