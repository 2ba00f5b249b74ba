"""Hand-built twin pieces for the physical-sensor tests (buildings, targets, a small synthetic twin)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import shapely

from agents.world import Targets
from twin.model import Asset, Buildings, OSMCamera, Twin

__all__ = ["build", "buildings", "lonlat", "people", "small_twin"]

X0, Y0 = 385_000.0, 6_672_000.0   # UTM-sized numbers, as in a real twin


def buildings(boxes: list[tuple[float, float, float, float]], heights: list[float]) -> Buildings:
    """Buildings from (xmin, ymin, xmax, ymax) boxes and heights."""
    polys = np.array([shapely.box(*b) for b in boxes], dtype=object)
    return Buildings(polys, np.asarray(heights, float), shapely.STRtree(polys),
                     np.array([f"w{i}" for i in range(len(boxes))]))


def people(xy, ids=None, *, height: float = 1.7, width: float = 0.5, cls: int = 0) -> Targets:
    xy = np.asarray(xy, float).reshape(-1, 2)
    n = len(xy)
    ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
    return Targets(ids, np.full(n, cls, np.int8), xy, np.full(n, height), np.full(n, width), np.ones(n))


def small_twin(*, cameras: list[OSMCamera] | None = None) -> Twin:
    """A 400 x 400 m block: a street grid every 50 m (walk graph), buildings between, two squares."""
    walk = nx.MultiDiGraph()
    nid = {}
    for i in range(9):
        for j in range(9):
            n = i * 9 + j
            nid[i, j] = n
            walk.add_node(n, x=X0 + 50 * i, y=Y0 + 50 * j)
    for i in range(9):
        for j in range(9):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < 9 and j + dj < 9:
                    a, b = nid[i, j], nid[i + di, j + dj]
                    name = f"street {i}-{j}-{di}{dj}"
                    walk.add_edge(a, b, length=50.0, width_m=6.0, name=name, highway="footway")
                    walk.add_edge(b, a, length=50.0, width_m=6.0, name=name, highway="footway")
    boxes, heights = [], []
    for i in range(8):
        for j in range(8):
            if (i, j) in ((3, 3), (5, 5)):
                continue     # the two squares
            boxes.append((X0 + 50 * i + 8, Y0 + 50 * j + 8, X0 + 50 * i + 42, Y0 + 50 * j + 42))
            heights.append(12.0 + 3 * ((i + j) % 3))
    sq1 = shapely.box(X0 + 150 + 5, Y0 + 150 + 5, X0 + 200 - 5, Y0 + 200 - 5)
    sq2 = shapely.box(X0 + 250 + 5, Y0 + 250 + 5, X0 + 300 - 5, Y0 + 300 - 5)
    assets = [
        Asset("w1", "square", "North Square", (X0 + 175, Y0 + 175), (24.9, 60.1), 4000, sq1.area, sq1, 30),
        Asset("w2", "square", "South Square", (X0 + 275, Y0 + 275), (24.9, 60.1), 2000, sq2.area, sq2, 50),
        Asset("n3", "school", "School", (X0 + 25, Y0 + 25), (24.9, 60.1), 500, 0.0, None, 0),
    ]
    return Twin("test", "hand-built", "EPSG:32635", (24.9, 60.1, 24.95, 60.2), walk, nx.MultiDiGraph(),
                buildings(boxes, heights), assets, nx.DiGraph(), cameras or [], nx.Graph())


def build(twin: Twin, blocks: dict, *, seed: int = 0, **kw) -> list:
    """``build_physical_sensors`` from a plain ``sensors`` mapping, checked by the scenario schema first."""
    from scenarios.schema import sensor_specs
    from sensors.physical import build_physical_sensors

    specs = sensor_specs(blocks)
    cond = specs.pop("conditions")
    return build_physical_sensors(twin, specs, rng=np.random.default_rng(seed), conditions=cond, **kw)


def lonlat(twin: Twin, x: float, y: float) -> list[float]:
    """``[lon, lat]`` of a point of the twin given in metres (to place a sensor there)."""
    return [float(v) for v in twin.to_lonlat([[x, y]])[0]]
