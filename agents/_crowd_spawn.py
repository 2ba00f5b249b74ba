"""Adding people to the crowd: background population (POI itineraries), flows, walkers and gatherings."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely

from agents.crowd_params import CrowdError
from agents.people import DWELLING, FLOW, GATHERING, INDOOR, PENDING, POPULATION, WALKING
from agents.routing import RoutingError

__all__: list[str] = []


def _window(name: str, w) -> tuple[float, float]:
    try:
        a, b = float(w[0]), float(w[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise CrowdError(f"{name}: must be [t0, t1] seconds, got {w!r}") from None
    if not (np.isfinite(a) and np.isfinite(b)) or b < a or a < 0:
        raise CrowdError(f"{name}: must be [t0, t1] with 0 <= t0 <= t1, got {w!r}")
    return a, b


class _SpawnMixin:
    """Crowd methods that create rows; the arrays and the router live in ``agents.crowd.Crowd``."""

    # ------------------------------------------------------------------ places
    def _node_idx(self, node, what: str) -> int:
        try:
            i = self.net.node_index(node)
        except RoutingError:
            raise CrowdError(f"{what}: unknown walk node {node!r}") from None
        return i

    def _snap(self, xy: np.ndarray) -> np.ndarray:
        """Nearest core (routable) node index for each point."""
        _, k = self._core_tree.query(np.asarray(xy, float).reshape(-1, 2))
        return self._core_nodes[k]

    def _ensure_pois(self) -> None:
        if self._pois is not None:
            return
        p, rng, net = self.p, self.rng, self.net
        indoor_types = {"station", "stadium", "school", "hospital", "police", "fire_station",
                        "place_of_worship", "shopping"}
        nodes, indoor = [], []
        for a in sorted(getattr(self.twin, "assets", None) or [], key=lambda a: str(a.id)):
            if a.node is not None and a.node in net.index and net.core[net.index[a.node]]:
                nodes.append(net.index[a.node])
                indoor.append(a.type in indoor_types)
        b = getattr(self.twin, "buildings", None)
        polys = getattr(b, "polygons", None)
        n_build = max(0, p.max_pois - len(nodes) - p.random_pois)
        if polys is not None and len(polys) and n_build:
            pick = np.sort(rng.choice(len(polys), size=min(n_build, len(polys)), replace=False))
            c = shapely.centroid(np.asarray(polys, dtype=object)[pick])
            bn = self._snap(np.column_stack([shapely.get_x(c), shapely.get_y(c)]))
            nodes += bn.tolist()
            indoor += [True] * len(bn)
        short = max(0, n_build - (len(polys) if polys is not None else 0))  # too few buildings: random nodes
        k = min(p.random_pois + short, len(self._core_nodes))
        rn = rng.choice(self._core_nodes, size=k, replace=False)
        nodes += rn.tolist()
        indoor += [False] * len(rn)
        nodes = np.asarray(nodes, np.int64)
        _, first = np.unique(nodes, return_index=True)
        keep = np.sort(first)[: p.max_pois]
        self._pois = nodes[keep]
        self._poi_indoor = np.asarray(indoor, bool)[keep]
        if len(self._pois) < 2:
            raise CrowdError("population: the walk graph needs at least two routable nodes")
        self._poi_slot = np.array([self.router.slot([n]) for n in self._pois], np.int64)
        self._indoor_node = np.zeros(net.n_nodes, bool)
        self._indoor_node[self._pois[self._poi_indoor]] = True

    def _pick_poi(self, from_nodes: np.ndarray) -> np.ndarray:
        """Gravity-model choice of a POI index for trips starting at ``from_nodes`` (never the same node)."""
        out = np.empty(len(from_nodes), np.int64)
        px, py = self.net.x[self._pois], self.net.y[self._pois]
        for a in range(0, len(from_nodes), 4096):
            f = from_nodes[a:a + 4096]
            d = np.hypot(self.net.x[f, None] - px[None], self.net.y[f, None] - py[None])
            w = np.exp(-d / self.p.trip_scale_m) + 1e-12
            w[f[:, None] == self._pois[None]] = 0.0
            c = np.cumsum(w, axis=1)
            u = self.rng.random(len(f)) * c[:, -1]
            out[a:a + 4096] = np.minimum((c < u[:, None]).sum(axis=1), len(self._pois) - 1)
        return out

    def _check_reach(self, slot: int, nodes: np.ndarray, goal: int, what: str) -> None:
        ne = self.router.next_edges(np.full(len(nodes), slot), nodes)
        bad = (ne < 0) & (nodes != goal)
        if bad.any():
            raise CrowdError(f"{what}: no walking path from {self.net.nodes[nodes[bad][0]]!r} "
                             f"to {self.net.nodes[goal]!r}")

    # ------------------------------------------------------------------ adding people
    def add_population(self, n: int, *, t0: float = 0.0) -> np.ndarray:
        """Background pedestrians with itineraries between POIs, in and out of buildings; returns their ids.

        A share ``walking_share`` starts mid-trip on random streets (weighted by length), the rest in a POI
        whose dwell ends at a random time within ``dwell_indoor_s`` (a building) or ``dwell_outdoor_s`` (an
        outdoor POI, standing in the world); afterwards each picks its next POI.
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise CrowdError(f"population: must be a non-negative integer, got {n!r}")
        if n == 0:
            return np.zeros(0, np.int64)
        self._ensure_pois()
        rng, p, net = self.rng, self.p, self.net
        rows = self._new_rows(int(n))
        self.people.group[rows] = POPULATION
        walking = rng.random(n) < p.walking_share
        w_rows, i_rows = rows[walking], rows[~walking]
        if len(w_rows):
            ce = self._core_edges
            e = ce[np.minimum(np.searchsorted(np.cumsum(net.length[ce]) / net.length[ce].sum(),
                                              rng.random(len(w_rows))), len(ce) - 1)]
            self.streets.place(self.people, w_rows, e)
            self.people.offset[w_rows] = rng.random(len(w_rows)) * net.length[e]
            self.people.node[w_rows] = net.eu[e]
            j = self._pick_poi(net.ev[e].astype(np.int64))
            self.people.goal[w_rows] = self._pois[j]
            self.people.route_slot[w_rows] = self._poi_slot[j]
            self.people.state[w_rows] = WALKING
            self.people.desired_speed[w_rows] = self.people.free_speed[w_rows]
            self.people.announce(w_rows)
        if len(i_rows):
            j = rng.integers(0, len(self._pois), len(i_rows))
            nd = self._pois[j]
            self.people.node[i_rows] = nd
            ind = self._poi_indoor[j]
            self.people.state[i_rows] = np.where(ind, INDOOR, DWELLING)
            # already part-way through a dwell: what is left of it, from the range of this kind of POI
            left = np.where(ind, rng.uniform(0.0, p.dwell_indoor_s[1], len(i_rows)),
                            rng.uniform(0.0, p.dwell_outdoor_s[1], len(i_rows)))
            self.people.due_t[i_rows] = t0 + left
            self._place_at_nodes(i_rows, nd, 3.0)
            self.people.announce(i_rows[~ind])
        return rows.astype(np.int64)

    def add_flow(self, from_node, to_node, people: int, depart_s=(0.0, 0.0)) -> np.ndarray:
        """``people`` walk ``from_node`` -> ``to_node``, departing uniformly within ``depart_s``; returns ids.

        They leave the world on arrival (an ``arrived`` event at ``to_node``).
        """
        a = self._node_idx(from_node, "flow.from")
        b = self._node_idx(to_node, "flow.to")
        if a == b:
            raise CrowdError(f"flow: from and to are the same node {from_node!r}")
        if isinstance(people, bool) or not isinstance(people, int | np.integer) or people < 0:
            raise CrowdError(f"flow.people: must be a non-negative integer, got {people!r}")
        t0, t1 = _window("flow.depart_s", depart_s)
        slot = self.router.slot([b])
        self._check_reach(slot, np.array([a]), b, "flow")
        rows = self._new_rows(int(people))
        self.people.group[rows] = FLOW
        self.people.state[rows] = PENDING
        self.people.node[rows] = a
        self.people.goal[rows] = b
        self.people.final_goal[rows] = b
        self.people.route_slot[rows] = slot
        self.people.due_t[rows] = np.sort(self.rng.uniform(t0, t1, len(rows)))
        return rows.astype(np.int64)

    def add_walkers(self, u, v, offsets_m: Iterable[float], to_node, *, key=0) -> np.ndarray:
        """Place people walking on edge ``(u, v, key)`` at ``offsets_m`` from ``u``, heading to ``to_node``.

        For controlled experiments and injects (they count as a flow: they leave the world on arrival).
        """
        iv, g = self._node_idx(v, "walkers.v"), self._node_idx(to_node, "walkers.to")
        iu = self._node_idx(u, "walkers.u")
        try:
            e = self.net.keys.index((u, v, key))
        except ValueError:
            raise CrowdError(f"walkers: no walk edge ({u!r}, {v!r}, {key!r})") from None
        off = np.asarray(list(offsets_m), float)
        if off.size and (off.min() < 0 or off.max() > self.net.length[e]):
            raise CrowdError(f"walkers.offsets_m: must lie in [0, {self.net.length[e]:.1f}] m")
        slot = self.router.slot([g])
        if iv != g:
            self._check_reach(slot, np.array([iv]), g, "walkers")
        rows = self._new_rows(len(off))
        self.people.group[rows] = FLOW
        self.streets.place(self.people, rows, e)
        self.people.offset[rows] = off
        self.people.node[rows] = iu
        self.people.goal[rows] = g
        self.people.final_goal[rows] = g
        self.people.route_slot[rows] = slot
        self.people.state[rows] = WALKING
        self.people.desired_speed[rows] = self.people.free_speed[rows]
        self.people.announce(rows)
        return rows.astype(np.int64)

    def add_gathering(self, at_node, people: int, arrive_s=(0.0, 0.0), leave_s=None) -> np.ndarray:
        """``people`` come from homes ``gathering_origin_m`` away, arrive at ``at_node`` within ``arrive_s``,
        stand spread over the asset's area (its polygon, else a disc at ``gathering_density``), and go home
        within ``leave_s`` (``None``: they stay). Returns their ids.
        """
        g = self._node_idx(at_node, "gathering.at")
        if isinstance(people, bool) or not isinstance(people, int | np.integer) or people < 0:
            raise CrowdError(f"gathering.people: must be a non-negative integer, got {people!r}")
        a0, a1 = _window("gathering.arrive_s", arrive_s)
        if leave_s is not None:
            l0, l1 = _window("gathering.leave_s", leave_s)
            if l0 < a0:
                raise CrowdError(f"gathering.leave_s: must start after arrive_s starts, got {leave_s!r}")
        if not self.net.core[g]:
            raise CrowdError(f"gathering.at: node {at_node!r} is not on the connected walk network")
        slot = self.router.slot([g])
        dist = self.router.distances(g)
        cand = self._core_nodes[np.isfinite(dist[self._core_nodes]) & (self._core_nodes != g)]
        if len(cand) == 0:
            raise CrowdError(f"gathering.at: no other walk node can reach {at_node!r}")
        cand = cand[np.argsort(dist[cand], kind="stable")]
        dc = dist[cand]
        rows = self._new_rows(int(people))
        k = len(rows)
        arrive = self.rng.uniform(a0, a1, k)
        # homes gathering_origin_m away, but near enough to walk there by the arrival time
        lo, hi = self.p.gathering_origin_m
        upper = np.minimum(hi, np.maximum(0.9 * self.people.free_speed[rows] * arrive, dc[0]))
        lower = np.minimum(lo, upper / 2)
        k_lo = np.searchsorted(dc, lower, side="left")
        k_hi = np.maximum(np.searchsorted(dc, upper, side="right"), k_lo + 1)
        k_lo = np.minimum(k_lo, len(dc) - 1)
        k_hi = np.minimum(k_hi, len(dc))
        home = cand[k_lo + (self.rng.random(k) * (k_hi - k_lo)).astype(np.int64)]
        depart = np.maximum(arrive - dist[home] / self.people.free_speed[rows], 0.0)
        self.people.group[rows] = GATHERING
        self.people.state[rows] = PENDING
        self.people.node[rows] = home
        self.people.goal[rows] = g
        self.people.final_goal[rows] = home
        self.people.route_slot[rows] = slot
        self.people.due_t[rows] = depart
        self.people.leave_t[rows] = np.inf if leave_s is None else self.rng.uniform(l0, l1, k)
        self.people.gathering_id[rows] = len(self._gatherings)
        self._gatherings.append(self._gathering_area(g, people))
        return rows.astype(np.int64)

    def _gathering_area(self, g: int, people: int) -> dict:
        node_id = self.net.nodes[g]
        for a in getattr(self.twin, "assets", None) or []:
            if a.node == node_id and a.polygon is not None and getattr(a.polygon, "area", 0) > 1.0:
                return {"polygon": a.polygon}
        area = max(people / self.p.gathering_density, 20.0)
        return {"center": (self.net.x[g], self.net.y[g]), "radius": float(np.sqrt(area / np.pi))}

    def _place_at_nodes(self, rows: np.ndarray, nodes: np.ndarray, r: float) -> None:
        ang = self.rng.uniform(0, 2 * np.pi, len(rows))
        rad = r * np.sqrt(self.rng.random(len(rows)))
        self.people.spot_x[rows] = self.net.x[nodes] + rad * np.cos(ang)
        self.people.spot_y[rows] = self.net.y[nodes] + rad * np.sin(ang)

    def _place_in_gathering(self, rows: np.ndarray) -> None:
        for gid in np.unique(self.people.gathering_id[rows]):
            r = rows[self.people.gathering_id[rows] == gid]
            area = self._gatherings[gid]
            if "polygon" in area:
                poly = area["polygon"]
                x0, y0, x1, y1 = poly.bounds
                xs, ys = np.empty(0), np.empty(0)
                for _ in range(50):
                    need = len(r) - len(xs)
                    if need <= 0:
                        break
                    cx = self.rng.uniform(x0, x1, 2 * need + 8)
                    cy = self.rng.uniform(y0, y1, 2 * need + 8)
                    ok = shapely.contains_xy(poly, cx, cy)
                    xs, ys = np.concatenate([xs, cx[ok]]), np.concatenate([ys, cy[ok]])
                if len(xs) < len(r):  # sliver polygon: stand on its representative point
                    pt = poly.representative_point()
                    xs = np.concatenate([xs, np.full(len(r) - len(xs), pt.x)])
                    ys = np.concatenate([ys, np.full(len(r) - len(ys), pt.y)])
                self.people.spot_x[r], self.people.spot_y[r] = xs[: len(r)], ys[: len(r)]
            else:
                (cx, cy), rad = area["center"], area["radius"]
                ang = self.rng.uniform(0, 2 * np.pi, len(r))
                d = rad * np.sqrt(self.rng.random(len(r)))
                self.people.spot_x[r] = cx + d * np.cos(ang)
                self.people.spot_y[r] = cy + d * np.sin(ang)
