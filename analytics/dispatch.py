"""Responder dispatch: the nearest available units by travel time on the drive graph, with their ETA.

``DISPATCH_RULES`` says which unit kinds an incident kind needs, one unit of each. It starts from the
simulator's fixed auto-dispatch table (alert kind -> units), re-keyed by incident kind: an armed attack
(gunshot) and a vehicle attack get police and an ambulance, an explosion police, fire and an ambulance, a
suspicious object and an intrusion police. Added here: a crowd emergency gets police (crowd control) and an
ambulance (crush injuries). Suspicious behaviour, cyber and video incidents send no units.

Units are plain dicts ``{"id", "kind": police|fire|ambulance, "node": drive node, "available": bool}``
(``"xy"`` may stand in for ``"node"``: the unit's nearest drive node). One Dijkstra on the reversed drive
graph from the drive node nearest the incident, weighted by ``travel_time`` (an edge without one: its
``length`` at ``default_kph``), gives every unit's drive time to the scene; the least-time available unit of
each kind is chosen, ties by unit id, and no unit is chosen twice. The ETA is that drive time (the last
metres from the drive node to the incident are not driven; ``scene_offset_m`` reports them).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from analytics.graphgeo import RecommendError, finite_xy, jsonable_node, nearest_node, node_key

__all__ = ["DISPATCH_RULES", "UNIT_KINDS", "DispatchParams", "check_units", "drive_times_to", "nearest_units"]

#: Responder unit kinds.
UNIT_KINDS = ("police", "fire", "ambulance")

#: Incident kind -> the unit kinds it needs (one unit each), in dispatch order.
DISPATCH_RULES = {
    "armed_attack": ("police", "ambulance"),
    "explosion": ("police", "fire", "ambulance"),
    "vehicle_attack": ("police", "ambulance"),
    "suspicious_object": ("police",),
    "intrusion": ("police",),
    "crowd_emergency": ("police", "ambulance"),
}


@dataclass(frozen=True, slots=True)
class DispatchParams:
    """Dispatch settings.

    Parameters
    ----------
    default_kph : speed on a drive edge with no ``travel_time`` (default 30 km/h, the twin's last fallback).
    """

    default_kph: float = 30.0


def check_units(units: Sequence[Mapping[str, Any]], drive: nx.MultiDiGraph) -> list[dict[str, Any]]:
    """The units with their drive ``node`` resolved, in input order.

    Raises
    ------
    RecommendError
        A unit without an ``id``, a ``kind`` not in ``UNIT_KINDS``, an ``available`` that is not a bool, a
        duplicate id, or no ``node`` of the drive graph nor ``xy``.
    """
    out, seen = [], set()
    for i, u in enumerate(units):
        if not isinstance(u, Mapping) or not u.get("id"):
            raise RecommendError(f"units[{i}].id: every unit needs an id")
        uid = str(u["id"])
        if uid in seen:
            raise RecommendError(f"units[{i}].id: duplicate unit id {uid!r}")
        seen.add(uid)
        if u.get("kind") not in UNIT_KINDS:
            kinds = ", ".join(UNIT_KINDS)
            raise RecommendError(f"units[{i}].kind: must be one of {kinds}, got {u.get('kind')!r}")
        if not isinstance(u.get("available"), bool):
            raise RecommendError(f"units[{i}].available: must be true or false, got {u.get('available')!r}")
        node = u.get("node")
        if node is None and u.get("xy") is not None:
            node = nearest_node(drive, finite_xy(u["xy"], f"units[{i}].xy"))
        if node is None or node not in drive:
            raise RecommendError(f"units[{i}].node: {node!r} is not a node of the drive graph")
        out.append({**u, "id": uid, "node": node})
    return out


#: Least edge time (s) in the search: every step lowers the time to the scene, so predecessors never cycle.
_MIN_TIME_S = 1e-6


def _edge_time(default_mps: float, multi: bool):
    def one(d: Mapping) -> float:
        t = float(d.get("travel_time", d.get("length", 0.0) / default_mps))
        if not math.isfinite(t) or t < 0:
            raise RecommendError(f"drive: an edge has travel_time {t!r}, not a finite time >= 0")
        return max(t, _MIN_TIME_S)

    def weight(_u: Hashable, _v: Hashable, data: Mapping) -> float:
        return min(one(d) for d in data.values()) if multi else one(data)
    return weight


def drive_times_to(drive: nx.MultiDiGraph, node: Hashable, *, params: DispatchParams = DispatchParams(),
                   ) -> tuple[dict, dict]:
    """Drive time (s) from every node to ``node``, and each node's next nodes on a quickest way there.

    Raises
    ------
    RecommendError
        An edge reached with a negative or non-finite ``travel_time``.
    """
    weight = _edge_time(params.default_kph / 3.6, drive.is_multigraph())
    pred, dist = nx.dijkstra_predecessor_and_distance(drive.reverse(copy=False), node, weight=weight)
    return dist, pred


def _path(start: Hashable, dest: Hashable, pred: Mapping) -> list:
    path, n = [start], start
    while n != dest:
        n = min(pred[n], key=node_key)
        path.append(n)
    return path


def _xy(drive: nx.MultiDiGraph, path: list) -> list[list[float]]:
    return [[round(float(drive.nodes[n]["x"]), 2), round(float(drive.nodes[n]["y"]), 2)] for n in path]


def nearest_units(drive: nx.MultiDiGraph, xy: Sequence[float], units: Sequence[Mapping[str, Any]],
                  kinds: Sequence[str], *, exclude: Collection[str] = (),
                  params: DispatchParams = DispatchParams()) -> list[dict[str, Any]]:
    """For each entry of ``kinds``, the available unit of that kind with the least drive time to ``xy``.

    Units in ``exclude`` (ids) or not ``available`` are never chosen, and no unit twice (a kind listed twice
    gets its two nearest units). Each result is ``{"kind", "unit": id | None, "node", "eta_s", "path": drive
    nodes from the unit to the scene, "xy": their positions, "scene_node", "scene_offset_m"}``; ``unit`` is
    None (and ``eta_s``, ``node``, ``path``, ``xy`` too) when no unit of the kind can come.
    """
    checked = check_units(units, drive)
    x, y = finite_xy(xy, "incident.xy")
    scene = nearest_node(drive, (x, y))
    sx, sy = float(drive.nodes[scene]["x"]), float(drive.nodes[scene]["y"])
    offset = round(float(np.hypot(sx - x, sy - y)), 2)
    dist, pred = drive_times_to(drive, scene, params=params)
    taken = {str(e) for e in exclude}
    out = []
    for kind in kinds:
        pool = [u for u in checked if u["kind"] == kind and u["available"] and u["id"] not in taken
                and u["node"] in dist and math.isfinite(dist[u["node"]])]
        res = {"kind": kind, "unit": None, "node": None, "eta_s": None, "path": None, "xy": None,
               "scene_node": jsonable_node(scene), "scene_offset_m": offset}
        if pool:
            best = min(pool, key=lambda u: (dist[u["node"]], u["id"]))
            taken.add(best["id"])
            path = _path(best["node"], scene, pred)
            eta = round(float(dist[best["node"]]), 1)
            res.update(unit=best["id"], node=jsonable_node(best["node"]), eta_s=eta,
                       path=[jsonable_node(n) for n in path], xy=_xy(drive, path))
        out.append(res)
    return out
