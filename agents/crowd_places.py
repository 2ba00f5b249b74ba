"""Where the crowd goes: routable nodes, the points of interest of background trips, and gathering areas.

Points of interest (POIs) are the twin's assets on the routable core of the walk graph, then building
centroids snapped to it (indoor), then random core nodes (outdoor), at most ``max_pois``; a trip picks the
next one by a gravity model, P(POI) ~ exp(-distance / ``trip_scale_m``). A gathering stands over its asset's
polygon, else over a disc holding its people at ``gathering_density``.
"""

from __future__ import annotations

import numpy as np
import shapely

from agents.crowd_params import CrowdError, CrowdParams
from agents.routing import Router, RoutingError, WalkNetwork
from twin.nearest import NodeIndex

__all__ = ["Places"]

_INDOOR_TYPES = frozenset({"station", "stadium", "school", "hospital", "police", "fire_station",
                           "place_of_worship", "shopping"})


class Places:
    """Routable nodes, POIs and gathering areas of one crowd.

    Parameters
    ----------
    twin : Twin
        Uses ``assets`` (``id``, ``type``, ``node``, ``polygon``) and ``buildings.polygons``, either may be
        missing.
    net : WalkNetwork
    router : Router
    params : CrowdParams
    rng : numpy.random.Generator
        The crowd's generator (POI choice, spots in an area).

    Attributes
    ----------
    core_nodes, core_edges : numpy.ndarray
        Nodes of the largest strongly connected component, and the edges between two of them.
    pois : numpy.ndarray | None
        POI node indices, ``None`` until ``ensure_pois``; ``poi_indoor``, ``poi_slot`` (router table toward
        each) and ``indoor_node`` (by node: an indoor POI) come with them.
    gatherings : list of dict
        By gathering id: ``{"polygon"}`` or ``{"center", "radius"}``.
    """

    def __init__(self, twin, net: WalkNetwork, router: Router, params: CrowdParams, rng: np.random.Generator):
        self.twin = twin
        self.net = net
        self.router = router
        self.p = params
        self.rng = rng
        core = np.flatnonzero(net.core)
        self.core_nodes = core
        self._core_index = NodeIndex.of_points(core.tolist(), np.column_stack([net.x[core], net.y[core]]))
        self.core_edges = np.flatnonzero(net.core[net.eu] & net.core[net.ev])
        self.pois: np.ndarray | None = None
        self.gatherings: list[dict] = []

    def node_index(self, node, what: str) -> int:
        """Index of walk node ``node``; a CrowdError naming ``what`` when there is none."""
        try:
            i = self.net.node_index(node)
        except RoutingError:
            raise CrowdError(f"{what}: unknown walk node {node!r}") from None
        return i

    def snap(self, xy: np.ndarray) -> np.ndarray:
        """Nearest core (routable) node index for each point."""
        return self.core_nodes[self._core_index.nearest_index(np.asarray(xy, float).reshape(-1, 2))]

    # ------------------------------------------------------------------ points of interest
    def ensure_pois(self) -> None:
        """Choose the POIs on first use (draws from the generator once)."""
        if self.pois is not None:
            return
        p, rng, net = self.p, self.rng, self.net
        nodes, indoor = [], []
        for a in sorted(getattr(self.twin, "assets", None) or [], key=lambda a: str(a.id)):
            if a.type == "stop":        # people waiting at stops are a look-alike of their own
                continue
            if a.node is not None and a.node in net.index and net.core[net.index[a.node]]:
                nodes.append(net.index[a.node])
                indoor.append(a.type in _INDOOR_TYPES)
        b = getattr(self.twin, "buildings", None)
        polys = getattr(b, "polygons", None)
        n_build = max(0, p.max_pois - len(nodes) - p.random_pois)
        if polys is not None and len(polys) and n_build:
            pick = np.sort(rng.choice(len(polys), size=min(n_build, len(polys)), replace=False))
            c = shapely.centroid(np.asarray(polys, dtype=object)[pick])
            bn = self.snap(np.column_stack([shapely.get_x(c), shapely.get_y(c)]))
            nodes += bn.tolist()
            indoor += [True] * len(bn)
        short = max(0, n_build - (len(polys) if polys is not None else 0))  # too few buildings: random nodes
        k = min(p.random_pois + short, len(self.core_nodes))
        rn = rng.choice(self.core_nodes, size=k, replace=False)
        nodes += rn.tolist()
        indoor += [False] * len(rn)
        nodes = np.asarray(nodes, np.int64)
        _, first = np.unique(nodes, return_index=True)
        keep = np.sort(first)[: p.max_pois]
        self.pois = nodes[keep]
        self.poi_indoor = np.asarray(indoor, bool)[keep]
        if len(self.pois) < 2:
            raise CrowdError("population: the walk graph needs at least two routable nodes")
        self.poi_slot = np.array([self.router.slot([n]) for n in self.pois], np.int64)
        self.indoor_node = np.zeros(net.n_nodes, bool)
        self.indoor_node[self.pois[self.poi_indoor]] = True

    def pick_poi(self, from_nodes: np.ndarray) -> np.ndarray:
        """Gravity-model choice of a POI index for trips starting at ``from_nodes`` (never the same node)."""
        out = np.empty(len(from_nodes), np.int64)
        px, py = self.net.x[self.pois], self.net.y[self.pois]
        for a in range(0, len(from_nodes), 4096):
            f = from_nodes[a:a + 4096]
            d = np.hypot(self.net.x[f, None] - px[None], self.net.y[f, None] - py[None])
            w = np.exp(-d / self.p.trip_scale_m) + 1e-12
            w[f[:, None] == self.pois[None]] = 0.0
            c = np.cumsum(w, axis=1)
            u = self.rng.random(len(f)) * c[:, -1]
            out[a:a + 4096] = np.minimum((c < u[:, None]).sum(axis=1), len(self.pois) - 1)
        return out

    def scatter_around(self, nodes: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
        """Random spots (x, y) uniform within ``r`` m of each of ``nodes``."""
        ang = self.rng.uniform(0, 2 * np.pi, len(nodes))
        rad = r * np.sqrt(self.rng.random(len(nodes)))
        return self.net.x[nodes] + rad * np.cos(ang), self.net.y[nodes] + rad * np.sin(ang)

    # ------------------------------------------------------------------ gatherings
    def new_gathering(self, g: int, people: int) -> int:
        """Register the area of a gathering of ``people`` at node ``g``; returns its gathering id."""
        self.gatherings.append(self._gathering_area(g, people))
        return len(self.gatherings) - 1

    def _gathering_area(self, g: int, people: int) -> dict:
        """The polygon of an asset at node ``g``, else a disc holding ``people`` at ``gathering_density``."""
        node_id = self.net.nodes[g]
        for a in getattr(self.twin, "assets", None) or []:
            if a.node == node_id and a.polygon is not None and getattr(a.polygon, "area", 0) > 1.0:
                return {"polygon": a.polygon}
        area = max(people / self.p.gathering_density, 20.0)
        return {"center": (self.net.x[g], self.net.y[g]), "radius": float(np.sqrt(area / np.pi))}

    def gathering_spots(self, gids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A random spot (x, y) in the area of gathering ``gids[i]`` for each i."""
        out_x, out_y = np.empty(len(gids)), np.empty(len(gids))
        for gid in np.unique(gids):
            sel = gids == gid
            out_x[sel], out_y[sel] = self._spots_in(self.gatherings[gid], int(sel.sum()))
        return out_x, out_y

    def _spots_in(self, area: dict, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``k`` random spots in a polygon (rejection sampling) or a disc."""
        if "polygon" in area:
            poly = area["polygon"]
            x0, y0, x1, y1 = poly.bounds
            xs, ys = np.empty(0), np.empty(0)
            for _ in range(50):
                need = k - len(xs)
                if need <= 0:
                    break
                cx = self.rng.uniform(x0, x1, 2 * need + 8)
                cy = self.rng.uniform(y0, y1, 2 * need + 8)
                ok = shapely.contains_xy(poly, cx, cy)
                xs, ys = np.concatenate([xs, cx[ok]]), np.concatenate([ys, cy[ok]])
            if len(xs) < k:  # sliver polygon: stand on its representative point
                pt = poly.representative_point()
                xs = np.concatenate([xs, np.full(k - len(xs), pt.x)])
                ys = np.concatenate([ys, np.full(k - len(ys), pt.y)])
            return xs[:k], ys[:k]
        (cx, cy), rad = area["center"], area["radius"]
        ang = self.rng.uniform(0, 2 * np.pi, k)
        d = rad * np.sqrt(self.rng.random(k))
        return cx + d * np.cos(ang), cy + d * np.sin(ang)
