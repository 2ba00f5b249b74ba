"""The engine: one scenario + one seed -> one run folder, on a simpy clock.

``run_scenario`` loads and checks the scenario, builds the twin, resolves every place (unknown ones are
reported with their file line, all at once), seeds every subsystem from one master seed, wires the crowd,
the individuals, the sensors, the bus, the recorder and the analytics, then runs:

- the model (crowd + Mesa individuals) as a simpy process ticking every ``dt_s`` at urgent priority, so at any
  instant the world is advanced before anyone measures it;
- each sensor as its own simpy process every ``period_s``, fed a ``WorldView`` of the crowd's and the
  individuals' targets and the sound impulses since its last call; its messages go on the bus;
- camera status (cyber effects + scheduled faults, once a second), scheduled events and response orders
  (also at urgent priority: they take effect before sensors measure at that instant) and the crowd-density
  truth (every 10 s) as further processes.

Seeds: ``numpy.random.SeedSequence(seed).spawn(len(SEED_STREAMS))``, one generator per stream in the fixed
order of ``SEED_STREAMS`` = crowd, individuals (attackers, responders, Mesa's shuffle), sensors (the physical
sensors; placement spawns one child per sensor: cameras, then microphones, then counters), cyber. A new
stream is appended to that tuple, so earlier streams keep their numbers.

Alerts from the analytics pipeline (subscribed to the bus) are published back on ``analytics/alert`` and
written to ``alerts.jsonl``; under ``response.policy: auto`` they also dispatch responders
(``scenarios.response``). Ordered dispatches (``response.dispatch``) go through ``CityModel.dispatch``.

Everything is written into a hidden temporary folder beside the output folder and renamed into place only
when the run finished, so a failed run leaves no half-written files. Files (``RUN_FILES``): ``scenario.yaml``
(resolved), ``ground_truth.jsonl``, ``events.jsonl``, ``crowd_density.csv``, ``crowd_zones.geojson``,
``density_estimates.csv`` (the analytics' sensed people per zone),
``sensors/`` (MOT det/gt and the online tracker's track.txt per camera, ``conn.log``, ``syslog.log``),
``alerts.jsonl``, ``metrics.json``.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import heapq
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import shapely
import simpy
from pyproj import Transformer
from simpy.events import URGENT

from agents.attackers import make_attacker
from agents.crowd import Crowd
from agents.model import CityModel
from agents.responders import create_responders
from agents.world import WorldView
from analytics.crowd import write_density_csv
from analytics.pipeline import AnalyticsPipeline
from analytics.tracking import write_track_files
from scenarios._fields import join
from scenarios.evaluation import write_metrics
from scenarios.response import AutoResponse
from scenarios.schema import CYBER_KINDS, Scenario, ScenarioError, load_scenario
from sensors.cyber import ConnLogWriter, SyslogWriter, build_cyber
from sensors.export import Bus, ExportProcess, MotExporter, Recorder, dumps
from sensors.placement import build_physical_sensors
from twin import load_twin
from twin.places import place_index, resolve_place

__all__ = ["DENSITY_PERIOD_S", "SEED_STREAMS", "RunResult", "run_scenario"]

log = logging.getLogger(__name__)

#: Order in which the master seed is split (``SeedSequence(seed).spawn``); append only.
SEED_STREAMS = ("crowd", "individuals", "sensors", "cyber")
#: Period of ``crowd_density.csv`` rows.
DENSITY_PERIOD_S = 10.0
#: Radius of the density zone around an asset with no polygon (m); synthetic node zones use 5 m.
POINT_ZONE_M = 25.0
#: Ground-truth records are held back this long (simulated s) to be written in time order; times are
#: written to the millisecond (records at the same millisecond keep the order they happened in).
_TRUTH_HOLD_S = 5.0


@dataclass
class RunResult:
    """Where a run's files are, and a few figures about it."""

    out_dir: Path
    files: list[str]
    seed: int
    wall_s: float
    sim_s: float
    stats: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)   # parts of the scenario a shortened run leaves out


# --- optional collaborators ---------------------------------------------------------------------------------
# --- places -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Where:
    node: Any
    xy: tuple[float, float]
    asset: Any = None


