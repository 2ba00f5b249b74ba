"""The crowd's walking: speeds from density, moving along edges, and moving on to the next edge.

Each step counts people per density cell (``np.bincount``), takes each person's speed as their desired speed
times Weidmann's v(rho)/v0 of their cell, and advances them along their edge or leg. People at the end of it
(or waiting at a node) arrive, enter the next edge of their route, or queue: entry into an edge is a token
bucket refilled at ``min(specific_flow, supply(rho_entry)) * width`` people per second, where the supply of
the edge's first cell is the diagram's maximum flow below critical density and ``rho * v(rho)`` above it
(cell-transmission style), so doors and narrow streets queue and a congested street takes only what drains.
A lane change at a node (new direction, new lateral offset) eases in over ``lane_blend_m``.
"""

from __future__ import annotations

import numpy as np

from agents.crowd_params import CrowdParams
from agents.crowd_streets import Streets
from agents.crowd_trips import Trips
from agents.fundamental import speed_factor
from agents.people import People
from agents.routing import Router, WalkNetwork

__all__ = ["Walking"]


class Walking:
    """Speeds, advance and edge entry of the people in ``people``, with the edges' entry capacities.

    Parameters
    ----------
    people : People
    net : WalkNetwork
    router : Router
        Next edges of people's routes.
    streets : Streets
    trips : Trips
        Takes the people reaching their goal.
    params : CrowdParams
    """

    def __init__(self, people: People, net: WalkNetwork, router: Router, streets: Streets, trips: Trips,
                 params: CrowdParams):
        self.people = people
        self.net = net
        self.router = router
        self.streets = streets
        self.trips = trips
        self.p = params
        # flow capacity into each edge (token bucket, refilled lazily)
        self._rate = params.specific_flow * net.width
        grid = np.linspace(0.05, params.rho_max, 2000)
        q = grid * params.v0_mean * speed_factor(grid, gamma=params.gamma, rho_max=params.rho_max)
        self._rho_crit, self._q_max = float(grid[q.argmax()]), float(q.max())
        self._credit_max = self._rate + 1.0   # a burst of one second of capacity plus one person
        self._credit = self._credit_max.copy()
        self._credit_t = np.zeros(net.n_edges)

    def advance(self, dt: float) -> np.ndarray:
        """Set everybody's speed from the density of their cell and move them ``dt`` on; returns the people
        per density cell (the dummy cell last)."""
        pp, streets = self.people, self.streets
        n = pp.n
        off = pp.offset[:n]
        cell = (pp.cell_base[:n] + off * pp.cell_slope[:n]).astype(np.intp)
        counts = np.bincount(cell, minlength=streets.n_cells + 1)
        if streets.n_cells < n:   # the diagram once per cell, then one gather
            f = self._factor(counts * streets.inv_cell_area)[cell]
        else:                     # a big graph with few people: per person
            f = self._factor(counts[cell] * streets.inv_cell_area[cell])
        spd = pp.speed[:n]
        np.multiply(pp.desired_speed[:n], f, out=spd)
        off += spd * dt
        return counts

    def _factor(self, rho: np.ndarray) -> np.ndarray:
        """Weidmann's v(rho)/v0, floored at ``min_speed_factor`` (rho > 0 wherever somebody stands)."""
        p = self.p
        x = 1.0 / np.maximum(rho, 1e-9)
        x -= 1.0 / p.rho_max
        x *= -p.gamma
        np.expm1(x, out=x)
        np.negative(x, out=x)
        return np.maximum(x, p.min_speed_factor, out=x)

    def transition(self, c: np.ndarray, tt: float, counts: np.ndarray) -> list[dict]:
        """People ``c`` at the end of their edge or leg (or waiting at a node) move on, arrive, or queue."""
        pp, streets = self.people, self.streets
        events = []
        ec = pp.edge[c]
        at_node = ec == streets.at_node
        waiting = at_node & (pp.leg_length[c] < 0)   # else at the end of a leg
        node = np.where(at_node, pp.node[c], streets.head[ec])
        # waiting: walked off this step; leg or edge: beyond its end
        over = np.where(waiting, pp.offset[c], pp.offset[c] - pp.leg_length[c])
        at_goal = node == pp.goal[c]
        if at_goal.any():
            events += self.trips.arrive(c[at_goal], node[at_goal], tt)
            keep = ~at_goal
            c, ec, waiting, node, over = c[keep], ec[keep], waiting[keep], node[keep], over[keep]
        if c.size == 0:
            return events
        ne = self.router.next_edges(pp.route_slot[c], node)
        adm = self._admit(ne, over, tt, counts)
        a = c[adm]
        if a.size:
            na = ne[adm]
            self._lane_jump(a, ec[adm], na, node[adm])
            streets.place(pp, a, na)
            pp.offset[a] = np.minimum(over[adm], self.net.length[na] * 0.999)
            pp.node[a] = node[adm]
        held = c[~adm & ~waiting]   # at the end of their edge or leg
        if held.size:
            pp.offset[held] = pp.leg_length[held]
            pp.node[held] = node[~adm & ~waiting]
        stay = c[~adm]
        pp.speed[stay] = 0.0
        pp.offset[c[~adm & waiting]] = 0.0
        return events

    def _admit(self, ne: np.ndarray, over: np.ndarray, tt: float, counts: np.ndarray) -> np.ndarray:
        """Which candidates for next edges ``ne`` (-1: none) enter now, those with most ``over`` first."""
        streets = self.streets
        ok = ne >= 0
        adm = np.zeros(len(ne), bool)
        if ok.any():
            k = np.flatnonzero(ok)
            nk = ne[k]
            srt = np.sort(nk)
            ue = srt[np.concatenate(([True], srt[1:] != srt[:-1]))]
            entry = streets.cell_base[ue].astype(np.int64)
            rho = counts[entry] * streets.inv_cell_area[entry]
            rate = np.minimum(self._rate[ue], self._supply(rho) * self.net.width[ue])
            self._credit[ue] = np.minimum(self._credit_max[ue],
                                          self._credit[ue] + rate * (tt - self._credit_t[ue]))
            self._credit_t[ue] = tt
            ok_over = over[k]
            # by edge, then longest overshoot first (who got there first), in one float argsort
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
        return adm

    def _lane_jump(self, a: np.ndarray, old: np.ndarray, new: np.ndarray, node: np.ndarray) -> None:
        """Store as lane jump where ``a`` are seen at ``node`` minus the lane point of edge ``new`` there.

        Seen at the end of edge ``old``: its lane point plus what is left of its own easing; at the end of a
        leg: the leg's end; waiting: the node. ``Streets.positions`` eases the jump out over ``lane_blend_m``.
        """
        pp, streets, net = self.people, self.streets, self.net
        lat = pp.lateral[a]
        w_new = streets.lane_offset(lat, new)
        jx = streets.unit_y[new] * w_new       # minus the new lane's offset from the node
        jy = -streets.unit_x[new] * w_new
        on = old < streets.n_edges
        if on.any():
            eo = old[on]
            w_old = streets.lane_offset(lat[on], eo)
            ease = np.maximum(1.0 - net.length[eo] / self.p.lane_blend_m, 0.0)
            ao = a[on]
            jx[on] += -streets.unit_y[eo] * w_old + pp.lane_jump_x[ao] * ease
            jy[on] += streets.unit_x[eo] * w_old + pp.lane_jump_y[ao] * ease
        leg = ~on & (pp.leg_length[a] >= 0)
        if leg.any():
            al = a[leg]
            jx[leg] += pp.leg_end_x[al] - net.x[node[leg]]
            jy[leg] += pp.leg_end_y[al] - net.y[node[leg]]
        pp.lane_jump_x[a], pp.lane_jump_y[a] = jx, jy

    def _supply(self, rho: np.ndarray) -> np.ndarray:
        """Specific flow (P/(m s)) a cell at density ``rho`` takes in: Q_max below critical, Q(rho) above."""
        p = self.p
        q = rho * p.v0_mean * speed_factor(rho, gamma=p.gamma, rho_max=p.rho_max, floor=p.min_speed_factor)
        return np.where(rho <= self._rho_crit, self._q_max, q)
