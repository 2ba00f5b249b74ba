"""The engine: one scenario + one seed -> one run folder, on a simpy clock.

``run_scenario`` loads and checks the scenario, builds the twin, resolves every place and builds every sensor
and the cyber range against it (whatever the twin cannot satisfy is reported with its file line, all at
once), seeds every subsystem from one master seed, wires the crowd, the individuals, the sensors, the bus,
the exports and the analytics, then runs the clock (``scenarios.run_loop``).

Seeds: ``numpy.random.SeedSequence(seed).spawn(len(SEED_STREAMS))``, one generator per stream in the fixed
order of ``SEED_STREAMS`` = crowd, individuals (attackers, responders, Mesa's shuffle), sensors (the physical
sensors: one child per sensor, kind by kind), cyber, world (the look-alikes: one child per registered kind,
in registry order, used or not). A new stream is appended to that tuple, so earlier streams keep their
numbers.

Alerts from the analytics pipeline (``scenarios.alerting``) are published back on ``analytics/alert`` and
written to ``alerts.jsonl``; the incident stage (``scenarios.incidents``) fuses them into incidents with risk,
recommended actions, CAP messages and the operational picture, and under ``response.policy: auto`` applies
the actions after ``decision_delay_s``. Scheduled events and ordered dispatches are ``scenarios.scheduled``.

Everything is written into a hidden temporary folder beside the output folder and renamed into place only
when the run finished, so a failed run leaves no half-written files. Files (``RUN_FILES``): ``scenario.yaml``
(resolved), ``ground_truth.jsonl``, ``events.jsonl``, ``crowd_density.csv``, ``crowd_zones.geojson``,
``density_estimates.csv`` (the analytics' sensed people per zone), ``sensors/`` (the camera frames,
detections, ground truth and tracker output as Parquet tables in ``frames/`` and/or MOT det/gt/track text per
camera, as the scenario's ``outputs:`` says; ``conn.log``, ``syslog.log``), ``alerts.jsonl``,
``analytics.json`` (the pipeline's errors per detector), ``incidents.jsonl``, ``actions.jsonl``,
``alerts/*.xml`` (CAP), ``cop.geojson``, ``cop.jsonl``, ``resilience.csv``, ``incidents_truth.jsonl`` (for
scoring), ``metrics.json``, ``criteria.json`` (the scenario's criteria evaluated, ``scenarios.criteria``),
``positions.parquet`` (where everyone is, every ``outputs.positions_every_s``), ``report.html``
(``scenarios.report``, written last, with the scores).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import gc
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import shapely

from agents.attackers import ATTACKER_KINDS, make_attacker
from agents.crowd import Crowd
from agents.lookalikes import LOOKALIKE_KINDS
from agents.model import CityModel
from agents.responders import create_responders
from analytics.params import AnalyticsParams
from scenarios.alerting import AlertStream
from scenarios.criteria import evaluate, write_criteria
from scenarios.detection import RADIUS_M
from scenarios.evaluation import write_metrics
from scenarios.incidents import FUSION_FILE, IncidentRun
from scenarios.replay_positions import POSITIONS_FILE, PositionsWriter
from scenarios.report import write_report
from scenarios.report_map import streets_lonlat
from scenarios.resolved import resolve
from scenarios.run_loop import DENSITY_PERIOD_S, RunLoop
from scenarios.scheduled import schedule_events
from scenarios.schema import Scenario, ScenarioError, load_scenario
from scenarios.truth import TruthWriter, merge_truth
from sensors.cyber import CyberRange, build_cyber
from sensors.export.bus import Bus, dumps
from sensors.export.setup import RunExports
from sensors.kinds import SENSOR_KINDS
from sensors.physical import build_physical_sensors
from twin import load_twin
from twin.places import places_of
from twin.roads import carriageways
from twin.zones import density_zones, zones_geojson

__all__ = ["DENSITY_PERIOD_S", "SEED_STREAMS", "RunResult", "run_scenario"]

#: Order in which the master seed is split (``SeedSequence(seed).spawn``); append only.
SEED_STREAMS = ("crowd", "individuals", "sensors", "cyber", "world")


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


def _start(start_time: str) -> datetime:
    """The scenario's start as an aware datetime (UTC when it names no offset)."""
    dt = datetime.fromisoformat(str(start_time).replace("Z", "+00:00"))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _epoch(start_time: str) -> float:
    return _start(start_time).timestamp()


