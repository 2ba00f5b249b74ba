"""Adding people to the crowd: background population (POI itineraries), flows, walkers and gatherings."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from agents.crowd_params import CrowdError
from agents.people import DWELLING, FLOW, GATHERING, INDOOR, PENDING, POPULATION, WALKING

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
        self.places.ensure_pois()
        rng, p, net = self.rng, self.p, self.net
        rows = self._new_rows(int(n))
        self.people.group[rows] = POPULATION
        walking = rng.random(n) < p.walking_share
        w_rows, i_rows = rows[walking], rows[~walking]
        if len(w_rows):
            ce = self.places.core_edges
            e = ce[np.minimum(np.searchsorted(np.cumsum(net.length[ce]) / net.length[ce].sum(),
                                              rng.random(len(w_rows))), len(ce) - 1)]
            self.streets.place(self.people, w_rows, e)
            self.people.offset[w_rows] = rng.random(len(w_rows)) * net.length[e]
            self.people.node[w_rows] = net.eu[e]
            j = self.places.pick_poi(net.ev[e].astype(np.int64))
            self.people.goal[w_rows] = self.places.pois[j]
            self.people.route_slot[w_rows] = self.places.poi_slot[j]
            self.people.state[w_rows] = WALKING
            self.people.desired_speed[w_rows] = self.people.free_speed[w_rows]
            self.people.announce(w_rows)
        if len(i_rows):
            j = rng.integers(0, len(self.places.pois), len(i_rows))
            nd = self.places.pois[j]
            self.people.node[i_rows] = nd
            ind = self.places.poi_indoor[j]
            self.people.state[i_rows] = np.where(ind, INDOOR, DWELLING)
            # already part-way through a dwell: what is left of it, from the range of this kind of POI
            left = np.where(ind, rng.uniform(0.0, p.dwell_indoor_s[1], len(i_rows)),
                            rng.uniform(0.0, p.dwell_outdoor_s[1], len(i_rows)))
            self.people.due_t[i_rows] = t0 + left
            self.people.spot_x[i_rows], self.people.spot_y[i_rows] = self.places.scatter_around(nd, 3.0)
            self.people.announce(i_rows[~ind])
        return rows.astype(np.int64)

    def add_flow(self, from_node, to_node, people: int, depart_s=(0.0, 0.0)) -> np.ndarray:
        """``people`` walk ``from_node`` -> ``to_node``, departing uniformly within ``depart_s``; returns ids.

        They leave the world on arrival (an ``arrived`` event at ``to_node``).
        """
        a = self.places.node_index(from_node, "flow.from")
        b = self.places.node_index(to_node, "flow.to")
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
        iv, g = self.places.node_index(v, "walkers.v"), self.places.node_index(to_node, "walkers.to")
        iu = self.places.node_index(u, "walkers.u")
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
        g = self.places.node_index(at_node, "gathering.at")
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
        core = self.places.core_nodes
        cand = core[np.isfinite(dist[core]) & (core != g)]
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
        self.people.gathering_id[rows] = self.places.new_gathering(g, people)
        return rows.astype(np.int64)
