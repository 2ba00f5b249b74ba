"""Crowd control: the walkways to close so no more people flow into a gathering.

A walk edge u -> v is an inflow edge of an area (the gathering's zone polygon, or a hazard disc) when u lies
outside the area and the edge reaches inside it: v lies inside, or the edge's line runs through the area
(a street crossing the zone). Closing these edges, and no others, stops every walk into the area along the
graph while every way out stays open.

With sensed densities (``analytics.crowdcost``), each edge reports the density on its part outside the area
(the people queued to come in) and the flow that density carries, ``rho v(rho) width`` persons/s (Weidmann):
an upper bound, as it assumes everyone on the edge walks inward.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import shapely

from analytics.crowdcost import DensityField, WalkCostParams, edge_density, line_densities, specific_flow
from analytics.graphgeo import edge_table, jsonable_node, polyline

__all__ = ["inflow_edges"]

#: Length (m) of a line inside the area below which it only touches it.
_TOUCH_M = 1e-6


def _outside_density(table, idx: np.ndarray, area, field: DensityField) -> np.ndarray:
    if field.per_edge:
        return np.array([edge_density(field, *table.edges[i]) for i in idx], dtype=float)
    outside = shapely.difference(table.lines[idx], area)
    rho = np.zeros(len(idx))
    ok = ~shapely.is_empty(outside) & (shapely.length(outside) > 0)
    if ok.any():
        rho[ok] = line_densities(outside[ok], field)[0]
    return rho


def inflow_edges(walk: nx.MultiDiGraph, area: Any, *, density: DensityField | None = None,
                 params: WalkCostParams | None = None) -> list[dict[str, Any]]:
    """The inflow edges of ``area`` (a shapely polygon, metres), in edge order.

    Each is ``{"u", "v", "key", "xy": its polyline, "width_m", "density_p_m2", "inflow_pps"}``; the last two
    are None without densities. ``params``: Weidmann's diagram (default ``WalkCostParams()``).
    """
    params = params or WalkCostParams()
    table = edge_table(walk)
    inside = shapely.contains_xy(area, table.xy[:, 0], table.xy[:, 1])
    cand = np.sort(table.tree.query(area, predicate="intersects"))
    if len(cand):
        u = np.array([table.index[table.edges[i][0]] for i in cand], dtype=int)
        v = np.array([table.index[table.edges[i][1]] for i in cand], dtype=int)
        through = shapely.length(shapely.intersection(table.lines[cand], area)) > _TOUCH_M
        cand = cand[~inside[u] & (inside[v] | through)]
    field = density or DensityField()
    rho = flow = None
    if not field.empty and len(cand):
        rho = _outside_density(table, cand, area, field)
        flow = specific_flow(rho, params) * table.width[cand]
    out = []
    for j, i in enumerate(cand):
        a, b, k = table.edges[i]
        out.append({
            "u": jsonable_node(a), "v": jsonable_node(b), "key": jsonable_node(k),
            "xy": polyline(table, [i], a),
            "width_m": round(float(table.width[i]), 2),
            "density_p_m2": None if rho is None else round(float(rho[j]), 3),
            "inflow_pps": None if flow is None else round(float(flow[j]), 3),
        })
    return out
