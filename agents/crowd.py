"""The crowd: every pedestrian is a row in numpy arrays walking the twin's walk graph.

Each step: people per density cell (about ``cell_m`` of a street, both directions together) by
``np.bincount``, speed from Weidmann's diagram times each person's free speed, advance along the edge, and
move those who reach its end onto the next edge of their destination's shared shortest-path tree
(``agents.routing``), at most ``specific_flow * width`` people per second into any edge, so doors and narrow
streets queue. Loops run per event, destination or gathering, never per pedestrian.

People standing in the world (a dwell spot, a gathering's area) walk a straight leg between their spot and
a node, and a lane change at a node eases in over ``lane_blend_m``, so positions never jump.
Person ids are row numbers 0..N-1, never reused. Events are ground truth dicts ``{"t", "kind", "id", "xy"}``
plus extras; a step from ``t`` to ``t + dt`` stamps its events ``t + dt`` (the state they describe).
Adding people lives in ``agents._crowd_spawn``, reactions and routing weights in ``agents._crowd_react``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import shapely

from agents._crowd_react import _ReactMixin
from agents._crowd_spawn import _SpawnMixin
from agents.crowd_params import CrowdError, CrowdParams
from agents.crowd_places import Places
from agents.crowd_streets import Streets
from agents.crowd_weights import RouteWeights
from agents.fundamental import free_speeds, speed_factor
from agents.people import (
    ARRIVED,
    DWELLING,
    EVACUATED,
    FLOW,
    GATHERING,
    INDOOR,
    INJURED,
    PENDING,
    POPULATION,
    STATES,
    WALKING,
    People,
)
from agents.routing import Router, RoutingError, WalkNetwork
from agents.world import PERSON, Targets

__all__ = ["ARRIVED", "DWELLING", "EVACUATED", "INDOOR", "INJURED", "PENDING", "STATES", "WALKING", "Crowd",
           "CrowdError", "CrowdParams"]

_VISIBLE = np.array([False, True, True, False, False, True, True])  # by state code: in the world, seen
_GROUP = ("population", "flow", "gathering")


def _pick(items: list, mask: np.ndarray) -> list:
    return [x for x, m in zip(items, mask.tolist(), strict=True) if m]


class Crowd(_SpawnMixin, _ReactMixin):
    """Pedestrians on ``twin.walk`` as a structure of arrays; see the module docstring.

    Parameters
    ----------
    twin : Twin
        Uses ``walk`` (x/y, length, width_m), ``assets`` (``node``, ``polygon``) and ``buildings``.
    rng : numpy.random.Generator
        The only source of randomness.
    params : CrowdParams
    """

    def __init__(self, twin, *, rng: np.random.Generator, params: CrowdParams | None = None):
        if not isinstance(rng, np.random.Generator):
            raise CrowdError(f"rng: must be a numpy.random.Generator, got {type(rng).__name__}")
        self.twin = twin
        self.rng = rng
        self.p = params = params if params is not None else CrowdParams()
        try:
            self.net = WalkNetwork.from_graph(twin.walk)
        except RoutingError as e:
            raise CrowdError(str(e)) from None
        self.router = Router(self.net)
        net = self.net
        E = net.n_edges
        self.streets = Streets(net, params)
        # flow capacity into each edge (token bucket, refilled lazily)
        self._rate = params.specific_flow * net.width
        grid = np.linspace(0.05, params.rho_max, 2000)
        q = grid * params.v0_mean * speed_factor(grid, gamma=params.gamma, rho_max=params.rho_max)
        self._rho_crit, self._q_max = float(grid[q.argmax()]), float(q.max())
        self._credit_max = self._rate + 1.0   # a burst of one second of capacity plus one person
        self._credit = self._credit_max.copy()
        self._credit_t = np.zeros(E)
        self.weights = RouteWeights(net, self.router, self.streets, params)
        self.places = Places(twin, net, self.router, params, rng)
        self.people = People()

    # ------------------------------------------------------------------ storage
    def _new_rows(self, k: int) -> np.ndarray:
        rows = self.people.add(k)
        self.people.free_speed[rows] = free_speeds(self.rng, k, mean=self.p.v0_mean, sd=self.p.v0_sd,
                                                   lo=self.p.v0_min, hi=self.p.v0_max)
        self.people.height[rows] = np.clip(self.rng.normal(self.p.person_height_m, self.p.person_height_sd,
                                                           k), 1.4, 2.05)
        self.people.lateral[rows] = self.rng.uniform(-0.5, 0.5, k)
        self.streets.place(self.people, rows, self.streets.off_graph)
        return rows

    def __len__(self) -> int:
        return self.people.n

    @property
    def n(self) -> int:
        """How many people were added so far (ids ``0 .. n - 1``)."""
        return self.people.n

    @property
    def state(self) -> np.ndarray:
        """State codes of every person so far (view; see ``STATES``)."""
        return self.people.state[: self.people.n]

    @property
    def edge(self) -> np.ndarray:
        """Edge index of walking people (``>= net.n_edges`` = waiting at a node or off the graph)."""
        return self.people.edge[: self.people.n]

    @property
    def goal(self) -> np.ndarray:
        """Goal node index (``net.nodes[goal]`` is the original node id)."""
        return self.people.goal[: self.people.n]

    # ------------------------------------------------------------------ positions
    def _visible_rows(self) -> np.ndarray:
        return np.flatnonzero(_VISIBLE[self.people.state[: self.people.n]])

    def targets(self) -> Targets:
        """People in the world now (walking, standing, evacuated or injured) as PERSON ``Targets``."""
        rows = self._visible_rows()
        k = len(rows)
        return Targets(ids=rows.astype(np.int64), cls=np.full(k, PERSON, np.int8),
                       xy=self.streets.positions(self.people, rows),
                       height_m=self.people.height[rows].astype(float),
                       width_m=np.full(k, self.p.person_width_m),
                       speed=np.where(self.people.state[rows] == WALKING, self.people.speed[rows], 0.0))

    def counts_in(self, zones: Mapping[str, object]) -> dict[str, int]:
        """People in the world inside each zone polygon (metres)."""
        rows = self._visible_rows()
        xy = self.streets.positions(self.people, rows)
        out = {}
        for name, poly in zones.items():
            x0, y0, x1, y1 = poly.bounds
            m = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
            out[name] = int(shapely.contains_xy(poly, xy[m, 0], xy[m, 1]).sum()) if m.any() else 0
        return out

    # ------------------------------------------------------------------ events
    def _events(self, t: float, kind: str, rows: np.ndarray, xy: np.ndarray | None = None,
                **extra) -> list[dict]:
        if len(rows) == 0:
            return []
        if xy is None:
            xy = self.streets.positions(self.people, rows)
        xy = np.round(xy, 2).tolist()
        t = round(float(t), 3)
        out = [{"t": t, "kind": kind, "id": r, "xy": p} for r, p in zip(rows.tolist(), xy, strict=True)]
        for key, v in extra.items():
            vals = v.tolist() if isinstance(v, np.ndarray) else v if isinstance(v, list) else [v] * len(out)
            for ev, x in zip(out, vals, strict=True):
                ev[key] = x
        return out

    def _node_ids(self, idx: np.ndarray) -> list:
        nodes = self.net.nodes
        return [nodes[i] for i in idx.tolist()]

    # ------------------------------------------------------------------ the step
    def step(self, t: float, dt: float) -> list[dict]:
        """Advance from ``t`` to ``t + dt``; returns this step's ground-truth events (stamped ``t + dt``)."""
        n = self.people.n
        tt = t + dt
        events: list[dict] = []
        rows = self.people.take_announced()
        if rows is not None:
            rows = rows[_VISIBLE[self.people.state[rows]]]
            events += self._events(tt, "spawned", rows, group=[_GROUP[g] for g in self.people.group[rows]])
        self.weights.update(tt)
        due = np.flatnonzero(self.people.due_t[:n] <= tt)
        if due.size:
            events += self._due(due, tt)
        # densities and speeds
        off = self.people.offset[:n]
        cell = (self.people.cell_base[:n] + off * self.people.cell_slope[:n]).astype(np.intp)
        counts = np.bincount(cell, minlength=self.streets.n_cells + 1)
        if self.streets.n_cells < n:   # the diagram once per cell, then one gather
            f = self._factor(counts * self.streets.inv_cell_area)[cell]
        else:                   # a big graph with few people: per person
            f = self._factor(counts[cell] * self.streets.inv_cell_area[cell])
        spd = self.people.speed[:n]
        np.multiply(self.people.desired_speed[:n], f, out=spd)
        off += spd * dt
        self.weights.check_congestion(tt, counts)
        cand = np.flatnonzero(off >= self.people.leg_length[:n])
        if cand.size:
            events += self._transition(cand, tt, counts)
        return events

    def _factor(self, rho: np.ndarray) -> np.ndarray:
        """Weidmann's v(rho)/v0, floored at ``min_speed_factor`` (rho > 0 wherever somebody stands)."""
        p = self.p
        x = 1.0 / np.maximum(rho, 1e-9)
        x -= 1.0 / p.rho_max
        x *= -p.gamma
        np.expm1(x, out=x)
        np.negative(x, out=x)
        return np.maximum(x, p.min_speed_factor, out=x)

    def _transition(self, c: np.ndarray, tt: float, counts: np.ndarray) -> list[dict]:
        """People at the end of their edge or leg (or waiting at a node) move on, arrive, or queue.

        Entry into an edge is a token bucket refilled at ``min(specific_flow, supply(rho_entry)) * width`` per
        second, where the supply of the edge's first cell is the diagram's maximum flow below critical density
        and ``rho * v(rho)`` above it (cell-transmission style), so a congested street takes only what drains.
        """
        events = []
        ec = self.people.edge[c]
        at_node = ec == self.streets.at_node
        waiting = at_node & (self.people.leg_length[c] < 0)   # else at the end of a leg
        node = np.where(at_node, self.people.node[c], self.streets.head[ec])
        # waiting: walked off this step; leg or edge: beyond its end
        over = np.where(waiting, self.people.offset[c], self.people.offset[c] - self.people.leg_length[c])
        at_goal = node == self.people.goal[c]
        if at_goal.any():
            events += self._arrive(c[at_goal], node[at_goal], tt)
            keep = ~at_goal
            c, ec, waiting, node, over = c[keep], ec[keep], waiting[keep], node[keep], over[keep]
        if c.size == 0:
            return events
        ne = self.router.next_edges(self.people.route_slot[c], node)
        ok = ne >= 0
        adm = np.zeros(len(c), bool)
        if ok.any():
            k = np.flatnonzero(ok)
            nk = ne[k]
            srt = np.sort(nk)
            ue = srt[np.concatenate(([True], srt[1:] != srt[:-1]))]
            entry = self.streets.cell_base[ue].astype(np.int64)
            rho = counts[entry] * self.streets.inv_cell_area[entry]
            rate = np.minimum(self._rate[ue], self._supply(rho) * self.net.width[ue])
            self._credit[ue] = np.minimum(self._credit_max[ue],
                                          self._credit[ue] + rate * (tt - self._credit_t[ue]))
            self._credit_t[ue] = tt
            ok_over = over[k]
            # by edge, then longest overshoot first (who got there first); one float argsort beats lexsort
            order = np.argsort(nk * (ok_over.max() + 1.0) - ok_over)
            ns = nk[order]
            first = np.empty(len(ns), bool)
            first[0] = True
            np.not_equal(ns[1:], ns[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            rank = np.arange(len(ns)) - np.repeat(starts, np.diff(np.append(starts, len(ns))))
            allow = rank < np.floor(self._credit[ns])
            adm[k[order[allow]]] = True
            np.subtract.at(self._credit, ns[allow], 1.0)
        a = c[adm]
        if a.size:
            na = ne[adm]
            self._lane_jump(a, ec[adm], na, node[adm])
            self.streets.place(self.people, a, na)
            self.people.offset[a] = np.minimum(over[adm], self.net.length[na] * 0.999)
            self.people.node[a] = node[adm]
        held = c[~adm & ~waiting]   # at the end of their edge or leg
        if held.size:
            self.people.offset[held] = self.people.leg_length[held]
            self.people.node[held] = node[~adm & ~waiting]
        stay = c[~adm]
        self.people.speed[stay] = 0.0
        self.people.offset[c[~adm & waiting]] = 0.0
        return events

    def _lane_jump(self, a: np.ndarray, old: np.ndarray, new: np.ndarray, node: np.ndarray) -> None:
        """Store in (jx, jy) where ``a`` are seen at ``node`` minus the lane point of edge ``new`` there.

        Seen at the end of edge ``old``: its lane point plus what is left of its own easing; at the end of a
        leg: the leg's end; waiting: the node. ``_xy`` eases the difference out over ``lane_blend_m``.
        """
        net, p = self.net, self.p
        lat = self.people.lateral[a]
        w_new = lat * np.maximum(net.width[new] - p.person_width_m, 0.0)
        jx = self.streets.unit_y[new] * w_new       # minus the new lane's offset from the node
        jy = -self.streets.unit_x[new] * w_new
        on = old < self.streets.n_edges
        if on.any():
            eo = old[on]
            w_old = lat[on] * np.maximum(net.width[eo] - p.person_width_m, 0.0)
            ease = np.maximum(1.0 - net.length[eo] / p.lane_blend_m, 0.0)
            ao = a[on]
            jx[on] += -self.streets.unit_y[eo] * w_old + self.people.lane_jump_x[ao] * ease
            jy[on] += self.streets.unit_x[eo] * w_old + self.people.lane_jump_y[ao] * ease
        leg = ~on & (self.people.leg_length[a] >= 0)
        if leg.any():
            al = a[leg]
            jx[leg] += self.people.leg_end_x[al] - net.x[node[leg]]
            jy[leg] += self.people.leg_end_y[al] - net.y[node[leg]]
        self.people.lane_jump_x[a], self.people.lane_jump_y[a] = jx, jy

    def _supply(self, rho: np.ndarray) -> np.ndarray:
        """Specific flow (P/(m s)) a cell at density ``rho`` takes in: Q_max below critical, Q(rho) above."""
        p = self.p
        q = rho * p.v0_mean * speed_factor(rho, gamma=p.gamma, rho_max=p.rho_max, floor=p.min_speed_factor)
        return np.where(rho <= self._rho_crit, self._q_max, q)

    def _arrive(self, r: np.ndarray, node: np.ndarray, tt: float) -> list[dict]:
        """People reaching their goal node: arrived/evacuated events, then dwell, go indoors or leave."""
        p, rng = self.p, self.rng
        events = []
        # where they are now (at the end of their edge or leg) is where they stand: no jump on arrival
        self.people.offset[r] = np.minimum(self.people.offset[r], np.maximum(self.people.leg_length[r], 0.0))
        here = self.streets.positions(self.people, r)
        self.people.node[r] = node
        self.streets.place(self.people, r, self.streets.off_graph)
        self.people.offset[r] = 0.0
        self.people.desired_speed[r] = 0.0
        goal_ids = self._node_ids(node)
        nxy = np.column_stack([self.net.x[node], self.net.y[node]])
        evac = self.people.evacuating[r]
        flee = self.people.fleeing[r] & ~evac
        norm = ~evac & ~flee
        if evac.any():
            re = r[evac]
            events += self._events(tt, "evacuated", re, nxy[evac], goal=_pick(goal_ids, evac))
            self.people.state[re] = EVACUATED
            self.people.spot_x[re], self.people.spot_y[re] = here[evac, 0], here[evac, 1]
            self.people.due_t[re] = np.inf
        if flee.any():
            rf = r[flee]
            events += self._events(tt, "arrived", rf, nxy[flee], goal=_pick(goal_ids, flee), reason="fled")
            self.people.fleeing[rf] = False
            self.people.state[rf] = DWELLING
            self.people.spot_x[rf], self.people.spot_y[rf] = here[flee, 0], here[flee, 1]
            self.people.due_t[rf] = tt + p.after_flee_dwell_s
            self.people.gathering_phase[rf] = np.where(self.people.group[rf] == GATHERING, 2,
                                                       self.people.gathering_phase[rf])
        settle = norm & (self.people.group[r] == GATHERING) & (self.people.gathering_phase[r] == 1)
        if settle.any():   # gatherers at the end of the leg from the gathering node to their spot
            rs = r[settle]
            self.people.state[rs] = DWELLING
            self.people.spot_x[rs] = self.people.leg_end_x[rs]
            self.people.spot_y[rs] = self.people.leg_end_y[rs]
            self.people.due_t[rs] = np.maximum(self.people.leave_t[rs], tt)
            norm &= ~settle
        if norm.any():
            rn, nn, hn = r[norm], node[norm], here[norm]
            events += self._events(tt, "arrived", rn, nxy[norm],
                                   goal=_pick(goal_ids, norm))
            grp = self.people.group[rn]
            pop = grp == POPULATION
            if pop.any():
                rp, np_ = rn[pop], nn[pop]
                ind = self.places.indoor_node[np_]
                self.people.state[rp] = np.where(ind, INDOOR, DWELLING)
                lo, hi = p.dwell_indoor_s
                olo, ohi = p.dwell_outdoor_s
                dwell = np.where(ind, rng.uniform(lo, hi, len(rp)), rng.uniform(olo, ohi, len(rp)))
                self.people.due_t[rp] = tt + dwell
                self.people.spot_x[rp], self.people.spot_y[rp] = hn[pop, 0], hn[pop, 1]
            gone = (grp == FLOW) | ((grp == GATHERING) & (self.people.gathering_phase[rn] == 2))
            self.people.state[rn[gone]] = ARRIVED
            self.people.due_t[rn[gone]] = np.inf
            at_event = (grp == GATHERING) & (self.people.gathering_phase[rn] == 0)
            if at_event.any():   # walk a straight leg from the node to a spot spread over the area
                rg = rn[at_event]
                self.people.gathering_phase[rg] = 1
                gx, gy = self.places.gathering_spots(self.people.gathering_id[rg])
                self.people.leg_end_x[rg], self.people.leg_end_y[rg] = gx, gy
                self.people.spot_x[rg], self.people.spot_y[rg] = hn[at_event, 0], hn[at_event, 1]
                self.people.state[rg] = WALKING
                self.streets.place(self.people, rg, self.streets.at_node)
                self.people.leg_length[rg] = np.hypot(self.people.leg_end_x[rg] - self.people.spot_x[rg],
                                                      self.people.leg_end_y[rg] - self.people.spot_y[rg])
                self.people.desired_speed[rg] = self.people.free_speed[rg]
                self.people.due_t[rg] = np.inf
        return events

    def _due(self, d: np.ndarray, tt: float) -> list[dict]:
        """Scheduled changes: departures of pending people and the end of dwells."""
        st = self.people.state[d]
        pend = d[st == PENDING]
        dw = d[(st == DWELLING) | (st == INDOOR)]
        self.people.due_t[d] = np.inf
        events = []
        if dw.size:
            grp = self.people.group[dw]
            pop = dw[grp == POPULATION]
            if pop.size:
                j = self.places.pick_poi(self.people.node[pop].astype(np.int64))
                self.people.goal[pop] = self.places.pois[j]
                self.people.route_slot[pop] = self.places.poi_slot[j]
            fl = dw[grp == FLOW]
            if fl.size:
                self.people.goal[fl] = self.people.final_goal[fl]
                self.people.route_slot[fl] = self._slots_for(self.people.final_goal[fl])
            ga = dw[grp == GATHERING]
            if ga.size:
                self.people.gathering_phase[ga] = 2
                self.people.goal[ga] = self.people.final_goal[ga]
                self.people.route_slot[ga] = self._slots_for(self.people.final_goal[ga])
            new = dw[~self.people.announced[dw]]
            home = dw[self.people.goal[dw] == self.people.node[dw]]
            if home.size:  # already there (a flow that fled onto its own goal)
                self.people.state[home] = ARRIVED
                dw = dw[self.people.goal[dw] != self.people.node[dw]]
            self._start_walking(dw)
            self.people.announced[new] = True
            events += self._events(tt, "spawned", new, group=[_GROUP[g] for g in self.people.group[new]])
        if pend.size:
            self._start_walking(pend)
            self.people.announced[pend] = True
            events += self._events(tt, "spawned", pend, group=[_GROUP[g] for g in self.people.group[pend]])
        return events

    def _slots_for(self, goals: np.ndarray) -> np.ndarray:
        u, inv = np.unique(goals, return_inverse=True)
        return np.array([self.router.slot([g]) for g in u.tolist()], np.int32)[inv]

    def _start_walking(self, r: np.ndarray) -> None:
        boost = np.where(self.people.fleeing[r], self.p.flee_boost, 1.0)
        self._depart(r)
        self.people.desired_speed[r] = self.people.free_speed[r] * boost

    def _leave_nodes(self, rows: np.ndarray) -> np.ndarray:
        """The node each of ``rows`` joins the graph at: the nearest routable node to a standing person's
        spot (a gatherer on a big square walks to its nearest corner, not its centre), else ``_node``."""
        nd = self.people.node[rows].copy()
        standing = self.people.state[rows] == DWELLING
        if standing.any():
            r = rows[standing]
            nd[standing] = self.places.snap(np.column_stack([self.people.spot_x[r], self.people.spot_y[r]]))
        return nd

    def _depart(self, rows: np.ndarray) -> None:
        """Set non-walking ``rows`` walking from where they are (goal and slot already set).

        People appearing (pending, indoor) wait at their node; people standing in the world (dwelling) walk a
        straight leg from their spot to the nearest node, ending where they will enter their first edge (its
        lateral lane), so their positions never jump.
        """
        standing = rows[self.people.state[rows] == DWELLING]
        other = rows[self.people.state[rows] != DWELLING]
        if standing.size:
            nd = self._leave_nodes(standing)
            self.people.node[standing] = nd
            net = self.net
            lx, ly = net.x[nd].copy(), net.y[nd].copy()
            ne = self.router.next_edges(self.people.route_slot[standing], nd)
            ok = ne >= 0
            if ok.any():
                e = ne[ok]
                lat = self.people.lateral[standing[ok]] * np.maximum(net.width[e] - self.p.person_width_m,
                                                                     0.0)
                lx[ok] -= self.streets.unit_y[e] * lat
                ly[ok] += self.streets.unit_x[e] * lat
            self.people.leg_end_x[standing], self.people.leg_end_y[standing] = lx, ly
            self.people.state[standing] = WALKING
            self.streets.place(self.people, standing, self.streets.at_node)
            self.people.leg_length[standing] = np.hypot(lx - self.people.spot_x[standing],
                                                        ly - self.people.spot_y[standing])
            self.people.offset[standing] = 0.0
        if other.size:
            self.people.state[other] = WALKING
            self.streets.place(self.people, other, self.streets.at_node)
            self.people.offset[other] = 0.0
