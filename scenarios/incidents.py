"""The incident stage on a run's bus: alerts fused into incidents with risk, actions, CAP and the picture
(``analytics.incident_stage``), and under ``response.policy: auto`` the actions applied to the simulation.

The stage is given the site as plain tables (``scenarios.site``) and the bus's messages; it never sees the
truth. Under ``auto`` each new or changed recommendation is applied ``decision_delay_s`` after it was made:

- ``dispatch``: the unit kind is sent to the incident (``CityModel.dispatch``: the idle unit of that kind
  with the least drive time, which is the recommended one unless it was taken meanwhile);
- ``evacuate``: the people inside the hazard are ordered to the ends of the incident's evacuation routes
  (``Crowd.evacuate``), once per incident;
- ``close_inflow``: the listed walk edges are closed to routing (``Crowd.close_edges``), once per incident;
- ``isolate_segment``: the target host or switch is cut off the cyber range's network (``CyberRange.isolate``:
  flows to and from it stop, the cameras behind it lose their streams), recorded as ``network_isolated``;
- ``failover``: the cameras the action sends to the backup recorder stream there from then on
  (``CyberRange.failover``: what an attack on the video server does to their streams stops; attacks on the
  camera or its switches still hit it), recorded as ``failover_order`` and the range's ``video_failover``;
  each new set of cameras is applied once.

For scoring, ``incidents_truth.jsonl`` records when each incident was created how many people truly were
within its risk radius (``CityModel.who_is_near``); the stage never reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely

from analytics.incident_stage import IncidentParams, IncidentStage
from scenarios.site import NETWORK_FILE, site_of, unit_table, write_network
from sensors.export.bus import Bus, Message, dumps

__all__ = ["FUSION_FILE", "IncidentRun"]

#: The run file with the incident stage's own figures (counts, first CAP alert per incident, resilience loss).
FUSION_FILE = "fusion.json"


def _once(incident: dict, a: dict) -> tuple | None:
    """What makes an applied action the same as an earlier one (None: each is applied): an evacuation or a
    closure once per incident, an isolation once per target, a failover once per set of cameras."""
    kind = a["kind"]
    if kind in ("evacuate", "close_inflow"):
        return incident["id"], kind
    if kind == "isolate_segment":
        return incident["id"], kind, a.get("target")
    if kind == "failover":
        return incident["id"], kind, *sorted(p["camera"] for p in a.get("paths") or ())
    return None


class IncidentRun:
    """Feeds ``IncidentStage`` from the bus and applies its actions under ``auto`` (module docstring)."""

    def __init__(self, run: Any, bus: Bus, out_dir: Path, *, epoch: datetime, policy: str,
                 decision_delay_s: float, alerts: Any, params: IncidentParams | None = None) -> None:
        twin, model = run.twin, run.model
        self.run, self.model, self.crowd = run, model, run.crowd
        self.policy, self.delay = policy, float(decision_delay_s)
        self.alerts = alerts                       # scenarios.alerting.AlertStream (density estimates)
        self._density_seen = 0
        self.stage = IncidentStage(site_of(twin, run.zones), out_dir, epoch=epoch, exercise=False,
                                   params=params, on_actions=self._on_actions if policy == "auto" else None)
        self.schedule: Callable[[float, Callable[[float], None]], None] | None = None
        self._done: set[tuple[str, str]] = set()
        self._assigned: dict[int, str] = {}        # responder target id -> incident id
        self._truth = open(Path(out_dir) / "incidents_truth.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._seen: set[str] = set()
        self.bus = bus
        self._board: dict[str, tuple] = {}
        self._board_t = -1.0
        bus.subscribe("*", self._on_message)

    def _units(self, t: float) -> None:
        """Publish ``unit/status`` for each unit whose status changed (at most once a simulated second, and
        before each alert): the status feed of a dispatch system, which the stage reads like any message."""
        self._board_t = t
        for u, r in zip(unit_table(self.model.responders), self.model.responders, strict=True):
            if r.tid in self._assigned and r.status != "idle":
                u["incident"] = self._assigned[r.tid]
            if r.eta_t is not None and r.status == "en_route":
                u["eta_t"] = round(float(r.eta_t), 1)
            key = (u["status"], u["node"], u.get("incident"), u.get("eta_t"))
            if self._board.get(u["id"]) != key:
                self._board[u["id"]] = key
                self.bus.publish(t, "unit/status", u)

    def _on_message(self, msg: Message) -> None:
        if msg.topic == "camera/frame":
            return
        if msg.t >= self._board_t + 1.0 or (msg.topic == "analytics/alert" and msg.t > self._board_t):
            self._units(msg.t)
        if msg.topic != "analytics/alert":
            self.stage.observe({"t": msg.t, "topic": msg.topic, **msg.payload})
            return
        new = self.alerts.pipeline.density_history(self._density_seen) if self.alerts is not None else []
        if new:
            self.stage.density(new)
            self._density_seen += len(new)
        for inc in self.stage.push(msg.payload, msg.t):
            if inc["id"] not in self._seen and inc.get("xy") is not None:
                self._seen.add(inc["id"])
                self._witness(msg.t, inc)

    def _witness(self, t: float, inc: dict) -> None:
        risk = inc.get("risk") or {}
        radius = float(risk.get("radius_m") or 0.0) or 50.0
        near = self.model.who_is_near(inc["xy"], radius)
        self._truth.write(dumps({"id": inc["id"], "t": t, "radius_m": radius, "people": near["people"],
                                 "attacks": near["attacks"], "exposed_estimate": risk.get("exposed")}) + "\n")

    # -- auto -----------------------------------------------------------------------------------------

    def _on_actions(self, t: float, incident: dict, actions: list[dict]) -> list[dict]:
        """Schedule the actions ``decision_delay_s`` later; what will be applied (``actions.jsonl``)."""
        out = []
        for a in actions:
            once = _once(incident, a)
            if once in self._done or (a["kind"] == "dispatch" and not a.get("unit")):
                continue
            if once is not None:
                self._done.add(once)
            out.append({"action": a["id"], "applied": True, "at_t": round(t + self.delay, 3)})
            if self.schedule is not None:
                self.schedule(self.delay,
                              lambda now, a=a, inc=incident, acts=actions: self._apply(now, inc, a, acts))
        return out

    def _apply(self, t: float, inc: dict, a: dict, actions: list[dict]) -> None:
        self.stage.applied(t, inc["id"], a)
        if a["kind"] == "dispatch" and inc.get("xy") is not None:
            unit = self.model.dispatch(a["unit_kind"], inc["xy"], t, reason=f"auto: {inc['id']} {a['rule']}")
            if unit is not None:
                self._assigned[unit.tid] = inc["id"]
        elif a["kind"] == "evacuate":
            hz = a.get("hazard") or {}
            zone = (shapely.Polygon(self.stage.site.zones[hz["zone"]]) if hz.get("zone")
                    else shapely.Point(*hz["center"]).buffer(float(hz["radius_m"])))
            safe = sorted({b["nodes"][-1] for b in actions if b["kind"] == "evacuate" and b.get("nodes")},
                          key=str)
            if safe:
                n = self.crowd.evacuate(zone, safe, t=t)
                self.model.record("evacuate_order", inc["id"], inc.get("xy"), t, people=n, auto=True)
        elif a["kind"] == "isolate_segment" and self.run.cyber is not None and a.get("target"):
            self.run.cyber.isolate(t, a["target"])
        elif a["kind"] == "failover" and self.run.cyber is not None:
            cams = [p["camera"] for p in a.get("paths") or () if p.get("to") == "backup"]
            if cams:
                done = self.run.cyber.failover(t, cams)
                self.model.record("failover_order", inc["id"], inc.get("xy"), t, cameras=len(done), auto=True)
        elif a["kind"] == "close_inflow":
            edges = [(e["u"], e["v"], e.get("key", 0)) for e in a.get("edges") or ()]
            if edges:
                self.crowd.close_edges(edges)
                self.model.record("closure", inc["id"], inc.get("xy"), t, edges=len(edges), auto=True)

    def close(self, t_end: float) -> dict:
        self._truth.close()
        if self.stage.site.network is not None:
            write_network(self.stage.out / NETWORK_FILE, self.stage.site.network)
        return self.stage.close(t_end)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._truth.close()
        with contextlib.suppress(Exception):
            self.stage.abort()