class _Places:
    """Resolves PLACE values against the twin, collecting unknown names into the scenario's report."""

    def __init__(self, twin, scenario: Scenario) -> None:
        self.twin = twin
        self.rep = scenario.report()
        self._index = place_index(twin)
        self._resolve = resolve_place
        self._assets = {}
        for a in sorted(twin.assets, key=lambda a: (a.polygon is None, a.id), reverse=True):
            self._assets[a.name.lower()] = a
            self._assets[a.id.lower()] = a
        self._walk_nodes = list(twin.walk.nodes)
        w = twin.walk.nodes
        self._walk_xy = np.array([[w[n]["x"], w[n]["y"]] for n in self._walk_nodes])

    def nearest(self, xy) -> Any:
        d = np.hypot(self._walk_xy[:, 0] - xy[0], self._walk_xy[:, 1] - xy[1])
        return self._walk_nodes[int(np.argmin(d))]

    def get(self, value, path: str) -> _Where | None:
        if isinstance(value, list):
            xy = self.twin.to_xy([value])[0]
            return _Where(self.nearest(xy), (float(xy[0]), float(xy[1])))
        key = str(value).strip().lower()
        asset = self._assets.get(key)
        if key in self._index:
            p = self._index[key]
            return _Where(p.node, (float(p.xy[0]), float(p.xy[1])), asset)
        if self._resolve is not None:
            try:
                p = self._resolve(self.twin, value)
            except ValueError as exc:
                self.rep.error(path, str(exc).splitlines()[0])
                return None
            return _Where(p.node, (float(p.xy[0]), float(p.xy[1])), asset)
        if value in self.twin.walk.nodes:
            d = self.twin.walk.nodes[value]
            return _Where(value, (float(d["x"]), float(d["y"])))
        if asset is not None:
            node = asset.node if asset.node is not None else self.nearest(asset.xy)
            return _Where(node, tuple(asset.xy), asset)
        self.rep.error(path, f"place {value!r}: not found in twin {self.twin.city}")
        return None

    def polygon(self, corners: list, path: str):
        """A lon/lat polygon from the scenario as a shapely polygon in metres."""
        poly = shapely.Polygon(self.twin.to_xy(corners))
        if not poly.is_valid or poly.area <= 0:
            self.rep.error(path, "polygon is not valid (self-intersecting or of zero area)")
            return None
        return poly

    def area(self, spec: dict, where: _Where | None, path: str, *, radius_m: float | None):
        """The polygon an entry names: its ``zone`` (lon/lat corners), else the polygon of the asset it is
        ``at``, else a ``radius_m`` disc round ``where`` (None without a radius or a place)."""
        if spec.get("zone") is not None:
            return self.polygon(spec["zone"], f"{path}.zone")
        if where is None:
            return None
        if where.asset is not None and where.asset.polygon is not None:
            return where.asset.polygon
        return None if radius_m is None else shapely.Point(*where.xy).buffer(radius_m)

    def check(self) -> None:
        if self.rep.problems:
            raise ScenarioError(self.rep.formatted())


# --- truth and density writers ------------------------------------------------------------------------------
class _TruthWriter:
    """Writes ground-truth records in time order (held back ``_TRUTH_HOLD_S``), adding ``lonlat``."""

    def __init__(self, path: Path, crs: str) -> None:
        self.path = path
        self._fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        self._heap: list[tuple[float, int, dict]] = []
        self._seq = 0
        self.lines = 0
        self.kinds: dict[str, int] = {}

    def add(self, records: list[dict]) -> None:
        for r in records:
            heapq.heappush(self._heap, (round(float(r["t"]), 3), self._seq, r))
            self._seq += 1

    def flush(self, until: float) -> None:
        out = []
        while self._heap and self._heap[0][0] <= until:
            out.append(heapq.heappop(self._heap)[2])
        if not out:
            return
        has = [r.get("xy") is not None for r in out]
        xy = np.array([r["xy"] if h else (np.nan, np.nan) for r, h in zip(out, has, strict=True)], float)
        lon, lat = self._tr.transform(xy[:, 0], xy[:, 1])
        # rounded together (numpy: x * 10^k to the nearest integer, / 10^k), then one tolist per array
        ts = np.round(np.array([float(r["t"]) for r in out]), 3).tolist()
        xys = np.round(xy, 3).tolist()
        lls = np.round(np.column_stack([lon, lat]), 7).tolist()
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
        self.flush(float("inf"))
        self._fh.close()