class _Run:
    """One run being built and executed (internal: ``run_scenario`` is the API)."""

    def __init__(self, sc: Scenario, out_tmp: Path, *, quiet: bool, analytics: bool = True) -> None:
        self.sc, self.d, self.tmp, self.quiet = sc, sc.data, out_tmp, quiet
        self.analytics = analytics
        self.missing: list[str] = []
        self.scheduled: dict[str, str] = {}      # sensor id -> status a scheduled fault put it in
        self.aborters: list[Callable[[], Any]] = []

    # ---- build
    def build(self) -> None:
        d = self.d
        t0 = time.perf_counter()
        self.twin = load_twin(d["city"], bbox=d.get("bbox"))
        self.twin_s = time.perf_counter() - t0
        seqs = np.random.SeedSequence(int(d["seed"])).spawn(len(SEED_STREAMS))
        self.rng = {name: np.random.default_rng(s) for name, s in zip(SEED_STREAMS, seqs, strict=True)}
        rep = self.sc.report()
        self.where = resolve(self.sc, places_of(self.twin), rep, physical_kinds=ATTACKER_KINDS)
        self._build_sensors(rep)
        if rep.problems:
            raise ScenarioError(rep.formatted())
        self._build_crowd()
        self.model = CityModel(self.twin, rng=self.rng["individuals"], crowd=self.crowd)
        self.responders = create_responders(self.model)
        self.attackers = [make_attacker(self.model, kind, p, at_node=where.node, at_xy=where.xy, zone=zone)
                          for kind, p, where, zone in self.where.physical]
        self._build_lookalikes()
        #: who acts in this run, e.g. {"attacker/bag_leaver": 1, "responder/police": 1, ...} (Mesa groupby)
        self.cast = dict(sorted(self.model.agents.groupby(lambda a: f"{a.role}/{a.kind}").count().items()))
        self._build_io()

    def _build_sensors(self, rep) -> None:
        """The physical sensors and the cyber range; problems the twin shows go to ``rep``."""
        sc, d = self.sc, self.d
        self.sensors: list = build_physical_sensors(self.twin, sc.sensors(), rng=self.rng["sensors"],
                                                    conditions=sc.conditions(), report=rep)
        T = float(d["duration_s"])
        cyber = []
        for i, kind, params in sc.attacks():
            if kind in ATTACKER_KINDS:
                continue
            if params.start_s >= T:
                self.missing.append(f"attack {params.id} starts after the end of this (shortened) run")
            else:
                cyber.append((i, kind, params))
        self.cyber = build_cyber(self.twin, cyber, rng=self.rng["cyber"], epoch0=_epoch(d["start_time"]),
                                 duration_s=T, report=rep, params=sc.network())
        self.sensors.append(self.cyber)
        self.cameras = {s.id: s for s in self.sensors if getattr(s, "kind", "") == "camera"}
        self.by_id = {s.id: s for s in self.sensors}
        for i, e in enumerate(d["events"]):
            if e["kind"] == "sensor_fault" and e["sensor"] not in self.by_id:
                rep.error(f"events[{i}].sensor", f"no sensor {e['sensor']!r} in this run")
        mot = sc.outputs().mot
        for i, cid in enumerate(mot if isinstance(mot, tuple) else ()):
            if cid not in self.cameras:
                rep.error(f"outputs.mot[{i}]", f"no camera {cid!r} in this run")

    def _build_lookalikes(self) -> None:
        """The enabled look-alikes, each with its own generator (one per registered kind, in order)."""
        specs = self.sc.lookalikes()
        gens = self.rng["world"].spawn(len(LOOKALIKE_KINDS))
        for (key, cls), gen in zip(LOOKALIKE_KINDS.items(), gens, strict=True):
            if specs[key].enabled:
                look = cls(self.model, specs[key], rng=gen)
                look.start(0.0)
                self.model.lookalikes.append(look)

    def _build_crowd(self) -> None:
        c = self.d["crowd"]
        self.crowd = Crowd(self.twin, rng=self.rng["crowd"])
        if c["population"] > 0:
            self.crowd.add_population(int(c["population"]), t0=0.0)
        for f, a, b in self.where.flows:
            self.crowd.add_flow(a.node, b.node, int(f["people"]), depart_s=tuple(f["depart_s"]))
        for x, w in self.where.gatherings:
            leave = tuple(x["leave_s"]) if x.get("leave_s") is not None else None
            self.crowd.add_gathering(w.node, int(x["people"]), arrive_s=tuple(x["arrive_s"]), leave_s=leave)

    def _build_io(self) -> None:
        """The bus, the exports (first subscriber), truth and density files, the analytics."""
        self.bus = Bus()
        self.exports = RunExports(self.tmp, self.bus)
        self.aborters.append(self.exports.abort)
        self.truth = TruthWriter(self.tmp / ".ground_truth.model.tmp", self.twin.crs)
        self.aborters.append(self.truth.abort)
        self.zones = density_zones(self.twin)
        self.density_fh = open(self.tmp / "crowd_density.csv", "w", encoding="utf-8")  # noqa: SIM115
        self.density_fh.write("t,zone,people\n")
        self.aborters.append(self.density_fh.close)
        self.positions_every_s = float(self.sc.outputs().positions_every_s)
        self.positions = None
        if self.positions_every_s > 0:
            self.positions = PositionsWriter(self.tmp / POSITIONS_FILE, every_s=self.positions_every_s,
                                             crs=self.twin.crs)
            self.aborters.append(self.positions.abort)
        self.alerts = self.incidents = None
        if self.analytics:
            self.alerts = AlertStream(self.bus, self.tmp, zones=self.zones, restricted=self.where.restricted,
                                      roads=self._roads(), crs=self.twin.crs,
                                      params=self._analytics_params(), witness=self._witness,
                                      outputs=self.sc.outputs(), workers=self.sc.analytics_workers(),
                                      ground_tracks=self.sc.ground_tracks(),
                                      cameras=self._calibrations)
            self.aborters.append(self.alerts.abort)
            resp = self.d["response"]
            self.incidents = IncidentRun(self, self.bus, self.tmp, epoch=_start(self.d["start_time"]),
                                         policy=resp["policy"], decision_delay_s=resp["decision_delay_s"],
                                         alerts=self.alerts)
            self.aborters.append(self.incidents.abort)
        exporters = [e for _, k in SENSOR_KINDS.items() for e in k.exporters] + list(CyberRange.exporters)
        self.exports.start(self.sensors, exporters, float(self.d["duration_s"]), self.sc.outputs())

    def _calibrations(self) -> list[dict]:
        """The cameras' published calibration records (the analytics workers group the cameras by them)."""
        return [cam.calibration() for cam in self.cameras.values()]

    def _roads(self) -> list:
        """The carriageways of the streets within 10 m of a zone (the site's map, given to the analytics)."""
        if self.twin.drive is None or not self.zones:
            return []
        return carriageways(self.twin.drive, within=shapely.union_all(list(self.zones.values())).buffer(10.0))

    def _analytics_params(self) -> AnalyticsParams:
        """The scenario's analytics parameters, where a detector's ``allowed_sources`` is left unset filled
        with the network's authorised scanners (the site's security configuration lists them)."""
        params = self.sc.analytics()
        net = self.twin.network
        scanners = tuple(str(net.nodes[n]["ip"]) for n in sorted(net.nodes, key=str)
                         if net.nodes[n].get("authorised"))
        filled = {name: dataclasses.replace(p, allowed_sources=scanners) for name, p in params.detectors
                  if getattr(p, "allowed_sources", False) is None}
        return AnalyticsParams(tracker=params.tracker, default_fps=params.default_fps,
                               detectors={**dict(params.detectors), **filled})

    # ---- run
    def run(self) -> dict:
        d = self.d
        loop = RunLoop(self)
        if self.alerts is not None:
            self.alerts.defer = loop.at_instant_end
        if self.incidents is not None:
            self.incidents.schedule = loop.after
        actions = schedule_events(self, self.where.events, self.where.orders)
        t0 = time.perf_counter()
        loop.run_until(float(d["duration_s"]), float(d["dt_s"]), actions, title=d["name"], quiet=self.quiet)
        wall = time.perf_counter() - t0
        if self.alerts is not None:
            self.alerts.flush(loop.env.now)
        return {"wall_run_s": round(wall, 3), "ticks": loop.ticks, "bus_messages": self.bus.count}

    def finish(self) -> dict:
        """Close every stream, merge the cyber truth, write the resolved scenario; returns counts."""
        self.truth.close()
        self.density_fh.close()
        if self.positions is not None:
            self.positions.close()
        if self.alerts is not None:
            self.alerts.close()
        fused = self.incidents.close(float(self.d["duration_s"])) if self.incidents is not None else {}
        if fused:
            (self.tmp / FUSION_FILE).write_text(dumps(fused) + "\n", encoding="utf-8")
        self.exports.close()
        cyber = list(self.cyber.truth_events())
        n = merge_truth(self.tmp / ".ground_truth.model.tmp", cyber, self.tmp / "ground_truth.jsonl",
                        self._locate, self.twin.crs)
        (self.tmp / "crowd_zones.geojson").write_text(dumps(zones_geojson(self.twin, self.zones)) + "\n")
        (self.tmp / "scenario.yaml").write_text(self.sc.to_yaml(), encoding="utf-8")
        kinds = dict(self.truth.kinds)
        for r in cyber:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        return {"truth_lines": n, "truth_kinds": dict(sorted(kinds.items())),
                "events_lines": self.exports.lines,
                "alerts": self.alerts.count if self.alerts is not None else 0,
                "incidents": fused.get("incidents", 0), "sensors": len(self.sensors),
                "cameras": len(self.cameras), "individuals": self.cast, "people": len(self.crowd)}

    def _witness(self, alert: dict) -> dict:
        """Who truly was where ``alert`` points when it was raised (``alerts_truth.jsonl``, for scoring)."""
        xy, zone = alert.get("xy"), self.zones.get(str(alert.get("zone")))
        if xy is None and zone is not None:
            c = zone.centroid
            xy = (c.x, c.y)
            radius = RADIUS_M + float(shapely.hausdorff_distance(c, zone.exterior))
        else:
            radius = RADIUS_M
        if xy is None:
            return {"lookalikes": [], "attacks": [], "people": None}
        return self.model.who_is_near(np.asarray(xy, float), radius)

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


