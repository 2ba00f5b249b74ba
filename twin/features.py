"""Named features: every named OSM object that is not an asset, so that any of them can be used as a place.

A feature is a node, a way or a multipolygon relation with a non-empty ``name`` and a value for one of
``FEATURE_KEYS``; its ``kind`` is ``key=value`` of the first of them it has. Named highways count (kind
``highway=...``), so that a street missing from the walk graph (a drive-only road, a footway cut off from the
largest component) still resolves. Its position: a node's location; for an area (a closed way or a relation)
a point inside it (``shapely.point_on_surface``); for an open way, or a closed highway not tagged ``area=yes``
(a roundabout, a path round a park), the vertex nearest the mean of its vertices.
An object that is an asset is not a feature (the asset stands for it), nor is a named highway whose name is a
street of the walk graph (the street stands for it).

Features live in ``Twin.features``, apart from ``Twin.assets``: density zones, sensor placement and the other
per-asset parts of a run do not grow with every shop and cafe, while ``twin.places`` resolves their names.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import shapely

from twin.model import Feature
from twin.nearest import node_index

__all__ = ["FEATURE_KEYS", "area_point", "feature_kind", "make_features", "street_names", "way_point"]

#: OSM keys that make a named object a feature (in this order for its ``kind``). From the OSM wiki's map
#: features: the keys of points of interest (amenity ... emergency), transport (public_transport ...
#: highway), and of named places and land (place ... waterway).
FEATURE_KEYS = ("amenity", "shop", "tourism", "leisure", "historic", "office", "craft", "healthcare",
                "emergency", "public_transport", "railway", "aeroway", "man_made", "building", "place",
                "landuse", "natural", "waterway", "highway")


def feature_kind(tags: dict) -> str | None:
    """``key=value`` of the first ``FEATURE_KEYS`` key of a named object, else None (unnamed or no key).

    >>> feature_kind({"name": "Kappeli", "amenity": "cafe", "building": "yes"})
    'amenity=cafe'
    >>> feature_kind({"amenity": "cafe"}) is None
    True
    """
    if not str(tags.get("name", "")).strip():
        return None
    for key in FEATURE_KEYS:
        value = tags.get(key)
        if value and value != "no":
            return f"{key}={value}"
    return None


def way_point(lonlat: np.ndarray, closed: bool) -> tuple[float, float] | None:
    """A way's position (lon/lat): a point inside it when ``closed`` and it has an area, else the vertex
    nearest the mean of its vertices; nodes without a location (NaN) are left out (None if that is all)."""
    ll = np.asarray(lonlat, float).reshape(-1, 2)
    ll = ll[np.isfinite(ll).all(axis=1)]
    if not len(ll):
        return None
    if closed and len(ll) >= 4:
        poly = shapely.make_valid(shapely.Polygon(ll))
        if poly.area > 0:
            p = shapely.point_on_surface(poly)
            return float(p.x), float(p.y)
    i = int(np.argmin(np.hypot(*(ll - ll.mean(axis=0)).T)))
    return float(ll[i, 0]), float(ll[i, 1])


def area_point(wkb: bytes) -> tuple[float, float]:
    """A point inside an area given as WKB (lon/lat)."""
    p = shapely.point_on_surface(shapely.from_wkb(wkb))
    return float(p.x), float(p.y)


def street_names(walk: nx.MultiDiGraph) -> set[str]:
    """The street names of a walk graph's edges, stripped and lower-cased."""
    out = set()
    for *_, names in walk.edges(data="name"):
        for name in names if isinstance(names, list) else [names]:
            if name:
                out.add(str(name).strip().lower())
    return out


def make_features(items: list[tuple[str, str, str, tuple[float, float]]], *, project: Callable,
                  keep: Callable, walk: nx.MultiDiGraph, exclude: set) -> list[Feature]:
    """Features from reader items ``(id, name, kind, (lon, lat))`` sorted by id, with their nearest walk node.

    Items whose id is in ``exclude`` (the assets' ids), highways named like a street of ``walk``, and items
    outside the bbox (``keep``, a lon/lat mask function as in ``twin.assets.make_assets``) are dropped;
    ``project`` maps (N, 2) lon/lat to projected metres.
    """
    streets = street_names(walk)
    items = sorted((it for it in items if it[0] not in exclude
                    and not (it[2].startswith("highway=") and it[1].lower() in streets)),
                   key=lambda it: it[0])
    if not items:
        return []
    ll = np.array([it[3] for it in items], dtype=float).reshape(-1, 2)
    mask = keep(ll)
    ll = ll[mask]
    items = [it for it, k in zip(items, mask, strict=True) if k]
    if not items:
        return []
    xy = project(ll)
    nodes = node_index(walk).nearest_many(xy) if walk.number_of_nodes() else [None] * len(items)
    return [Feature(id=fid, name=name, kind=kind, xy=(float(q[0]), float(q[1])),
                    lonlat=(float(p[0]), float(p[1])), node=node)
            for (fid, name, kind, _), p, q, node in zip(items, ll, xy, nodes, strict=True)]
