"""Recommended actions for an incident, each with the rule that gave it and why.

``RULES`` maps an incident kind to its rules, in the order their actions are listed; a rule is ``(name,
action kind)``:

==================== ====================================================================================
incident kind        rules (action kind)
==================== ====================================================================================
armed_attack,        ``evacuate_hazard`` (evacuate), ``close_hazard_inflow`` (close_inflow),
explosion,           ``dispatch_units`` (dispatch)
suspicious_object,
vehicle_attack
crowd_emergency      ``close_gathering_inflow`` (close_inflow), ``disperse_crowd`` (evacuate),
                     ``dispatch_units`` (dispatch)
intrusion            ``dispatch_units`` (dispatch)
suspicious_behaviour none (watch it: camera call-up is the picture's job, not an action)
cyber_attack         ``isolate_compromised`` (isolate_segment)
dos, video_tamper    ``failover_video`` (failover)
hybrid (flag)        adds ``hybrid_isolate`` (isolate_segment) and ``hybrid_failover`` (failover)
==================== ====================================================================================

What each action holds:

- ``evacuate``: one per exit of the hazard (``analytics.evacuation``; the hazard disc of the kind, or the
  crowd zone's polygon): the route from the start nearest the incident through that exit, ``nodes``, ``xy``,
  ``length_m``, ``time_s``, plus ``starts`` (the walk nodes leaving that way), ``exit_edge``, ``exit_street``,
  ``hazard_m``, ``unreachable`` (starts with no way out), ``hazard``.
- ``close_inflow``: the walk edges into the hazard or the gathering's zone (``analytics.crowdcontrol``) with
  ``u``, ``v``, ``key``, ``xy`` and, with densities, their inflow; ``inflow_pps`` their sum.
- ``dispatch``: one per unit kind of ``analytics.dispatch.DISPATCH_RULES``: ``unit``, ``unit_kind``,
  ``node``, ``eta_s``, ``path``, ``xy`` (``unit`` None when none of that kind can come). A unit whose dict
  carries ``"incident"`` is assigned: never offered again, and one assigned to this incident already covers
  its kind.
- ``isolate_segment``: one per node to isolate (``analytics.netresponse``): ``target``, ``target_kind``,
  ``switch``, ``hosts``, ``cameras``, with ``not_isolated`` and ``external`` hosts. The hosts are the sources
  of the incident's port-scan, brute-force and beaconing alerts (the attacking side), else its ``hosts``.
- ``failover``: ``cameras`` affected and each one's ``paths`` entry (backup path or edge storage). Affected:
  the cameras named by the incident's video and DoS alerts (and, for dos/video_tamper incidents, its
  ``hosts``), and the cameras recording through a named non-camera node. Attacked (avoided, and a camera
  attacked stays on edge storage): every named non-camera node, and the cameras a DoS or camera-tamper alert
  names (and a dos incident's hosts).

A physical action needs a position (the incident's ``xy``, else its zone's centroid) and the graph it runs
on; a network action needs the network. An action whose input is missing is left out, as is one with nothing
to do (no exit, no inflow edge, no camera affected). Ids are ``ACT-<incident id>-<n>``, n from 1 in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from analytics.crowdcontrol import inflow_edges
from analytics.crowdcost import DensityField, density_field
from analytics.dispatch import DISPATCH_RULES, DispatchParams, nearest_units
from analytics.evacuation import EvacuationParams, evacuation_routes, exit_routes, hazard_area, hazard_radius
from analytics.graphgeo import RecommendError, as_polygon, finite_xy
from analytics.netresponse import affected_cameras, failover_paths, isolation_targets, resolve_hosts

__all__ = ["ACTION_KINDS", "HYBRID_RULES", "RULES", "RecommendParams", "recommend"]

ACTION_KINDS = ("evacuate", "dispatch", "close_inflow", "isolate_segment", "failover")
_HAZARD = (("evacuate_hazard", "evacuate"), ("close_hazard_inflow", "close_inflow"),
           ("dispatch_units", "dispatch"))
#: Incident kind -> its rules ``(name, action kind)`` (module docstring).
RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "armed_attack": _HAZARD,
    "explosion": _HAZARD,
    "suspicious_object": _HAZARD,
    "vehicle_attack": _HAZARD,
    "crowd_emergency": (("close_gathering_inflow", "close_inflow"), ("disperse_crowd", "evacuate"),
                        ("dispatch_units", "dispatch")),
    "intrusion": (("dispatch_units", "dispatch"),),
    "suspicious_behaviour": (),
    "cyber_attack": (("isolate_compromised", "isolate_segment"),),
    "dos": (("failover_video", "failover"),),
    "video_tamper": (("failover_video", "failover"),),
}
#: Rules a ``hybrid`` incident adds to its kind's.
HYBRID_RULES = (("hybrid_isolate", "isolate_segment"), ("hybrid_failover", "failover"))
#: Alert kinds whose sources are the attacking hosts, and those naming lost or attacked video.
_CYBER_ALERTS = ("port_scan", "brute_force", "beaconing")
_VIDEO_ALERTS = ("dos", "stream_loss", "video_frozen", "video_replay", "camera_tamper")
_ATTACKING_ALERTS = ("dos", "camera_tamper")


@dataclass(frozen=True, slots=True)
class RecommendParams:
    """Settings of the recommendation step.

    Parameters
    ----------
    evacuation : hazard radii, safe margin, penalties, routes kept (default ``EvacuationParams()``).
    dispatch : drive-time fallback speed (default ``DispatchParams()``).
    """

    evacuation: EvacuationParams = EvacuationParams()
    dispatch: DispatchParams = DispatchParams()


@dataclass
class _Context:
    incident: dict
    walk: nx.MultiDiGraph | None
    drive: nx.MultiDiGraph | None
    network: nx.Graph | None
    units: Sequence[Mapping[str, Any]]
    zones: Mapping[str, Any] | None
    density: DensityField
    safe_zones: Sequence | None
    params: RecommendParams
    xy: tuple[float, float] | None
    evidence: str
    _hazard: Any = None

    def gathering(self) -> Any:
        """The crowd zone's polygon, when the incident names a zone given in ``zones``."""
        zone = self.incident.get("zone")
        if zone is not None and self.zones and zone in self.zones:
            return as_polygon(self.zones[zone], f"zones[{zone!r}]")
        return None

    def hazard(self) -> Any:
        if self._hazard is None:
            inc = self.incident
            poly = self.gathering() if inc["kind"] == "crowd_emergency" else None
            self._hazard = hazard_area(inc["kind"], xy=self.xy, sigma_m=inc.get("sigma_m"),
                                       zone_polygon=poly, params=self.params.evacuation)
        return self._hazard

    def hazard_info(self) -> dict[str, Any]:
        poly = self.gathering() if self.incident["kind"] == "crowd_emergency" else None
        if poly is not None:
            return {"zone": self.incident["zone"], "radius_m": None, "center": None}
        inc = self.incident
        r = hazard_radius(inc["kind"], sigma_m=inc.get("sigma_m"), params=self.params.evacuation)
        return {"zone": None, "radius_m": round(r, 2), "center": [round(self.xy[0], 2), round(self.xy[1], 2)]}


