"""The step after detection, on plain data: alerts -> incidents (``analytics.fusion``) -> risk
(``analytics.risk``) -> recommended actions (``analytics.recommend``) -> CAP messages (``analytics.cap``), the
common operational picture (``analytics.cop``) and the assets' functionality (``analytics.resilience``).

A run feeds it every bus message (``observe``: camera calibrations give the cameras, area counters can
contradict crowd claims, ``unit/status`` messages keep the response units' board, as a dispatch system's
status feed does; the crowd detector's estimates give exposure) and every alert (``push``);
``run_sim.py fuse`` feeds it a recorded alert file. Both give the same incidents for the same alerts.

Outputs in ``out_dir``: ``incidents.jsonl`` (every incident state change: the incident dict with the time of
the change), ``actions.jsonl`` (every recommendation when first made or changed, and what was applied),
``alerts/*.xml`` (CAP 1.2), ``cop.jsonl`` and ``cop.geojson``, ``resilience.csv`` (``close``).

Exposure is what the sensors sensed lately (``Exposure``, estimates at most a minute old). Where fresh
estimates cover less than ``min_coverage`` of what the past ``stale_s`` covered of the risk circle (cameras
lost or turned away), the last known estimates stand in (``exposure_basis: last_known``): a blinded area is
not an empty one. Where nothing was ever sensed, ``prior_occupancy`` of the asset's capacity does
(``prior``). An incident's priority only rises by itself; lowering it is an operator's decision.

Actions are recomputed only when an incident is new or what they depend on changed (kind, hybrid flag,
priority, a move of more than ``replan_move_m``): routing on the city's graphs per alert would cost more
than the fusion itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import networkx as nx

from analytics.camera_views import ViewParams, camera_table
from analytics.cap import CapParams, CapPublisher
from analytics.cop import CopWriter
from analytics.exposure import Exposure, ExposureParams
from analytics.files import atomic_write_lines
from analytics.fusion import Fusion, FusionParams
from analytics.recommend import RecommendParams, recommend
from analytics.resilience import Resilience
from analytics.risk import RiskParams, assess, asset_risk, priority

__all__ = ["ACTION_STEPS", "IMPACTS", "IncidentParams", "IncidentStage", "Site"]

#: Incident kind -> (functionality Q left at each asset the incident lies in, seconds to restore it), applied
#: once per incident and asset when the incident's confidence first reaches ``impact_conf``. Assumed planning
#: values: an armed attack or a blast closes the place (Q 0) for hours of police and forensic work; a ramming
#: closes it for about two; a suspicious object cordons it (Q 0.3) for the half hour an EOD team needs; a
#: crowd emergency halves it for a quarter hour; an intrusion costs a little for ten minutes.
IMPACTS: dict[str, tuple[float, float]] = {
    "armed_attack": (0.0, 4 * 3600.0), "explosion": (0.0, 8 * 3600.0), "vehicle_attack": (0.1, 2 * 3600.0),
    "suspicious_object": (0.3, 1800.0), "crowd_emergency": (0.5, 900.0), "intrusion": (0.8, 600.0),
}


#: Action kind -> the SOP steps (``analytics/sop/<kind>.yaml`` ids) that applying it completes. Call-up of the
#: incident's cameras is done by the stage itself when it lists them (a PSIM's automatic camera call-up).
ACTION_STEPS: dict[str, tuple[str, ...]] = {
    "dispatch": ("notify_police", "dispatch_patrol", "dispatch_guard", "notify_emergency_services",
                 "notify_services"),
    "evacuate": ("evacuate_area", "public_warning", "public_announcement", "clear_area", "open_exits"),
    "close_inflow": ("stop_inflow", "cordon", "control_cordon", "close_roads", "secure_perimeter"),
    "failover": ("failover_cameras", "restore_feed"),
    "isolate_segment": ("contain",),
}


@dataclass(frozen=True)
class IncidentParams:
    """Settings of the incident stage (each part's own parameters, and how often the picture is written)."""

    fusion: FusionParams = field(default_factory=FusionParams)
    risk: RiskParams = field(default_factory=RiskParams)
    recommend: RecommendParams = field(default_factory=RecommendParams)
    #: CAP: an Alert once R >= 1 person-equivalent (priority 2 and above, ``analytics.risk``)
    cap: CapParams = field(default_factory=lambda: CapParams(risk_threshold=1.0))
    views: ViewParams = field(default_factory=ViewParams)
    #: the operational picture is refreshed at most this often (simulated s)
    cop_period_s: float = 5.0
    #: ``resilience.csv`` sample step (s)
    resilience_step_s: float = 10.0
    impact_conf: float = 0.5
    #: where fresh estimates cover less than ``min_coverage`` of the risk circle, estimates up to this old
    #: (s) stand in (module docstring)
    stale_s: float = 1800.0
    min_coverage: float = 0.5
    #: nothing ever sensed there: the share of the asset's capacity taken as present (assumed: a public place
    #: at a tenth of what it holds)
    prior_occupancy: float = 0.1
    replan_move_m: float = 25.0


@dataclass
class Site:
    """What the site knows, as plain data: assets, their dependencies, the IT/OT network, the walk and drive
    graphs, the crowd zones, the cameras' addresses, a projection to lon/lat, and a unit status board."""

    assets: list[dict] = field(default_factory=list)
    dependencies: nx.DiGraph | None = None
    network: nx.Graph | None = None
    walk: nx.MultiDiGraph | None = None
    drive: nx.MultiDiGraph | None = None
    zones: dict[str, list] = field(default_factory=dict)
    camera_ips: dict[str, str] = field(default_factory=dict)
    to_lonlat: Callable[[Sequence[float]], Sequence[float] | None] | None = None
    #: the unit status board before any ``unit/status`` message (``id, kind, node, available, ...``)
    units: list[dict] = field(default_factory=list)
    #: calibration records known before the stream starts (``fuse`` with a recorded events file)
    calibrations: dict[str, dict] = field(default_factory=dict)


class IncidentStage:
    """Alerts and sensor messages in; incidents, actions, CAP, the picture and resilience out (module
    docstring). ``on_actions(t, incident, actions)`` is told of each new or changed recommendation (the
    run applies them under ``response.policy: auto``)."""

    def __init__(self, site: Site, out_dir: str | Path, *, epoch: datetime, exercise: bool = False,
                 params: IncidentParams | None = None,
                 on_actions: Callable[[float, dict, list[dict]], list[dict]] | None = None,
                 strict: bool = False) -> None:
        self.site, self.p = site, params or IncidentParams()
        self.out = Path(out_dir)
        (self.out / "alerts").mkdir(parents=True, exist_ok=True)
        self.on_actions = on_actions
        #: raise input errors (a malformed alert) instead of counting them: for a feed checked as a whole
        self.strict = strict
        self._calib: dict[str, dict] = dict(site.calibrations)
        self.units: dict[str, dict] = {str(u["id"]): dict(u) for u in site.units}
        self.fusion: Fusion | None = None
        self.exposure = Exposure(site.zones) if site.zones else None
        self.last_known = (Exposure(site.zones, params=ExposureParams(max_age_s=self.p.stale_s))
                           if site.zones else None)
        self._priority: dict[str, int] = {}
        self._asset_names = {a["id"]: a.get("name") for a in site.assets}
        self.resilience = Resilience(site.assets, site.dependencies)
        self.cap = CapPublisher(epoch=epoch, exercise=exercise, params=self.p.cap)
        self.cop = CopWriter(self.out / "cop.geojson", self.out / "cop.jsonl", site.to_lonlat)
        self._inc_fh = open(self.out / "incidents.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - close()
        self._act_fh = open(self.out / "actions.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - close()
        self._planned: dict[str, tuple] = {}     # incident -> what its actions were planned for
        self._impacted: set[tuple[str, str]] = set()
        self._last_cop = -math.inf
        self.counts = {"alerts": 0, "incidents": 0, "changes": 0, "actions": 0, "cap": 0, "errors": 0}
        #: errors by part (fusion, risk, recommend, resilience, cap): counted, the first of each kept; the
        #: stage goes on, so one bad alert never ends a run
        self.errors_by_part: dict[str, int] = {}
        self.first_errors: dict[str, str] = {}
        #: every CAP message's time per incident (Alert, Updates, Cancel), for scoring
        self.cap_times: dict[str, list[float]] = {}
        self.t = 0.0

    # -- input ------------------------------------------------------------------------------------------

    def observe(self, msg: Mapping[str, Any]) -> list[dict]:
        """A sensor message: calibrations, area counters (contradictions) and nothing else so far."""
        topic = msg.get("topic")
        if topic == "camera/calibration" and msg.get("camera_id") is not None:
            self._calib[str(msg["camera_id"])] = dict(msg)
            return []
        if topic == "unit/status" and msg.get("id") is not None:
            self.units[str(msg["id"])] = {k: v for k, v in msg.items() if k not in ("t", "topic")}
            return []
        if topic == "counter/area" and self.fusion is not None:
            return self._changed(float(msg["t"]), self._guard("fusion", self.fusion.observe, msg) or [])
        return []

    def density(self, rows: Sequence[tuple[float, str, float]]) -> None:
        """The crowd detector's estimates ``(t, zone, people)``: what exposure is estimated from (people to
        0.01, as ``density_estimates.csv`` keeps them, so a replay from that file gives the same risk)."""
        if self.exposure is None:
            return
        for t, zone, people in rows:
            if zone in self.site.zones and math.isfinite(people):
                n = max(round(float(people), 2), 0.0)
                self.exposure.observe(float(t), str(zone), n)
                self.last_known.observe(float(t), str(zone), n)

    def push(self, alert: Mapping[str, Any], t: float | None = None) -> list[dict]:
        """Fuse one alert (published at ``t``, default its own ``t``); the incident dicts it changed."""
        if self.fusion is None:
            self._start()
        t = float(alert["t"] if t is None else t)
        self.counts["alerts"] += 1
        changed = self._guard("fusion", self.fusion.push, alert)
        return self._changed(t, changed or [])

    def _start(self) -> None:
        s = self.site
        cams = camera_table(self._calib, ips=s.camera_ips, params=self.p.views)
        self.fusion = Fusion(cameras=cams, network=s.network, assets=s.assets, dependencies=s.dependencies,
                             to_lonlat=s.to_lonlat, zones=s.zones, params=self.p.fusion)
        self._sensors = [{"id": c, "kind": "camera", "xy": v["xy"], "state": "up"}
                         for c, v in cams.items() if v["xy"] is not None]
        self._lost: set[str] = set()

    # -- one incident change ----------------------------------------------------------------------------

    def _changed(self, t: float, incidents: list[dict]) -> list[dict]:
        self.t = max(self.t, t)
        out = []
        for inc in incidents:
            obj = self.fusion.incident(inc["id"])
            risk = self._guard("risk", self._risk, inc, t)
            if risk is not None:
                obj.set_risk(risk, t)
                prio = priority(risk["R"], thresholds=self.p.risk.thresholds)
                if inc["state"] not in ("resolved", "false_alarm", "closed"):
                    prio = self._priority[inc["id"]] = min(prio, self._priority.get(inc["id"], prio))
                obj.set_priority(prio, t)
            self._guard("recommend", self._plan, t, obj)
            self._guard("sop", self._call_up, t, obj)
            self._guard("resilience", self._impact, t, obj.to_dict())
            final = obj.to_dict()
            self._write(self._inc_fh, {"t": t, **final})
            self.counts["changes"] += 1
            for name, body in self._guard("cap", self.cap.update, self._named(final), t) or ():
                atomic_write_lines(self.out / "alerts" / name, [body.decode("utf-8").rstrip("\n")])
                self.counts["cap"] += 1
                self.cap_times.setdefault(final["id"], []).append(t)
            out.append(final)
        self.counts["incidents"] = len(self.fusion.tracks)
        self._picture(t, force=False)
        return out

    def _guard(self, part: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, or None with the error counted against ``part``."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - one bad alert must not end a run; it is counted
            if self.strict and getattr(exc, "exit_code", None) == 2:
                raise
            self.counts["errors"] += 1
            self.errors_by_part[part] = self.errors_by_part.get(part, 0) + 1
            self.first_errors.setdefault(part, f"t={self.t:g}: {type(exc).__name__}: {exc}"[:300])
            return None

    def _risk(self, inc: dict, t: float) -> dict:
        """R = T V C with the sensed exposure, else the last known one, else the prior (module docstring)."""
        kw = {"assets": self.site.assets, "dependencies": self.site.dependencies, "t": t,
              "params": self.p.risk}
        risk = assess(inc, exposure=self.exposure, **kw)
        risk["exposure_basis"] = "sensed"
        xy, radius = inc.get("xy"), float(risk.get("radius_m") or 0.0)
        if self.exposure is None or xy is None or radius <= 0:
            return risk
        fresh, known = self.exposure.coverage(xy, radius, t), self.last_known.coverage(xy, radius, t)
        if known > 0 and fresh >= self.p.min_coverage * known:
            return risk
        if known > 0:
            stale = assess(inc, exposure=self.last_known, **kw)
            stale["exposure_basis"] = "last_known"
            if stale["exposed"] > 0:
                return stale
        return self._prior(risk)

    def _prior(self, risk: dict) -> dict:
        """Nothing sensed there: the asset's capacity times ``prior_occupancy`` stands for the people."""
        cap = next((float(a.get("capacity") or 0) for a in self.site.assets if a["id"] == risk.get("asset")),
                   0.0)
        people = round(self.p.prior_occupancy * cap, 2)
        if people <= risk["exposed"]:
            return risk
        c = risk["harm"] * people * risk["criticality"] + risk["disruption"] * risk["services"]
        return {**risk, "exposed": people, "exposed_sigma": people, "C": round(c, 4),
                "R": round(risk["T"] * risk["V"] * c, 4), "exposure_basis": "prior"}

    def _call_up(self, t: float, obj) -> None:
        """The stage calls up the incident's cameras (it lists them): the SOP's camera step is done."""
        step = next((x for x in obj.sop if x["id"] == "call_up_cameras"), None)
        if step is not None and step["status"] == "pending" and obj.cameras:
            obj.sop_done("call_up_cameras", t, actor="auto", note=", ".join(obj.cameras[:5]))

    def applied(self, t: float, incident_id: str, action: dict) -> dict | None:
        """An action of ``incident_id`` was applied at ``t`` (``response.policy: auto``): the SOP steps it
        completes (``ACTION_STEPS``) are ticked done; the incident dict after, also written as a change."""
        if self.fusion is None:
            return None
        obj = self.fusion.incident(incident_id)
        pending = {x["id"] for x in obj.sop if x["status"] == "pending"}
        steps = [sid for sid in ACTION_STEPS.get(action.get("kind", ""), ()) if sid in pending]
        if not steps or obj.state == "closed":
            return None
        note = f"{action['kind']} {action.get('id')}"
        for sid in steps:
            self._guard("sop", obj.sop_done, sid, t, actor="auto", note=note)
        final = obj.to_dict()
        self._write(self._inc_fh, {"t": t, **final})
        self.counts["changes"] += 1
        return final

    def _named(self, inc: dict) -> dict:
        """The incident with ``place``: the names of the assets it lies in (for people reading CAP)."""
        names = self._asset_names
        place = ", ".join(dict.fromkeys(str(names[a]) for a in inc.get("assets") or () if names.get(a)))
        return {**inc, "place": place} if place else inc

    def _plan(self, t: float, obj) -> None:
        """Recommend again when what the actions depend on changed (module docstring)."""
        inc = obj.to_dict()
        key = (inc["kind"], inc["hybrid"], inc["priority"], inc["state"])
        old = self._planned.get(inc["id"])
        if old is not None and old[0] == key and not self._moved(old[1], inc.get("xy")):
            return
        self._planned[inc["id"]] = (key, inc.get("xy"))
        actions = recommend(inc, walk=self.site.walk, drive=self.site.drive, network=self.site.network,
                            units=self._board(), zones=self.site.zones, densities=self._densities(t),
                            params=self.p.recommend)
        obj.set_actions(actions, t)
        applied = self.on_actions(t, inc, actions) if self.on_actions is not None and actions else []
        done = {a.get("action"): a for a in applied}
        for a in actions:
            self._write(self._act_fh, {"t": t, "incident": inc["id"], "action": a,
                                       "applied": done.get(a["id"])})
            self.counts["actions"] += 1

    def _board(self) -> list[dict]:
        """The units now, by id."""
        return [self.units[k] for k in sorted(self.units)]

    def _moved(self, before, now) -> bool:
        if before is None or now is None:
            return (before is None) != (now is None)
        return math.dist(before, now) > self.p.replan_move_m

    def _densities(self, t: float) -> dict[str, float]:
        """Sensed people per m² of each zone with a fresh estimate."""
        if self.exposure is None:
            return {}
        out = {}
        for zone, area in zip(self.exposure.names, self.exposure.areas.tolist(), strict=True):
            got = self.exposure.zone_people(zone, t)
            if got is not None and area > 0:
                out[zone] = float(got[0]) / area
        return out

    def _impact(self, t: float, inc: dict) -> None:
        """Take the incident's assets down by ``IMPACTS`` once it is confident enough."""
        what = IMPACTS.get(inc["kind"])
        if what is None or inc["confidence"] < self.p.impact_conf or inc["state"] in ("false_alarm",):
            return
        for asset in inc.get("assets") or ():
            if (inc["id"], asset) not in self._impacted and asset in self.resilience.index:
                self._impacted.add((inc["id"], asset))
                self.resilience.impact(t, asset, what[0], what[1], cause=inc["id"])

    # -- the picture --------------------------------------------------------------------------------------

    def _picture(self, t: float, *, force: bool) -> None:
        """Refresh the picture every ``cop_period_s`` of simulated time (and at the end): rebuilding it is
        linear in the incidents, so per alert it would make the stage quadratic in them."""
        if self.fusion is None or not (force or t - self._last_cop >= self.p.cop_period_s):
            return
        self._last_cop = t
        layers: dict[str, Any] = {"incidents": self.fusion.incidents()}
        layers["assets"] = self._asset_states(t, layers["incidents"])
        layers["routes"] = [{"id": a["id"], "incident": i["id"], "kind": a["kind"], "xy": a["xy"],
                             "why": a.get("why", "")}
                            for i in layers["incidents"] for a in i.get("actions") or ()
                            if a["kind"] == "evacuate" and a.get("xy")]
        layers["sensors"] = self._sensor_states(layers["incidents"])
        layers["responders"] = [{"id": u["id"], "kind": u["kind"], "xy": u.get("xy"),
                                 "state": u.get("status", "idle"),
                                 "eta_s": None if u.get("eta_t") is None else max(u["eta_t"] - t, 0.0),
                                 "incident": u.get("incident")} for u in self._board()
                                if u.get("xy") is not None]
        self.cop.update(t, **layers)

    def _asset_states(self, t: float, incidents: list[dict]) -> list[dict]:
        """The assets with their functionality Q now and their risk (the highest of the open incidents
        that list them); the picture shows those affected."""
        q = self.resilience.q(t)
        at_risk = self._guard("risk", asset_risk, incidents, assets=self.site.assets,
                              dependencies=self.site.dependencies, exposure=self.exposure, t=t,
                              params=self.p.risk) or {}
        out = []
        for a in self.site.assets:
            i = self.resilience.index.get(a["id"])
            item = {**a, "Q": round(float(q[i]), 4) if i is not None else 1.0}
            if a["id"] in at_risk:
                item["risk"] = at_risk[a["id"]]
            out.append(item)
        return out

    def _sensor_states(self, incidents: list[dict]) -> list[dict]:
        by_ip = {ip: c for c, ip in self.site.camera_ips.items()}
        state: dict[str, str] = {}
        for inc in incidents:
            if inc["state"] in ("resolved", "false_alarm", "closed"):
                continue
            for a in inc.get("alerts") or ():
                if a["kind"] in ("stream_loss", "video_frozen", "video_replay", "camera_tamper"):
                    for s in a.get("source") or ():
                        cam = s if s in self._calib else by_ip.get(s)
                        if cam is not None:
                            state[cam] = a["kind"]
        return [{**s, "state": state.get(s["id"], "up")} for s in self._sensors]

    # -- end ----------------------------------------------------------------------------------------------

    def tick(self, t: float) -> None:
        """Time passes without alerts: refresh the picture's slow layers."""
        self.t = max(self.t, t)
        if self.fusion is not None:
            self._picture(t, force=False)

    def close(self, t_end: float) -> dict[str, Any]:
        """Close the streams; write ``cop.geojson`` and ``resilience.csv``; the stage's figures."""
        if self.fusion is None:
            self._start()
        for tr in self.fusion.tracks:          # SOP steps nobody did in time are on the record
            if tr.inc.state != "closed" and self._guard("sop", tr.inc.note_overdue, t_end):
                self._write(self._inc_fh, {"t": t_end, **tr.inc.to_dict()})
                self.counts["changes"] += 1
        self._picture(t_end, force=True)
        self.cop.close()
        self._inc_fh.close()
        self._act_fh.close()
        step = self.p.resilience_step_s
        n = int(math.floor(max(t_end, 0.0) / step)) + 1
        times = [round(k * step, 6) for k in range(n)]
        if not times or times[-1] < t_end:
            times.append(float(t_end))
        self.resilience.write_csv(self.out / "resilience.csv", self.resilience.sample(times))
        loss = self.resilience.loss(t_end)
        return {**self.counts, "errors_by_part": dict(sorted(self.errors_by_part.items())),
                "first_errors": dict(sorted(self.first_errors.items())),
                "cap_first_t": {k: v[0] for k, v in self.cap_times.items()},
                "cap_t": dict(sorted(self.cap_times.items())),
                "resilience_loss": loss}

    def abort(self) -> None:
        for fh in (self._inc_fh, self._act_fh):
            fh.close()

    @staticmethod
    def _write(fh, obj: dict) -> None:
        fh.write(json.dumps(obj, allow_nan=False, separators=(",", ":"), sort_keys=True) + "\n")
