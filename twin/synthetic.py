"""Synthetic twins for validation cases (RiMEA-style corridor and bottleneck), the same ``Twin`` object.

Coordinates are EPSG:32635 (UTM 35N) metres measured from ``ORIGIN_XY`` = (385000, 6672000), a point in
central Helsinki (about 24.94 E, 60.17 N), so lon/lat outputs of synthetic runs are valid WGS84.

Specs
-----
``{kind: corridor, length_m: L, width_m: W}``
    walk nodes ``"start"`` at the origin and ``"end"`` L metres east; one edge each way, length L, width W.
``{kind: bottleneck, room_m: [w, d], door_width_m: b, corridor_m: c}``
    nodes ``"room"`` (back of the room) at the origin, ``"door"`` d metres east, ``"exit"`` c metres further;
    room edge room<->door (length d, width w), corridor door<->exit (length c, width b).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping

import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer

from twin.model import Buildings, Twin, TwinError
from twin.network import core_network
from twin.options import TwinOptions

__all__ = ["CRS", "KINDS", "ORIGIN_XY", "synthetic_twin"]

log = logging.getLogger(__name__)

CRS = "EPSG:32635"
ORIGIN_XY = (385000.0, 6672000.0)
KINDS = {"corridor": ("length_m", "width_m"), "bottleneck": ("room_m", "door_width_m", "corridor_m")}


def _positive(value) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value) and value > 0


def _validate(spec) -> tuple[str, dict]:
    """Check the spec: every problem is collected, then reported once on one line (osmnx ``_validate``)."""
    if not isinstance(spec, Mapping):
        raise TwinError(f"synthetic twin: spec must be a mapping, got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise TwinError(f"synthetic twin: kind must be one of {sorted(KINDS)}, got {kind!r}")
    errors = [f"unknown field {k!r}" for k in sorted(set(spec) - set(KINDS[kind]) - {"kind"})]
    vals = {}
    for key in KINDS[kind]:
        v = spec.get(key)
        if key not in spec:
            errors.append(f"missing field {key!r}")
        elif key == "room_m":
            if not isinstance(v, list | tuple) or len(v) != 2 or not all(_positive(x) for x in v):
                errors.append(f"room_m must be [width, depth] with numbers > 0, got {v!r}")
            else:
                vals[key] = (float(v[0]), float(v[1]))
        elif not _positive(v):
            errors.append(f"{key} must be a number > 0, got {v!r}")
        else:
            vals[key] = float(v)
    if errors:
        raise TwinError(f"synthetic twin ({kind}): {'; '.join(errors)}")
    return kind, vals


def synthetic_twin(spec: Mapping) -> Twin:
    """Build a corridor or bottleneck twin from ``spec`` (see the module docstring).

    Raises
    ------
    TwinError
        Unknown kind, unknown or missing field, or a number that is not positive.
    """
    t0 = time.perf_counter()
    kind, v = _validate(spec)
    if kind == "corridor":
        nodes = {"start": 0.0, "end": v["length_m"]}
        edges = [("start", "end", v["length_m"], v["width_m"], "corridor")]
    else:
        w, d = v["room_m"]
        c = v["corridor_m"]
        nodes = {"room": 0.0, "door": d, "exit": d + c}
        edges = [("room", "door", d, w, "room"), ("door", "exit", c, v["door_width_m"], "corridor")]
    tr = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    walk = nx.MultiDiGraph(crs=CRS, name=f"synthetic {kind}", simplified=True)
    for n, dx in nodes.items():
        x, y = ORIGIN_XY[0] + dx, ORIGIN_XY[1]
        lon, lat = tr.transform(x, y)
        walk.add_node(n, x=x, y=y, lon=lon, lat=lat, street_count=1)
    for u, w_, length, width, name in edges:
        for a, b in ((u, w_), (w_, u)):
            walk.add_edge(a, b, length=length, width_m=width, highway="footway", name=name, oneway=False,
                          reversed=a != u, speed_kph=5.0, travel_time=length / (5.0 / 3.6))
    for n in walk.nodes:
        walk.nodes[n]["street_count"] = walk.degree(n) // 2
    drive = walk.copy()
    lon = [d["lon"] for _, d in walk.nodes(data=True)]
    lat = [d["lat"] for _, d in walk.nodes(data=True)]
    pad = 1e-4
    bbox = (min(lon) - pad, min(lat) - pad, max(lon) + pad, max(lat) + pad)
    empty = np.empty(0, dtype=object)
    buildings = Buildings(polygons=empty, heights_m=np.zeros(0), tree=shapely.STRtree(empty),
                          ids=np.empty(0, dtype=object))
    opts = TwinOptions()
    twin = Twin(city=f"synthetic-{kind}", source=f"synthetic:{dict(spec)!r}", crs=CRS, bbox_wgs84=bbox,
                walk=walk, drive=drive, buildings=buildings, assets=[], dependencies=nx.DiGraph(), cameras=[],
                network=core_network(opts), options=opts)
    twin.build_s = time.perf_counter() - t0
    log.info("synthetic %s twin: %d walk nodes, %d edges, %.1f m", kind, walk.number_of_nodes(),
             walk.number_of_edges(), sum(d["length"] for *_, d in walk.edges(data=True)) / 2)
    return twin
