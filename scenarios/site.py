"""The site as the incident stage sees it: plain data from the twin, the way a real site configures its
PSIM (asset register, dependency graph, network plan, road and walk graphs, response units).

``analytics`` never imports the twin; the run and ``run_sim.py fuse`` hand it these tables instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from analytics.files import atomic_write_lines
from analytics.geometry import LonLatProjector
from analytics.incident_stage import Site

__all__ = ["NETWORK_FILE", "SiteError", "asset_table", "camera_ips", "read_network", "ring", "site_of",
           "unit_table", "write_network", "zone_rings"]

#: The run file with the site's network plan as the run used it (the twin's plus the cameras the scenario
#: added), node-link JSON: what ``run_sim.py fuse --network`` reads.
NETWORK_FILE = "network.json"


class SiteError(ValueError):
    """A site file that cannot be read (one line naming the file, the field and the problem)."""

    exit_code = 2


def ring(poly) -> list[list[float]]:
    """A shapely polygon's exterior as the plain ``[[x, y], ...]`` ring the analytics take."""
    return [list(map(float, c)) for c in poly.exterior.coords]


def zone_rings(zones: Mapping[str, Any]) -> dict[str, list[list[float]]]:
    """The run's crowd zones (name -> shapely polygon) as plain rings."""
    return {k: ring(p) for k, p in zones.items()}


def site_of(twin, zones: Mapping[str, Any], *, network: nx.Graph | None = None,
            units: list[dict] | tuple = ()) -> Site:
    """The incident stage's ``Site`` of ``twin``: its assets, dependencies, network plan (``network`` when
    a run's plan is given instead), walk and drive graphs, the crowd ``zones``, camera addresses, the
    projection to lon/lat and the unit board before any ``unit/status`` message."""
    return Site(assets=asset_table(twin), dependencies=twin.dependencies,
                network=twin.network if network is None else network, walk=twin.walk, drive=twin.drive,
                zones=zone_rings(zones), camera_ips=camera_ips(twin), to_lonlat=LonLatProjector(twin.crs),
                units=list(units))


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


def write_network(path: str | os.PathLike, graph: nx.Graph) -> None:
    """The network plan as node-link JSON (atomically): nodes with their attributes and the links; the
    graph's own bookkeeping (open switch cells keyed by grid cell) is not part of the plan."""
    data = nx.node_link_data(graph, edges="links")
    data["graph"] = {k: v for k, v in data["graph"].items() if not isinstance(v, dict)}
    atomic_write_lines(path, [json.dumps(data, sort_keys=True, default=str, allow_nan=False)])


def read_network(path: str | os.PathLike) -> nx.Graph:
    """A network plan written by ``write_network``.

    Raises
    ------
    SiteError
        The file is missing or not a node-link network plan (one line).
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        graph = nx.node_link_graph(data, edges="links")
    except (OSError, ValueError, KeyError, TypeError, nx.NetworkXError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else repr(exc)
        raise SiteError(f"{p}: not a node-link network plan ({why})") from None
    bad = [n for n, d in graph.nodes(data=True) if "kind" not in d]
    if bad:
        raise SiteError(f"{p}: node {bad[0]!r}: field 'kind' is missing (camera, access_switch, vms, ...)")
    return graph