#: Camera frames a run must record before its exports go to a second process (below that, starting the
#: process costs more than it saves).
EXPORT_PROCESS_MIN_FRAMES = 5_000


def exports_mode(frames: float) -> str:
    """``"process"`` or ``"inline"``: where events.jsonl and the MOT files are written. Env ``TWIN_EXPORTS``
    forces either; by default a second process is used on a machine with 2+ CPUs for runs recording at
    least ``EXPORT_PROCESS_MIN_FRAMES`` camera frames. The files are the same either way."""
    forced = os.environ.get("TWIN_EXPORTS", "").strip().lower()
    if forced in ("process", "inline"):
        return forced
    return "process" if (os.cpu_count() or 1) >= 2 and frames >= EXPORT_PROCESS_MIN_FRAMES else "inline"


def _density_zones(twin) -> dict[str, Any]:
    """Asset zones (polygon, else a ``POINT_ZONE_M`` circle); synthetic twins: one per node and per street."""
    zones: dict[str, Any] = {}
    for a in sorted(twin.assets, key=lambda a: a.id):
        zones[a.id] = a.polygon if a.polygon is not None else shapely.Point(*a.xy).buffer(POINT_ZONE_M)
    if not zones and twin.city.startswith("synthetic"):
        g = twin.walk
        for n in sorted(g.nodes, key=str):
            zones[f"node:{n}"] = shapely.Point(g.nodes[n]["x"], g.nodes[n]["y"]).buffer(5.0)
        seen = set()
        for u, v, d in sorted(g.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))):
            key = tuple(sorted((str(u), str(v))))
            if key in seen:
                continue
            seen.add(key)
            ends = [(g.nodes[u]["x"], g.nodes[u]["y"]), (g.nodes[v]["x"], g.nodes[v]["y"])]
            line = shapely.LineString(ends)
            zones[f"edge:{key[0]}-{key[1]}"] = line.buffer(float(d.get("width_m", 2.0)) / 2, cap_style="flat")
    return zones


def _zones_geojson(twin, zones: dict[str, Any]) -> dict:
    feats = []
    for name, poly in zones.items():
        ring = np.asarray(poly.exterior.coords)
        ll = np.round(twin.to_lonlat(ring), 7).tolist()
        feats.append({"type": "Feature", "properties": {"zone": name, "area_m2": round(poly.area, 1)},
                      "geometry": {"type": "Polygon", "coordinates": [ll]}})
    return {"type": "FeatureCollection", "features": feats}


def _merge_truth(model_file: Path, cyber: list[dict], out: Path, locate: Callable[[dict], Any],
                 crs: str) -> int:
    """Stream-merge the time-ordered model truth with the cyber truth into ``out``; returns the line count."""
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    extra = []
    for r in cyber:
        r = dict(r)
        xy = r.get("xy") if r.get("xy") is not None else locate(r)
        if xy is not None:
            lon, lat = tr.transform(float(xy[0]), float(xy[1]))
            r["xy"] = [round(float(xy[0]), 3), round(float(xy[1]), 3)]
            r["lonlat"] = [round(lon, 7), round(lat, 7)]
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


# --- the run ------------------------------------------------------------------------------------------------
def _urgent_timeout(env: simpy.Environment, delay: float) -> simpy.Event:
    """A timeout processed before every normal event at the same instant (the model tick goes first)."""
    ev = simpy.Event(env)
    ev._ok = True
    ev._value = None
    env.schedule(ev, URGENT, delay)
    return ev


def _epoch(start_time: str) -> float:
    return datetime.fromisoformat(str(start_time).replace("Z", "+00:00")).timestamp()


