"""Responders: police, fire and ambulance units (Mesa agents) at their stations, driving the drive graph.

Stations come from the twin's assets: ``police`` -> police units, ``fire_station`` -> fire units, ``hospital``
-> ambulances, one unit per station, placed at the drive node nearest the asset. A twin without such assets
(synthetic twins, small extracts) gets one unit of each missing kind at a fallback station: the drive node
farthest (straight line) from the drive graph's centroid, ties broken by node name - a fixed, documented spot.

A dispatch picks the idle unit with the shortest drive time to the drive node nearest the destination (one
Dijkstra on the reversed graph with ``travel_time`` weights), records ``dispatched`` with its ``eta_s`` and
then ``on_scene`` at exactly ``t + eta_s``; en route and on scene the unit is a visible vehicle target.
"""

from __future__ import annotations

import mesa
import networkx as nx
import numpy as np

from agents.model_tracks import Track
from agents.world import VEHICLE

__all__ = ["STATION_TYPES", "UNIT_KINDS", "Responder", "create_responders", "dispatch_nearest"]

#: Unit kind -> the asset type of its stations.
STATION_TYPES = {"police": "police", "fire": "fire_station", "ambulance": "hospital"}
UNIT_KINDS = tuple(STATION_TYPES)


class Responder(mesa.Agent):
    """One unit: ``kind`` (police|fire|ambulance), its station, and the trip it is on (if any)."""

    role = "responder"
    cls = VEHICLE
    height_m, width_m = 2.2, 2.0

    def __init__(self, model, kind: str, *, station_node, station: str) -> None:
        super().__init__(model)
        self.kind = kind
        self.station = station
        self.station_node = station_node
        self.node = station_node
        self.tid = model.new_target_id()
        self.status = "idle"             # idle | en_route | on_scene
        self.track: Track | None = None
        self.eta_t: float | None = None
        self.xy: np.ndarray | None = None
        self.speed = 0.0

    def send(self, path: list, t: float, *, reason: str = "") -> float:
        """Start driving ``path`` (drive nodes, from this unit's node) at ``t``; returns the ETA (s)."""
        drive = self.model.drive
        self.track = drive.drive_track(path, t)
        eta = float(drive.edge_times(path).sum()) if len(path) > 1 else 0.0
        self.eta_t = t + eta
        self.node = path[-1]
        self.status = "en_route"
        self.xy = self.track.pos(t)
        dest = drive.node_xy(path[-1])
        self.model.record("dispatched", self.tid, self.xy, t, unit=self.kind, station=self.station,
                          eta_s=round(eta, 3), to_xy=[float(dest[0]), float(dest[1])], reason=reason)
        return eta

    def act(self, t: float, dt: float) -> None:
        """Drive on; record ``on_scene`` at the exact arrival time."""
        if self.status != "en_route":
            return
        t1 = t + dt
        if self.eta_t is not None and self.eta_t <= t1:
            self.status = "on_scene"
            self.model.record("on_scene", self.tid, self.track.xy[-1], self.eta_t, unit=self.kind,
                              station=self.station)
        self.xy, self.speed = self.track.pos(t1), self.track.speed(t1)

    def target_row(self):
        if self.status == "idle" or self.xy is None:
            return None
        return (self.tid, self.cls, self.xy, self.height_m, self.width_m, self.speed)


def _fallback_node(drive_xy: np.ndarray, nodes: list):
    c = drive_xy.mean(axis=0)
    d = np.hypot(drive_xy[:, 0] - c[0], drive_xy[:, 1] - c[1])
    best = max(range(len(nodes)), key=lambda i: (round(float(d[i]), 6), str(nodes[i])))
    return nodes[best]


def create_responders(model) -> list[Responder]:
    """One unit per police/fire/hospital asset of the twin, plus a fallback unit for each missing kind."""
    drive = model.drive
    units = []
    for kind, atype in STATION_TYPES.items():
        stations = sorted((a for a in model.twin.assets if a.type == atype), key=lambda a: a.id)
        for a in stations:
            units.append(Responder(model, kind, station_node=drive.nearest(a.xy), station=a.id))
        if not stations:
            units.append(Responder(model, kind, station_node=_fallback_node(drive.xy, drive.nodes),
                                   station="fallback"))
    return units


def dispatch_nearest(model, kind: str, xy, t: float, *, reason: str = "") -> Responder | None:
    """Send the idle ``kind`` unit with the least drive time to ``xy``; ``None`` if none is idle.

    Raises
    ------
    ValueError
        ``kind`` is not police, fire or ambulance.
    """
    if kind not in STATION_TYPES:
        raise ValueError(f"unit kind must be one of {', '.join(UNIT_KINDS)}, got {kind!r}")
    idle = model.responders.select(lambda r: r.kind == kind and r.status == "idle")
    if len(idle) == 0:
        return None
    drive = model.drive
    dest = drive.nearest(np.asarray(xy, float))
    dist, paths = nx.single_source_dijkstra(drive._rev, dest, weight=_tt)
    reachable = [u for u in idle if u.node in dist]
    if not reachable:
        return None
    unit = min(reachable, key=lambda u: (dist[u.node], u.tid))
    unit.send(list(reversed(paths[unit.node])), t, reason=reason)
    return unit


def _tt(u, v, data: dict) -> float:
    """Edge weight for the multi-edge dict ``data``: the least travel time (length at 30 km/h if unset)."""
    return min(d.get("travel_time", d.get("length", 0.0) / (30 / 3.6)) for d in data.values())
