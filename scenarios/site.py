"""The site as the incident stage sees it: plain data from the twin, the way a real site configures its
PSIM (asset register, dependency graph, network plan, road and walk graphs, response units).

``analytics`` never imports the twin; the run and ``run_sim.py fuse`` hand it these tables instead.
"""

from __future__ import annotations

from typing import Any

__all__ = ["asset_table", "camera_ips", "unit_table"]


def asset_table(twin) -> list[dict[str, Any]]:
    """Every asset of ``twin`` as a plain dict ``{id, type, name, xy, lonlat, capacity, area_m2, polygon}``
    (``polygon``: the exterior ring in projected metres, or None for a point asset), sorted by id."""
    out = []
    for a in sorted(twin.assets, key=lambda a: a.id):
        poly = None
        if a.polygon is not None and getattr(a.polygon, "geom_type", "") == "Polygon":
            poly = [[round(float(x), 2), round(float(y), 2)] for x, y in a.polygon.exterior.coords]
        out.append({"id": a.id, "type": a.type, "name": a.name,
                    "xy": [round(float(a.xy[0]), 2), round(float(a.xy[1]), 2)],
                    "lonlat": [round(float(a.lonlat[0]), 7), round(float(a.lonlat[1]), 7)],
                    "capacity": int(a.capacity), "area_m2": round(float(a.area_m2), 1), "polygon": poly})
    return out


def camera_ips(twin) -> dict[str, str]:
    """``{camera_id: ip}`` from the twin's network plan."""
    net = twin.network
    return {str(d["camera_id"]): str(d["ip"]) for _, d in net.nodes(data=True)
            if d.get("kind") == "camera" and d.get("camera_id") is not None and d.get("ip") is not None}


def unit_table(responders) -> list[dict[str, Any]]:
    """The response units now (``agents.responders.Responder``) as ``{id, kind, node, available, xy,
    station}``: what a dispatch centre's unit status board shows."""
    out = []
    for r in responders:
        xy = None if r.xy is None else [round(float(r.xy[0]), 2), round(float(r.xy[1]), 2)]
        out.append({"id": f"{r.kind}-{r.tid}", "kind": r.kind, "node": r.node,
                    "available": r.status == "idle", "status": r.status, "xy": xy, "station": r.station})
    return out
