"""Carriageways of a twin: the ground its drive graph's streets cover, as a site's GIS would give it.

A street's carriageway is its centre line widened by half its width: ``LANE_M`` per lane, the lanes from
OSM ``lanes`` (the largest value of a merged way), else two on a two-way street and one on a one-way street.
The analytics take these polygons as plain data (``AnalyticsPipeline(roads=...)``): a vehicle driving on a
street that crosses a square or passes a point asset's zone is traffic, not an intrusion.
"""

from __future__ import annotations

from typing import Any

import shapely

__all__ = ["LANE_M", "carriageways", "osm_number", "osm_values"]

#: Width of one traffic lane (m), the usual urban lane width.
LANE_M = 3.0


def osm_values(v: Any) -> list:
    """An OSM attribute as a list of its values (a merged way holds a list, in no meaningful order)."""
    return [x for x in (v if isinstance(v, list) else [v]) if x is not None]


def osm_number(v: Any) -> float:
    """The largest number in an OSM attribute such as ``lanes`` ("2", ["2", "3"], "2;3"), else 0."""
    out = 0.0
    for x in osm_values(v):
        for part in str(x).split(";"):
            try:
                out = max(out, float(part))
            except ValueError:
                continue
    return out


def _oneway(d: dict) -> bool:
    return any(str(x).lower() in ("true", "yes", "1", "-1") for x in osm_values(d.get("oneway")))


def carriageways(drive, within: Any = None) -> list[list[list[float]]]:
    """Each drive edge's carriageway polygon (exterior ring, projected metres), one per street (the two
    directions of a two-way street are one); with ``within`` (a shapely geometry) only those touching it.

    ``drive`` is the twin's drive graph (networkx, node ``x``/``y`` in metres, edge ``geometry`` optional).
    """
    seen: set[tuple] = set()
    out = []
    for u, v, k, d in sorted(drive.edges(keys=True, data=True), key=lambda e: (str(e[0]), str(e[1]), e[2])):
        key = (min(str(u), str(v)), max(str(u), str(v)), k)
        if key in seen:
            continue
        seen.add(key)
        line = d.get("geometry")
        if line is None:
            line = shapely.LineString([(drive.nodes[u]["x"], drive.nodes[u]["y"]),
                                       (drive.nodes[v]["x"], drive.nodes[v]["y"])])
        if line.length <= 0 or (within is not None and not line.intersects(within)):
            continue
        lanes = osm_number(d.get("lanes")) or (1.0 if _oneway(d) else 2.0)
        poly = line.buffer(lanes * LANE_M / 2, quad_segs=2)
        out.append([[round(x, 2), round(y, 2)] for x, y in poly.exterior.coords])
    return out
