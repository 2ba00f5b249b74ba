"""The crowd: every pedestrian is a row in numpy arrays walking the twin's walk graph.

Each step: people per density cell (about ``cell_m`` of a street, both directions together) by ``np.bincount``,
speed from Weidmann's diagram times each person's free speed, advance along the edge, and move those who reach
its end onto the next edge of their destination's shared shortest-path tree (``agents.routing``), at most
``specific_flow * width`` people per second into any edge, so doors and narrow streets queue. Loops run per
event, destination or gathering, never per pedestrian.

Person ids are row numbers 0..N-1, never reused. Events are ground truth dicts ``{"t", "kind", "id", "xy"}`` plus
extras; a step from ``t`` to ``t + dt`` stamps its events ``t + dt`` (the state they describe).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from agents.fundamental import GAMMA, RHO_MAX, SPECIFIC_FLOW, V0_MEAN, V0_SD, free_speeds, speed_factor
from agents.routing import Router, RoutingError, WalkNetwork
from agents.world import PERSON, Targets

__all__ = ["STATES", "Crowd", "CrowdError", "CrowdParams"]

#: Person states (code = index).
STATES = ("pending", "walking", "dwelling", "indoor", "arrived", "evacuated", "injured")
PENDING, WALKING, DWELLING, INDOOR, ARRIVED, EVACUATED, INJURED = range(7)
_VISIBLE = np.array([False, True, True, False, False, True, True])
POPULATION, FLOW, GATHERING = 0, 1, 2
_GROUP = ("population", "flow", "gathering")
_CHUNK = 4096


class CrowdError(ValueError):
    """Bad crowd input (unknown place, impossible window, unreachable goal); one line naming it."""

    exit_code = 2


@dataclass(frozen=True)
class CrowdParams:
    """Every crowd constant with its default (frozen: pass a new one to change any)."""

    v0_mean: float = V0_MEAN          # m/s, mean free walking speed
    v0_sd: float = V0_SD              # m/s (0 => everybody walks at v0_mean)
    v0_min: float = 0.5               # m/s, clip of individual free speeds
    v0_max: float = 2.2
    gamma: float = GAMMA              # Weidmann
    rho_max: float = RHO_MAX          # P/m^2
    min_speed_factor: float = 0.03    # jammed cells still creep (no dead lock at rho >= rho_max)
    specific_flow: float = SPECIFIC_FLOW  # P/(m s) into an edge, times its width
    cell_m: float = 10.0              # density cell length along a street
    person_height_m: float = 1.7
    person_height_sd: float = 0.07
    person_width_m: float = 0.5
    walking_share: float = 0.5        # share of add_population() already out walking at t0
    max_pois: int = 256               # destinations of background trips (assets, buildings, random nodes)
    random_pois: int = 48
    trip_scale_m: float = 800.0       # gravity model: P(POI) ~ exp(-distance / trip_scale_m)
    dwell_indoor_s: tuple[float, float] = (300.0, 2400.0)
    dwell_outdoor_s: tuple[float, float] = (20.0, 180.0)
    gathering_density: float = 2.0    # P/m^2 when a gathering point has no polygon
    gathering_origin_m: tuple[float, float] = (150.0, 1500.0)  # graph distance of gatherers' homes
    flee_margin_m: float = 150.0      # flee to nodes this far beyond a hazard's radius
    flee_boost: float = 1.5           # speed multiplier while fleeing
    panic_boost: float = 1.8          # speed multiplier in a surge
    after_flee_dwell_s: float = 120.0
    hazard_penalty: float = 25.0      # routing weight multiplier of edges inside an active hazard
    reroute_period_s: float = 60.0    # congestion check period (0 = never reweight for congestion)
    reroute_min_density: float = 1.0  # P/m^2 on some street before congestion changes routing


def _window(name: str, w) -> tuple[float, float]:
    try:
        a, b = float(w[0]), float(w[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise CrowdError(f"{name}: must be [t0, t1] seconds, got {w!r}") from None
    if not (np.isfinite(a) and np.isfinite(b)) or b < a or a < 0:
        raise CrowdError(f"{name}: must be [t0, t1] with 0 <= t0 <= t1, got {w!r}")
    return a, b


class Crowd:
    """Pedestrians on ``twin.walk`` as a structure of arrays; see the module docstring.

    Parameters
    ----------
    twin : Twin
        Uses ``walk`` (x/y, length, width_m), ``assets`` (``node``, ``polygon``) and ``buildings``.
    rng : numpy.random.Generator
        The only source of randomness.
    params : CrowdParams
    """

    def __init__(self, twin, *, rng: np.random.Generator, params: CrowdParams = CrowdParams()):
        if not isinstance(rng, np.random.Generator):
            raise CrowdError(f"rng: must be a numpy.random.Generator, got {type(rng).__name__}")
        self.twin = twin
        self.rng = rng
        self.p = params
        try:
            self.net = WalkNetwork.from_graph(twin.walk)
        except RoutingError as e:
            raise CrowdError(str(e)) from None
        self.router = Router(self.net)
        net = self.net
        E = net.n_edges
        self._E = E
        self._WAIT, self._HOLD = E, E + 1     # sentinel edges: waiting at a node / not on the graph
        # per-edge geometry (+ 2 sentinel rows)
        x, y = net.x, net.y
        dx, dy = x[net.ev] - x[net.eu], y[net.ev] - y[net.eu]
        d = np.maximum(np.hypot(dx, dy), 1e-9)
        self._ux, self._uy = dx / d, dy / d
        self._len = np.concatenate([net.length, [-1.0, np.inf]])
        self._evx = np.concatenate([net.ev, [-1, -1]]).astype(np.int32)
        self._mid = np.column_stack([(x[net.eu] + x[net.ev]) / 2, (y[net.eu] + y[net.ev]) / 2])
        self._build_cells()
        # flow capacity into each edge (token bucket, refilled lazily)
        self._rate = params.specific_flow * net.width
        grid = np.linspace(0.05, params.rho_max, 2000)
        q = grid * params.v0_mean * speed_factor(grid, gamma=params.gamma, rho_max=params.rho_max)
        self._rho_crit, self._q_max = float(grid[q.argmax()]), float(q.max())
        self._credit_max = self._rate + 1.0   # a burst of one second of capacity plus one person
        self._credit = self._credit_max.copy()
        self._credit_t = np.zeros(E)
        self._closed = np.zeros(E, bool)
        self._congestion = np.ones(E)
        self._hazards: list[tuple[float, float, float, float]] = []  # (x, y, r, t_end)
        self._next_reroute = params.reroute_period_s if params.reroute_period_s > 0 else np.inf
        core = np.flatnonzero(net.core)
        self._core_nodes = core
        self._core_tree = cKDTree(np.column_stack([x[core], y[core]]))
        self._core_edges = np.flatnonzero(net.core[net.eu] & net.core[net.ev])
        self._bounds = (x.min(), y.min(), x.max(), y.max())
        self._pois: np.ndarray | None = None
        self._gatherings: list[dict] = []
        self._announce: list[np.ndarray] = []
        self.n = 0
        self._cap = 0
        self._alloc(_CHUNK)

    # ------------------------------------------------------------------ storage
    _FIELDS = (("edge", np.int32, 0), ("off", np.float64, 0.0), ("lat", np.float32, 0.0),
               ("v0", np.float64, 0.0), ("vcap", np.float64, 0.0), ("speed", np.float64, 0.0),
               ("node", np.int32, -1), ("goal", np.int32, -1), ("slot", np.int32, -1),
               ("state", np.int8, ARRIVED), ("group", np.int8, 0), ("phase", np.int8, 0),
               ("flee", np.bool_, False), ("evac", np.bool_, False), ("seen", np.bool_, False),
               ("t_next", np.float64, np.inf), ("t_aux", np.float64, np.inf), ("aux", np.int32, -1),
               ("gid", np.int32, -1), ("px", np.float64, 0.0), ("py", np.float64, 0.0),
               ("height", np.float32, 1.7))

    def _alloc(self, cap: int) -> None:
        """Grow every column to ``cap`` rows (chunked, like mesa's ContinuousSpace agent buffer)."""
        for name, dt, fill in self._FIELDS:
            new = np.full(cap, fill, dtype=dt)
            if self._cap:
                new[: self.n] = getattr(self, "_" + name)[: self.n]
            setattr(self, "_" + name, new)
        self._cap = cap

    def _new_rows(self, k: int) -> np.ndarray:
        if self.n + k > self._cap:
            self._alloc(max(self._cap * 2, self.n + k + _CHUNK))
        rows = np.arange(self.n, self.n + k)
        self.n += k
        self._v0[rows] = free_speeds(self.rng, k, mean=self.p.v0_mean, sd=self.p.v0_sd, lo=self.p.v0_min,
                                     hi=self.p.v0_max)
        self._height[rows] = np.clip(self.rng.normal(self.p.person_height_m, self.p.person_height_sd, k),
                                     1.4, 2.05)
        self._lat[rows] = self.rng.uniform(-0.5, 0.5, k)
        self._edge[rows] = self._HOLD
        return rows

    def __len__(self) -> int:
        return self.n

    @property
    def state(self) -> np.ndarray:
        """State codes of every person so far (view; see ``STATES``)."""
        return self._state[: self.n]

    @property
    def edge(self) -> np.ndarray:
        """Edge index of walking people (``>= net.n_edges`` = waiting at a node or off the graph)."""
        return self._edge[: self.n]

    @property
    def goal(self) -> np.ndarray:
        """Goal node index (``net.nodes[goal]`` is the original node id)."""
        return self._goal[: self.n]

    # ------------------------------------------------------------------ cells
    def _build_cells(self) -> None:
        """Density cells of ~cell_m per street; both directions of a street share its cells."""
        net, E = self.net, self._E
        idx = np.arange(E)
        street = np.where(net.rev >= 0, np.minimum(idx, net.rev), idx)
        fwd = street == idx
        ncell = np.maximum(1, np.ceil(net.length / self.p.cell_m)).astype(np.int64)
        base = np.zeros(E, np.int64)
        sid = np.flatnonzero(fwd)
        starts = np.concatenate([[0], np.cumsum(ncell[sid])[:-1]])
        base[sid] = starts
        base = base[street]
        C = int(ncell[sid].sum())
        s = (ncell - 1e-6) / net.length
        a = np.where(fwd, base, base + ncell - 1e-9).astype(float)
        b = np.where(fwd, s, -s)
        self._ca = np.concatenate([a, [C, C]])
        self._cb = np.concatenate([b, [0.0, 0.0]])
        area = np.zeros(C + 1)
        cell_len = net.length / ncell
        # a street's cell area from its forward edge: (length / ncell) * width
        reps = np.repeat(cell_len[sid] * net.width[sid], ncell[sid])
        area[:C] = reps
        area[C] = 1e12                      # the dummy cell for everybody not walking an edge
        self._inv_area = 1.0 / area
        self._n_cells = C
        self._cell_street = np.repeat(sid, ncell[sid])

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
        indoor_types = {"station", "stadium", "school", "hospital", "police", "fire_station", "place_of_worship",
                        "shopping"}
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
        k = min(p.random_pois + max(0, n_build - (len(polys) if polys is not None else 0)), len(self._core_nodes))
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

        A share ``walking_share`` starts mid-trip on random streets (weighted by length), the rest inside a POI
        whose dwell ends at a random time within ``dwell_indoor_s``; afterwards each picks its next POI.
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise CrowdError(f"population: must be a non-negative integer, got {n!r}")
        if n == 0:
            return np.zeros(0, np.int64)
        self._ensure_pois()
        rng, p, net = self.rng, self.p, self.net
        rows = self._new_rows(int(n))
        self._group[rows] = POPULATION
        walking = rng.random(n) < p.walking_share
        w_rows, i_rows = rows[walking], rows[~walking]
        if len(w_rows):
            ce = self._core_edges
            e = ce[np.minimum(np.searchsorted(np.cumsum(net.length[ce]) / net.length[ce].sum(),
                                              rng.random(len(w_rows))), len(ce) - 1)]
            self._edge[w_rows] = e
            self._off[w_rows] = rng.random(len(w_rows)) * net.length[e]
            self._node[w_rows] = net.eu[e]
            j = self._pick_poi(net.ev[e].astype(np.int64))
            self._goal[w_rows] = self._pois[j]
            self._slot[w_rows] = self._poi_slot[j]
            self._state[w_rows] = WALKING
            self._vcap[w_rows] = self._v0[w_rows]
            self._seen[w_rows] = True
            self._announce.append(w_rows)
        if len(i_rows):
            j = rng.integers(0, len(self._pois), len(i_rows))
            nd = self._pois[j]
            self._node[i_rows] = nd
            ind = self._poi_indoor[j]
            self._state[i_rows] = np.where(ind, INDOOR, DWELLING)
            lo, hi = p.dwell_indoor_s
            self._t_next[i_rows] = t0 + rng.uniform(0, hi, len(i_rows))
            self._place_at_nodes(i_rows, nd, 3.0)
            self._seen[i_rows] = ~ind
            self._announce.append(i_rows[~ind])
        return rows.astype(np.int64)

    def add_flow(self, from_node, to_node, people: int, depart_s=(0.0, 0.0)) -> np.ndarray:
        """``people`` walk from ``from_node`` to ``to_node``, departing uniformly in ``depart_s``; returns ids.

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
        self._group[rows] = FLOW
        self._state[rows] = PENDING
        self._node[rows] = a
        self._goal[rows] = b
        self._aux[rows] = b
        self._slot[rows] = slot
        self._t_next[rows] = np.sort(self.rng.uniform(t0, t1, len(rows)))
        return rows.astype(np.int64)

    def add_walkers(self, u, v, offsets_m: Iterable[float], to_node, *, key=0) -> np.ndarray:
        """Place people walking on edge ``(u, v, key)`` at ``offsets_m`` from ``u``, heading to ``to_node``.

        For controlled experiments and injects (they count as a flow: they leave the world on arrival).
        """
        iu, iv, g = self._node_idx(u, "walkers.u"), self._node_idx(v, "walkers.v"), self._node_idx(to_node, "walkers.to")
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
        self._group[rows] = FLOW
        self._edge[rows] = e
        self._off[rows] = off
        self._node[rows] = iu
        self._goal[rows] = g
        self._aux[rows] = g
        self._slot[rows] = slot
        self._state[rows] = WALKING
        self._vcap[rows] = self._v0[rows]
        self._seen[rows] = True
        self._announce.append(rows)
        return rows.astype(np.int64)

    def add_gathering(self, at_node, people: int, arrive_s=(0.0, 0.0), leave_s=None) -> np.ndarray:
        """``people`` come from homes 150-1500 m away to arrive at ``at_node`` within ``arrive_s``, stand spread
        over the asset's area (its polygon, else a disc at ``gathering_density``), and go home within ``leave_s``
        (``None``: they stay). Returns their ids.
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
        lo, hi = self.p.gathering_origin_m
        cand = self._core_nodes[(dist[self._core_nodes] >= lo) & (dist[self._core_nodes] <= hi)]
        if len(cand) == 0:
            cand = self._core_nodes[np.isfinite(dist[self._core_nodes]) & (self._core_nodes != g)]
        if len(cand) == 0:
            raise CrowdError(f"gathering.at: no other walk node can reach {at_node!r}")
        rows = self._new_rows(int(people))
        k = len(rows)
        home = self.rng.choice(cand, size=k)
        arrive = self.rng.uniform(a0, a1, k)
        depart = np.maximum(arrive - dist[home] / self._v0[rows], 0.0)
        self._group[rows] = GATHERING
        self._state[rows] = PENDING
        self._node[rows] = home
        self._goal[rows] = g
        self._aux[rows] = home
        self._slot[rows] = slot
        self._t_next[rows] = depart
        self._t_aux[rows] = np.inf if leave_s is None else self.rng.uniform(l0, l1, k)
        self._gid[rows] = len(self._gatherings)
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
        self._px[rows] = self.net.x[nodes] + rad * np.cos(ang)
        self._py[rows] = self.net.y[nodes] + rad * np.sin(ang)

    def _place_in_gathering(self, rows: np.ndarray) -> None:
        for gid in np.unique(self._gid[rows]):
            r = rows[self._gid[rows] == gid]
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
                self._px[r], self._py[r] = xs[: len(r)], ys[: len(r)]
            else:
                (cx, cy), rad = area["center"], area["radius"]
                ang = self.rng.uniform(0, 2 * np.pi, len(r))
                d = rad * np.sqrt(self.rng.random(len(r)))
                self._px[r] = cx + d * np.cos(ang)
                self._py[r] = cy + d * np.sin(ang)

    # ------------------------------------------------------------------ positions
    def _xy(self, rows: np.ndarray) -> np.ndarray:
        """Ground positions of ``rows``: along the edge plus lateral offset; node or stored spot otherwise."""
        rows = np.asarray(rows, np.int64)
        out = np.column_stack([self._px[rows], self._py[rows]])
        e = self._edge[rows]
        st = self._state[rows]
        on = (e < self._E) & (st == WALKING)
        if on.any():
            r, ee = rows[on], e[on]
            net = self.net
            lat = self._lat[r] * np.maximum(net.width[ee] - self.p.person_width_m, 0.0)
            ux, uy = self._ux[ee], self._uy[ee]
            out[on, 0] = net.x[net.eu[ee]] + ux * self._off[r] - uy * lat
            out[on, 1] = net.y[net.eu[ee]] + uy * self._off[r] + ux * lat
        wait = (e == self._WAIT) & (st == WALKING)
        if wait.any():
            nd = self._node[rows[wait]]
            out[wait, 0], out[wait, 1] = self.net.x[nd], self.net.y[nd]
        return out

    def _visible_rows(self) -> np.ndarray:
        return np.flatnonzero(_VISIBLE[self._state[: self.n]])

    def targets(self) -> Targets:
        """People in the world now (walking, standing, evacuated or injured) as ``Targets`` of class PERSON."""
        rows = self._visible_rows()
        k = len(rows)
        return Targets(ids=rows.astype(np.int64), cls=np.full(k, PERSON, np.int8), xy=self._xy(rows),
                       height_m=self._height[rows].astype(float), width_m=np.full(k, self.p.person_width_m),
                       speed=np.where(self._state[rows] == WALKING, self._speed[rows], 0.0))

    def counts_in(self, zones: Mapping[str, object]) -> dict[str, int]:
        """People in the world inside each zone polygon (metres)."""
        rows = self._visible_rows()
        xy = self._xy(rows)
        out = {}
        for name, poly in zones.items():
            x0, y0, x1, y1 = poly.bounds
            m = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
            out[name] = int(shapely.contains_xy(poly, xy[m, 0], xy[m, 1]).sum()) if m.any() else 0
        return out

    # ------------------------------------------------------------------ events
    def _events(self, t: float, kind: str, rows: np.ndarray, xy: np.ndarray | None = None, **extra) -> list[dict]:
        if len(rows) == 0:
            return []
        if xy is None:
            xy = self._xy(rows)
        xy = np.round(xy, 2).tolist()
        t = round(float(t), 3)
        cols = {k: v.tolist() if isinstance(v, np.ndarray) else v if isinstance(v, list) else [v] * len(rows)
                for k, v in extra.items()}
        out = []
        for i, r in enumerate(rows.tolist()):
            ev = {"t": t, "kind": kind, "id": r, "xy": xy[i]}
            for k, v in cols.items():
                ev[k] = v[i]
            out.append(ev)
        return out

    def _node_ids(self, idx: np.ndarray) -> list:
        nodes = self.net.nodes
        return [nodes[i] for i in idx.tolist()]

    # ------------------------------------------------------------------ the step
    def step(self, t: float, dt: float) -> list[dict]:
        """Advance from ``t`` to ``t + dt``; returns the ground-truth events of the step (stamped ``t + dt``)."""
        n = self.n
        tt = t + dt
        events: list[dict] = []
        if self._announce:
            rows = np.concatenate(self._announce)
            self._announce = []
            rows = rows[_VISIBLE[self._state[rows]]]
            events += self._events(tt, "spawned", rows, group=[_GROUP[g] for g in self._group[rows]])
        if self._hazards and any(h[3] <= tt for h in self._hazards):
            self._hazards = [h for h in self._hazards if h[3] > tt]
            self._reweight()
        due = np.flatnonzero(self._t_next[:n] <= tt)
        if due.size:
            events += self._due(due, tt)
        # densities and speeds
        e = self._edge[:n]
        off = self._off[:n]
        cell = (self._ca[e] + off * self._cb[e]).astype(np.int64)
        counts = np.bincount(cell, minlength=self._n_cells + 1)
        rho = counts[cell] * self._inv_area[cell]
        p = self.p
        f = np.maximum(-np.expm1(-p.gamma * (1.0 / rho - 1.0 / p.rho_max)), p.min_speed_factor)
        spd = self._vcap[:n] * f
        self._speed[:n] = spd
        off += spd * dt
        if tt >= self._next_reroute:
            self._next_reroute = tt + p.reroute_period_s
            self._congestion_check(counts)
        cand = np.flatnonzero(off >= self._len[e])
        if cand.size:
            events += self._transition(cand, tt, counts)
        return events

    def _transition(self, c: np.ndarray, tt: float, counts: np.ndarray) -> list[dict]:
        """People at the end of their edge (or waiting at a node) move on, arrive, or queue.

        Entry into an edge is a token bucket refilled at ``min(specific_flow, supply(rho_entry)) * width`` per
        second, where the supply of the edge's first cell is the diagram's maximum flow below critical density
        and ``rho * v(rho)`` above it (cell-transmission style), so a congested street takes only what drains.
        """
        events = []
        ec = self._edge[c]
        waiting = ec == self._WAIT
        node = np.where(waiting, self._node[c], self._evx[ec])
        over = np.where(waiting, self._off[c], self._off[c] - self._len[ec])  # waiting: walked off this step
        at_goal = node == self._goal[c]
        if at_goal.any():
            events += self._arrive(c[at_goal], node[at_goal], tt)
            keep = ~at_goal
            c, ec, waiting, node, over = c[keep], ec[keep], waiting[keep], node[keep], over[keep]
        if c.size == 0:
            return events
        ne = self.router.next_edges(self._slot[c], node)
        ok = ne >= 0
        adm = np.zeros(len(c), bool)
        if ok.any():
            k = np.flatnonzero(ok)
            nk = ne[k]
            ue = np.unique(nk)
            entry = self._ca[ue].astype(np.int64)
            rho = counts[entry] * self._inv_area[entry]
            rate = np.minimum(self._rate[ue], self._supply(rho) * self.net.width[ue])
            self._credit[ue] = np.minimum(self._credit_max[ue],
                                          self._credit[ue] + rate * (tt - self._credit_t[ue]))
            self._credit_t[ue] = tt
            order = np.lexsort((-over[k], nk))
            ns = nk[order]
            start = np.searchsorted(ns, ns, side="left")
            rank = np.arange(len(ns)) - start
            allow = rank < np.floor(self._credit[ns])
            adm[k[order[allow]]] = True
            np.subtract.at(self._credit, ns[allow], 1.0)
        a = c[adm]
        if a.size:
            na = ne[adm]
            self._edge[a] = na
            self._off[a] = np.minimum(over[adm], self.net.length[na] * 0.999)
            self._node[a] = node[adm]
        held = c[~adm & ~waiting]
        if held.size:
            self._off[held] = self._len[self._edge[held]]
            self._node[held] = node[~adm & ~waiting]
        stay = c[~adm]
        self._speed[stay] = 0.0
        self._off[c[~adm & waiting]] = 0.0
        return events

    def _supply(self, rho: np.ndarray) -> np.ndarray:
        """Specific flow (P/(m s)) a cell at density ``rho`` can take in: Q_max below critical, Q(rho) above."""
        p = self.p
        q = rho * p.v0_mean * speed_factor(rho, gamma=p.gamma, rho_max=p.rho_max, floor=p.min_speed_factor)
        return np.where(rho <= self._rho_crit, self._q_max, q)

    def _arrive(self, r: np.ndarray, node: np.ndarray, tt: float) -> list[dict]:
        """People reaching their goal node: arrived/evacuated events, then dwell, go indoors or leave."""
        p, rng = self.p, self.rng
        events = []
        self._node[r] = node
        self._edge[r] = self._HOLD
        self._off[r] = 0.0
        self._vcap[r] = 0.0
        goal_ids = self._node_ids(node)
        nxy = np.column_stack([self.net.x[node], self.net.y[node]])
        evac = self._evac[r]
        flee = self._flee[r] & ~evac
        norm = ~evac & ~flee
        if evac.any():
            re = r[evac]
            events += self._events(tt, "evacuated", re, nxy[evac], goal=[g for g, m in zip(goal_ids, evac,
                                                                                              strict=True) if m])
            self._state[re] = EVACUATED
            self._place_at_nodes(re, node[evac], 4.0)
            self._t_next[re] = np.inf
        if flee.any():
            rf = r[flee]
            events += self._events(tt, "arrived", rf, nxy[flee], goal=[g for g, m in zip(goal_ids, flee,
                                                                                            strict=True) if m],
                                   reason="fled")
            self._flee[rf] = False
            self._state[rf] = DWELLING
            self._place_at_nodes(rf, node[flee], 4.0)
            self._t_next[rf] = tt + p.after_flee_dwell_s
            self._phase[rf] = np.where(self._group[rf] == GATHERING, 2, self._phase[rf])
        if norm.any():
            rn, nn = r[norm], node[norm]
            events += self._events(tt, "arrived", rn, nxy[norm],
                                   goal=[g for g, m in zip(goal_ids, norm, strict=True) if m])
            grp = self._group[rn]
            pop = grp == POPULATION
            if pop.any():
                rp, np_ = rn[pop], nn[pop]
                ind = self._indoor_node[np_]
                self._state[rp] = np.where(ind, INDOOR, DWELLING)
                lo, hi = p.dwell_indoor_s
                olo, ohi = p.dwell_outdoor_s
                self._t_next[rp] = tt + np.where(ind, rng.uniform(lo, hi, len(rp)), rng.uniform(olo, ohi, len(rp)))
                self._place_at_nodes(rp, np_, 3.0)
            gone = (grp == FLOW) | ((grp == GATHERING) & (self._phase[rn] == 2))
            self._state[rn[gone]] = ARRIVED
            self._t_next[rn[gone]] = np.inf
            at_event = (grp == GATHERING) & (self._phase[rn] == 0)
            if at_event.any():
                rg = rn[at_event]
                self._state[rg] = DWELLING
                self._phase[rg] = 1
                self._t_next[rg] = np.maximum(self._t_aux[rg], tt)
                self._place_in_gathering(rg)
        return events

    def _due(self, d: np.ndarray, tt: float) -> list[dict]:
        """Scheduled changes: departures of pending people and the end of dwells."""
        st = self._state[d]
        pend = d[st == PENDING]
        dw = d[(st == DWELLING) | (st == INDOOR)]
        self._t_next[d] = np.inf
        events = []
        if dw.size:
            grp = self._group[dw]
            pop = dw[grp == POPULATION]
            if pop.size:
                j = self._pick_poi(self._node[pop].astype(np.int64))
                self._goal[pop] = self._pois[j]
                self._slot[pop] = self._poi_slot[j]
            fl = dw[grp == FLOW]
            if fl.size:
                self._goal[fl] = self._aux[fl]
                self._slot[fl] = self._slots_for(self._aux[fl])
            ga = dw[grp == GATHERING]
            if ga.size:
                self._phase[ga] = 2
                self._goal[ga] = self._aux[ga]
                self._slot[ga] = self._slots_for(self._aux[ga])
            new = dw[~self._seen[dw]]
            home = dw[self._goal[dw] == self._node[dw]]
            if home.size:  # already there (a flow that fled onto its own goal)
                self._state[home] = ARRIVED
                dw = dw[self._goal[dw] != self._node[dw]]
            self._start_walking(dw)
            self._seen[new] = True
            events += self._events(tt, "spawned", new, group=[_GROUP[g] for g in self._group[new]])
        if pend.size:
            self._start_walking(pend)
            self._seen[pend] = True
            events += self._events(tt, "spawned", pend, group=[_GROUP[g] for g in self._group[pend]])
        return events

    def _slots_for(self, goals: np.ndarray) -> np.ndarray:
        u, inv = np.unique(goals, return_inverse=True)
        return np.array([self.router.slot([g]) for g in u.tolist()], np.int32)[inv]

    def _start_walking(self, r: np.ndarray) -> None:
        self._state[r] = WALKING
        self._edge[r] = self._WAIT
        self._off[r] = 0.0
        boost = np.where(self._flee[r], self.p.flee_boost, 1.0)
        self._vcap[r] = self._v0[r] * boost

    # ------------------------------------------------------------------ routing weights
    def _reweight(self) -> None:
        w = self.net.length * self._congestion
        for hx, hy, hr, _ in self._hazards:
            inside = np.hypot(self._mid[:, 0] - hx, self._mid[:, 1] - hy) <= hr
            w = np.where(inside, w * self.p.hazard_penalty, w)
        w = np.where(self._closed, np.inf, w)
        self.router.set_weights(w)

    def _congestion_check(self, counts: np.ndarray) -> None:
        """Every ``reroute_period_s``: weight streets by 1/v(rho) where they are dense, only when that changes."""
        rho = counts[: self._n_cells] * self._inv_area[: self._n_cells]
        street_rho = np.zeros(self._E)
        np.maximum.at(street_rho, self._cell_street, rho)
        street_rho = np.maximum(street_rho, street_rho[np.where(self.net.rev >= 0, self.net.rev,
                                                                 np.arange(self._E))])
        dense = street_rho >= self.p.reroute_min_density
        if not dense.any() and np.all(self._congestion == 1.0):
            return
        f = np.maximum(-np.expm1(-self.p.gamma * (1.0 / np.maximum(street_rho, 1e-9) - 1.0 / self.p.rho_max)),
                       self.p.min_speed_factor)
        new = np.where(dense, 1.0 / f, 1.0)
        if np.allclose(new, self._congestion, rtol=0.2):
            return
        self._congestion = new
        self._reweight()

    def close_edges(self, edges: Iterable) -> None:
        """Close streets (``(u, v)`` or ``(u, v, key)``, both directions) to routing: people reroute or hold."""
        self._closed[self.net.edges_between(edges)] = True
        self._reweight()

    def reopen_edges(self, edges: Iterable) -> None:
        """Undo ``close_edges`` for these streets."""
        self._closed[self.net.edges_between(edges)] = False
        self._reweight()

    # ------------------------------------------------------------------ reactions
    def _near(self, xy, radius_m: float, states: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(np.isin(self._state[: self.n], states))
        pos = self._xy(rows)
        indoor = self._state[rows] == INDOOR
        if indoor.any():
            nd = self._node[rows[indoor]]
            pos[indoor] = np.column_stack([self.net.x[nd], self.net.y[nd]])
        m = np.hypot(pos[:, 0] - xy[0], pos[:, 1] - xy[1]) <= radius_m
        return rows[m], pos[m]

    def _flee_from(self, rows: np.ndarray, pos: np.ndarray, xy, radius_m: float, boost: float) -> None:
        if rows.size == 0:
            return
        reach = radius_m + self.p.flee_margin_m
        ang = np.arange(8) * (np.pi / 4)
        targets = self._snap(np.column_stack([xy[0] + reach * np.cos(ang), xy[1] + reach * np.sin(ang)]))
        bearing = np.arctan2(pos[:, 1] - xy[1], pos[:, 0] - xy[0])
        sector = np.round(bearing / (np.pi / 4)).astype(int) % 8
        goal = targets[sector]
        # walkers heading toward the hazard turn round
        e = self._edge[rows]
        walking = (self._state[rows] == WALKING) & (e < self._E)
        net = self.net
        if walking.any():
            w = rows[walking]
            ew = e[walking]
            dv = np.hypot(net.x[net.ev[ew]] - xy[0], net.y[net.ev[ew]] - xy[1])
            du = np.hypot(net.x[net.eu[ew]] - xy[0], net.y[net.eu[ew]] - xy[1])
            turn = (dv < du) & (net.rev[ew] >= 0)
            tw, te = w[turn], ew[turn]
            self._off[tw] = np.clip(net.length[te] - self._off[tw], 0.0, net.length[net.rev[te]] * 0.999)
            self._edge[tw] = net.rev[te]
            self._lat[tw] = -self._lat[tw]
        still = rows[self._state[rows] != WALKING]
        self._t_next[still] = np.inf
        for g in np.unique(goal):
            sel = rows[goal == g]
            self._goal[sel] = g
            self._slot[sel] = self.router.slot([g])
        self._flee[rows] = True
        self._evac[rows] = False
        self._start_walking_keep_edge(rows, boost)
        self._announce.append(still[~self._seen[still]])
        self._seen[still] = True

    def _start_walking_keep_edge(self, rows: np.ndarray, boost: float) -> None:
        not_walking = rows[self._state[rows] != WALKING]
        self._state[not_walking] = WALKING
        self._edge[not_walking] = self._WAIT
        self._off[not_walking] = 0.0
        self._vcap[rows] = self._v0[rows] * boost

    def hazard(self, xy, radius_m: float, *, t: float, duration_s: float) -> None:
        """A hazard (fire, blast, attacker) at ``xy``: people within ``radius_m`` flee away from it, faster, and
        routing avoids its streets for ``duration_s``."""
        if radius_m <= 0 or duration_s <= 0:
            raise CrowdError(f"hazard: radius_m and duration_s must be positive, got {radius_m}, {duration_s}")
        xy = (float(xy[0]), float(xy[1]))
        self._hazards.append((xy[0], xy[1], float(radius_m), t + duration_s))
        self._reweight()
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING, INDOOR))
        self._flee_from(rows, pos, xy, radius_m, self.p.flee_boost)

    def surge(self, xy, radius_m: float, *, t: float) -> None:
        """A panic at ``xy``: people within ``radius_m`` run away (``panic_boost``) without any street closing."""
        if radius_m <= 0:
            raise CrowdError(f"surge: radius_m must be positive, got {radius_m}")
        xy = (float(xy[0]), float(xy[1]))
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING))
        self._flee_from(rows, pos, xy, radius_m, self.p.panic_boost)

    def evacuate(self, zone, safe_nodes: Iterable, *, t: float) -> int:
        """Everybody inside ``zone`` (shapely polygon, m), indoors too, walks to the nearest of ``safe_nodes``.

        Returns how many were ordered out; each emits ``evacuated`` on reaching a safe node.
        """
        safe = [self._node_idx(s, "evacuate.safe_nodes") for s in safe_nodes]
        if not safe:
            raise CrowdError("evacuate.safe_nodes: empty")
        slot = self.router.slot(safe)
        rows = np.flatnonzero(np.isin(self._state[: self.n], (WALKING, DWELLING, INDOOR)))
        pos = self._xy(rows)
        indoor = self._state[rows] == INDOOR
        nd = self._node[rows[indoor]]
        pos[indoor] = np.column_stack([self.net.x[nd], self.net.y[nd]])
        m = shapely.contains_xy(zone, pos[:, 0], pos[:, 1])
        rows = rows[m]
        if rows.size == 0:
            return 0
        e = self._edge[rows]
        on = (self._state[rows] == WALKING) & (e < self._E)
        frm = np.where(on, self._evx[np.minimum(e, self._E)], self._node[rows])
        dest = self.router.nearest_dest(slot, frm)
        ok = dest >= 0
        rows, dest = rows[ok], dest[ok]
        self._goal[rows] = dest
        self._slot[rows] = slot
        self._evac[rows] = True
        self._flee[rows] = False
        still = rows[self._state[rows] != WALKING]
        self._t_next[still] = np.inf
        self._announce.append(still[~self._seen[still]])
        self._seen[still] = True
        self._start_walking_keep_edge(rows, 1.0)
        return int(rows.size)

    def injure_near(self, xy, radius_m: float, *, t: float) -> list[dict]:
        """People in the world within ``radius_m`` of ``xy`` fall injured where they are; returns the events."""
        xy = (float(xy[0]), float(xy[1]))
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING, EVACUATED))
        if rows.size == 0:
            return []
        self._px[rows], self._py[rows] = pos[:, 0], pos[:, 1]
        self._state[rows] = INJURED
        self._edge[rows] = self._HOLD
        self._vcap[rows] = 0.0
        self._speed[rows] = 0.0
        self._t_next[rows] = np.inf
        self._flee[rows] = False
        self._evac[rows] = False
        return self._events(t, "injured", rows, pos)