def _check_incident(incident: Any) -> dict:
    if not isinstance(incident, Mapping):
        raise RecommendError("incident: must be a dict")
    if not isinstance(incident.get("id"), str) or not incident["id"]:
        raise RecommendError(f"incident.id: must be a non-empty string, got {incident.get('id')!r}")
    if incident.get("kind") not in RULES:
        raise RecommendError(f"incident.kind: unknown kind {incident.get('kind')!r}")
    conf = incident.get("confidence", 0.0)
    if not isinstance(conf, (int, float)) or not 0.0 <= float(conf) <= 1.0:
        raise RecommendError(f"incident.confidence: must be a number in 0..1, got {conf!r}")
    if incident.get("xy") is not None:
        finite_xy(incident["xy"], "incident.xy")
    return dict(incident)


def _evidence(inc: dict) -> str:
    parts = [f"confidence {float(inc.get('confidence', 0.0)):.2f}"]
    risk = inc.get("risk")
    if isinstance(risk, Mapping) and isinstance(risk.get("exposed"), (int, float)):
        parts.append(f"{float(risk['exposed']):.0f} people exposed")
    if inc.get("hybrid"):
        reason = inc.get("hybrid_reason")
        parts.append(f"hybrid: {reason}" if reason else "hybrid")
    return f"{inc['kind'].replace('_', ' ')} incident {inc['id']} ({', '.join(parts)})"


def _position(inc: dict, zones: Mapping | None) -> tuple[float, float] | None:
    if inc.get("xy") is not None:
        return finite_xy(inc["xy"], "incident.xy")
    zone = inc.get("zone")
    if zone is not None and zones and zone in zones:
        c = as_polygon(zones[zone], f"zones[{zone!r}]").centroid
        return (c.x, c.y)
    return None


