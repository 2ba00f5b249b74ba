"""Evacuation routes: from a hazard zone to safe places on the walk graph, around crowds, out of the hazard.

**Hazard.** A disc round the incident of ``HAZARD_RADIUS_M[kind] + sigma_factor * sigma_m`` (the location's
1-sigma uncertainty widens it), or for a crowd emergency the crowd zone's own polygon. Radii: a suspicious
object and an explosion 100 m, a vehicle attack 200 m (the UK "4 Cs" cordon for an item up to briefcase size
and for a car, which may carry a device), an armed attack 100 m (a planning value: no standard distance
exists, the advice is to move away), a crowd zone without polygon 25 m (the twin's zone disc round a point
asset).

**Safe nodes.** Walk nodes at least ``safe_margin_m`` (50 m) outside the hazard, or the given safe zones: a
point is its nearest walk node, a polygon the walk nodes inside it (its nearest node if none is); safe nodes
inside the hazard are dropped.

**Cost.** An edge costs its walking time with the sensed crowd (``analytics.crowdcost``: the length times
Weidmann's density penalty, over the free walking speed). The hazard, walking u -> v:

- an edge that starts outside the hazard and enters it (ends inside, or runs through it; touching its
  boundary is not entering) is forbidden: a route never enters or re-enters it;
- an edge that starts inside and ends outside, or deeper-to-shallower (closer to the boundary), is the way out
  and costs its walking time;
- an edge that starts inside and goes no nearer the boundary costs ``inside_penalty`` (10) times its time: a
  last resort (a dead end inside), so every start that can get out has a route.

**Search.** One multi-source Dijkstra on the reversed graph from every safe node at once (a virtual source
joined to them at zero cost) gives each node its cheapest way to safety; ties go to the lowest node id. Starts
are the walk nodes inside the hazard and the node nearest the incident (a start with no way out that keeps
out of the hazard is reported unreachable). A route reports its nodes, its
``[x, y]`` polyline, its length, its walking time (without the inside penalty) and the metres it walks inside
the hazard; ``exit_routes`` keeps one route per exit edge (where routes cross the hazard boundary).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from analytics.crowdcost import DensityField, WalkCostParams, edge_costs
from analytics.graphgeo import (
    RecommendError,
    as_polygon,
    edge_table,
    finite_xy,
    jsonable_node,
    nearest_node,
    node_key,
    polyline,
)

__all__ = ["HAZARD_RADIUS_M", "EvacuationParams", "evacuation_routes", "exit_routes", "hazard_area",
           "hazard_radius", "safe_nodes"]

#: Hazard radius (m) by incident kind (see the module docstring for the sources).
HAZARD_RADIUS_M = {
    "suspicious_object": 100.0,
    "explosion": 100.0,
    "vehicle_attack": 200.0,
    "armed_attack": 100.0,
    "crowd_emergency": 25.0,
}


@dataclass(frozen=True, slots=True)
class EvacuationParams:
    """Evacuation settings.

    Parameters
    ----------
    hazard_radius_m : radius by incident kind (default ``HAZARD_RADIUS_M``).
    sigma_factor : location sigmas added to the radius (default 1).
    safe_margin_m : distance outside the hazard where a node counts as safe (default 50 m).
    inside_penalty : cost factor of an edge inside the hazard that leads no nearer its boundary (default 10).
    max_routes : routes ``exit_routes`` keeps, the exits serving most starts first (default 4).
    walk : Weidmann's diagram for the crowd penalty (default ``WalkCostParams()``).
    """

    hazard_radius_m: Mapping[str, float] = field(default_factory=lambda: dict(HAZARD_RADIUS_M))
    sigma_factor: float = 1.0
    safe_margin_m: float = 50.0
    inside_penalty: float = 10.0
    max_routes: int = 4
    walk: WalkCostParams = WalkCostParams()


#: Least edge cost (s) in the search: every step lowers the cost to safety, so predecessors never cycle.
_MIN_COST_S = 1e-6
#: Length (m) of a line inside the hazard below which it only touches its boundary.
_TOUCH_M = 1e-6


def hazard_radius(kind: str, *, sigma_m: float | None = 0.0, params: EvacuationParams = EvacuationParams(),
                  ) -> float:
    """The hazard disc's radius (m): the kind's radius plus ``sigma_factor`` location sigmas (a missing,
    negative or non-finite sigma adds nothing).

    Raises
    ------
    RecommendError
        A kind with no hazard radius, or a sigma that is not a number.
    """
    if kind not in params.hazard_radius_m:
        raise RecommendError(f"incident.kind: no hazard radius for kind {kind!r}")
    try:
        sigma = 0.0 if sigma_m is None else float(sigma_m)
    except (TypeError, ValueError):
        raise RecommendError(f"incident.sigma_m: must be a number of metres, got {sigma_m!r}") from None
    sigma = sigma if math.isfinite(sigma) else 0.0
    return float(params.hazard_radius_m[kind]) + params.sigma_factor * max(sigma, 0.0)


def hazard_area(kind: str, *, xy: Sequence[float] | None = None, sigma_m: float | None = 0.0,
                zone_polygon: Any = None, params: EvacuationParams = EvacuationParams()) -> shapely.Polygon:
    """The hazard of an incident: ``zone_polygon`` if given, else the disc round ``xy`` (module docstring).

    Raises
    ------
    RecommendError
        No zone polygon and no ``xy``, or a kind with no hazard radius.
    """
    if zone_polygon is not None:
        return as_polygon(zone_polygon, "zone_polygon")
    if xy is None:
        raise RecommendError(f"incident.xy: a {kind} hazard needs a position or a zone polygon")
    radius = hazard_radius(kind, sigma_m=sigma_m, params=params)
    x, y = finite_xy(xy, "incident.xy")
    return shapely.Point(x, y).buffer(radius, quad_segs=32)


def _point_or_polygon(zone: Any, i: int) -> tuple[str, Any]:
    if isinstance(zone, shapely.Point):
        return "point", (zone.x, zone.y)
    if isinstance(zone, (shapely.Polygon, shapely.MultiPolygon)):
        return "polygon", as_polygon(zone, f"safe_zones[{i}]")
    arr = np.asarray(zone, dtype=float) if not isinstance(zone, str) else np.zeros(0)
    if arr.shape == (2,):
        return "point", finite_xy(arr, f"safe_zones[{i}]")
    return "polygon", as_polygon(zone, f"safe_zones[{i}]")


def safe_nodes(walk: nx.MultiDiGraph, hazard: shapely.Polygon, *, safe_zones: Sequence | None = None,
               params: EvacuationParams = EvacuationParams()) -> list:
    """The safe walk nodes, sorted by node id (module docstring)."""
    table = edge_table(walk)
    pts = shapely.points(table.xy)
    inside = shapely.contains_xy(hazard, table.xy[:, 0], table.xy[:, 1])
    if safe_zones is None:
        keep = shapely.distance(pts, hazard) >= params.safe_margin_m
        return [n for n, k in zip(table.nodes, keep, strict=True) if k]
    chosen = set()
    for i, zone in enumerate(safe_zones):
        what, geom = _point_or_polygon(zone, i)
        if what == "polygon":
            hit = np.flatnonzero(shapely.contains_xy(geom, table.xy[:, 0], table.xy[:, 1]))
            if not len(hit):
                p = geom.representative_point()
                hit = [table.index[nearest_node(walk, (p.x, p.y))]]
            chosen.update(int(j) for j in hit)
        else:
            chosen.add(table.index[nearest_node(walk, geom)])
    return [table.nodes[j] for j in sorted(chosen) if not inside[j]]


def _edge_weights(table, hazard: shapely.Polygon, cost: np.ndarray, params: EvacuationParams) -> np.ndarray:
    """Search cost of every edge: its walking time, ``inside_penalty`` times it, or inf (forbidden)."""
    inside = shapely.contains_xy(hazard, table.xy[:, 0], table.xy[:, 1])
    depth = np.zeros(len(table.nodes))
    if inside.any():
        depth[inside] = shapely.distance(shapely.points(table.xy[inside]), hazard.boundary)
    w = cost.astype(float).copy()
    touch = np.sort(table.tree.query(hazard, predicate="intersects"))
    if len(touch):
        u = np.array([table.index[table.edges[i][0]] for i in touch], dtype=int)
        v = np.array([table.index[table.edges[i][1]] for i in touch], dtype=int)
        enters = inside[v] | (shapely.length(shapely.intersection(table.lines[touch], hazard)) > _TOUCH_M)
        leaving = inside[u] & (~inside[v] | (depth[v] < depth[u]))
        w[touch[inside[u] & ~leaving]] *= params.inside_penalty
        w[touch[~inside[u] & enters]] = np.inf
    return np.maximum(w, _MIN_COST_S)


def _search(table, weights: np.ndarray, safe: list) -> tuple[dict, dict, dict]:
    """Multi-source Dijkstra to the safe nodes on the reversed graph (scipy's compiled search from a virtual
    source joined to every safe node): predecessors toward safety (every neighbour on a cheapest way, so
    ties can be broken by node id), costs, and the cheapest edge index of each (u, v)."""
    n = len(table.nodes)
    ui, vi = table.u_idx, table.v_idx
    ok = np.flatnonzero(np.isfinite(weights))
    w = weights[ok]
    order = np.lexsort((ok, w, vi[ok], ui[ok]))              # per (u, v): the cheapest, then lowest index
    e = ok[order]
    first = np.ones(len(e), dtype=bool)
    first[1:] = (ui[e][1:] != ui[e][:-1]) | (vi[e][1:] != vi[e][:-1])
    e = e[first]
    best = {(table.nodes[ui[i]], table.nodes[vi[i]]): (float(weights[i]), int(i)) for i in e.tolist()}
    if not safe:   # nowhere safe on this graph (a small or synthetic one): every start is unreachable
        return {}, {}, best
    sidx = np.array([table.index[x] for x in safe])
    rows = np.concatenate([vi[e], np.full(len(sidx), n)])   # reversed: v -> u, and source -> safe
    cols = np.concatenate([ui[e], sidx])
    vals = np.concatenate([np.maximum(weights[e], _MIN_COST_S), np.full(len(sidx), 1e-300)])
    graph = csr_matrix((vals, (rows, cols)), shape=(n + 1, n + 1))
    cost = dijkstra(graph, directed=True, indices=n)
    dist = {table.nodes[k]: max(float(cost[k]) - 1e-300, 0.0) for k in np.flatnonzero(np.isfinite(cost[:n]))}
    on = np.isfinite(cost[ui[e]]) & np.isfinite(cost[vi[e]])
    tie = on & np.isclose(cost[vi[e]] + weights[e], cost[ui[e]], rtol=1e-12, atol=1e-9)
    pred: dict = {}
    for i in e[tie].tolist():
        pred.setdefault(table.nodes[ui[i]], []).append(table.nodes[vi[i]])
    return pred, dist, best


def _route(table, start: Hashable, pred: dict, safe: set, best: dict) -> tuple[list, list]:
    nodes, eids, n = [start], [], start
    while n not in safe:
        nxt = min(pred[n], key=node_key)
        eids.append(best[(n, nxt)][1])
        nodes.append(nxt)
        n = nxt
    return nodes, eids


def _route_dict(walk, table, hazard, inside: np.ndarray, start, nodes, eids, cost) -> dict[str, Any]:
    exit_edge, street = None, None
    for i in eids:
        u, v, k = table.edges[i]
        if inside[table.index[u]] and not inside[table.index[v]]:
            exit_edge = [jsonable_node(u), jsonable_node(v), jsonable_node(k)]
            name = walk.edges[u, v, k].get("name") if walk.is_multigraph() else walk.edges[u, v].get("name")
            street = "/".join(map(str, name)) if isinstance(name, list) else name
            break
    in_m = float(shapely.length(shapely.intersection(table.lines[eids], hazard)).sum()) if eids else 0.0
    return {
        "start": jsonable_node(start),
        "safe": jsonable_node(nodes[-1]),
        "nodes": [jsonable_node(n) for n in nodes],
        "xy": polyline(table, eids, start),
        "length_m": round(float(table.length[eids].sum()), 2),
        "time_s": round(float(cost[eids].sum()), 1),
        "hazard_m": round(in_m, 2),
        "exit_edge": exit_edge,
        "exit_street": None if street is None else str(street),
    }


def evacuation_routes(walk: nx.MultiDiGraph, hazard: shapely.Polygon, *,
                      origin: Sequence[float] | None = None, safe_zones: Sequence | None = None,
                      density: DensityField | None = None,
                      params: EvacuationParams = EvacuationParams()) -> dict[str, Any]:
    """Every start's cheapest route to safety (module docstring); ``density``: the sensed crowd (none: empty).

    Returns
    -------
    dict
        ``{"starts": [node ids], "safe_nodes": int, "routes": [route per start, by start id], "unreachable":
        [starts with no route]}``; a route is ``{start, safe, nodes, xy, length_m, time_s, hazard_m,
        exit_edge, exit_street}``.
    """
    table = edge_table(walk)
    inside = shapely.contains_xy(hazard, table.xy[:, 0], table.xy[:, 1])
    starts = {table.nodes[j] for j in np.flatnonzero(inside)}
    if origin is not None or not starts:
        c = hazard.centroid
        starts.add(nearest_node(walk, finite_xy(origin, "origin") if origin is not None else (c.x, c.y)))
    starts = sorted(starts, key=node_key)
    safe = safe_nodes(walk, hazard, safe_zones=safe_zones, params=params)
    cost, _rho = edge_costs(table, density or DensityField(), params.walk)
    pred, dist, best = _search(table, _edge_weights(table, hazard, cost, params), safe)
    safe_set = set(safe)
    routes, unreachable = [], []
    for s in starts:
        if s not in dist:
            unreachable.append(jsonable_node(s))
            continue
        nodes, eids = _route(table, s, pred, safe_set, best)
        routes.append(_route_dict(walk, table, hazard, inside, s, nodes, eids, cost))
    return {"starts": [jsonable_node(s) for s in starts], "safe_nodes": len(safe), "routes": routes,
            "unreachable": unreachable}


def exit_routes(plan: Mapping[str, Any], *, origin: Sequence[float], max_routes: int = 4,
                ) -> list[dict[str, Any]]:
    """One route per exit edge: the one from the start nearest ``origin`` (ties: lowest start id), with
    ``starts`` (the starts leaving by that exit); exits serving most starts first, then the quicker, at most
    ``max_routes``."""
    groups: dict[str, list[dict]] = {}
    for r in plan["routes"]:
        key = repr(r["exit_edge"]) if r["exit_edge"] is not None else repr(("from", r["start"]))
        groups.setdefault(key, []).append(r)
    ox, oy = finite_xy(origin, "origin")
    out = []
    for key, rs in groups.items():
        def d(r: dict) -> tuple:
            x, y = r["xy"][0]
            return (round(float(np.hypot(x - ox, y - oy)), 6), node_key(r["start"]))
        rep = dict(min(rs, key=d))
        rep["starts"] = sorted((r["start"] for r in rs), key=node_key)
        out.append((-len(rs), rep["time_s"], key, rep))
    out.sort(key=lambda t: t[:3])
    return [rep for *_, rep in out[:max(int(max_routes), 0)]]