def _with_overrides(scenario, seed: int | None, duration_s: float | None) -> Scenario:
    """The scenario (loaded if a path) with ``--seed``/``--duration`` applied to a private copy."""
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
    return sc


def _temp_folder(final: Path) -> Path:
    """A fresh hidden folder beside ``final`` (those left by killed runs are removed first)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and (int(pid) == os.getpid() or not psutil.pid_exists(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    tmp.mkdir()
    return tmp


def _execute(run: _Run, tmp: Path, metrics: bool) -> dict:
    """Build, run, finish and score ``run``; on any failure its partial files are dropped."""
    t_start = time.perf_counter()
    try:
        run.build()
        t_built = time.perf_counter()
        # The twin, the agents and the sensors are built and stay: freezing them out of the collector spares
        # every collection during the run a walk over millions of long-lived objects.
        gc.freeze()
        try:
            stats = run.run()
            t_ran = time.perf_counter()
            stats.update(run.finish())
        finally:
            gc.unfreeze()
        stats["build_s"] = round(t_built - t_start, 3)
        stats["finish_s"] = round(time.perf_counter() - t_ran, 3)
        stats["twin_s"] = round(run.twin_s, 3)
        if metrics:
            t_m = time.perf_counter()
            write_metrics(tmp)
            write_criteria(tmp, evaluate(tmp))
            stats["metrics_s"] = round(time.perf_counter() - t_m, 3)
            # The report must come last: it shows every file written above (metrics, criteria).
            t_r = time.perf_counter()
            write_report(tmp, streets=streets_lonlat(run.twin))
            stats["report_s"] = round(time.perf_counter() - t_r, 3)
    except BaseException:
        run.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return stats


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
        Run the analytics pipeline (``alerts.jsonl``) and score the run (``metrics.json``, then
        ``report.html``); benchmarks and sweeps of the simulation alone turn them off.

    Raises
    ------
    ScenarioError
        Any problem with the scenario (all listed), including places the twin does not know.
    TwinError, and other ``exit_code = 2`` errors of the subsystems, for bad inputs they detect.
    """
    sc = _with_overrides(scenario, seed, duration_s)
    d = sc.data
    final = Path(out) if out is not None else Path(runs_dir) / f"{d['name']}-{d['seed']}"
    tmp = _temp_folder(final)
    run = _Run(sc, tmp, quiet=quiet, analytics=analytics)
    t_start = time.perf_counter()
    stats = _execute(run, tmp, metrics)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    files = sorted(str(p.relative_to(final)) for p in final.rglob("*") if p.is_file())
    return RunResult(out_dir=final, files=files, seed=int(d["seed"]), wall_s=time.perf_counter() - t_start,
                     sim_s=float(d["duration_s"]), stats=stats, missing=run.missing)
