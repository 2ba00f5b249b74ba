"""Assets: OSM places that matter for security and resilience, their capacity, and their dependency graph.

Tag rules (first match wins, in ``ASSET_TYPES`` order):

==================  ===============================================================================
station             railway=station|halt, public_transport=station, amenity=bus_station
square              place=square, highway=pedestrian (as an area)
stadium             leisure=stadium, building=stadium
school              amenity=school|university|college|kindergarten, building=school|university
hospital            amenity=hospital, healthcare=hospital, building=hospital
police              amenity=police
fire_station        amenity=fire_station
place_of_worship    amenity=place_of_worship
shopping            shop=mall|department_store|supermarket, amenity=marketplace
substation          power=substation
telecom             telecom=exchange|data_center, building=data_center, tower:type=communication,
                    man_made=telecommunication
water_works         man_made=water_works|wastewater_plant|water_tower|pumping_station|reservoir_covered
stop                railway=tram_stop, highway=bus_stop, public_transport=platform (nodes only)
==================  ===============================================================================

A stop is where people wait for a tram or a bus: the mapped stop or platform *node* (a platform drawn as a way
or an area is a named feature of ``twin.features``, not a stop, so one platform is not counted twice).
``public_transport=stop_position`` alone (where the vehicle halts, on the track or carriageway) is not a stop.
A stop's modes (``stop_modes``): ``tram`` for railway=tram_stop or tram=yes, ``bus`` for highway=bus_stop or
bus=yes.

Capacity (people the place can hold): ``max(floor, round(area_m2 * density))`` with the per-type density
(persons/m² of the mapped area) and floor (used alone for point POIs) in ``CAPACITY``.

Dependencies (``networkx.DiGraph`` on asset ids): an edge ``provider -> dependent`` with ``kind`` in
{"power", "water", "telecom"} means the dependent needs the provider, so a failure propagates along edge
direction (``nx.descendants(g, failed)`` is everything it takes down). Rules: every asset that is not a
substation draws ``power`` from its nearest substation; hospitals, fire stations, schools, stadiums and
shopping draw ``water`` from the nearest water works; police, fire stations, hospitals and stations depend on
the nearest ``telecom`` asset. Edges carry ``distance_m``. Stops are nodes of the graph but depend on nothing
(``NOT_DEPENDENT``): a stop's shelter or display is not a security or resilience asset of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import shapely
from scipy.spatial import cKDTree

from twin.model import ASSET_TYPES, Asset
from twin.nearest import node_index

__all__ = ["CAPACITY", "DEPENDS", "NOT_DEPENDENT", "asset_type", "capacity", "dependency_graph",
           "make_assets", "stop_modes"]

_RULES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "station": (("railway", ("station", "halt")), ("public_transport", ("station",)),
                ("amenity", ("bus_station",))),
    "square": (("place", ("square",)), ("highway", ("pedestrian",))),
    "stadium": (("leisure", ("stadium",)), ("building", ("stadium",))),
    "school": (("amenity", ("school", "university", "college", "kindergarten")),
               ("building", ("school", "university"))),
    "hospital": (("amenity", ("hospital",)), ("healthcare", ("hospital",)), ("building", ("hospital",))),
    "police": (("amenity", ("police",)),),
    "fire_station": (("amenity", ("fire_station",)),),
    "place_of_worship": (("amenity", ("place_of_worship",)),),
    "shopping": (("shop", ("mall", "department_store", "supermarket")), ("amenity", ("marketplace",))),
    "substation": (("power", ("substation",)),),
    "telecom": (("telecom", ("exchange", "data_center")), ("building", ("data_center",)),
                ("tower:type", ("communication",)), ("man_made", ("telecommunication",))),
    "water_works": (("man_made", ("water_works", "wastewater_plant", "water_tower", "pumping_station",
                                  "reservoir_covered")),),
    "stop": (("railway", ("tram_stop",)), ("highway", ("bus_stop",)), ("public_transport", ("platform",))),
}
assert tuple(_RULES) == ASSET_TYPES
#: tag key -> (rank of the type in ASSET_TYPES, values): the rules by key, so a lookup reads each key once
_BY_KEY: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
for _rank, _rules in enumerate(_RULES.values()):
    for _key, _values in _rules:
        _BY_KEY.setdefault(_key, []).append((_rank, _values))
_STOP = ASSET_TYPES.index("stop")

#: type -> (persons per m² of mapped area, floor = capacity of a point POI)
CAPACITY: dict[str, tuple[float, int]] = {
    "station": (1.0, 500), "square": (2.0, 200), "stadium": (1.0, 2000), "school": (0.25, 300),
    "hospital": (0.1, 300), "police": (0.05, 30), "fire_station": (0.03, 20), "place_of_worship": (0.7, 100),
    "shopping": (0.3, 300), "substation": (0.0, 2), "telecom": (0.0, 5), "water_works": (0.0, 10),
    # a stop is a point: its floor is a ~30 m x 3 m tram platform at Fruin's queuing level of service B
    # (about 1.1 m² per waiting person; J. J. Fruin, Pedestrian Planning and Design, 1971)
    "stop": (0.9, 80),
}

#: kind -> (provider type, dependent types); ``None`` means every type except the provider's own and
#: ``NOT_DEPENDENT``.
DEPENDS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "power": ("substation", None),
    "water": ("water_works", ("hospital", "fire_station", "school", "stadium", "shopping")),
    "telecom": ("telecom", ("police", "fire_station", "hospital", "station")),
}

#: Asset types that depend on no provider (they are still nodes of the dependency graph).
NOT_DEPENDENT = ("stop",)


def asset_type(tags: dict, *, area: bool = False) -> str | None:
    """The asset type of an OSM object's tags, or None (see the module docstring's rule table).

    ``area`` is True for a way or relation: those are never a ``stop`` (stops are nodes).
    """
    best = None
    for key, rules in _BY_KEY.items():
        value = tags.get(key)
        if value is not None:
            for rank, values in rules:
                if value in values and (best is None or rank < best) and not (area and rank == _STOP):
                    best = rank
    return None if best is None else ASSET_TYPES[best]


def stop_modes(tags: dict) -> tuple[str, ...]:
    """The modes a stop serves, from its tags: ``("tram",)``, ``("bus",)``, both or none (module docstring).

    >>> stop_modes({"railway": "tram_stop", "bus": "yes"})
    ('tram', 'bus')
    """
    modes = []
    if tags.get("railway") == "tram_stop" or tags.get("tram") == "yes":
        modes.append("tram")
    if tags.get("highway") == "bus_stop" or tags.get("bus") == "yes":
        modes.append("bus")
    return tuple(modes)


def capacity(kind: str, area_m2: float) -> int:
    """People an asset can hold: ``max(floor, round(area_m2 * density))`` for its type."""
    density, floor = CAPACITY[kind]
    return int(max(floor, round(area_m2 * density)))


def dependency_graph(assets: list[Asset]) -> nx.DiGraph:
    """The asset dependency graph (edges provider -> dependent, attribute ``kind``; see module docstring)."""
    g = nx.DiGraph()
    for a in assets:
        g.add_node(a.id, type=a.type, name=a.name)
    if not assets:
        return g
    xy = np.array([a.xy for a in assets], dtype=float)
    types = np.array([a.type for a in assets])
    for kind, (provider, dependents) in DEPENDS.items():
        prov = np.flatnonzero(types == provider)
        if prov.size == 0:
            continue
        if dependents is None:
            dep = np.flatnonzero((types != provider) & ~np.isin(types, NOT_DEPENDENT))
        else:
            dep = np.flatnonzero(np.isin(types, dependents))
        if dep.size == 0:
            continue
        dist, idx = cKDTree(xy[prov]).query(xy[dep])
        for d, i, j in zip(dist, prov[idx], dep, strict=True):
            g.add_edge(assets[i].id, assets[j].id, kind=kind, distance_m=float(d))
    return g


def _largest_part(geom):
    """The largest polygon of a (multi)polygon."""
    parts = shapely.get_parts(geom)
    return parts[int(np.argmax(shapely.area(parts)))] if len(parts) else geom


def make_assets(nodes: list, areas: list, *, project: Callable, unproject: Callable, keep: Callable,
                walk: nx.MultiDiGraph) -> list[Asset]:
    """Assets from reader items, sorted by (type, id), each with its nearest walk node.

    ``nodes`` are ``(id, type, (lon, lat), tags)``, ``areas`` ``(id, type, WKB in lon/lat, tags)``;
    ``project``/``unproject`` map (N, 2) lon/lat <-> projected metres; ``keep`` takes (N, 2) lon/lat and
    returns the bool mask of what lies in the bbox. An area asset's ``polygon`` is one Polygon (the zone the
    density, counters and analytics use): of an area in several parts, its largest part (the others are
    mostly slivers left where the extract's edge cut the ring, see ``twin.multipolygon``); its area, capacity
    and position (the representative point) are that part's.
    """
    assets: list[Asset] = []
    if nodes:
        ll = np.array([n[2] for n in nodes], dtype=float).reshape(-1, 2)
        xy = project(ll)
        for (aid, kind, _, tags), p, q, k in zip(nodes, ll, xy, keep(ll), strict=True):
            if k:
                assets.append(Asset(id=aid, type=kind, name=tags.get("name") or f"{kind} {aid}",
                                    xy=(float(q[0]), float(q[1])), lonlat=(float(p[0]), float(p[1])),
                                    capacity=capacity(kind, 0.0), tags=tags))
    if areas:
        geoms = np.array([_largest_part(g) for g in shapely.from_wkb([a[2] for a in areas])], dtype=object)
        mask = keep(shapely.get_coordinates(shapely.point_on_surface(geoms)))
        polys = shapely.transform(geoms, project)
        for (aid, kind, _, tags), poly, k in zip(areas, polys, mask, strict=True):
            if not k:
                continue
            rp = poly.representative_point()
            lon, lat = unproject(np.array([[rp.x, rp.y]]))[0]
            area = float(poly.area)
            assets.append(Asset(id=aid, type=kind, name=tags.get("name") or f"{kind} {aid}", xy=(rp.x, rp.y),
                                lonlat=(float(lon), float(lat)), capacity=capacity(kind, area), area_m2=area,
                                polygon=poly, tags=tags))
    assets.sort(key=lambda a: (a.type, a.id))
    if assets and walk.number_of_nodes():
        nodes = node_index(walk).nearest_many(np.array([a.xy for a in assets]))
        for a, node in zip(assets, nodes, strict=True):
            a.node = node
    return assets