def _evacuate(ctx: _Context) -> list[dict]:
    if ctx.walk is None or (ctx.xy is None and ctx.gathering() is None):
        return []
    hz = ctx.hazard()
    origin = ctx.xy if ctx.xy is not None else (hz.centroid.x, hz.centroid.y)
    plan = evacuation_routes(ctx.walk, hz, origin=origin, safe_zones=ctx.safe_zones, density=ctx.density,
                             params=ctx.params.evacuation)
    routes = exit_routes(plan, origin=origin, max_routes=ctx.params.evacuation.max_routes)
    info, n_starts = ctx.hazard_info(), len(plan["starts"])
    where = f"zone {info['zone']}" if info["zone"] else f"{info['radius_m']:.0f} m hazard zone"
    out = []
    for r in routes:
        via = f" by {r['exit_street']}" if r["exit_street"] else ""
        why = (f"{ctx.evidence}: leave the {where}{via} and walk {r['length_m']:.0f} m to safety in about "
               f"{r['time_s']:.0f} s ({len(r['starts'])} of {n_starts} start nodes leave this way).")
        out.append({"kind": "evacuate", "why": why, **r, "unreachable": plan["unreachable"], "hazard": info})
    return out


def _close_inflow(ctx: _Context) -> list[dict]:
    if ctx.walk is None:
        return []
    gathering = ctx.gathering() if ctx.incident["kind"] == "crowd_emergency" else None
    if gathering is None and ctx.xy is None:
        return []
    area = gathering if gathering is not None else ctx.hazard()
    edges = inflow_edges(ctx.walk, area, density=ctx.density, params=ctx.params.evacuation.walk)
    if not edges:
        return []
    flows = [e["inflow_pps"] for e in edges if e["inflow_pps"] is not None]
    total = round(sum(flows), 3) if flows else None
    if gathering is not None:
        info = {"zone": ctx.incident["zone"], "radius_m": None, "center": None}
        where = f"the gathering's zone {ctx.incident['zone']}"
    else:
        info = ctx.hazard_info()
        where = f"the {info['radius_m']:.0f} m hazard zone"
    flow = f", carrying about {total:.1f} people/s in" if total is not None else ""
    why = f"{ctx.evidence}: close the {len(edges)} walkways into {where}{flow}."
    return [{"kind": "close_inflow", "why": why, "edges": edges, "inflow_pps": total, "area": info}]


def _dispatch(ctx: _Context) -> list[dict]:
    if ctx.drive is None or ctx.xy is None:
        return []
    needs = list(DISPATCH_RULES.get(ctx.incident["kind"], ()))
    assigned = [u for u in ctx.units if u.get("incident") is not None]
    for u in sorted(assigned, key=lambda u: str(u.get("id"))):
        if u.get("incident") == ctx.incident["id"] and u.get("kind") in needs:
            needs.remove(u["kind"])
    if not needs:
        return []
    found = nearest_units(ctx.drive, ctx.xy, ctx.units, needs, exclude={str(u.get("id")) for u in assigned},
                          params=ctx.params.dispatch)
    out = []
    for f in found:
        if f["unit"] is None:
            why = f"{ctx.evidence}: no available {f['kind']} unit can reach the scene."
        else:
            why = (f"{ctx.evidence}: send {f['kind']} unit {f['unit']}, the nearest available by drive time, "
                   f"ETA {f['eta_s']:.0f} s.")
        body = {k: v for k, v in f.items() if k != "kind"}
        out.append({"kind": "dispatch", "why": why, "unit_kind": f["kind"], **body})
    return out


def _alert_sources(inc: dict, kinds: Sequence[str]) -> list[tuple[str, str]]:
    """``(alert kind, source)`` of the incident's alerts of ``kinds``, in order, each once."""
    out = []
    for a in inc.get("alerts") or ():
        if isinstance(a, Mapping) and a.get("kind") in kinds:
            out.extend((a["kind"], str(s)) for s in a.get("source") or ())
    return list(dict.fromkeys(out))


def _isolate(ctx: _Context, *, hybrid: bool) -> list[dict]:
    if ctx.network is None:
        return []
    hosts = [s for _k, s in _alert_sources(ctx.incident, _CYBER_ALERTS)]
    if not hosts and not hybrid:
        hosts = [str(h) for h in ctx.incident.get("hosts") or ()]
    plan = isolation_targets(ctx.network, hosts)
    out = []
    for t in plan["targets"]:
        names = ", ".join(t["hosts"])
        if t["target_kind"] == "access_switch" and t["target"] not in t["hosts"]:
            what = (f"host {names} sits on access switch {t['switch']}: isolate its segment "
                    f"({len(t['cameras'])} cameras)")
        else:
            what = f"host {names} is the {t['target_kind'].replace('_', ' ')} {t['target']}: isolate it"
        why = f"{ctx.evidence}: {what}."
        out.append({"kind": "isolate_segment", "why": why, **t, "not_isolated": plan["not_isolated"],
                    "external": plan["external"]})
    return out


