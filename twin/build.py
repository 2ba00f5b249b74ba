"""Build a twin from an OSM file or a place name: public ``from_*`` entry points funnel into ``_build``.

``from_file`` hashes the file and returns the cached twin when the cache holds one for the same file, options,
bbox and code (``CODE_VERSION`` and the digest of the ``twin`` package's source, ``twin.cache``); otherwise
``_build`` reads the file once (``twin.osmread``), makes the walk and drive graphs, buildings, assets and
their dependencies, the named features (``twin.features``), cameras and the IT network, logs a one-line
summary and the result is cached. A failed build raises ``TwinError`` and writes nothing.
``Twin.build_s`` is the wall time of this load (the build, or the cache read when ``Twin.cached``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import numpy as np
from pyproj import Transformer

from twin.cache import cache_dir, cache_key, code_digest, file_sha256, read_cache, write_cache
from twin.cities import OSM_SUFFIXES
from twin.model import Twin, TwinError
from twin.options import TwinOptions

__all__ = ["from_file", "from_place", "utm_crs"]

log = logging.getLogger(__name__)


def utm_crs(lon: float, lat: float) -> str:
    """The WGS84 UTM zone CRS (``EPSG:326xx`` north, ``EPSG:327xx`` south) containing lon/lat."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def _label(path: Path) -> str:
    name = path.name
    for suffix in OSM_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def from_file(path: str | os.PathLike, *, city: str | None = None, bbox: tuple | None = None,
              options: TwinOptions | None = None, use_cache: bool = True) -> Twin:
    """The twin of an OSM file (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``), clipped to ``bbox``.

    Raises
    ------
    TwinError
        Missing, empty, truncated or non-OSM file, or no walkable ways (in the bbox).
    """
    t0 = time.perf_counter()
    opts = options or TwinOptions()
    p = Path(path)
    if not p.exists():
        raise TwinError(f"OSM file {p}: does not exist")
    if not p.is_file():
        raise TwinError(f"OSM file {p}: is not a file")
    label = city or _label(p)
    key = cache_key(file_sha256(p), opts.key(), bbox, label, code_digest())
    if use_cache:
        twin = read_cache(key)
        if twin is not None:
            twin.cached = True
            twin.build_s = time.perf_counter() - t0
            log.info("twin %s: cache hit in %.2f s", label, twin.build_s)
            return twin
    twin = _build(p, label=label, bbox=bbox, options=opts)
    twin.build_s = time.perf_counter() - t0
    if use_cache:
        write_cache(key, twin)
    return twin


def from_place(place: str, *, bbox: tuple | None = None, options: TwinOptions | None = None,
               use_cache: bool = True) -> Twin:
    """The twin of a place name (needs internet): osmnx geocodes it, Overpass downloads its bbox.

    With the cache on, the download is kept as ``<cache>/downloads/<place>.osm`` (removed again if the build
    fails) and built like any file; with it off, it goes to a temporary folder.
    """
    import tempfile

    from twin.fetch import download_bbox, geocode_bbox

    box = bbox or geocode_bbox(place)
    slug = re.sub(r"[^a-z0-9]+", "-", place.lower()).strip("-") or "place"
    if not use_cache:
        with tempfile.TemporaryDirectory() as tmp:
            path = download_bbox(box, Path(tmp) / f"{slug}.osm")
            return from_file(path, city=place, bbox=None, options=options, use_cache=False)
    path = cache_dir() / "downloads" / f"{slug}-{cache_key('bbox', box)[:8]}.osm"
    fresh = not path.is_file()
    if fresh:
        download_bbox(box, path)
    try:
        return from_file(path, city=place, bbox=None, options=options, use_cache=True)
    except TwinError:
        if fresh:
            path.unlink(missing_ok=True)
        raise


def _inside_bbox(bbox: tuple | None):
    """``inside(ll)``: which lon/lat points (n, 2) lie in ``bbox`` (all of them without one)."""
    def inside(ll: np.ndarray) -> np.ndarray:
        ll = np.asarray(ll, dtype=float).reshape(-1, 2)
        if bbox is None:
            return np.ones(len(ll), dtype=bool)
        return (ll[:, 0] >= bbox[0]) & (ll[:, 0] <= bbox[2]) & (ll[:, 1] >= bbox[1]) & (ll[:, 1] <= bbox[3])
    return inside


