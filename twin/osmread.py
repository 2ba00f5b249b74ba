"""The one OSM reader: a single pyosmium pass over ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``.

It keeps only what the twin needs, as plain Python/numpy data: highway ways (node ids and lon/lat), building
and asset areas (WKB), asset and camera nodes, and the named features (``twin.features``: id, name, kind and a
lon/lat position). Areas are assembled by pyosmium; what it cannot assemble is built here instead of dropped:
closed ways cut by the extract's edge become the polygon of their remaining nodes, and multipolygon relations
with members missing from the extract are built from the members present (``twin.multipolygon``); both are
tagged ``twin:clipped=yes``.
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
from twin.features import FEATURE_KEYS, area_point, feature_kind, way_point
from twin.model import TwinError
from twin.multipolygon import assemble

__all__ = ["OSMData", "read_osm"]

#: Way tags the graphs use (everything else is dropped while reading).
WAY_TAGS = ("highway", "name", "width", "est_width", "maxspeed", "oneway", "junction", "access", "foot",
            "service", "area", "motor_vehicle", "motorcar", "sidewalk", "sidewalk:both", "sidewalk:left",
            "sidewalk:right", "lanes", "ref", "bridge", "tunnel")
#: Keys of the relations pyosmium assembles into areas: those of assets and buildings, and of named features.
_AREA_KEYS = tuple(dict.fromkeys(("building", "amenity", "leisure", "power", "shop", "man_made", "place",
                                  "highway", "railway", "public_transport", "telecom", "healthcare",
                                  "landuse", *FEATURE_KEYS)))


@dataclass
class OSMData:
    """What one pass over an OSM file keeps (coordinates are WGS84 lon/lat)."""

    ways: list[tuple[int, np.ndarray, np.ndarray, dict]] = field(default_factory=list)  # id, nodes, lonlat
    buildings: list[tuple[str, bytes, dict]] = field(default_factory=list)              # id, WKB, tags
    asset_areas: list[tuple[str, str, bytes, dict]] = field(default_factory=list)       # id, type, WKB, tags
    asset_nodes: list[tuple[str, str, tuple[float, float], dict]] = field(default_factory=list)
    cameras: list[tuple[str, tuple[float, float], dict]] = field(default_factory=list)  # "cam-<id>", lonlat
    features: list[tuple[str, str, str, tuple[float, float]]] = field(default_factory=list)  # id, name, kind
    n_nodes: int = 0


class _Relations:
    """The multipolygon relations the twin may have to build itself (buildings, assets, named features), and
    their member ways' node ids and lon/lat.

    pyosmium hands every relation to its area filters in its first pass over the file, before any way is read;
    this object is the first of those filters (it filters nothing), so the ways it needs are known in time.
    """

    def __init__(self) -> None:
        self.relations: dict[int, tuple[dict, list[tuple[int, str]]]] = {}
        self.member_ways: set[int] = set()
        self.ways: dict[int, tuple[np.ndarray, np.ndarray]] = {}     # member way id -> node ids, lon/lat
        self.assembled: set[int] = set()                            # relations pyosmium did assemble

    def relation(self, r) -> None:
        """Keep ``r`` if it is a multipolygon the twin uses."""
        if r.tags.get("type") != "multipolygon":
            return
        tags = _tags(r)
        if not (_is_building(tags) or asset_type(tags, area=True) or feature_kind(tags)):
            return
        members = [(m.ref, m.role) for m in r.members if m.type == "w"]
        self.relations[r.id] = (tags, members)
        self.member_ways.update(ref for ref, _ in members)


def _tags(obj) -> dict:
    return {t.k: t.v for t in obj.tags}


def _is_building(tags: dict) -> bool:
    return tags.get("building", "no") != "no"


def _check_file(p: Path) -> None:
    if not p.exists():
        raise TwinError(f"OSM file {p}: does not exist")
    if not p.is_file():
        raise TwinError(f"OSM file {p}: is not a file")
    if p.stat().st_size == 0:
        raise TwinError(f"OSM file {p}: is empty")


def _inside(bbox, lon, lat) -> bool:
    return bbox is None or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])


def _any_inside(bbox, ll: np.ndarray) -> bool:
    return bbox is None or bool(((ll[:, 0] >= bbox[0]) & (ll[:, 0] <= bbox[2])
                                 & (ll[:, 1] >= bbox[1]) & (ll[:, 1] <= bbox[3])).any())


def _on_node(o, data: OSMData, bbox) -> None:
    """A camera, an asset point or a named feature (inside ``bbox``)."""
    data.n_nodes += 1
    tags = o.tags                        # pyosmium's tag list; copied to a dict only for what is kept
    loc = (o.location.lon, o.location.lat)
    if not _inside(bbox, *loc):
        return
    if tags.get("man_made") == "surveillance":
        data.cameras.append((f"cam-{o.id}", loc, _tags(o)))
    kind = asset_type(tags)
    if kind:
        data.asset_nodes.append((f"n{o.id}", kind, loc, _tags(o)))
    elif fkind := feature_kind(tags):
        data.features.append((f"n{o.id}", tags["name"].strip(), fkind, loc))


def _way_points(o) -> np.ndarray:
    """(n, 3) node id, lon, lat of a way; NaN lon/lat for nodes missing from a clipped extract."""
    pts = [(n.ref, n.location.lon, n.location.lat) if n.location.valid() else (n.ref, nan, nan)
           for n in o.nodes]
    return np.array(pts, dtype=float).reshape(-1, 3)


def _on_way(o, data: OSMData, bbox, closed: dict, rels: _Relations) -> None:
    """A highway (with a node inside ``bbox``), a relation's member way, a named feature, and closed
    building/asset rings kept as area fallbacks."""
    nodes, tags = o.nodes, o.tags          # pyosmium's tag list: .get and ``in`` like a dict, no copy
    arr = _way_points(o) if (o.id in rels.member_ways or "highway" in tags or "name" in tags) else None
    if o.id in rels.member_ways:
        rels.ways[o.id] = (arr[:, 0].astype(np.int64), arr[:, 1:])
    if not len(tags):
        return
    is_closed = len(nodes) >= 4 and nodes[0].ref == nodes[-1].ref
    area_kind = asset_type(tags, area=True) if is_closed else None
    if is_closed and (_is_building(tags) or area_kind):
        closed[o.id] = ([(n.location.lon, n.location.lat) for n in nodes if n.location.valid()], _tags(o))
    if arr is not None and not area_kind and (fkind := feature_kind(tags)) and _any_inside(bbox, arr[:, 1:]):
        # a closed highway is a loop (a roundabout, a path round a park) unless tagged area=yes
        pos = way_point(arr[:, 1:], is_closed and ("highway" not in tags or tags.get("area") == "yes"))
        if pos is not None:
            data.features.append((f"w{o.id}", tags["name"].strip(), fkind, pos))
    if "highway" not in tags or np.isfinite(arr[:, 1]).sum() < 2 or not _any_inside(bbox, arr[:, 1:]):
        return
    # nodes missing from a clipped extract have no location: NaN, the graph cuts the way there
    way_tags = {k: tags[k] for k in WAY_TAGS if k in tags}
    data.ways.append((o.id, arr[:, 0].astype(np.int64), arr[:, 1:], way_tags))


def _on_area(o, data: OSMData, wkb, rels: _Relations) -> None:
    """A building or an asset area, or a named feature's relation (an area pyosmium could not assemble, a
    broken ring, is skipped here and built by ``_clipped_areas`` / ``_incomplete_relations``)."""
    tags = o.tags
    from_way = o.from_way()
    kind = asset_type(tags, area=True)
    building = _is_building(tags)
    fkind = None if (kind or from_way) else feature_kind(tags)   # a way's feature point is taken in _on_way
    if not (kind or building or fkind):
        return
    tags = _tags(o)
    try:
        geom = wkb.create_multipolygon(o)
    except RuntimeError:
        return
    geom = bytes.fromhex(geom) if isinstance(geom, str) else geom
    aid = f"{'w' if from_way else 'r'}{o.orig_id()}"
    if not from_way:
        rels.assembled.add(o.orig_id())
    _add_area(data, aid, geom, tags, kind, building, fkind)


def _add_area(data: OSMData, aid: str, geom: bytes, tags: dict, kind, building: bool, fkind) -> None:
    if building:
        data.buildings.append((aid, geom, tags))
    if kind:
        data.asset_areas.append((aid, kind, geom, tags))
    elif fkind:
        data.features.append((aid, tags["name"].strip(), fkind, area_point(geom)))


def read_osm(path: str | os.PathLike, bbox: tuple[float, float, float, float] | None = None) -> OSMData:
    """Read ``path`` once with pyosmium (locations and areas on).

    With ``bbox`` (minlon, minlat, maxlon, maxlat), highway ways and named features with no node inside it,
    and asset/camera nodes outside it, are dropped while reading, so a regional extract does not fill memory
    (the builder clips exactly).

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
    rels = _Relations()
    untagged_nodes = osmium.filter.EmptyTagFilter()
    untagged_nodes.enable_for(osmium.osm.NODE)   # untagged ways still come: they may be relation members
    try:
        fp = (osmium.FileProcessor(str(p)).with_locations()
              .with_areas(rels, osmium.filter.KeyFilter(*_AREA_KEYS))
              .with_filter(untagged_nodes))
        for o in fp:
            if o.is_node():
                _on_node(o, data, bbox)
            elif o.is_way():
                _on_way(o, data, bbox, closed, rels)
            elif o.is_area():
                _on_area(o, data, wkb, rels)
    except RuntimeError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TwinError(f"OSM file {p}: cannot be read as OSM data ({msg})") from None
    _clipped_areas(data, closed)
    _incomplete_relations(data, rels, bbox)
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
        _add_area(data, aid, geom, tags, asset_type(tags, area=True), _is_building(tags), None)


def _incomplete_relations(data: OSMData, rels: _Relations, bbox) -> None:
    """Multipolygon relations pyosmium did not assemble (members missing from the extract, or broken rings),
    built from the member ways present (``twin.multipolygon``) and tagged ``twin:clipped``."""
    for rid in sorted(rels.relations):
        if rid in rels.assembled:
            continue
        tags, members = rels.relations[rid]
        geom = assemble(members, rels.ways)
        if geom is None:
            continue
        kind = asset_type(tags, area=True)
        fkind = None if kind else feature_kind(tags)
        if fkind and not _inside(bbox, *area_point(geom)):
            continue
        _add_area(data, f"r{rid}", geom, {**tags, "twin:clipped": "yes"}, kind, _is_building(tags), fkind)
