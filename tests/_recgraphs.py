"""Small hand-built graphs for the recommendation tests: a walk grid, a drive graph, a camera network."""

from __future__ import annotations

import networkx as nx

from twin.network import attach_cameras, core_network

STEP = 100.0


def grid(n: int = 7, step: float = STEP, width_m: float = 3.0) -> nx.MultiDiGraph:
    """An n x n walk grid: node ``r * n + c`` at ``(c * step, r * step)``, every street both ways."""
    g = nx.MultiDiGraph()
    for r in range(n):
        for c in range(n):
            g.add_node(r * n + c, x=c * step, y=r * step)
    for r in range(n):
        for c in range(n):
            for dr, dc in ((0, 1), (1, 0)):
                rr, cc = r + dr, c + dc
                if rr < n and cc < n:
                    a, b = r * n + c, rr * n + cc
                    g.add_edge(a, b, length=step, width_m=width_m)
                    g.add_edge(b, a, length=step, width_m=width_m)
    return g


def drive_line() -> nx.MultiDiGraph:
    """A drive graph round scene node 0 at (0, 0).

    Node 1 at (200, 0): a slow lane to the scene, 200 m at 10 km/h (72 s). Node 2 at (600, 0): a fast road,
    600 m at 60 km/h (36 s). Node 3 at (0, 300): 300 m with no ``travel_time`` (30 km/h: 36 s). Node 4 at
    (-100, 0): one-way away from the scene (no way to it). Every edge but 0 -> 4 has a way back.
    """
    g = nx.MultiDiGraph()
    for n, (x, y) in {0: (0, 0), 1: (200, 0), 2: (600, 0), 3: (0, 300), 4: (-100, 0)}.items():
        g.add_node(n, x=x, y=y)
    roads = ((1, 0, 200.0, 72.0), (2, 0, 600.0, 36.0), (3, 0, 300.0, None), (0, 4, 100.0, 12.0))
    for a, b, length, tt in roads:
        attrs = {"length": length} if tt is None else {"length": length, "travel_time": tt}
        g.add_edge(a, b, **attrs)
        if a != 0 or b != 4:
            g.add_edge(b, a, **attrs)
    return g


def camera_network() -> nx.Graph:
    """The twin's core network with two access switches: cam-a1, cam-a2 in one 400 m cell, cam-b1 in
    another."""
    g = core_network()
    attach_cameras(g, {"cam-a1": (10.0, 10.0), "cam-a2": (20.0, 10.0), "cam-b1": (900.0, 10.0)})
    return g
