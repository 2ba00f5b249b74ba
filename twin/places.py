"""Resolve a PLACE named in a scenario to a walk-graph node and a position.

A place is, in this order of precedence (case-insensitive): a walk node name of a synthetic twin
(``"start"``, ``"door"``...), an asset id (``"w123"``), a camera id (``"cam-123"``), an asset name
(``"Kauppatori"``), or a street name on the walk graph. A street resolves to its node nearest to the mean of
all its nodes; assets and cameras to their nearest walk node. Unknown names raise ``TwinError`` with the
closest few known names (difflib).
"""

from __future__ import annotations

import difflib
from typing import Any, NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from twin.model import Twin, TwinError

__all__ = ["Place", "place_index", "resolve_place"]


class Place(NamedTuple):
    """A resolved place: the walk node to route to and the position (projected metres) it stands for."""

    node: Any
    xy: tuple[float, float]


def _signature(twin: Twin) -> tuple:
    return (id(twin.walk), twin.walk.number_of_nodes(), twin.walk.number_of_edges(), len(twin.assets),
            len(twin.cameras))


def place_index(twin: Twin) -> dict[str, Place]:
    """Every name ``resolve_place`` knows, lower-cased, mapped to its place (precedence as documented).

    The index is memoised on the twin (private attribute) until its walk graph, assets or cameras change size.
    """
    memo = twin.__dict__.get("_place_index")
    if memo is not None and memo[0] == _signature(twin):
        return memo[1]
    idx: dict[str, Place] = {}
    w = twin.walk
    all_nodes = list(w.nodes)
    tree = cKDTree(np.array([(w.nodes[n]["x"], w.nodes[n]["y"]) for n in all_nodes]).reshape(-1, 2))

    def _nearest_node(_twin: Twin, xy) -> Any:
        return all_nodes[int(tree.query(np.asarray(xy, dtype=float))[1])]

    streets: dict[str, set] = {}
    for u, v, d in w.edges(data=True):
        names = d.get("name")
        for name in names if isinstance(names, list) else [names]:
            if name:
                streets.setdefault(str(name).lower(), set()).update((u, v))
    for key, nodes in sorted(streets.items()):
        ns = sorted(nodes, key=str)
        arr = np.array([(w.nodes[n]["x"], w.nodes[n]["y"]) for n in ns])
        i = int(np.argmin(np.hypot(*(arr - arr.mean(axis=0)).T)))
        idx[key] = Place(ns[i], (float(arr[i, 0]), float(arr[i, 1])))
    for a in sorted(twin.assets, key=lambda a: (a.polygon is None, a.id)):  # areas before points
        node = a.node if a.node is not None else _nearest_node(twin, a.xy)
        idx[a.name.lower()] = Place(node, tuple(a.xy))
    if twin.cameras:
        for c in twin.cameras:
            idx[c.id.lower()] = Place(_nearest_node(twin, c.xy), tuple(c.xy))
    for a in twin.assets:
        node = a.node if a.node is not None else _nearest_node(twin, a.xy)
        idx[a.id.lower()] = Place(node, tuple(a.xy))
    for n, d in w.nodes(data=True):
        if isinstance(n, str):
            idx[n.lower()] = Place(n, (float(d["x"]), float(d["y"])))
    twin.__dict__["_place_index"] = (_signature(twin), idx)
    return idx


def resolve_place(twin: Twin, name: str) -> Place:
    """The walk node and position of the place called ``name`` (see the module docstring).

    Raises
    ------
    TwinError
        ``name`` is not a known place of this twin; the message suggests the closest known names.
    """
    if not isinstance(name, str) or not name.strip():
        raise TwinError(f"place {name!r}: must be a non-empty name")
    idx = place_index(twin)
    key = name.strip().lower()
    if key in idx:
        return idx[key]
    close = difflib.get_close_matches(key, list(idx), n=4, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else f"; {len(idx)} names known"
    raise TwinError(f"place {name!r}: not found in twin {twin.city}{hint}")
