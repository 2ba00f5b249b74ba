"""Resolve a PLACE named in a scenario to a walk-graph node, a position and, where there is one, an asset.

A place is ``[lon, lat]`` (its nearest walk node) or a name. Names are, in this order of precedence
(case-insensitive): a walk node name of a synthetic twin (``"start"``, ``"door"``...), an asset id
(``"w123"``), a camera id (``"cam-123"``), an asset name (``"Kauppatori"``), or a street name on the walk
graph. A street resolves to its node nearest to the mean of all its nodes; assets and cameras to their
nearest walk node. Unknown names raise ``TwinError`` with the closest few known names (difflib).

``Places`` is the one resolver every part of a run uses (scenario places, sensor positions, zones); it is
built once per twin (``places_of``).
"""

from __future__ import annotations

import difflib
import weakref
from typing import Any, NamedTuple

import numpy as np
import shapely

from twin.model import Asset, Twin, TwinError
from twin.nearest import node_index

__all__ = ["Place", "Places", "place_index", "places_of", "resolve_place"]


class Place(NamedTuple):
    """A resolved place: the walk node to route to and the position (projected metres) it stands for."""

    node: Any
    xy: tuple[float, float]


def _street_places(w) -> dict[str, Place]:
    streets: dict[str, set] = {}
    for u, v, d in w.edges(data=True):
        names = d.get("name")
        for name in names if isinstance(names, list) else [names]:
            if name:
                streets.setdefault(str(name).lower(), set()).update((u, v))
    out = {}
    for key, nodes in sorted(streets.items()):
        ns = sorted(nodes, key=str)
        arr = np.array([(w.nodes[n]["x"], w.nodes[n]["y"]) for n in ns])
        i = int(np.argmin(np.hypot(*(arr - arr.mean(axis=0)).T)))
        out[key] = Place(ns[i], (float(arr[i, 0]), float(arr[i, 1])))
    return out


def _build_index(twin: Twin) -> dict[str, Place]:
    """Every name a place may be given by, lower-cased (later entries take precedence)."""
    w = twin.walk
    near = node_index(w)
    idx = _street_places(w)
    for a in sorted(twin.assets, key=lambda a: (a.polygon is None, a.id)):  # areas before points
        node = a.node if a.node is not None else near.nearest(a.xy)
        idx[a.name.lower()] = Place(node, tuple(a.xy))
    for c in twin.cameras or ():
        idx[c.id.lower()] = Place(near.nearest(c.xy), tuple(c.xy))
    for a in twin.assets:
        node = a.node if a.node is not None else near.nearest(a.xy)
        idx[a.id.lower()] = Place(node, tuple(a.xy))
    for n, d in w.nodes(data=True):
        if isinstance(n, str):
            idx[n.lower()] = Place(n, (float(d["x"]), float(d["y"])))
    return idx


class Places:
    """The places of one twin: names (see the module docstring), coordinates, asset areas and polygons."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.index = _build_index(twin)
        # by name or id; among assets sharing one, the polygon with the smallest id wins
        self._assets: dict[str, Asset] = {}
        for a in sorted(twin.assets, key=lambda a: (a.polygon is None, a.id), reverse=True):
            self._assets[a.name.lower()] = a
            self._assets[a.id.lower()] = a

    def resolve(self, value: str | list | tuple) -> Place:
        """The place ``value`` names: a name, or ``[lon, lat]`` (its nearest walk node).

        Raises
        ------
        TwinError
            An unknown or empty name (the message suggests the closest known names).
        """
        if isinstance(value, list | tuple):
            xy = self.twin.to_xy([list(value)])[0]
            return Place(node_index(self.twin.walk).nearest(xy), (float(xy[0]), float(xy[1])))
        if not isinstance(value, str) or not value.strip():
            raise TwinError(f"place {value!r}: must be a non-empty name")
        key = value.strip().lower()
        p = self.index.get(key)
        if p is not None:
            return Place(p.node, (float(p.xy[0]), float(p.xy[1])))
        close = difflib.get_close_matches(key, list(self.index), n=4, cutoff=0.5)
        hint = (f"; did you mean {', '.join(repr(c) for c in close)}?" if close
                else f"; {len(self.index)} names known")
        raise TwinError(f"place {value!r}: not found in twin {self.twin.city}{hint}")

    def asset(self, value: Any) -> Asset | None:
        """The asset called (or with the id) ``value``, if any."""
        return self._assets.get(value.strip().lower()) if isinstance(value, str) else None

    def polygon(self, corners) -> shapely.Polygon:
        """A lon/lat polygon as a shapely polygon in metres.

        Raises
        ------
        TwinError
            Self-intersecting or of zero area.
        """
        poly = shapely.Polygon(self.twin.to_xy(np.asarray(corners, float)))
        if not poly.is_valid or poly.area <= 0:
            raise TwinError("polygon is not valid (self-intersecting or of zero area)")
        return poly

    def area(self, value: Any = None, *, zone=None, radius_m: float | None = None):
        """The area an entry names: its ``zone`` (lon/lat corners), else the polygon of the asset ``value``
        names, else a ``radius_m`` disc round the place (None without a radius or a place)."""
        if zone is not None:
            return self.polygon(zone)
        if value is None:
            return None
        a = self.asset(value)
        if a is not None and a.polygon is not None:
            return a.polygon
        return None if radius_m is None else shapely.Point(*self.resolve(value).xy).buffer(radius_m)


#: id(twin) -> (weak reference, signature, Places); a Twin (a dataclass with ``eq``) is not hashable.
_MEMO: dict[int, tuple[weakref.ref, tuple, Places]] = {}


def _signature(twin: Twin) -> tuple:
    return (id(twin.walk), twin.walk.number_of_nodes(), twin.walk.number_of_edges(), len(twin.assets),
            len(twin.cameras))


def places_of(twin: Twin) -> Places:
    """The ``Places`` of ``twin``, kept until its walk graph, assets or cameras change size."""
    key, sig = id(twin), _signature(twin)
    found = _MEMO.get(key)
    if found is None or found[0]() is not twin or found[1] != sig:
        if found is None or found[0]() is not twin:
            weakref.finalize(twin, _MEMO.pop, key, None)
        found = _MEMO[key] = (weakref.ref(twin), sig, Places(twin))
    return found[2]


def place_index(twin: Twin) -> dict[str, Place]:
    """Every name ``resolve_place`` knows, lower-cased, mapped to its place."""
    return places_of(twin).index


def resolve_place(twin: Twin, name: str) -> Place:
    """The walk node and position of the place called ``name`` (see ``Places.resolve``).

    Raises
    ------
    TwinError
        ``name`` is not a known place of this twin; the message suggests the closest known names.
    """
    if not isinstance(name, str):
        raise TwinError(f"place {name!r}: must be a non-empty name")
    return places_of(twin).resolve(name)