class _Run:
    """One run being built and executed (internal: ``run_scenario`` is the API)."""

    def __init__(self, sc: Scenario, out_tmp: Path, *, quiet: bool, analytics: bool = True) -> None:
        self.sc, self.d, self.tmp, self.quiet = sc, sc.data, out_tmp, quiet
        self.analytics = analytics
        self.missing: list[str] = []
        self.closers: list[Callable[[], Any]] = []
        self.aborters: list[Callable[[], Any]] = []

    # ---- build
    def build(self) -> None:
        d = self.d
        t0 = time.perf_counter()
        self.twin = load_twin(d["city"], bbox=d.get("bbox"))
        self.twin_s = time.perf_counter() - t0
        seqs = np.random.SeedSequence(int(d["seed"])).spawn(len(SEED_STREAMS))
        self.rng = {name: np.random.default_rng(s) for name, s in zip(SEED_STREAMS, seqs, strict=True)}
        places = _Places(self.twin, self.sc)
        self._resolve_all(places)
        places.check()
        self._build_crowd()
        self.model = CityModel(self.twin, rng=self.rng["individuals"], crowd=self.crowd)
        self.responders = create_responders(self.model)
        self.auto = AutoResponse(self.model) if self.d["response"]["policy"] == "auto" else None
        self.attackers = []
        for spec, where, zone in self.physical:
            self.attackers.append(make_attacker(self.model, spec, at_node=where.node, at_xy=where.xy,
                                                zone=zone))
        #: who acts in this run, e.g. {"attacker/bag_leaver": 1, "responder/police": 1, ...} (Mesa groupby)
        self.cast = dict(sorted(self.model.agents.groupby(lambda a: f"{a.role}/{a.kind}").count().items()))
        self._build_io()
        self._build_sensors()

    def _resolve_all(self, places: _Places) -> None:
        d = self.d
        g = places.get
        self.flows = [(f, g(f["from"], f"crowd.flows[{i}].from"), g(f["to"], f"crowd.flows[{i}].to"))
                      for i, f in enumerate(d["crowd"]["flows"])]
        self.gatherings = [(x, g(x["at"], f"crowd.gatherings[{i}].at"))
                           for i, x in enumerate(d["crowd"]["gatherings"])]
        self.physical, self.cyber_specs = [], []
        for i, a in enumerate(d["attacks"]):
            if a["kind"] in CYBER_KINDS:
                self.cyber_specs.append(a)
                continue
            where = g(a["at"], f"attacks[{i}].at")
            # no disc for an attack without a polygon: the attacker picks its own spot near ``at``
            self.physical.append((a, where, places.area(a, where, f"attacks[{i}]", radius_m=None)))
        self.restricted = []
        for i, r in enumerate(d["restricted_zones"]):
            where = None if r.get("zone") is not None else g(r["at"], f"restricted_zones[{i}].at")
            zone = places.area(r, where, f"restricted_zones[{i}]", radius_m=r.get("radius_m"))
            if zone is not None:
                self.restricted.append(zone)
        self.orders = [(o, g(o["to"], f"response.dispatch[{i}].to"))
                       for i, o in enumerate(d["response"]["dispatch"])]
        self.events = []
        for i, e in enumerate(d["events"]):
            p = f"events[{i}]"
            if e["kind"] == "evacuate":
                safe = [g(s, join(p, f"to[{j}]")) for j, s in enumerate(e["to"])]
                self.events.append((e, g(e["zone"], join(p, "zone")), safe))
            elif e["kind"] == "close":
                self.events.append((e, g(e["at"], join(p, "at")), None))
            else:
                self.events.append((e, None, None))
        sens = d["sensors"]
        for i, c in enumerate(sens["cameras"]["list"]):
            if "at" in c:
                g(c["at"], f"sensors.cameras.list[{i}].at")
        if isinstance(sens["acoustic"], list):
            for i, m in enumerate(sens["acoustic"]):
                if "at" in m:
                    g(m["at"], f"sensors.acoustic[{i}].at")
        for i, c in enumerate(sens["counters"]):
            if "at" in c:
                g(c["at"], f"sensors.counters[{i}].at")

    def _build_crowd(self) -> None:
        c = self.d["crowd"]
        self.crowd = Crowd(self.twin, rng=self.rng["crowd"])
        if c["population"] > 0:
            self.crowd.add_population(int(c["population"]), t0=0.0)
        for f, a, b in self.flows:
            self.crowd.add_flow(a.node, b.node, int(f["people"]), depart_s=tuple(f["depart_s"]))
        for x, w in self.gatherings:
            leave = tuple(x["leave_s"]) if x.get("leave_s") is not None else None
            self.crowd.add_gathering(w.node, int(x["people"]), arrive_s=tuple(x["arrive_s"]), leave_s=leave)

    def _build_io(self) -> None:
        self.bus = Bus()
        # events.jsonl (and the MOT files) are written in-process or by a second process: which one is
        # chosen once the cameras are known (``_build_exports``); this subscription keeps the recorder first
        self.recorder: Recorder | ExportProcess | None = None
        self.bus.subscribe("*", lambda msg: self.recorder.write(msg), raw=True)
        self.truth = _TruthWriter(self.tmp / ".ground_truth.model.tmp", self.twin.crs)
        self.aborters.append(lambda: self.truth._fh.close())
        self.zones = _density_zones(self.twin)
        self.density_fh = open(self.tmp / "crowd_density.csv", "w", encoding="utf-8")  # noqa: SIM115
        self.density_fh.write("t,zone,people\n")
        self.aborters.append(self.density_fh.close)
        self.alert_count = 0
        self.pipeline = None
        if not self.analytics:
            return
        # analytics watch the site's declared restricted zones only: they are never told where an attack is
        restricted = [list(map(list, z.exterior.coords)) for z in self.restricted]
        zones = {k: list(map(list, p.exterior.coords)) for k, p in self.zones.items()}
        self.pipeline = AnalyticsPipeline(zones=zones, restricted=restricted, crs=self.twin.crs)
        self.alerts_fh = open(self.tmp / "alerts.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self.aborters.append(self.alerts_fh.close)

        def on_message(msg) -> None:
            if msg.topic == "analytics/alert":
                return
            for alert in self.pipeline.push({"t": msg.t, "topic": msg.topic, **msg.payload}):
                self._alert(msg.t, alert)

        self.bus.subscribe("*", on_message)

    def _alert(self, t: float, alert: dict) -> None:
        self.alerts_fh.write(dumps(alert) + "\n")
        self.alert_count += 1
        self.bus.publish(t, "analytics/alert", alert)
        if self.auto is not None:
            self.auto.on_alert(t, alert)

    def _build_exports(self) -> None:
        """The recorder and MOT exporter: in a second process for camera-heavy runs (``exports_mode``)."""
        cams = [s for s in self.sensors if hasattr(s, "truth_sink")]
        for c in cams:  # frames go on the bus as arrays; the bus makes the dicts for subscribers needing them
            c.defer_detections = True
        frames = sum(float(c.config.fps) for c in cams) * float(self.d["duration_s"])
        self.mot = None
        if exports_mode(frames) == "process":
            self.recorder = ExportProcess(self.tmp, self.tmp / "events.jsonl", with_mot=bool(cams))
            self.aborters.append(self.recorder.abort)
            self.recorder.attach(cams)
            return
        self.recorder = Recorder(self.tmp / "events.jsonl")
        self.aborters.append(self.recorder.abort)
        if cams:
            self.mot = MotExporter(self.tmp)
            self.mot.subscribe(self.bus)
            self.mot.attach(cams)
            self.closers.append(self.mot.close)
            self.aborters.append(self.mot.abort)

    def _build_sensors(self) -> None:
        d, twin = self.d, self.twin
        self.sensors: list = []
        try:
            self.sensors += list(build_physical_sensors(twin, d["sensors"], rng=self.rng["sensors"]))
        except ValueError as exc:
            self._as_scenario_error(exc)
            raise
        self._build_exports()
        self.cyber = None
        T = float(d["duration_s"])
        # the whole list keeps the indices of error messages; other kinds are skipped by build_cyber
        listed = []
        for a in d["attacks"]:
            if a["kind"] in CYBER_KINDS and a["start_s"] >= T:
                self.missing.append(f"attack {a['id']} starts after the end of this (shortened) run")
                listed.append({"kind": "not_in_run"})
            else:
                listed.append(a)
        try:
            self.cyber = build_cyber(twin, listed, rng=self.rng["cyber"], epoch0=_epoch(d["start_time"]),
                                     duration_s=T)
        except ValueError as exc:
            self._as_scenario_error(exc)
            raise
        self.sensors.append(self.cyber)
        conn = ConnLogWriter(self.tmp / "sensors" / "conn.log")
        syslog = SyslogWriter(self.tmp / "sensors" / "syslog.log")
        self.bus.subscribe("net/conn", conn)
        self.bus.subscribe("host/syslog", syslog)
        self.closers += [conn.close, syslog.close]
        self.aborters += [conn.abort, syslog.abort]
        self.cameras = {s.id: s for s in self.sensors if getattr(s, "kind", "") == "camera"}
        self.by_id = {s.id: s for s in self.sensors}
        for i, (e, _, _) in enumerate(self.events):
            if e["kind"] == "sensor_fault" and e["sensor"] not in self.by_id:
                rep = self.sc.report()
                rep.error(f"events[{i}].sensor", f"no sensor {e['sensor']!r} in this run")
                raise ScenarioError(rep.formatted())

    def _as_scenario_error(self, exc: ValueError) -> None:
        """Re-raise a subsystem's ``attacks[i].key: what`` error as a ScenarioError with the file line."""
        m = re.match(r"^((?:attacks|sensors|events)[\w.\[\]]*): (.*)$", str(exc).splitlines()[0])
        if m and getattr(exc, "exit_code", None) == 2:
            rep = self.sc.report()
            rep.error(m.group(1), m.group(2))
            raise ScenarioError(rep.formatted()) from None

    # ---- processes
    def _world(self) -> Any:
        """The targets now, computed once per model tick and shared by every sensor."""
        if self._targets_tick != self.ticks:
            self._targets = self.model.targets()
            self._targets_tick = self.ticks
        return self._targets

    def _model_proc(self, env, dt: float, duration: float, bar):
        n = int(round(duration / dt))
        for k in range(n):
            t = k * dt
            step = min(dt, duration - t)
            yield _urgent_timeout(env, step)
            self.model.advance(t, step)
            self.ticks += 1
            self.truth.add(self.model.drain_truth())
            self.truth.flush(env.now - _TRUTH_HOLD_S)
            if bar is not None:
                bar.update(step)

    def _sensor_proc(self, env, sensor):
        seen, k = 0, 0
        while True:
            imps = self.model.impulses
            world = WorldView(env.now, self._world(), imps[seen:])
            seen = len(imps)
            for topic, payload in sensor.measure(world):
                self.bus.publish(env.now, topic, payload)
            k += 1
            yield env.timeout(k * sensor.period_s - env.now)   # k-th sample exactly at k * period (no drift)

    def _status_proc(self, env):
        while True:
            cyber = self.cyber.camera_status(env.now) if self.cyber is not None else {}
            for cid, cam in self.cameras.items():
                hit = cyber.get(cid)
                want = hit if hit not in (None, "ok") else self.scheduled.get(cid, "ok")
                if cam.status != want:
                    cam.set_status(want)
            yield _urgent_timeout(env, 1.0)

    def _density_proc(self, env):
        while True:
            counts = self.crowd.counts_in(self.zones)
            t = f"{env.now:.1f}"
            self.density_fh.write("".join(f"{t},{z},{n}\n" for z, n in counts.items()))
            yield env.timeout(DENSITY_PERIOD_S)

    def _at(self, env, at_s: float, fn: Callable[[float], None]):
        """Call ``fn(t)`` at ``at_s``, before any sensor measures at that instant."""
        yield _urgent_timeout(env, at_s)
        fn(env.now)

    def _schedule(self, env) -> None:
        for i, (e, where, safe) in enumerate(self.events):
            eid = f"events[{i}]"
            if e["kind"] == "sensor_fault":
                def fault(t, e=e):
                    s = self.by_id.get(e["sensor"])
                    if s is None:
                        return
                    self.scheduled[e["sensor"]] = e["status"]
                    s.set_status(e["status"])
                    self.model.record("sensor_fault", e["sensor"], getattr(s, "xy", None), t,
                                      sensor=e["sensor"], status=e["status"])
                env.process(self._at(env, e["at_s"], fault))
            elif e["kind"] == "evacuate":
                def evac(t, e=e, where=where, safe=safe, eid=eid):
                    zone = shapely.Point(*where.xy).buffer(e["radius_m"])
                    nodes = [s.node for s in safe] or self._ring_nodes(where.xy, e["radius_m"])
                    n = self.crowd.evacuate(zone, nodes, t=t)
                    self.model.record("evacuate_order", eid, where.xy, t, radius_m=e["radius_m"], people=n)
                env.process(self._at(env, e["at_s"], evac))
            elif e["kind"] == "close":
                edges = self._edges_near(where.xy, e["radius_m"])

                def close(t, e=e, where=where, edges=edges, eid=eid):
                    self.crowd.close_edges(edges)
                    self.model.record("closure", eid, where.xy, t, radius_m=e["radius_m"], edges=len(edges))

                env.process(self._at(env, e["at_s"], close))
                if e.get("until_s") is not None:
                    def reopen(t, where=where, edges=edges, eid=eid):
                        self.crowd.reopen_edges(edges)
                        self.model.record("reopened", eid, where.xy, t, edges=len(edges))
                    env.process(self._at(env, e["until_s"], reopen))
        for o, where in self.orders:
            env.process(self._at(env, o["at_s"], lambda t, o=o, w=where: self.model.dispatch(
                o["unit"], w.xy, t, reason="scenario order")))

    def _edges_near(self, xy, radius_m: float) -> list:
        g = self.twin.walk
        out = []
        for u, v, k in g.edges(keys=True):
            a = (g.nodes[u]["x"], g.nodes[u]["y"])
            b = (g.nodes[v]["x"], g.nodes[v]["y"])
            if shapely.LineString([a, b]).distance(shapely.Point(*xy)) <= radius_m:
                out.append((u, v, k))
        return out

    def _ring_nodes(self, xy, radius_m: float) -> list:
        g = self.twin.walk
        nodes = [n for n in g.nodes if radius_m < np.hypot(g.nodes[n]["x"] - xy[0], g.nodes[n]["y"] - xy[1])
                 <= 2.5 * radius_m]
        return sorted(nodes, key=str) or [max(g.nodes, key=lambda n: np.hypot(g.nodes[n]["x"] - xy[0],
                                                                               g.nodes[n]["y"] - xy[1]))]

    def run(self) -> dict:
        d = self.d
        env = simpy.Environment()
        self.ticks, self._targets_tick, self._targets = 0, -1, None
        self.scheduled: dict[str, str] = {}
        duration, dt = float(d["duration_s"]), float(d["dt_s"])
        bar = None
        if not self.quiet and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=duration, unit="sim s", desc=d["name"], delay=2.0, file=sys.stderr,
                       bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} sim s [{elapsed}<{remaining}]")
        env.process(self._model_proc(env, dt, duration, bar))
        for s in self.sensors:
            env.process(self._sensor_proc(env, s))
        if self.cameras:
            env.process(self._status_proc(env))
        env.process(self._density_proc(env))
        self._schedule(env)
        t0 = time.perf_counter()
        try:
            env.run(until=duration + 1e-9)
        finally:
            if bar is not None:
                bar.close()
        wall = time.perf_counter() - t0
        if self.pipeline is not None:
            for alert in self.pipeline.flush():
                self._alert(env.now, alert)
        return {"wall_run_s": round(wall, 3), "ticks": self.ticks, "bus_messages": self.bus.count}

    def finish(self) -> dict:
        """Close every stream, merge the cyber truth, write the resolved scenario; returns counts."""
        self.truth.close()
        self.density_fh.close()
        if self.pipeline is not None:
            self.alerts_fh.close()
            # the pipeline's own crowd estimates per zone, scored against crowd_density.csv
            write_density_csv(self.tmp / "density_estimates.csv", self.pipeline.density.history)
            # the online tracker's output per camera, so scoring need not track det.txt again
            write_track_files(self.pipeline.tracks, self.tmp)
        self.recorder.close()
        for c in self.closers:
            c()
        cyber = list(self.cyber.truth_events()) if self.cyber is not None else []
        n = _merge_truth(self.tmp / ".ground_truth.model.tmp", cyber, self.tmp / "ground_truth.jsonl",
                         self._locate, self.twin.crs)
        (self.tmp / "crowd_zones.geojson").write_text(dumps(_zones_geojson(self.twin, self.zones)) + "\n")
        (self.tmp / "scenario.yaml").write_text(self.sc.to_yaml(), encoding="utf-8")
        kinds = dict(self.truth.kinds)
        for r in cyber:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        return {"truth_lines": n, "truth_kinds": dict(sorted(kinds.items())),
                "events_lines": self.recorder.lines,
                "alerts": self.alert_count, "sensors": len(self.sensors), "cameras": len(self.cameras),
                "individuals": self.cast,
                "people": len(self.crowd)}

    def _locate(self, rec: dict):
        """Where a cyber truth record happened: the position of its target node if the network knows it."""
        net = self.twin.network
        for key in ("dst", "target", "node", "camera_id"):
            v = rec.get(key)
            if v is None:
                continue
            if v in net.nodes and net.nodes[v].get("xy") is not None:
                return net.nodes[v]["xy"]
            for _, nd in net.nodes(data=True):
                if nd.get("ip") == v and nd.get("xy") is not None:
                    return nd["xy"]
        return None

    def abort(self) -> None:
        for a in self.aborters:
            # cleaning up after a failure: the original error is the one raised
            with contextlib.suppress(Exception):
                a()


