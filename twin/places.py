"""Resolve a PLACE named in a scenario to a walk-graph node, a position and, where there is one, an asset.

A place is ``[lon, lat]`` (its nearest walk node) or a name of anything named in the twin. Names are
case-insensitive; when several things share a name, the first of these kinds that has it wins:

1. a walk-node name of a synthetic twin (``"start"``, ``"door"``...);
2. an id: of an asset (``"w123"``, ``"r2919185"``), a camera (``"cam-123"``) or a named feature (``"n456"``);
3. a qualified asset name ``type:name`` (``"square:Kauppatori"``, ``"stop:Kauppatori"``); a stop also as
   ``tram_stop:name`` or ``bus_stop:name``, among the stops of that mode only (``twin.assets.stop_modes``);
4. an asset name: area assets before point assets, then in ``ASSET_TYPES`` order; so a square beats a stop
   (or any point) of the same name: ``"Kauppatori"`` is the market square, ``"stop:Kauppatori"`` its stop;
5. a street name of the walk graph;
6. a named feature (``twin.features``: a shop, a cafe, a park, an office, a street missing from the walk
   graph...); a feature never hides an asset or a street of the same name (reach it by its id).

Within one kind, a name shared by several area assets of one type stands for the one with the smallest id; a
name shared by several points (a stop's platforms, point assets of one type, features, the nodes of a street)
stands for the one nearest to their mean position. Assets, features and cameras resolve to their nearest walk
node, a street to its own node. Unknown names raise ``TwinError`` with the closest few known names (difflib).

``Places`` is the one resolver every part of a run uses (scenario places, sensor positions, zones); it is
built once per twin (``places_of``).
"""

from __future__ import annotations

import difflib
import weakref
from typing import Any, NamedTuple

import numpy as np
import shapely

from twin.assets import stop_modes
from twin.model import ASSET_TYPES, Asset, Twin, TwinError
from twin.nearest import node_index

__all__ = ["Place", "Places", "place_index", "places_of", "resolve_place"]


class Place(NamedTuple):
    """A resolved place: the walk node to route to and the position (projected metres) it stands for."""

    node: Any
    xy: tuple[float, float]


def _nearest_mean(items: list, xy_of) -> Any:
    """The item nearest to the mean position of ``items`` (sorted by id first, so ties go to the smallest)."""
    items = sorted(items, key=lambda it: it.id)
    if len(items) == 1:
        return items[0]
    xy = np.array([xy_of(it) for it in items], dtype=float)
    return items[int(np.argmin(np.hypot(*(xy - xy.mean(axis=0)).T)))]


def _street_places(w) -> dict[str, Place]:
    streets: dict[str, set] = {}
    for u, v, d in w.edges(data=True):
        names = d.get("name")
        for name in names if isinstance(names, list) else [names]:
            if name:
                streets.setdefault(str(name).strip().lower(), set()).update((u, v))
    out = {}
    for key, nodes in sorted(streets.items()):
        ns = sorted(nodes, key=str)
        arr = np.array([(w.nodes[n]["x"], w.nodes[n]["y"]) for n in ns])
        i = int(np.argmin(np.hypot(*(arr - arr.mean(axis=0)).T)))
        out[key] = Place(ns[i], (float(arr[i, 0]), float(arr[i, 1])))
    return out


def _pick_asset(group: list[Asset]) -> Asset:
    """The asset a name shared within one type stands for: the area with the smallest id, else the point
    nearest the mean of the points."""
    areas = [a for a in group if a.polygon is not None]
    if areas:
        return min(areas, key=lambda a: a.id)
    return _nearest_mean(group, lambda a: a.xy)


def _asset_keys(assets: list[Asset]) -> tuple[dict, dict, dict]:
    """Asset ids, qualified names and plain names (rules 2, 3 and 4), lower-cased, to their asset."""
    groups: dict[str, list[Asset]] = {}
    typed: dict[str, list[str]] = {}          # plain name -> its type-qualified keys
    for a in sorted(assets, key=lambda a: a.id):
        name = a.name.strip().lower()
        if f"{a.type}:{name}" not in groups:
            typed.setdefault(name, []).append(f"{a.type}:{name}")
        quals = [a.type] + ([f"{m}_stop" for m in stop_modes(a.tags)] if a.type == "stop" else [])
        for q in quals:
            groups.setdefault(f"{q}:{name}", []).append(a)
    qualified = {key: _pick_asset(group) for key, group in groups.items()}
    order = {t: i for i, t in enumerate(ASSET_TYPES)}
    plain = {name: min((qualified[k] for k in keys), key=lambda a: (a.polygon is None, order[a.type]))
             for name, keys in typed.items()}
    return {a.id.lower(): a for a in assets}, qualified, plain


def _features(twin: Twin) -> list:
    """The twin's named features (none for a hand-built twin-like object without them)."""
    return list(getattr(twin, "features", None) or ())


def _feature_keys(twin: Twin, near) -> tuple[dict, dict]:
    """Feature ids and names (a shared name: the feature nearest the mean of them) to their places."""
    def place(f) -> Place:
        return Place(f.node if f.node is not None else near.nearest(f.xy), (float(f.xy[0]), float(f.xy[1])))

    features = _features(twin)
    groups: dict[str, list] = {}
    for f in features:
        groups.setdefault(f.name.strip().lower(), []).append(f)
    names = {key: place(_nearest_mean(group, lambda f: f.xy)) for key, group in groups.items()}
    return {f.id.lower(): place(f) for f in features}, names


def _build_index(twin: Twin, asset_keys: tuple[dict, dict, dict]) -> dict[str, Place]:
    """Every name a place may be given by, lower-cased; the first kind to have a name keeps it (rules 1-6)."""
    w = twin.walk
    near = node_index(w)
    idx: dict[str, Place] = {}

    def add(items) -> None:
        for key, place in items:
            idx.setdefault(key, place)

    def asset_place(a: Asset) -> Place:
        return Place(a.node if a.node is not None else near.nearest(a.xy), (float(a.xy[0]), float(a.xy[1])))

    def xy(d) -> tuple[float, float]:
        return float(d[0]), float(d[1])

    feature_ids, feature_names = _feature_keys(twin, near)
    add((n.lower(), Place(n, (float(d["x"]), float(d["y"])))) for n, d in w.nodes(data=True)
        if isinstance(n, str))
    add((k, asset_place(a)) for k, a in asset_keys[0].items())
    add((c.id.lower(), Place(near.nearest(c.xy), xy(c.xy))) for c in twin.cameras or ())
    add(feature_ids.items())
    for keys in asset_keys[1:]:
        add((k, asset_place(a)) for k, a in keys.items())
    add(_street_places(w).items())
    add(feature_names.items())
    return idx


class Places:
    """The places of one twin: names (see the module docstring), coordinates, asset areas and polygons."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        keys = _asset_keys(twin.assets)
        self.index = _build_index(twin, keys)
        # by id, qualified name or name, in the module's order of precedence (the asset ``resolve`` gives)
        self._assets: dict[str, Asset] = {**keys[2], **keys[1], **keys[0]}

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
        """The asset called ``value`` (a name, a qualified ``type:name`` or an id), if any."""
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
            len(twin.cameras), len(_features(twin)))


def places_of(twin: Twin) -> Places:
    """The ``Places`` of ``twin``, kept until its walk graph, assets, cameras or features change size."""
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
