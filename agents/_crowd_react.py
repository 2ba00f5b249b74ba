"""Crowd reactions and routing weights: hazards, surges, evacuation orders, injuries, closures, congestion."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely

from agents.crowd_events import truth_events
from agents.crowd_params import CrowdError
from agents.people import DWELLING, EVACUATED, INDOOR, INJURED, WALKING

__all__: list[str] = []


class _ReactMixin:
    """Crowd methods that change where people go; the arrays and the router live in ``agents.crowd.Crowd``."""

    def close_edges(self, edges: Iterable) -> None:
        """Close streets (``(u, v)`` or ``(u, v, key)``, both ways) to routing: people reroute or hold.

        Somebody already on a closed street finishes it; whoever has no open way left to the goal waits at
        the node (holds at the cordon) until ``reopen_edges``; no escape routing out of a closed area.
        """
        self.weights.close(edges)

    def reopen_edges(self, edges: Iterable) -> None:
        """Undo ``close_edges`` for these streets."""
        self.weights.reopen(edges)

    # ------------------------------------------------------------------ reactions
    def _near(self, xy, radius_m: float, states: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(np.isin(self.people.state[: self.people.n], states))
        pos = self.streets.positions(self.people, rows)
        indoor = self.people.state[rows] == INDOOR
        if indoor.any():
            nd = self.people.node[rows[indoor]]
            pos[indoor] = np.column_stack([self.net.x[nd], self.net.y[nd]])
        m = np.hypot(pos[:, 0] - xy[0], pos[:, 1] - xy[1]) <= radius_m
        return rows[m], pos[m]

    def _flee_from(self, rows: np.ndarray, pos: np.ndarray, xy, radius_m: float, boost: float) -> None:
        if rows.size == 0:
            return
        reach = radius_m + self.p.flee_margin_m
        ang = np.arange(8) * (np.pi / 4)
        ring = np.column_stack([xy[0] + reach * np.cos(ang), xy[1] + reach * np.sin(ang)])
        targets = self.places.snap(ring)
        bearing = np.arctan2(pos[:, 1] - xy[1], pos[:, 0] - xy[0])
        sector = np.round(bearing / (np.pi / 4)).astype(int) % 8
        goal = targets[sector]
        # walkers heading toward the hazard turn round
        e = self.people.edge[rows]
        walking = (self.people.state[rows] == WALKING) & (e < self.streets.n_edges)
        net = self.net
        if walking.any():
            w = rows[walking]
            ew = e[walking]
            dv = np.hypot(net.x[net.ev[ew]] - xy[0], net.y[net.ev[ew]] - xy[1])
            du = np.hypot(net.x[net.eu[ew]] - xy[0], net.y[net.eu[ew]] - xy[1])
            turn = (dv < du) & (net.rev[ew] >= 0)
            tw, te = w[turn], ew[turn]
            old = self.streets.positions(self.people, tw)
            self.people.offset[tw] = np.clip(net.length[te] - self.people.offset[tw], 0.0,
                                             net.length[net.rev[te]] * 0.999)
            self.streets.place(self.people, tw, net.rev[te])
            self.people.lateral[tw] = -self.people.lateral[tw]
            # the same lane point on the reverse edge; a lane change still easing in keeps its offset
            self.people.lane_jump_x[tw] = self.people.lane_jump_y[tw] = 0.0
            new = self.streets.positions(self.people, tw)
            ease = np.maximum(1.0 - self.people.offset[tw] / self.p.lane_blend_m, 1e-9)
            keep = ease > 0.05
            self.people.lane_jump_x[tw] = np.where(keep, (old[:, 0] - new[:, 0]) / ease, 0.0)
            self.people.lane_jump_y[tw] = np.where(keep, (old[:, 1] - new[:, 1]) / ease, 0.0)
        still = rows[self.people.state[rows] != WALKING]
        self.people.due_t[still] = np.inf
        for g in np.unique(goal):
            sel = rows[goal == g]
            self.people.goal[sel] = g
            self.people.route_slot[sel] = self.router.slot([g])
        self.people.fleeing[rows] = True
        self.people.evacuating[rows] = False
        self._start_walking_keep_edge(rows, boost)
        self.people.announce(still)

    def _start_walking_keep_edge(self, rows: np.ndarray, boost: float) -> None:
        self.trips.depart(rows[self.people.state[rows] != WALKING])
        self.people.desired_speed[rows] = self.people.free_speed[rows] * boost

    def hazard(self, xy, radius_m: float, *, t: float, duration_s: float) -> None:
        """A hazard (fire, blast, attacker) at ``xy``: people within ``radius_m`` flee away from it, faster,
        and routing avoids its streets for ``duration_s``."""
        if radius_m <= 0 or duration_s <= 0:
            raise CrowdError(f"hazard: radius_m and duration_s must be positive, got {radius_m}, "
                             f"{duration_s}")
        xy = (float(xy[0]), float(xy[1]))
        self.weights.add_hazard(xy, radius_m, t=t, t_end=t + duration_s)
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING, INDOOR))
        self._flee_from(rows, pos, xy, radius_m, self.p.flee_boost)

    def surge(self, xy, radius_m: float, *, t: float) -> None:
        """A panic at ``xy``: people within ``radius_m`` run away (``panic_boost``); no street closes."""
        if radius_m <= 0:
            raise CrowdError(f"surge: radius_m must be positive, got {radius_m}")
        xy = (float(xy[0]), float(xy[1]))
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING))
        self._flee_from(rows, pos, xy, radius_m, self.p.panic_boost)

    def evacuate(self, zone, safe_nodes: Iterable, *, t: float) -> int:
        """Everybody inside ``zone`` (shapely polygon, m), indoors too, walks to the nearest ``safe_nodes``.

        Returns how many were ordered out; each emits ``evacuated`` on reaching a safe node.
        """
        safe = [self.places.node_index(s, "evacuate.safe_nodes") for s in safe_nodes]
        if not safe:
            raise CrowdError("evacuate.safe_nodes: empty")
        slot = self.router.slot(safe)
        rows = np.flatnonzero(np.isin(self.people.state[: self.people.n], (WALKING, DWELLING, INDOOR)))
        pos = self.streets.positions(self.people, rows)
        indoor = self.people.state[rows] == INDOOR
        nd = self.people.node[rows[indoor]]
        pos[indoor] = np.column_stack([self.net.x[nd], self.net.y[nd]])
        m = shapely.contains_xy(zone, pos[:, 0], pos[:, 1])
        rows = rows[m]
        if rows.size == 0:
            return 0
        e = self.people.edge[rows]
        on = (self.people.state[rows] == WALKING) & (e < self.streets.n_edges)
        head = self.streets.head[np.minimum(e, self.streets.n_edges)]
        frm = np.where(on, head, self.trips.leave_nodes(rows))
        dest = self.router.nearest_dest(slot, frm)
        ok = dest >= 0
        rows, dest = rows[ok], dest[ok]
        self.people.goal[rows] = dest
        self.people.route_slot[rows] = slot
        self.people.evacuating[rows] = True
        self.people.fleeing[rows] = False
        still = rows[self.people.state[rows] != WALKING]
        self.people.due_t[still] = np.inf
        self.people.announce(still)
        self._start_walking_keep_edge(rows, 1.0)
        return int(rows.size)

    def injure_near(self, xy, radius_m: float, *, t: float) -> list[dict]:
        """People in the world within ``radius_m`` of ``xy`` fall injured where they are; returns events."""
        xy = (float(xy[0]), float(xy[1]))
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING, EVACUATED))
        if rows.size == 0:
            return []
        self.people.spot_x[rows], self.people.spot_y[rows] = pos[:, 0], pos[:, 1]
        self.people.state[rows] = INJURED
        self.streets.place(self.people, rows, self.streets.off_graph)
        self.people.desired_speed[rows] = 0.0
        self.people.speed[rows] = 0.0
        self.people.due_t[rows] = np.inf
        self.people.fleeing[rows] = False
        self.people.evacuating[rows] = False
        return truth_events(t, "injured", rows, pos)
