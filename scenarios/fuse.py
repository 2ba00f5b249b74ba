"""``run_sim.py fuse ALERTS.jsonl --city CITY``: the incident stage on a recorded or real alert feed.

The feed is an alert file (one alert JSON object a line, the fields of ``alerts.jsonl`` in the README), or a
run's ``events.jsonl``: its ``analytics/alert`` lines are the alerts, and its camera calibrations, area
counters and response units' ``unit/status`` are read too, in bus order, as the live run's stage read them.

The site comes from the city's twin (``scenarios.site``): assets, dependencies, network plan, walk and drive
graphs, crowd zones. ``--bbox`` cuts the city as the run's ``bbox`` did; ``--network`` replaces the twin's
network plan with the one a run used (its ``network.json``: the twin's plus the cameras the scenario added).
The response units are the twin's police, fire and hospital stations, all available, until the feed's
``unit/status`` says otherwise. ``--density`` gives the sensed people per zone (``density_estimates.csv``),
fed to the stage up to each alert's time as the live run does.

Every line is checked before anything is fused: a malformed one gives one line naming the file, the line and
the field, exit 2, and no output folder. Outputs go to a temporary folder renamed into ``--out`` at the end:
``incidents.jsonl``, ``actions.jsonl``, ``alerts/*.xml``, ``cop.geojson``, ``cop.jsonl``,
``resilience.csv``, ``fusion.json``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from analytics.files import open_text
from analytics.fusion_alerts import FusionInputError
from analytics.incident_stage import IncidentStage, Site
from scenarios.incidents import FUSION_FILE
from scenarios.site import read_network, site_of

__all__ = ["FuseInputError", "fuse_feed", "read_feed"]

_ALERT_FIELDS = ("t", "kind", "conf", "source")


class FuseInputError(ValueError):
    """A feed line or file that cannot be fused (one line: file, line, field, what is wrong)."""

    exit_code = 2


def _check_alert(rec: Any, where: str) -> dict:
    if not isinstance(rec, dict):
        raise FuseInputError(f"{where}: not a JSON object")
    for f in _ALERT_FIELDS:
        if f not in rec:
            raise FuseInputError(f"{where}: field {f!r} is missing")
    for f in ("t", "conf"):
        v = rec[f]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise FuseInputError(f"{where}: field {f!r} must be a finite number, got {v!r}")
    if not isinstance(rec["kind"], str) or not rec["kind"]:
        raise FuseInputError(f"{where}: field 'kind' must be a non-empty string")
    if not isinstance(rec["source"], list):
        raise FuseInputError(f"{where}: field 'source' must be a list")
    xy = rec.get("xy")
    if xy is not None and (not isinstance(xy, list) or len(xy) != 2
                           or not all(isinstance(v, int | float) and math.isfinite(v) for v in xy)):
        raise FuseInputError(f"{where}: field 'xy' must be null or [x, y] finite metres, got {xy!r}")
    return rec


def read_feed(path: str | os.PathLike) -> list[dict]:
    """The feed's messages in order: ``{"topic": "analytics/alert", ...alert}`` for each alert, and the
    calibrations and area counters of an events file. Raises ``FuseInputError`` on the first bad line."""
    p = Path(path)
    if not p.is_file():
        raise FuseInputError(f"{p}: no such file")
    out: list[dict] = []
    try:
        with open_text(p) as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    raise FuseInputError(f"{p}: line {n}: not JSON ({exc.msg})") from None
                if not isinstance(rec, dict):
                    raise FuseInputError(f"{p}: line {n}: not a JSON object")
                topic = rec.get("topic")
                if topic is None:          # an alerts file
                    out.append({"topic": "analytics/alert", **_check_alert(rec, f"{p}: line {n}")})
                elif topic == "analytics/alert":
                    body = {k: v for k, v in rec.items() if k != "topic"}
                    out.append({"topic": topic, **_check_alert(body, f"{p}: line {n}")})
                elif topic in ("camera/calibration", "counter/area", "unit/status"):
                    out.append(rec)
    except (OSError, UnicodeDecodeError) as exc:
        raise FuseInputError(f"{p}: cannot read ({exc})") from None
    return out


def _density(path: str | os.PathLike | None) -> list[tuple[float, str, float]]:
    if path is None:
        return []
    p = Path(path)
    rows = []
    try:
        with open_text(p) as fh:
            head = fh.readline().strip()
            if head != "t,zone,people":
                raise FuseInputError(f"{p}: line 1: header must be 't,zone,people', got {head!r}")
            for n, line in enumerate(fh, 2):
                parts = line.strip().split(",")
                if len(parts) != 3:
                    raise FuseInputError(f"{p}: line {n}: expected 3 fields t,zone,people")
                try:
                    rows.append((float(parts[0]), parts[1], float(parts[2])))
                except ValueError:
                    raise FuseInputError(f"{p}: line {n}: t and people must be numbers") from None
    except OSError as exc:
        raise FuseInputError(f"{p}: cannot read ({exc})") from None
    return rows


def _site(twin, network=None) -> Site:
    from twin.zones import density_zones  # the run's zones (analytics gets them as plain rings)

    return site_of(twin, density_zones(twin), network=network, units=_station_units(twin))


def _station_units(twin) -> list[dict]:
    """One available unit per police station, fire station and hospital of the twin, at the drive node
    nearest it (what a dispatch board would list with every unit at base)."""
    from agents.responders import STATION_TYPES
    from twin.nearest import node_index

    kinds = {atype: kind for kind, atype in STATION_TYPES.items()}   # the run's stations, by asset type
    stations = sorted((a for a in twin.assets if a.type in kinds), key=lambda a: a.id)
    if not stations or twin.drive is None or len(twin.drive) == 0:
        return []
    idx = node_index(twin.drive)
    return [{"id": f"{kinds[a.type]}-{a.id}", "kind": kinds[a.type], "node": idx.nearest(a.xy),
             "available": True, "xy": [float(a.xy[0]), float(a.xy[1])], "station": a.id} for a in stations]


def fuse_feed(feed: str | os.PathLike, *, city: str, out: str | os.PathLike, density: str | None = None,
              network: str | None = None, bbox: list[float] | None = None,
              start_time: str = "2026-06-01T14:00:00+00:00", exercise: bool = False) -> dict[str, Any]:
    """Fuse a feed into incidents, actions, CAP and the picture in ``out`` (module docstring); the
    stage's figures."""
    from twin import load_twin

    msgs = read_feed(feed)
    rows = sorted(_density(density), key=lambda r: r[0])
    try:
        epoch = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    except ValueError:
        raise FuseInputError(f"--start-time: not an ISO 8601 time: {start_time!r}") from None
    if epoch.tzinfo is None:
        raise FuseInputError(f"--start-time: needs an offset (e.g. +03:00): {start_time!r}")
    plan = read_network(network) if network is not None else None
    twin = load_twin(city, bbox=bbox)
    final = Path(out)
    tmp = final.parent / f".{final.name}.fuse-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        stage = IncidentStage(_site(twin, plan), tmp, epoch=epoch, exercise=exercise, strict=True)
        k, t = 0, 0.0
        for m in msgs:
            t = max(t, float(m["t"]))
            if m["topic"] != "analytics/alert":
                stage.observe(m)
                continue
            j = k
            while j < len(rows) and rows[j][0] <= t:
                j += 1
            stage.density(rows[k:j])
            k = j
            alert = {f: v for f, v in m.items() if f != "topic"}
            try:
                stage.push(alert, t)
            except FusionInputError as exc:
                raise FuseInputError(f"{feed}: alert at t={alert['t']}: {exc}") from None
        figures = stage.close(t)
        (tmp / FUSION_FILE).write_text(json.dumps(figures, allow_nan=False) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return figures