def _failover(ctx: _Context, *, hybrid: bool) -> list[dict]:
    if ctx.network is None:
        return []
    named = _alert_sources(ctx.incident, _VIDEO_ALERTS)
    if not hybrid and ctx.incident["kind"] in ("dos", "video_tamper"):
        tag = "dos" if ctx.incident["kind"] == "dos" else "stream_loss"
        named += [(tag, str(h)) for h in ctx.incident.get("hosts") or ()]
    found, _external = resolve_hosts(ctx.network, [s for _k, s in named])
    kinds = {h: ctx.network.nodes[n].get("kind") for h, n in found.items()}
    attacked = {h for k, h in named if h in found and (kinds[h] != "camera" or k in _ATTACKING_ALERTS)}
    lost = {str(found[h]) for h in found if kinds[h] == "camera"}
    cams = sorted(lost | set(affected_cameras(ctx.network, [found[h] for h in attacked])))
    if not cams:
        return []
    paths = failover_paths(ctx.network, cams, attacked=sorted(attacked))
    n_backup = sum(p["to"] == "backup" for p in paths)
    nodes = sorted({str(found[h]) for h in attacked})
    cause = f"record through attacked {', '.join(nodes)}" if nodes else "lost their streams"
    why = (f"{ctx.evidence}: {len(cams)} cameras {cause}; fail {n_backup} over to the backup recorder and "
           f"keep {len(paths) - n_backup} on edge storage.")
    return [{"kind": "failover", "why": why, "attacked": nodes, "cameras": [p["camera"] for p in paths],
             "paths": paths, "to_backup": n_backup, "to_edge_storage": len(paths) - n_backup}]


_HANDLERS = {
    "evacuate": lambda ctx, hybrid: _evacuate(ctx),
    "close_inflow": lambda ctx, hybrid: _close_inflow(ctx),
    "dispatch": lambda ctx, hybrid: _dispatch(ctx),
    "isolate_segment": lambda ctx, hybrid: _isolate(ctx, hybrid=hybrid),
    "failover": lambda ctx, hybrid: _failover(ctx, hybrid=hybrid),
}


def recommend(incident: Mapping[str, Any], *, walk: nx.MultiDiGraph | None = None,
              drive: nx.MultiDiGraph | None = None, network: nx.Graph | None = None,
              units: Sequence[Mapping[str, Any]] = (), zones: Mapping[str, Any] | None = None,
              densities: Mapping | None = None, safe_zones: Sequence | None = None,
              params: RecommendParams | None = None) -> list[dict[str, Any]]:
    """The recommended actions for ``incident`` (an incident dict), by ``RULES`` (module docstring).

    ``zones`` are ``{zone: polygon}`` (shapely or ``[[x, y], ...]``, metres); ``densities`` the sensed crowd,
    per zone or per edge (``analytics.crowdcost``); ``safe_zones`` points or polygons (default: every walk
    node far enough from the hazard); ``units`` responder dicts (``analytics.dispatch``).

    Returns
    -------
    list of dict
        ``{"id": "ACT-<incident id>-<n>", "incident", "kind", "rule", "why", ...details}``, plain JSON values.

    Raises
    ------
    RecommendError
        An incident without a string id or with an unknown kind, a confidence outside 0..1, a position that
        is not two finite numbers, or malformed zones, densities, safe zones or units.
    """
    inc = _check_incident(incident)
    params = params or RecommendParams()
    ctx = _Context(inc, walk, drive, network, units, zones, density_field(densities, zones), safe_zones,
                   params, _position(inc, zones), _evidence(inc))
    rules = [(name, kind, False) for name, kind in RULES[inc["kind"]]]
    if inc.get("hybrid"):
        rules += [(name, kind, True) for name, kind in HYBRID_RULES]
    out: list[dict[str, Any]] = []
    for name, kind, hybrid in rules:
        for body in _HANDLERS[kind](ctx, hybrid):
            out.append({"id": f"ACT-{inc['id']}-{len(out) + 1}", "incident": inc["id"], "rule": name, **body})
    return out
