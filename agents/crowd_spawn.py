"""Adding people to the crowd: background population (POI itineraries), flows, walkers and gatherings.

Every new person gets a free speed ~ N(v0_mean, v0_sd) clipped to [v0_min, v0_max], a height and a lane, drawn
in that order from the crowd's generator, and starts off the graph; what each kind does next is documented on
its method.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from agents.crowd_params import CrowdError, CrowdParams
from agents.crowd_places import Places
from agents.crowd_streets import Streets
from agents.fundamental import free_speeds
from agents.people import DWELLING, FLOW, GATHERING, INDOOR, PENDING, POPULATION, WALKING, People
from agents.routing import Router, WalkNetwork

__all__ = ["Spawner"]


def _window(name: str, w) -> tuple[float, float]:
    try:
        a, b = float(w[0]), float(w[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise CrowdError(f"{name}: must be [t0, t1] seconds, got {w!r}") from None
    if not (np.isfinite(a) and np.isfinite(b)) or b < a or a < 0:
        raise CrowdError(f"{name}: must be [t0, t1] with 0 <= t0 <= t1, got {w!r}")
    return a, b


def _count(name: str, k) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise CrowdError(f"{name}: must be a non-negative integer, got {k!r}")


class Spawner:
    """Adds rows to ``people``: the crowd's ``add_*`` methods.

    Parameters
    ----------
    people : People
    net : WalkNetwork
    router : Router
    streets : Streets
    places : Places
        Node ids, POIs, routable nodes and gathering areas.
    params : CrowdParams
    rng : numpy.random.Generator
        The crowd's generator.
    """

    def __init__(self, people: People, net: WalkNetwork, router: Router, streets: Streets, places: Places,
                 params: CrowdParams, rng: np.random.Generator):
        self.people = people
        self.net = net
        self.router = router
        self.streets = streets
        self.places = places
        self.p = params
        self.rng = rng

    def _new_rows(self, k: int) -> np.ndarray:
        """``k`` new people off the graph with their free speed, height and lane drawn."""
        pp, p, rng = self.people, self.p, self.rng
        rows = pp.add(k)
        pp.free_speed[rows] = free_speeds(rng, k, mean=p.v0_mean, sd=p.v0_sd, lo=p.v0_min, hi=p.v0_max)
        pp.height[rows] = np.clip(rng.normal(p.person_height_m, p.person_height_sd, k), 1.4, 2.05)
        pp.lateral[rows] = rng.uniform(-0.5, 0.5, k)
        self.streets.place(pp, rows, self.streets.off_graph)
        return rows

    def _check_reach(self, slot: int, nodes: np.ndarray, goal: int, what: str) -> None:
        ne = self.router.next_edges(np.full(len(nodes), slot), nodes)
        bad = (ne < 0) & (nodes != goal)
        if bad.any():
            raise CrowdError(f"{what}: no walking path from {self.net.nodes[nodes[bad][0]]!r} "
                             f"to {self.net.nodes[goal]!r}")

    # ------------------------------------------------------------------ population
    def add_population(self, n: int, *, t0: float = 0.0) -> np.ndarray:
        """See ``Crowd.add_population``."""
        _count("population", n)
        if n == 0:
            return np.zeros(0, np.int64)
        self.places.ensure_pois()
        rows = self._new_rows(int(n))
        self.people.group[rows] = POPULATION
        walking = self.rng.random(n) < self.p.walking_share
        w_rows, i_rows = rows[walking], rows[~walking]
        if len(w_rows):
            self._mid_trip(w_rows)
        if len(i_rows):
            self._mid_dwell(i_rows, t0)
        return rows.astype(np.int64)

    def _mid_trip(self, rows: np.ndarray) -> None:
        """``rows`` walking somewhere on the core streets (by length), heading to a POI."""
        pp, rng, net, places = self.people, self.rng, self.net, self.places
        ce = places.core_edges
        e = ce[np.minimum(np.searchsorted(np.cumsum(net.length[ce]) / net.length[ce].sum(),
                                          rng.random(len(rows))), len(ce) - 1)]
        self.streets.place(pp, rows, e)
        pp.offset[rows] = rng.random(len(rows)) * net.length[e]
        pp.node[rows] = net.eu[e]
        j = places.pick_poi(net.ev[e].astype(np.int64))
        pp.goal[rows] = places.pois[j]
        pp.route_slot[rows] = places.poi_slot[j]
        pp.state[rows] = WALKING
        pp.desired_speed[rows] = pp.free_speed[rows]
        pp.announce(rows)

    def _mid_dwell(self, rows: np.ndarray, t0: float) -> None:
        """``rows`` part-way through a dwell at a random POI: what is left of a dwell of its kind."""
        pp, rng, p, places = self.people, self.rng, self.p, self.places
        j = rng.integers(0, len(places.pois), len(rows))
        nd = places.pois[j]
        pp.node[rows] = nd
        ind = places.poi_indoor[j]
        pp.state[rows] = np.where(ind, INDOOR, DWELLING)
        left = np.where(ind, rng.uniform(0.0, p.dwell_indoor_s[1], len(rows)),
                        rng.uniform(0.0, p.dwell_outdoor_s[1], len(rows)))
        pp.due_t[rows] = t0 + left
        pp.spot_x[rows], pp.spot_y[rows] = places.scatter_around(nd, 3.0)
        pp.announce(rows[~ind])

    # ------------------------------------------------------------------ flows
    def add_flow(self, from_node, to_node, people: int, depart_s=(0.0, 0.0)) -> np.ndarray:
        """See ``Crowd.add_flow``."""
        a = self.places.node_index(from_node, "flow.from")
        b = self.places.node_index(to_node, "flow.to")
        if a == b:
            raise CrowdError(f"flow: from and to are the same node {from_node!r}")
        _count("flow.people", people)
        t0, t1 = _window("flow.depart_s", depart_s)
        slot = self.router.slot([b])
        self._check_reach(slot, np.array([a]), b, "flow")
        rows = self._new_rows(int(people))
        pp = self.people
        pp.group[rows] = FLOW
        pp.state[rows] = PENDING
        pp.node[rows] = a
        pp.goal[rows] = b
        pp.final_goal[rows] = b
        pp.route_slot[rows] = slot
        pp.due_t[rows] = np.sort(self.rng.uniform(t0, t1, len(rows)))
        return rows.astype(np.int64)

    def add_walkers(self, u, v, offsets_m: Iterable[float], to_node, *, key=0) -> np.ndarray:
        """See ``Crowd.add_walkers``."""
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
        pp = self.people
        pp.group[rows] = FLOW
        self.streets.place(pp, rows, e)
        pp.offset[rows] = off
        pp.node[rows] = iu
        pp.goal[rows] = g
        pp.final_goal[rows] = g
        pp.route_slot[rows] = slot
        pp.state[rows] = WALKING
        pp.desired_speed[rows] = pp.free_speed[rows]
        pp.announce(rows)
        return rows.astype(np.int64)

    # ------------------------------------------------------------------ gatherings
    def add_gathering(self, at_node, people: int, arrive_s=(0.0, 0.0), leave_s=None) -> np.ndarray:
        """See ``Crowd.add_gathering``."""
        g = self.places.node_index(at_node, "gathering.at")
        _count("gathering.people", people)
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
        rows = self._new_rows(int(people))
        k = len(rows)
        arrive = self.rng.uniform(a0, a1, k)
        pp = self.people
        home = self._homes(cand, dist[cand], pp.free_speed[rows], arrive)
        depart = np.maximum(arrive - dist[home] / pp.free_speed[rows], 0.0)
        pp.group[rows] = GATHERING
        pp.state[rows] = PENDING
        pp.node[rows] = home
        pp.goal[rows] = g
        pp.final_goal[rows] = home
        pp.route_slot[rows] = slot
        pp.due_t[rows] = depart
        pp.leave_t[rows] = np.inf if leave_s is None else self.rng.uniform(l0, l1, k)
        pp.gathering_id[rows] = self.places.new_gathering(g, people)
        return rows.astype(np.int64)

    def _homes(self, cand: np.ndarray, dc: np.ndarray, v0: np.ndarray, arrive: np.ndarray) -> np.ndarray:
        """A random home among nodes ``cand`` (graph distances ``dc``, ascending) per gatherer (free speed
        ``v0``, arriving at ``arrive``): ``gathering_origin_m`` away, but near enough to walk in time."""
        lo, hi = self.p.gathering_origin_m
        upper = np.minimum(hi, np.maximum(0.9 * v0 * arrive, dc[0]))
        lower = np.minimum(lo, upper / 2)
        k_lo = np.searchsorted(dc, lower, side="left")
        k_hi = np.maximum(np.searchsorted(dc, upper, side="right"), k_lo + 1)
        k_lo = np.minimum(k_lo, len(dc) - 1)
        k_hi = np.minimum(k_hi, len(dc))
        return cand[k_lo + (self.rng.random(len(arrive)) * (k_hi - k_lo)).astype(np.int64)]