def run_scenario(scenario: str | os.PathLike | Scenario, *, seed: int | None = None,
                 out: str | os.PathLike | None = None, duration_s: float | None = None, quiet: bool = False,
                 runs_dir: str | os.PathLike = "runs", analytics: bool = True,
                 metrics: bool = True) -> RunResult:
    """Run one scenario and write its folder (see the module docstring).

    Parameters
    ----------
    scenario : path or Scenario
        The scenario file (checked with ``scenarios.schema.load_scenario``) or an already loaded one.
    seed : int, optional
        Overrides the scenario's ``seed``.
    out : path, optional
        Output folder; default ``<runs_dir>/<name>-<seed>``. An existing folder is replaced when the run ends.
    duration_s : float, optional
        Overrides ``duration_s`` (e.g. a short smoke run).
    quiet : bool
        No progress bar.
    analytics, metrics : bool
        Run the analytics pipeline (``alerts.jsonl``) and score the run (``metrics.json``); benchmarks and
        sweeps of the simulation alone turn them off.

    Raises
    ------
    ScenarioError
        Any problem with the scenario (all listed), including places the twin does not know.
    TwinError, and other ``exit_code = 2`` errors of the subsystems, for bad inputs they detect.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sc = Scenario(data=copy.deepcopy(sc.data), path=sc.path, lines=dict(sc.lines))  # overrides stay local
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ScenarioError([f"--seed: must be a whole number >= 0, got {seed!r}"])
        sc.data["seed"] = seed
    if duration_s is not None:
        if not (isinstance(duration_s, int | float) and duration_s > sc.data["dt_s"]):
            raise ScenarioError([f"--duration: must be a number of seconds > dt_s ({sc.data['dt_s']}), "
                                 f"got {duration_s!r}"])
        sc.data["duration_s"] = float(duration_s)
    d = sc.data
    final = Path(out) if out is not None else Path(runs_dir) / f"{d['name']}-{d['seed']}"
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.tmp-*"):  # left by a run that was killed
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and (int(pid) == os.getpid() or not psutil.pid_exists(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    tmp.mkdir()
    run = _Run(sc, tmp, quiet=quiet, analytics=analytics)
    t_start = time.perf_counter()
    try:
        run.build()
        t_built = time.perf_counter()
        # The twin, the agents and the sensors are built and stay: freezing them out of the collector spares
        # every collection during the run a walk over millions of long-lived objects (a burst of small records
        # otherwise triggers full passes costing tens of ms each).
        gc.freeze()
        try:
            stats = run.run()
            t_ran = time.perf_counter()
            stats.update(run.finish())
        finally:
            gc.unfreeze()
        stats["build_s"] = round(t_built - t_start, 3)
        stats["finish_s"] = round(time.perf_counter() - t_ran, 3)
    except BaseException:
        run.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    stats["twin_s"] = round(run.twin_s, 3)
    if metrics:
        t_m = time.perf_counter()
        try:
            write_metrics(tmp)
            stats["metrics_s"] = round(time.perf_counter() - t_m, 3)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    files = sorted(str(p.relative_to(final)) for p in final.rglob("*") if p.is_file())
    return RunResult(out_dir=final, files=files, seed=int(d["seed"]), wall_s=time.perf_counter() - t_start,
                     sim_s=float(d["duration_s"]), stats=stats, missing=run.missing)
