"""Where look-alikes happen in a twin: transit stops, squares, the area the twin covers, spots in a polygon.

Transit stops are the twin's assets that are tram or bus stops: an asset whose type is one of
``STOP_TYPES`` or whose OSM tags say ``highway=bus_stop``, ``railway=tram_stop|platform`` or
``public_transport=platform|stop_position`` (the stop and its platforms within ``merge_m`` are one stop).
A twin without them gets stops on its main streets instead: drive nodes on ``primary``/``secondary``
streets at least ``spacing_m`` apart (about the spacing of Helsinki's tram stops, a documented fallback), each
at the walk node nearest to it (the pavement).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely

from twin.nearest import node_index

__all__ = ["MAIN_STREETS", "STOP_TAGS", "STOP_TYPES", "Site", "area_km2", "main_street_nodes", "spots_in",
           "squares", "transit_stops"]

#: Asset types that are transit stops (the twin may give stops a type of their own).
STOP_TYPES = ("tram_stop", "bus_stop", "transit_stop", "stop", "platform")
#: OSM tags (key -> values) that make an asset a transit stop whatever its type.
STOP_TAGS = {"highway": ("bus_stop",), "railway": ("tram_stop", "platform"),
             "public_transport": ("platform", "stop_position")}
#: Drive-graph street classes along which the fallback stops go (where trams and buses run).
MAIN_STREETS = ("primary", "secondary")


class Site(NamedTuple):
    """A place look-alikes use: its walk node, a position (m), its name and a unique label (an asset id)."""

    node: object
    xy: tuple[float, float]
    name: str
    id: str


def area_km2(twin) -> float:
    """Area (km²) of the extent of the twin's walk nodes: what city-wide rates are scaled by."""
    w = twin.walk
    if w.number_of_nodes() < 2:
        return 0.0
    xy = np.array([[d["x"], d["y"]] for _, d in w.nodes(data=True)], float)
    span = xy.max(axis=0) - xy.min(axis=0)
    return float(span[0] * span[1] / 1e6)


def _is_stop(a) -> bool:
    tags = a.tags or {}
    return a.type in STOP_TYPES or any(tags.get(k) in v for k, v in STOP_TAGS.items())


def main_street_nodes(twin) -> list:
    """Drive nodes on ``MAIN_STREETS`` edges, sorted by id (as strings)."""
    out = set()
    for u, v, d in twin.drive.edges(data=True):
        hw = d.get("highway")
        if any(h in MAIN_STREETS for h in (hw if isinstance(hw, list) else [hw])):
            out.update((u, v))
    return sorted(out, key=str)


def _spaced(xy: np.ndarray, min_m: float) -> list[int]:
    """Greedy: indices of points of ``xy`` (in order) at least ``min_m`` from every one kept before."""
    kept: list[int] = []
    for i in range(len(xy)):
        if not kept or np.hypot(*(xy[kept] - xy[i]).T).min() >= min_m:
            kept.append(i)
    return kept


def transit_stops(twin, *, spacing_m: float = 350.0, merge_m: float = 30.0) -> tuple[list[Site], str]:
    """The twin's tram and bus stops (see the module docstring) and where they came from (``assets`` or
    ``main_streets``); empty when the twin has neither."""
    walk = node_index(twin.walk) if twin.walk.number_of_nodes() else None
    if walk is None:
        return [], "none"
    stops = sorted((a for a in twin.assets if _is_stop(a)), key=lambda a: a.id)
    if stops:
        xy = np.array([a.xy for a in stops], float)
        keep = _spaced(xy, merge_m)
        return [Site(stops[i].node if stops[i].node is not None else walk.nearest(xy[i]),
                     (float(xy[i, 0]), float(xy[i, 1])), stops[i].name, stops[i].id) for i in keep], "assets"
    nodes = main_street_nodes(twin)
    if not nodes:
        return [], "none"
    dxy = np.array([[twin.drive.nodes[n]["x"], twin.drive.nodes[n]["y"]] for n in nodes], float)
    out = []
    for i in _spaced(dxy, spacing_m):
        wn = walk.nearest(dxy[i])
        p = (float(twin.walk.nodes[wn]["x"]), float(twin.walk.nodes[wn]["y"]))
        out.append(Site(wn, p, f"stop near drive node {nodes[i]}", f"stop-{nodes[i]}"))
    return out, "main_streets"


def squares(twin, *, min_area_m2: float = 100.0) -> list:
    """Square assets with a polygon of at least ``min_area_m2``, sorted by id."""
    return sorted((a for a in twin.assets if a.type == "square" and a.polygon is not None
                   and float(a.polygon.area) >= min_area_m2), key=lambda a: a.id)


def spots_in(poly, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` random points (k, 2) inside ``poly`` (rejection sampling; a sliver gives its representative
    point)."""
    x0, y0, x1, y1 = poly.bounds
    got = np.zeros((0, 2))
    for _ in range(50):
        need = k - len(got)
        if need <= 0:
            break
        c = np.column_stack([rng.uniform(x0, x1, 2 * need + 8), rng.uniform(y0, y1, 2 * need + 8)])
        got = np.vstack([got, c[shapely.contains_xy(poly, c[:, 0], c[:, 1])]])
    if len(got) < k:
        pt = poly.representative_point()
        got = np.vstack([got, np.tile([pt.x, pt.y], (k - len(got), 1))])
    return got[:k]