def _highway_nodes(data, path: Path, bbox: tuple | None, inside) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every highway node with a location: ids, lon/lat and whether it lies in ``bbox``."""
    if not data.ways and bbox is not None:
        raise TwinError(f"bbox {','.join(map(str, bbox))}: contains no highway of {path.name}")
    if not data.ways:
        raise TwinError(f"OSM file {path}: has no highway ways (nothing walkable)")
    all_ids = np.concatenate([w[1] for w in data.ways])
    all_ll = np.concatenate([w[2] for w in data.ways])
    ok = np.isfinite(all_ll).all(axis=1)           # nodes missing from the file are left out (ways cut there)
    all_ids, first = np.unique(all_ids[ok], return_index=True)
    all_ll = all_ll[ok][first]
    node_in = inside(all_ll)
    if not node_in.any():
        raise TwinError(f"bbox {','.join(map(str, bbox))}: contains no highway of {path.name}")
    return all_ids, all_ll, node_in


def _projection(all_ll: np.ndarray, bbox: tuple | None):
    """The UTM CRS of the bbox centre (else of the median node) and lon/lat -> metres -> lon/lat."""
    if bbox is not None:
        centre = ((bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0)
    else:
        centre = (float(np.median(all_ll[:, 0])), float(np.median(all_ll[:, 1])))
    crs = utm_crs(*centre)
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(ll: np.ndarray) -> np.ndarray:
        ll = np.asarray(ll, dtype=float).reshape(-1, 2)
        x, y = fwd.transform(ll[:, 0], ll[:, 1])
        return np.column_stack([x, y])

    return crs, project, lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1]))


def _graphs(data, path: Path, bbox, all_ids, all_ll, node_in, crs, project, options: TwinOptions):
    """The walk and drive graphs (clipped to the nodes inside ``bbox``)."""
    from twin.graphs import build_graph

    xy_of = dict(zip(all_ids.tolist(), map(tuple, project(all_ll).tolist()), strict=True))
    lonlat_of = dict(zip(all_ids.tolist(), map(tuple, all_ll.tolist()), strict=True))
    keep_ids = None
    if bbox is not None:
        inside_ids = set(all_ids[node_in].tolist())

        def keep_ids(ids: np.ndarray) -> np.ndarray:
            return np.fromiter((i in inside_ids for i in ids.tolist()), dtype=bool, count=len(ids))

    kw = {"crs": crs, "simplify": options.simplify, "largest_component": options.largest_component,
          "keep": keep_ids}
    walk = build_graph(data.ways, xy_of, lonlat_of, "walk", **kw)
    if walk.number_of_edges() == 0:
        where = f" in bbox {','.join(map(str, bbox))}" if bbox else ""
        raise TwinError(f"OSM file {path}: has no walkable ways{where}")
    return walk, build_graph(data.ways, xy_of, lonlat_of, "drive", **kw)


def _build(path: Path, *, label: str, bbox: tuple | None, options: TwinOptions) -> Twin:
    """Read ``path`` once and assemble every part of the twin (see the module docstring)."""
    from twin.assets import dependency_graph, make_assets
    from twin.buildings import make_buildings
    from twin.cameras import camera_from_tags
    from twin.features import make_features
    from twin.network import attach_cameras, core_network
    from twin.osmread import read_osm

    t0 = time.perf_counter()
    data = read_osm(path, bbox)
    inside = _inside_bbox(bbox)
    all_ids, all_ll, node_in = _highway_nodes(data, path, bbox, inside)
    crs, project, unproject = _projection(all_ll, bbox)
    walk, drive = _graphs(data, path, bbox, all_ids, all_ll, node_in, crs, project, options)
    buildings = make_buildings(data.buildings, project, options, keep=inside if bbox else None)
    assets = make_assets(data.asset_nodes, data.asset_areas, project=project, unproject=unproject,
                         keep=inside, walk=walk)
    deps = dependency_graph(assets)
    features = make_features(data.features, project=project, keep=inside, walk=walk,
                             exclude={a.id for a in assets})
    cams = sorted((camera_from_tags(cid, tuple(project(ll)[0]), ll, tags)
                   for cid, ll, tags in data.cameras if inside(ll)[0]), key=lambda c: c.id)
    network = core_network(options)
    attach_cameras(network, {c.id: c.xy for c in cams})

    parts = [all_ll[node_in]] + [np.array([a.lonlat for a in assets]).reshape(-1, 2),
                                 np.array([c.lonlat for c in cams]).reshape(-1, 2)]
    ext = np.concatenate(parts)
    bbox_wgs84 = tuple(bbox) if bbox else (float(ext[:, 0].min()), float(ext[:, 1].min()),
                                           float(ext[:, 0].max()), float(ext[:, 1].max()))
    twin = Twin(city=label, source=str(path), crs=crs, bbox_wgs84=bbox_wgs84, walk=walk, drive=drive,
                buildings=buildings, assets=assets, dependencies=deps, cameras=cams, network=network,
                options=options, features=features)
    log.info("twin %s: walk %d nodes/%d edges, drive %d/%d, %d buildings, %d assets, %d named features, "
             "%d cameras in %.1f s", label, walk.number_of_nodes(), walk.number_of_edges(),
             drive.number_of_nodes(), drive.number_of_edges(), len(buildings.polygons), len(assets),
             len(features), len(cams), time.perf_counter() - t0)
    return twin
