"""A small hand-written OSM XML town used by the twin tests (every tag rule has a case)."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

LAT0, LON0 = 60.1700, 24.9400
DLAT, DLON = 0.001, 0.002          # ~111 m each way at 60 N

# street nodes: id -> (row, col) on the grid
_GRID = {1: (0, 0), 2: (0, 1), 3: (0, 2), 4: (1, 0), 5: (1, 1), 6: (1, 2), 7: (-1, 2), 8: (2, 2)}

WAYS = [  # id, node ids, tags
    (10, [1, 2, 3], {"highway": "residential", "name": "Testikatu"}),
    (11, [4, 5], {"highway": "footway", "name": "Polku", "width": "3.5"}),
    (12, [5, 6], {"highway": "footway", "est_width": "2,5"}),
    (13, [2, 5], {"highway": "residential", "name": "Pohjoiskatu", "maxspeed": "40"}),
    (14, [3, 6], {"highway": "path", "width": "10'"}),
    (15, [1, 4], {"highway": "motorway", "name": "Moottoritie"}),
    (16, [3, 7], {"highway": "footway", "width": "2 m"}),
    (17, [6, 8], {"highway": "footway", "foot": "no"}),           # not walkable (osmnx walk filter)
    (18, [6, 8], {"highway": "steps"}),
]
#: way id -> expected walk width_m
WIDTHS = {10: 3.0, 11: 3.5, 12: 2.5, 13: 3.0, 14: 3.048, 16: 2.0, 18: 2.0}

# closed ways: id, (row, col) of the lower-left corner, size in grid fractions, tags
AREAS = [
    (20, (0.2, 0.2), 0.3, {"building": "yes", "height": "12"}),
    (21, (0.2, 0.6), 0.2, {"building": "apartments", "building:levels": "4"}),
    (22, (0.6, 0.2), 0.2, {"building": "yes"}),
    (23, (0.2, 1.2), 0.5, {"building": "hospital", "amenity": "hospital", "name": "Toy Hospital"}),
    (25, (1.2, 0.2), 0.6, {"highway": "pedestrian", "area": "yes", "name": "Main Square"}),
    (24, (1.2, 1.2), 0.3, {}),   # outer ring of relation 30
    (40, (-0.9, 1.0), 0.4, {"leisure": "park", "name": "Toy Park"}),      # a named feature, not an asset
]
# Relation 31, the market square, is cut by the extract: its outline is ways 26 (SW-SE-NE), 27 (NE-bump-NW:
# absent from the file) and 28 (NW-missing node-SW), its hole way 29 (absent). Built from what is there, it is
# the full 0.5 x 0.5 square: the gap of way 27 and the missing node of way 28 are bridged by straight edges.
MARKET_NODES = {1101: (-0.95, 0.2), 1102: (-0.95, 0.7), 1103: (-0.45, 0.7), 1104: (-0.45, 0.2)}  # 1106 absent
OPEN_WAYS = [(26, [1101, 1102, 1103], {}), (28, [1104, 1106, 1101], {})]
RELATIONS = [
    (30, [(24, "outer")], {"type": "multipolygon", "building": "yes", "height": "20"}),
    (31, [(26, "outer"), (27, "outer"), (28, "outer"), (29, "inner")],
     {"type": "multipolygon", "place": "square", "highway": "pedestrian", "name": "Market Place"}),
]
#: building id -> expected height
HEIGHTS = {"w20": 12.0, "w21": 12.0, "w22": 9.0, "w23": 9.0, "r30": 20.0}

POINTS = [  # id, (row, col), tags
    (100, (0.5, 1.5), {"power": "substation", "name": "Sub A"}),
    (101, (1.5, 1.5), {"man_made": "water_works", "name": "Waterworks"}),
    (102, (0.5, 0.5), {"amenity": "police", "name": "Police HQ"}),
    (103, (0.8, 1.8), {"amenity": "fire_station"}),
    (104, (1.8, 0.5), {"telecom": "exchange", "name": "Exchange"}),
    (105, (0.1, 0.1), {"railway": "station", "name": "Toy Station"}),
    (106, (0.9, 0.9), {"amenity": "school", "name": "School One"}),
    (107, (1.9, 1.9), {"leisure": "stadium", "name": "Arena"}),
    (108, (1.1, 0.1), {"amenity": "place_of_worship", "name": "Chapel"}),
    (109, (0.4, 1.9), {"shop": "mall", "name": "Mall"}),
    (110, (1.6, 1.0), {"amenity": "cafe", "name": "Cafe Toy"}),                 # named features
    (111, (1.7, 1.3), {"shop": "bakery", "name": "Main Square"}),              # named like the square w25
    (112, (0.08, 1.55), {"railway": "tram_stop", "name": "Toriasema"}),        # three stops of one name
    (113, (-0.08, 1.6), {"railway": "tram_stop", "name": "Toriasema"}),
    (114, (-0.1, 1.8), {"highway": "bus_stop", "name": "Toriasema"}),
    (115, (0.0, 1.6), {"public_transport": "stop_position", "name": "Toriasema"}),   # a feature, no stop
    (200, (0.05, 0.5), {"man_made": "surveillance", "camera:direction": "NE", "height": "4"}),
    (201, (0.05, 1.5), {"man_made": "surveillance", "direction": "90", "camera:mount": "pole"}),
    (202, (1.05, 0.5), {"man_made": "surveillance", "camera:direction": "300-60"}),
    (203, (1.05, 1.5), {"man_made": "surveillance"}),
    (204, (1.95, 1.95), {"man_made": "surveillance", "camera:direction": "SSW", "camera:height": "2.5m"}),
]
#: camera id -> (direction_deg, height_m)
CAMERAS = {"cam-200": (45.0, 4.0), "cam-201": (90.0, 5.0), "cam-202": (0.0, None), "cam-203": (None, None),
           "cam-204": (202.5, 2.5)}


def _ll(rc: tuple[float, float], origin: tuple[float, float] = (LAT0, LON0)) -> tuple[float, float]:
    return origin[0] + rc[0] * DLAT, origin[1] + rc[1] * DLON


def _tags(tags: dict) -> str:
    return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())


def toytown_xml(lat0: float = LAT0, lon0: float = LON0) -> str:
    """The town as OSM XML text, its south-west street corner (node 1) at ``lat0, lon0``."""
    nodes, ways = [], []
    for nid, rc in _GRID.items():
        nodes.append((nid, *_ll(rc, (lat0, lon0)), {}))
    for pid, rc, tags in POINTS:
        nodes.append((pid, *_ll(rc, (lat0, lon0)), tags))
    for nid, rc in MARKET_NODES.items():
        nodes.append((nid, *_ll(rc, (lat0, lon0)), {}))
    for wid, ids, tags in WAYS + OPEN_WAYS:
        ways.append((wid, ids, tags))
    next_id = 1000
    for wid, (r, c), size, tags in AREAS:
        ring = []
        for dr, dc in ((0, 0), (0, size), (size, size), (size, 0)):
            nodes.append((next_id, *_ll((r + dr, c + dc), (lat0, lon0)), {}))
            ring.append(next_id)
            next_id += 1
        ways.append((wid, ring + ring[:1], tags))
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="toytown">']
    for nid, lat, lon, tags in sorted(nodes):
        out.append(f'<node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}">{_tags(tags)}</node>')
    for wid, ids, tags in sorted(ways, key=lambda w: w[0]):
        out.append(f'<way id="{wid}">' + "".join(f'<nd ref="{i}"/>' for i in ids) + _tags(tags) + "</way>")
    for rid, members, tags in RELATIONS:
        out.append(f'<relation id="{rid}">' + "".join(f'<member type="way" ref="{m}" role="{role}"/>'
                                                      for m, role in members) + _tags(tags) + "</relation>")
    out.append("</osm>")
    return "\n".join(out) + "\n"


def write_toytown(folder: Path, suffix: str = ".osm") -> Path:
    """Write the town as ``toytown<suffix>`` (``.osm``, ``.osm.bz2`` or ``.osm.gz``) and return its path."""
    data = toytown_xml().encode()
    path = Path(folder) / f"toytown{suffix}"
    if suffix.endswith(".bz2"):
        data = bz2.compress(data)
    elif suffix.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path
