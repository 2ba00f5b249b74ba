"""The plain-data context incident fusion reads, indexed for lookups per alert: a coarse spatial grid, the
cameras (position, address, view polygon), the camera network (hosts, segments, the cameras a host's loss
cuts off from the video management server), the assets with their reach, and the asset dependency graph.

Everything is built once at construction; every per-alert lookup is a dict access plus exact tests on the
few candidates of one or a few grid cells.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import networkx as nx
import shapely

__all__ = ["ASSET_RADIUS_M", "FusionContext", "FusionContextError", "Grid", "is_ip"]

#: Reach of an asset around its point, by type (metres): an alert inside the polygon or this close to the
#: point is "at" the asset. Roughly the footprint plus the approach where people gather or queue: a
#: station's forecourt and entrances (150), a stadium's queues (150), a hospital's entrances and ambulance
#: bay (100); a square is mostly its own polygon (50); a stop is its waiting area (20); buildings with one
#: entrance 50-75.
ASSET_RADIUS_M: Mapping[str, float] = MappingProxyType({
    "station": 150.0, "square": 50.0, "stadium": 150.0, "school": 75.0, "hospital": 100.0, "police": 50.0,
    "fire_station": 50.0, "place_of_worship": 50.0, "shopping": 75.0, "substation": 50.0, "telecom": 50.0,
    "water_works": 75.0, "stop": 20.0,
})
#: Network node kinds that are switches (a host hanging off one of these is in its segment).
_SWITCH_KINDS = frozenset({"access_switch", "aggregation", "core", "edge"})
_IP_CACHE: dict[str, bool] = {}


class FusionContextError(ValueError):
    """Context data (cameras, assets, network) of the wrong shape (one line naming the item and field)."""


def is_ip(s: str) -> bool:
    """True if ``s`` is an IPv4 or IPv6 address (cached: the same hosts recur in every alert)."""
    hit = _IP_CACHE.get(s)
    if hit is None:
        try:
            ipaddress.ip_address(s)
            hit = True
        except ValueError:
            hit = False
        if len(_IP_CACHE) < 100_000:
            _IP_CACHE[s] = hit
    return hit


class Grid:
    """Keys in square cells of ``cell_m`` metres: points (``add``) or boxes (``add_box``, in every cell they
    overlap). ``near`` gives the keys of the cells within a radius: a superset to test exactly."""

    def __init__(self, cell_m: float) -> None:
        if not (cell_m > 0 and math.isfinite(cell_m)):
            raise FusionContextError(f"grid cell_m must be a positive number, got {cell_m!r}")
        self.cell = float(cell_m)
        self._cells: dict[tuple[int, int], set[Any]] = {}

    def _ij(self, x: float, y: float) -> tuple[int, int]:
        return math.floor(x / self.cell), math.floor(y / self.cell)

    def add(self, key: Any, xy: Sequence[float]) -> None:
        self._cells.setdefault(self._ij(xy[0], xy[1]), set()).add(key)

    def remove(self, key: Any, xy: Sequence[float]) -> None:
        ij = self._ij(xy[0], xy[1])
        cell = self._cells.get(ij)
        if cell is not None:
            cell.discard(key)
            if not cell:
                del self._cells[ij]

    def add_box(self, key: Any, x0: float, y0: float, x1: float, y1: float) -> None:
        (i0, j0), (i1, j1) = self._ij(x0, y0), self._ij(x1, y1)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                self._cells.setdefault((i, j), set()).add(key)

    def near(self, xy: Sequence[float], radius: float) -> set[Any]:
        """Keys in the cells that overlap the square of half-side ``radius`` around ``xy``."""
        i0, j0 = self._ij(xy[0] - radius, xy[1] - radius)
        i1, j1 = self._ij(xy[0] + radius, xy[1] + radius)
        out: set[Any] = set()
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                cell = self._cells.get((i, j))
                if cell:
                    out |= cell
        return out


def _xy(v: Any, where: str) -> tuple[float, float] | None:
    if v is None:
        return None
    try:
        x, y = float(v[0]), float(v[1])
    except (TypeError, ValueError, IndexError):
        raise FusionContextError(f"{where} must be [x, y] in metres, got {v!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise FusionContextError(f"{where} must be finite, got {v!r}")
    return x, y


def _polygon(v: Any, where: str) -> shapely.Polygon | None:
    if v is None:
        return None
    try:
        poly = shapely.Polygon([_xy(p, where) for p in v])
    except (TypeError, ValueError) as exc:
        raise FusionContextError(f"{where} must be a list of at least 3 [x, y] points ({exc})") from None
    if poly.is_empty or not math.isfinite(poly.area):
        raise FusionContextError(f"{where} must be a list of at least 3 [x, y] points")
    shapely.prepare(poly)
    return poly


class FusionContext:
    """Cameras, network, assets and dependencies for fusion, as plain data (see ``analytics.fusion``).

    Parameters
    ----------
    cameras : ``{camera_id: {"xy": [x, y], "ip": str | None, "view": [[x, y], ...] | None}}``.
    network : the camera network (nodes with ``kind``, ``ip``, ``camera_id``, ``xy``); cameras it holds
        that ``cameras`` lacks, or their missing position or address, are taken from it.
    assets : asset dicts ``{"id", "type", "xy", "polygon", ...}``.
    dependencies : asset dependency graph, edges ``provider -> dependent``.
    to_lonlat : metres -> ``[lon, lat]``.
    zones : named ground polygons (the pipeline's crowd zones): the zone of an incident whose alerts name
        none, so a counter of that zone can be matched to it.
    asset_radius : reach around the asset point by type (default ``ASSET_RADIUS_M``; unknown types 50 m).
    cell_m : grid cell of the camera and asset indexes.
    """

    def __init__(self, *, cameras: Mapping[str, Mapping[str, Any]] | None = None,
                 network: nx.Graph | None = None, assets: Iterable[Mapping[str, Any]] | None = None,
                 dependencies: nx.DiGraph | None = None,
                 to_lonlat: Callable[[Sequence[float]], Sequence[float] | None] | None = None,
                 zones: Mapping[str, Sequence[Sequence[float]]] | None = None,
                 asset_radius: Mapping[str, float] = ASSET_RADIUS_M, cell_m: float = 200.0) -> None:
        self.network = network
        self.dependencies = dependencies
        self.to_lonlat = to_lonlat
        self._zones = [(str(z), _polygon(poly, f"zones[{z!r}]")) for z, poly in (zones or {}).items()]
        polys = [p for _, p in self._zones if p is not None]
        self._zone_rows = [i for i, (_, p) in enumerate(self._zones) if p is not None]
        self._zone_tree = shapely.STRtree(polys) if polys else None
        self.cam_xy: dict[str, tuple[float, float]] = {}
        self.cam_ip: dict[str, str] = {}
        self.cam_view: dict[str, shapely.Polygon] = {}
        self._read_cameras(cameras or {})
        self.ip_node: dict[str, Any] = {}
        self.node_camera: dict[Any, str] = {}
        self.camera_node: dict[str, Any] = {}
        self._vms: list[Any] = []
        self._blinded: dict[Any, frozenset[str]] = {}
        if network is not None:
            self._read_network(network)
        self.ip_cam = {ip: c for c, ip in sorted(self.cam_ip.items())}
        self._cam_grid = Grid(cell_m)
        for c, xy in self.cam_xy.items():
            self._cam_grid.add(c, xy)
        for c, poly in self.cam_view.items():
            self._cam_grid.add_box(c, *poly.bounds)
        self.asset_type: dict[str, str] = {}
        self._asset_xy: dict[str, tuple[float, float] | None] = {}
        self._asset_poly: dict[str, shapely.Polygon | None] = {}
        self._asset_r: dict[str, float] = {}
        self._asset_grid = Grid(cell_m)
        for a in assets or ():
            self._read_asset(a, asset_radius)

    # -- cameras --------------------------------------------------------------------------------------

    def _read_cameras(self, cameras: Mapping[str, Mapping[str, Any]]) -> None:
        for cid, rec in cameras.items():
            cid = str(cid)
            if not isinstance(rec, Mapping):
                raise FusionContextError(f"cameras[{cid!r}] must be a mapping with xy, ip, view")
            xy = _xy(rec.get("xy"), f"cameras[{cid!r}].xy")
            if xy is not None:
                self.cam_xy[cid] = xy
            if rec.get("ip") is not None:
                self.cam_ip[cid] = str(rec["ip"])
            view = _polygon(rec.get("view"), f"cameras[{cid!r}].view")
            if view is not None:
                self.cam_view[cid] = view

    def camera_named(self, name: str) -> str | None:
        """The camera id ``name`` denotes: a camera id, or the address of a camera."""
        if name in self.cam_xy or name in self.cam_ip or name in self.cam_view or name in self.camera_node:
            return name
        cam = self.ip_cam.get(name)
        if cam is None and name in self.ip_node:
            cam = self.node_camera.get(self.ip_node[name])
        return cam

    def cameras_near(self, xy: Sequence[float], radius: float) -> list[tuple[str, float]]:
        """``(camera id, distance)`` of the cameras within ``radius`` m of ``xy`` or whose view holds it,
        nearest first (ties by id)."""
        out = []
        for c in self._cam_grid.near(xy, radius):
            p = self.cam_xy.get(c)
            d = math.inf if p is None else math.hypot(p[0] - xy[0], p[1] - xy[1])
            view = self.cam_view.get(c)
            if d <= radius or (view is not None and shapely.contains_xy(view, xy[0], xy[1])):
                out.append((c, d))
        out.sort(key=lambda cd: (cd[1], cd[0]))
        return out

    def cameras_seeing(self, xy: Sequence[float], range_m: float) -> list[str]:
        """The cameras that see ``xy``, for call-up: those whose view polygon holds it, and those without a
        view polygon within ``range_m``; if none, every camera within ``range_m`` (a PTZ can turn to it).
        Nearest first."""
        seeing, ranged = [], []
        for c, d in self.cameras_near(xy, range_m):
            view = self.cam_view.get(c)
            inside = view is not None and shapely.contains_xy(view, xy[0], xy[1])
            if (view is None and d <= range_m) or inside:
                seeing.append(c)
            elif d <= range_m:
                ranged.append(c)
        return seeing or ranged

    def place_camera(self, cam: str, xy: Sequence[float]) -> bool:
        """Give a camera the context has no position or view for a position; True if it was placed."""
        if cam in self.cam_xy or cam in self.cam_view:
            return False
        self.cam_xy[cam] = (float(xy[0]), float(xy[1]))
        self._cam_grid.add(cam, self.cam_xy[cam])
        return True

    def camera_reach(self, cam: str, radius: float) -> tuple[tuple[float, float], float] | None:
        """A centre and radius holding every point within ``radius`` of the camera or inside its view."""
        xy, view = self.cam_xy.get(cam), self.cam_view.get(cam)
        if view is None:
            return None if xy is None else (xy, radius)
        x0, y0, x1, y1 = view.bounds
        c = xy or ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
        far = max(math.hypot(x - c[0], y - c[1]) for x in (x0, x1) for y in (y0, y1))
        return c, max(radius, far)

    def zone_at(self, xy: Sequence[float] | None) -> str | None:
        """The first zone (in the order given) whose polygon holds ``xy`` (candidates from an STRtree)."""
        if xy is None or self._zone_tree is None:
            return None
        hits = self._zone_tree.query(shapely.Point(xy[0], xy[1]), predicate="intersects")
        rows = sorted(self._zone_rows[int(k)] for k in hits)
        for i in rows:
            name, poly = self._zones[i]
            if shapely.contains_xy(poly, xy[0], xy[1]):
                return name
        return None

    # -- network --------------------------------------------------------------------------------------

    def _read_network(self, g: nx.Graph) -> None:
        for n, d in g.nodes(data=True):
            if d.get("ip") is not None:
                self.ip_node[str(d["ip"])] = n
            if d.get("kind") == "vms":
                self._vms.append(n)
            if d.get("kind") == "camera":
                cid = str(d.get("camera_id") or n)
                self.node_camera[n] = cid
                if cid not in self.cam_xy and d.get("xy") is not None:
                    self.cam_xy[cid] = _xy(d["xy"], f"network node {n!r}.xy")
                if cid not in self.cam_ip and d.get("ip") is not None:
                    self.cam_ip[cid] = str(d["ip"])
        self._vms.sort(key=str)
        self.camera_node = {c: n for n, c in self.node_camera.items()}

    def node_of(self, host: str) -> Any | None:
        """The network node of a host address or camera id (None without a network or if unknown)."""
        if self.network is None:
            return None
        n = self.ip_node.get(host)
        if n is None:
            n = self.camera_node.get(host)
        return n

    def segment(self, host: str) -> str | None:
        """The network segment of a host: the switch it hangs off (None if not in the network)."""
        n = self.node_of(host)
        if n is None:
            return None
        g = self.network
        if g.nodes[n].get("kind") in _SWITCH_KINDS:
            return str(n)
        sw = sorted(str(m) for m in g.neighbors(n) if g.nodes[m].get("kind") in _SWITCH_KINDS)
        return sw[0] if sw else None

    def blinded(self, host: str) -> frozenset[str]:
        """The cameras a loss of ``host`` cuts off from every video management server: a camera itself; for
        the vms (the only one) every camera behind it; for a switch the cameras beyond it. Without a network,
        a camera's own address or id gives that camera."""
        n = self.node_of(host)
        if n is None:
            cam = self.camera_named(host)
            return frozenset() if cam is None else frozenset({cam})
        hit = self._blinded.get(n)
        if hit is None:
            hit = self._blinded[n] = self._cut_off(n)
        return hit

    def _cut_off(self, n: Any) -> frozenset[str]:
        g = self.network
        if n in self.node_camera:
            return frozenset({self.node_camera[n]})
        before: set[Any] = set()
        for v in self._vms:
            before |= nx.node_connected_component(g, v)
        rest = g.subgraph([m for m in g.nodes if m != n])
        after: set[Any] = set()
        for v in self._vms:
            if v != n and v not in after:
                after |= nx.node_connected_component(rest, v)
        return frozenset(self.node_camera[m] for m in before - after if m in self.node_camera)

    # -- assets ---------------------------------------------------------------------------------------

    def _read_asset(self, a: Mapping[str, Any], radius: Mapping[str, float]) -> None:
        if not isinstance(a, Mapping) or a.get("id") is None:
            raise FusionContextError(f"asset {a!r}: must be a mapping with an id")
        aid = str(a["id"])
        xy = _xy(a.get("xy"), f"asset {aid}.xy")
        poly = _polygon(a.get("polygon"), f"asset {aid}.polygon")
        if xy is None and poly is None:
            raise FusionContextError(f"asset {aid}: needs xy or polygon")
        r = float(radius.get(str(a.get("type")), 50.0))
        self.asset_type[aid] = str(a.get("type"))
        self._asset_xy[aid], self._asset_poly[aid], self._asset_r[aid] = xy, poly, r
        if poly is not None:
            self._asset_grid.add_box(aid, *poly.bounds)
        if xy is not None:
            self._asset_grid.add_box(aid, xy[0] - r, xy[1] - r, xy[0] + r, xy[1] + r)

    def assets_at(self, xy: Sequence[float] | None) -> list[str]:
        """Assets whose polygon holds ``xy`` or whose point is within their type's reach, sorted by id."""
        if xy is None:
            return []
        out = []
        for aid in self._asset_grid.near(xy, 0.0):
            p, poly = self._asset_xy[aid], self._asset_poly[aid]
            if (p is not None and math.hypot(p[0] - xy[0], p[1] - xy[1]) <= self._asset_r[aid]) or (
                    poly is not None and shapely.contains_xy(poly, xy[0], xy[1])):
                out.append(aid)
        return sorted(out)

    def dependency_edges(self, asset: str) -> list[tuple[str, str]]:
        """The dependency edges ``(provider, dependent)`` that touch ``asset``, sorted."""
        g = self.dependencies
        if g is None or asset not in g:
            return []
        edges = [(str(p), asset) for p in g.predecessors(asset)]
        return sorted(edges + [(asset, str(d)) for d in g.successors(asset)])
