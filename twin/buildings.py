"""Building footprints with heights in a shapely STRtree (cameras use it for line of sight).

Height: ``height`` in metres (``twin.graphs.parse_metres``), else ``building:levels`` x ``level_height_m``
(default 3 m), else ``default_height_m`` (default 9 m, three storeys); both options are in ``TwinOptions``.
A multipolygon building becomes one entry per polygon, all with the building's id and height.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

from twin.graphs import parse_metres
from twin.model import Buildings
from twin.options import TwinOptions

__all__ = ["building_height", "empty_buildings", "make_buildings"]


def building_height(tags: dict, options: TwinOptions) -> float:
    """A building's height in metres from its tags (rule in the module docstring)."""
    h = parse_metres(tags.get("height"))
    if h is not None:
        return h
    try:
        levels = float(str(tags.get("building:levels", "")).replace(",", ".").split(";")[0])
    except ValueError:
        levels = 0.0
    if levels > 0:
        return levels * options.level_height_m
    return options.default_height_m


def empty_buildings() -> Buildings:
    """No buildings (a valid, empty STRtree)."""
    empty = np.empty(0, dtype=object)
    return Buildings(polygons=empty, heights_m=np.zeros(0), tree=shapely.STRtree(empty),
                     ids=np.empty(0, dtype=object))


def make_buildings(items: list[tuple[str, bytes, dict]], project: Callable, options: TwinOptions,
                   keep: Callable | None = None) -> Buildings:
    """Buildings from reader items ``(id, WKB in lon/lat, tags)``.

    ``project`` maps an (N, 2) lon/lat array to projected metres; ``keep`` (optional) takes the lon/lat
    representative points (N, 2) and returns a bool mask of buildings to keep (the bbox clip).
    """
    if not items:
        return empty_buildings()
    geoms = shapely.from_wkb([w for _, w, _ in items])
    if keep is not None:
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
        mask = keep(pts)
        items = [it for it, m in zip(items, mask, strict=True) if m]
        geoms = geoms[mask]
    polys, heights, ids = [], [], []
    geoms = shapely.transform(geoms, project)
    for (bid, _, tags), g in zip(items, geoms, strict=True):
        h = building_height(tags, options)
        parts = shapely.get_parts(g)
        for p in parts:
            if not p.is_empty and p.area > 0:
                polys.append(p)
                heights.append(h)
                ids.append(bid)
    arr = np.empty(len(polys), dtype=object)
    arr[:] = polys
    return Buildings(polygons=arr, heights_m=np.asarray(heights, dtype=float), tree=shapely.STRtree(arr),
                     ids=np.asarray(ids, dtype=object))
