"""The twin object every later model runs on: graphs, buildings, assets, cameras and the city IT/OT network.

Coordinates inside the twin are metres in the city's projected CRS (UTM); ``lonlat`` fields are WGS84.
The object is plain data (picklable), so the on-disk cache can store it whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer

__all__ = ["ASSET_TYPES", "Asset", "Buildings", "Feature", "OSMCamera", "Twin", "TwinError"]

#: Asset types recognised from OSM tags (see ``twin.assets`` for the tag rules). The order is the precedence
#: of the tag rules and of place names (``twin.places``). ``stop`` (a tram or bus stop: a point where people
#: wait) is last: it is an asset for the agents and the place names, but no density zone (``twin.zones``) and
#: no dependent of the utilities (``twin.assets.DEPENDS``).
ASSET_TYPES = (
    "station", "square", "stadium", "school", "hospital", "police", "fire_station", "place_of_worship",
    "shopping", "substation", "telecom", "water_works", "stop",
)


class TwinError(ValueError):
    """Bad input for building a twin: the message is one line naming the input and what is wrong."""

    exit_code = 2


@dataclass
class Asset:
    """A place that matters for security or resilience.

    A ``stop`` (tram or bus stop, see ``twin.assets``) is always a point: its ``xy`` is the mapped stop node,
    ``node`` the walk node nearest to it, ``name`` the stop's name (shared by its platforms; ``tags`` tell the
    mode, ``twin.assets.stop_modes``).
    """

    id: str                      # stable: "n123" / "w456" / "r789" (OSM type letter + id) or a synthetic name
    type: str                    # one of ASSET_TYPES
    name: str                    # OSM name, else "<type> <id>"
    xy: tuple[float, float]      # representative point, projected metres
    lonlat: tuple[float, float]
    capacity: int                # people it can hold (estimate, see twin.assets)
    area_m2: float = 0.0
    polygon: Any = None          # shapely Polygon in projected metres (the asset's zone), or None for a point
    node: Any = None             # nearest walk-graph node id
    tags: dict = field(default_factory=dict)


@dataclass
class Feature:
    """A named OSM object that is not an asset (a shop, a cafe, a park, a street cut out of the graphs...).

    Features exist so that any named feature can be used as a place (``twin.places``); they are kept apart
    from ``Twin.assets`` so that the per-asset parts of a run (density zones, sensor placement) do not grow.
    """

    id: str                      # "n123" / "w456" / "r789"
    name: str                    # the OSM ``name``
    kind: str                    # "key=value" of the first of ``twin.features.FEATURE_KEYS`` it has
    xy: tuple[float, float]      # its node, the representative point of its area, or the vertex of an open
    lonlat: tuple[float, float]  # way nearest the way's mean (projected metres / WGS84)
    node: Any = None             # nearest walk-graph node id


@dataclass
class OSMCamera:
    """An OSM ``man_made=surveillance`` camera with what its tags say."""

    id: str                      # "cam-<osm id>"
    xy: tuple[float, float]
    lonlat: tuple[float, float]
    height_m: float | None       # from tags, else None (sensors choose a default)
    direction_deg: float | None  # compass bearing of the view (0 = north, clockwise), else None
    tags: dict = field(default_factory=dict)


@dataclass
class Buildings:
    """Building footprints with heights, indexed for line-of-sight queries."""

    polygons: np.ndarray         # object array of shapely Polygons (projected metres)
    heights_m: np.ndarray        # float array, same length
    tree: Any                    # shapely.STRtree over ``polygons``
    ids: np.ndarray              # OSM ids as strings

    @cached_property
    def digest(self) -> str:
        """sha256 hex digest of the footprints (WKB) and heights: what caches of results computed from the
        buildings (camera shadows) are keyed by. Computed on first use; the buildings must not change."""
        h = hashlib.sha256()
        for wkb in shapely.to_wkb(self.polygons, hex=False):
            h.update(wkb)
        h.update(np.ascontiguousarray(self.heights_m, np.float64).tobytes())
        return h.hexdigest()


@dataclass
class Twin:
    """A city twin. Every source (OSM file, pilot city, place name, synthetic) gives this same object.

    ``walk``/``drive`` follow osmnx conventions (MultiDiGraph, node ``x``/``y`` in metres, edge ``length``
    in m); every walk edge has ``width_m``. ``network`` is the city's IT/OT network (networkx Graph) whose
    nodes carry ``kind`` (camera, access_switch, aggregation, core, vms, soc, ntp, dns, admin) and ``ip``;
    camera nodes also carry ``camera_id``. ``features`` are the named OSM objects that are not assets, for
    place names only (``twin.places``).
    """

    city: str
    source: str
    crs: str
    bbox_wgs84: tuple[float, float, float, float]
    walk: nx.MultiDiGraph
    drive: nx.MultiDiGraph
    buildings: Buildings
    assets: list[Asset]
    dependencies: nx.DiGraph
    cameras: list[OSMCamera]
    network: nx.Graph
    options: Any = None
    build_s: float = 0.0
    cached: bool = False
    features: list[Feature] = field(default_factory=list)   # named non-asset OSM objects (places only)

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        """Projected metres (N, 2) -> WGS84 lon/lat (N, 2)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        tr = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    def to_xy(self, lonlat: np.ndarray) -> np.ndarray:
        """WGS84 lon/lat (N, 2) -> projected metres (N, 2)."""
        ll = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        tr = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = tr.transform(ll[:, 0], ll[:, 1])
        return np.column_stack([x, y])
