"""Walk and drive graphs from highway ways, in osmnx conventions.

Ways are kept with osmnx's own ``walk`` and ``drive`` Overpass filters
(``osmnx._overpass._get_network_filter``), applied here to tags with the same regular expressions.
Nodes are projected to the city's UTM CRS (``x``/``y`` in metres, ``lon``/``lat`` kept);
``length`` is the planar length in that CRS (UTM scale error < 0.1 %).
Walk edges go both ways (osmnx: walk networks are bidirectional); drive edges follow ``oneway``/``junction``.
Then ``osmnx.simplify_graph`` (lengths summed, ``width_m`` the narrowest part) and the largest
weakly (walk) / strongly (drive) connected component. Drive edges get ``speed_kph`` and ``travel_time`` from
``osmnx.add_edge_speeds``: the edge's ``maxspeed``, else ``DRIVE_SPEEDS_KPH`` for its highway type, else the
mean ``maxspeed`` of its type, else 30 km/h.

``width_m`` on walk edges: OSM ``width``, else ``est_width`` (metres; "3 m", "2,5", "10'" and "12 ft" parse),
else ``WALK_WIDTH_M`` by highway type (for roads: the walkable sidewalks, not the carriageway), else 2.0 m.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import networkx as nx
import numpy as np

__all__ = ["DRIVE_SPEEDS_KPH", "WALK_WIDTH_M", "build_graph", "edge_polylines", "parse_metres", "way_filter"]

#: Default walkable width (m) by highway type, used when a way has no ``width``/``est_width``.
WALK_WIDTH_M = {
    "footway": 2.0, "path": 1.5, "pedestrian": 6.0, "steps": 2.0, "corridor": 2.5, "cycleway": 2.0,
    "track": 2.5, "bridleway": 1.5, "living_street": 5.0, "residential": 3.0, "service": 2.0,
    "unclassified": 3.0, "tertiary": 4.0, "tertiary_link": 3.0, "secondary": 4.0, "secondary_link": 3.0,
    "primary": 4.0, "primary_link": 3.0, "trunk": 3.0, "trunk_link": 3.0, "road": 3.0, "elevator": 1.2,
    "trail": 1.0, "crossing": 3.0, "escalator": 1.0,
}
DEFAULT_WALK_WIDTH_M = 2.0
#: Fallback speeds (km/h) by highway type for drive edges with no ``maxspeed`` anywhere in their type.
DRIVE_SPEEDS_KPH = {
    "motorway": 100.0, "motorway_link": 60.0, "trunk": 80.0, "trunk_link": 50.0, "primary": 50.0,
    "primary_link": 40.0, "secondary": 50.0, "secondary_link": 40.0, "tertiary": 40.0, "tertiary_link": 30.0,
    "unclassified": 30.0, "residential": 30.0, "living_street": 20.0, "road": 30.0,
}
DEFAULT_DRIVE_KPH = 30.0

# osmnx 2.1 ``_get_network_filter``: key -> regex the value must NOT match ("!~"), plus "highway" must exist.
_FILTERS = {
    "walk": {"area": "yes", "access": "private",
             "highway": "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed"
                        "|raceway|razed|rest_area|services",
             "foot": "no", "service": "private", "sidewalk": "separate", "sidewalk:both": "separate",
             "sidewalk:left": "separate", "sidewalk:right": "separate"},
    "drive": {"area": "yes", "access": "private",
              "highway": "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|escalator"
                         "|footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|rest_area|service"
                         "|services|steps|track",
              "motor_vehicle": "no", "motorcar": "no",
              "service": "alley|driveway|emergency_access|parking|parking_aisle|private"},
}
_FILTER_RE = {net: {k: re.compile(v) for k, v in f.items()} for net, f in _FILTERS.items()}
_NUM = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*(m|meters?|metres?|ft|feet|'|km)?\s*$", re.IGNORECASE)
_FEET_INCH = re.compile(r"^\s*(\d+)\s*'\s*(\d+(?:\.\d+)?)\s*\"\s*$")


def way_filter(tags: dict, network: str) -> bool:
    """True when a way with ``tags`` belongs to the osmnx ``network`` ("walk" or "drive")."""
    if "highway" not in tags:
        return False
    return not any(k in tags and rx.search(tags[k]) for k, rx in _FILTER_RE[network].items())


def parse_metres(value: str | None) -> float | None:
    """An OSM length tag in metres ("3", "3.5 m", "2,5", "10'", "12 ft", "6'6\\""), or None if unreadable."""
    if value is None:
        return None
    value = str(value).split(";")[0]
    m = _FEET_INCH.match(value)
    if m:
        return float(m.group(1)) * 0.3048 + float(m.group(2)) * 0.0254
    m = _NUM.match(value)
    if not m:
        return None
    v = float(m.group(1).replace(",", "."))
    unit = (m.group(2) or "m").lower()
    if unit in ("ft", "feet", "'"):
        v *= 0.3048
    elif unit == "km":
        v *= 1000.0
    return v if v > 0 else None


def _walk_width(tags: dict) -> float:
    for key in ("width", "est_width"):
        w = parse_metres(tags.get(key))
        if w is not None:
            return w
    return WALK_WIDTH_M.get(tags.get("highway"), DEFAULT_WALK_WIDTH_M)


def _oneway(tags: dict) -> int:
    """+1 forward only, -1 reverse only, 0 both ways (osmnx's oneway values for drive networks)."""
    v = tags.get("oneway", "")
    if v in ("yes", "true", "1"):
        return 1
    if v in ("-1", "reverse"):
        return -1
    if v in ("no", "false", "0"):
        return 0
    return 1 if tags.get("junction") in ("roundabout", "circular") else 0


def _sort_merged_lists(g: nx.MultiDiGraph) -> None:
    """Sort the attribute lists simplification merges (``highway``, ``lanes``, ``name``...): osmnx builds them
    from sets, whose order follows the interpreter's string hash seed, so a twin built fresh would differ
    from run to run."""
    for *_, d in g.edges(data=True):
        for k, v in d.items():
            if isinstance(v, list):
                d[k] = sorted(v, key=repr)


def build_graph(ways: list, xy_of: dict, lonlat_of: dict, network: str, *, crs: str, simplify: bool = True,
                largest_component: bool = True, keep: Callable | None = None) -> nx.MultiDiGraph:
    """Build the ``network`` ("walk"/"drive") MultiDiGraph from reader ways.

    ``xy_of``/``lonlat_of`` map a node id to its projected and WGS84 coordinates; ``keep`` (optional) maps
    a way's node ids to a bool mask of nodes inside the bbox: ways are cut where they leave it.
    """
    import osmnx as ox

    g = nx.MultiDiGraph(crs=crs)
    n_raw = 0
    for wid, ids, _ll, tags in ways:
        if not way_filter(tags, network):
            continue
        mask = keep(ids) if keep is not None else None
        base = {"osmid": wid, "highway": tags["highway"]}
        for k in ("name", "ref", "lanes", "maxspeed", "bridge", "tunnel", "access", "service"):
            if k in tags:
                base[k] = tags[k]
        if network == "walk":
            base["width_m"] = _walk_width(tags)
            direction = 0
        else:
            direction = _oneway(tags)
        base["oneway"] = direction != 0
        for i in range(len(ids) - 1):
            u, v = int(ids[i]), int(ids[i + 1])
            if u == v or u not in xy_of or v not in xy_of:     # a node missing from the file cuts the way
                continue
            if mask is not None and not (mask[i] and mask[i + 1]):
                continue
            (x0, y0), (x1, y1) = xy_of[u], xy_of[v]
            length = float(np.hypot(x1 - x0, y1 - y0))
            if direction >= 0:
                g.add_edge(u, v, **base, reversed=False, length=length)
            if direction <= 0:
                g.add_edge(v, u, **base, reversed=direction == 0, length=length)
            n_raw += 1
    for n in g.nodes:
        (x, y), (lon, lat) = xy_of[n], lonlat_of[n]
        g.nodes[n].update(x=x, y=y, lon=lon, lat=lat)
    g.graph["n_nodes_unsimplified"] = g.number_of_nodes()
    if g.number_of_nodes() == 0:
        return g
    if simplify:
        aggs = {"length": sum, "width_m": min} if network == "walk" else {"length": sum}
        g = ox.simplify_graph(g, edge_attr_aggs=aggs)
        _sort_merged_lists(g)
    if largest_component:
        g = ox.truncate.largest_component(g, strongly=network == "drive")
    if network == "drive" and g.number_of_edges():
        g = ox.add_edge_speeds(g, hwy_speeds=DRIVE_SPEEDS_KPH, fallback=DEFAULT_DRIVE_KPH)
        g = ox.add_edge_travel_times(g)
    elif network == "walk":
        for *_, d in g.edges(data=True):
            d["speed_kph"] = 4.8  # 1.34 m/s, the free walking speed the crowd model uses
            d["travel_time"] = d["length"] / (4.8 / 3.6)
    cnt = ox.stats.count_streets_per_node(g)
    nx.set_node_attributes(g, cnt, name="street_count")
    return g


def edge_polylines(g: nx.MultiDiGraph) -> list[np.ndarray]:
    """Each edge of ``g`` as an (n, 2) polyline in the graph's metres: its ``geometry``, else the straight
    line between its nodes (for maps and animations of the twin)."""
    out = []
    for u, v, d in g.edges(data=True):
        geom = d.get("geometry")
        if geom is not None:
            out.append(np.asarray(geom.coords, dtype=float)[:, :2])
        else:
            a, b = g.nodes[u], g.nodes[v]
            out.append(np.array([[a["x"], a["y"]], [b["x"], b["y"]]], dtype=float))
    return out
