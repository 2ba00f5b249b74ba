"""The one OSM reader: a single pyosmium pass over ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``.

It keeps only what the twin needs, as plain Python/numpy data: highway ways (node ids and lon/lat),
building and asset areas (WKB, multipolygons assembled by pyosmium; closed ways cut by the extract's edge
are kept as the polygon of their remaining nodes), asset and camera nodes.
pyosmium raises ``RuntimeError`` on a broken or non-OSM file; that becomes a one-line ``TwinError``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from math import nan
from pathlib import Path

import numpy as np
import shapely

from twin.assets import asset_type
from twin.model import TwinError

__all__ = ["OSMData", "read_osm"]

#: Way tags the graphs use (everything else is dropped while reading).
WAY_TAGS = ("highway", "name", "width", "est_width", "maxspeed", "oneway", "junction", "access", "foot",
            "service", "area", "motor_vehicle", "motorcar", "sidewalk", "sidewalk:both", "sidewalk:left",
            "sidewalk:right", "lanes", "ref", "bridge", "tunnel")
_AREA_KEYS = ("building", "amenity", "leisure", "power", "shop", "man_made", "place", "highway", "railway",
              "public_transport", "telecom", "healthcare", "landuse")


@dataclass
class OSMData:
    """What one pass over an OSM file keeps (coordinates are WGS84 lon/lat)."""

    ways: list[tuple[int, np.ndarray, np.ndarray, dict]] = field(default_factory=list)  # id, nodes, lonlat
    buildings: list[tuple[str, bytes, dict]] = field(default_factory=list)              # id, WKB, tags
    asset_areas: list[tuple[str, str, bytes, dict]] = field(default_factory=list)       # id, type, WKB, tags
    asset_nodes: list[tuple[str, str, tuple[float, float], dict]] = field(default_factory=list)
    cameras: list[tuple[str, tuple[float, float], dict]] = field(default_factory=list)  # "cam-<id>", lonlat
    n_nodes: int = 0


def _tags(obj) -> dict:
    return {t.k: t.v for t in obj.tags}


def _check_file(p: Path) -> None:
    if not p.exists():
        raise TwinError(f"OSM file {p}: does not exist")
    if not p.is_file():
        raise TwinError(f"OSM file {p}: is not a file")
    if p.stat().st_size == 0:
        raise TwinError(f"OSM file {p}: is empty")


def _inside(bbox, lon, lat) -> bool:
    return bbox is None or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])


def _on_node(o, data: OSMData, bbox) -> None:
    """A camera or an asset point (inside ``bbox``)."""
    data.n_nodes += 1
    tags = _tags(o)
    loc = (o.location.lon, o.location.lat)
    if not _inside(bbox, *loc):
        return
    if tags.get("man_made") == "surveillance":
        data.cameras.append((f"cam-{o.id}", loc, tags))
    kind = asset_type(tags)
    if kind:
        data.asset_nodes.append((f"n{o.id}", kind, loc, tags))


def _on_way(o, data: OSMData, bbox, closed: dict) -> None:
    """A highway (with a node inside ``bbox``), and closed building/asset rings kept as area fallbacks."""
    nodes = o.nodes
    if len(nodes) >= 4 and nodes[0].ref == nodes[-1].ref:
        tags = _tags(o)
        if tags.get("building", "no") != "no" or asset_type(tags):
            closed[o.id] = ([(n.location.lon, n.location.lat) for n in nodes if n.location.valid()], tags)
    if "highway" not in o.tags:
        return
    # nodes missing from a clipped extract have no location: NaN, the graph cuts the way there
    pts = [(n.ref, n.location.lon, n.location.lat) if n.location.valid() else (n.ref, nan, nan)
           for n in nodes]
    arr = np.array(pts, dtype=float).reshape(-1, 3)
    if np.isfinite(arr[:, 1]).sum() < 2:
        return
    if bbox is not None and not ((arr[:, 1] >= bbox[0]) & (arr[:, 1] <= bbox[2])
                                 & (arr[:, 2] >= bbox[1]) & (arr[:, 2] <= bbox[3])).any():
        return
    tags = {k: o.tags[k] for k in WAY_TAGS if k in o.tags}
    data.ways.append((o.id, arr[:, 0].astype(np.int64), arr[:, 1:], tags))


def _on_area(o, data: OSMData, wkb) -> None:
    """A building or an asset area (an area pyosmium could not assemble, a broken ring, is skipped)."""
    tags = _tags(o)
    aid = f"{'w' if o.from_way() else 'r'}{o.orig_id()}"
    kind = asset_type(tags)
    building = tags.get("building", "no") != "no"
    if not (kind or building):
        return
    try:
        geom = wkb.create_multipolygon(o)
    except RuntimeError:
        return
    geom = bytes.fromhex(geom) if isinstance(geom, str) else geom
    if building:
        data.buildings.append((aid, geom, tags))
    if kind:
        data.asset_areas.append((aid, kind, geom, tags))


def read_osm(path: str | os.PathLike, bbox: tuple[float, float, float, float] | None = None) -> OSMData:
    """Read ``path`` once with pyosmium (locations and areas on).

    With ``bbox`` (minlon, minlat, maxlon, maxlat), highway ways with no node inside it and asset/camera nodes
    outside it are dropped while reading, so a regional extract does not fill memory (the builder clips
    exactly).

    Raises
    ------
    TwinError
        The file is missing, empty, truncated or not OSM data.
    """
    import osmium

    p = Path(path)
    _check_file(p)
    data = OSMData()
    wkb = osmium.geom.WKBFactory()
    closed: dict[int, tuple[list, dict]] = {}   # closed building/asset ways: the fallback for failed areas
    try:
        fp = (osmium.FileProcessor(str(p)).with_locations()
              .with_areas(osmium.filter.KeyFilter(*_AREA_KEYS))
              .with_filter(osmium.filter.EmptyTagFilter()))
        for o in fp:
            if o.is_node():
                _on_node(o, data, bbox)
            elif o.is_way():
                _on_way(o, data, bbox, closed)
            elif o.is_area():
                _on_area(o, data, wkb)
    except RuntimeError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TwinError(f"OSM file {p}: cannot be read as OSM data ({msg})") from None
    _clipped_areas(data, closed)
    return data


def _clipped_areas(data: OSMData, closed: dict[int, tuple[list, dict]]) -> None:
    """Closed ways pyosmium could not assemble (cut by the extract's edge, or self-intersecting) become
    polygons of their present nodes, repaired with ``shapely.make_valid`` and tagged ``twin:clipped``."""
    done = {aid for aid, *_ in data.buildings} | {aid for aid, *_ in data.asset_areas}
    for wid, (ring, tags) in closed.items():
        aid = f"w{wid}"
        if aid in done or len(ring) < 3:
            continue
        fixed = shapely.make_valid(shapely.Polygon(ring))
        parts = [g for g in shapely.get_parts(fixed) if isinstance(g, shapely.Polygon) and g.area > 0]
        if not parts:
            continue
        geom = shapely.to_wkb(shapely.MultiPolygon(parts))
        tags = {**tags, "twin:clipped": "yes"}
        if tags.get("building", "no") != "no":
            data.buildings.append((aid, geom, tags))
        kind = asset_type(tags)
        if kind:
            data.asset_areas.append((aid, kind, geom, tags))
