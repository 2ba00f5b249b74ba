"""The crowd's reactions: fleeing a hazard or a surge, evacuation orders and injuries.

People near a hazard or a surge flee to the routable node nearest a point ``flee_margin_m`` beyond its radius
in the direction they are from it (eight sectors); walkers heading toward it turn round on the spot, keeping
their lane point. People standing in the world set off from where they stand, indoor people from their POI.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely

from agents.crowd_events import truth_events
from agents.crowd_params import CrowdError, CrowdParams
from agents.crowd_places import Places
from agents.crowd_streets import Streets
from agents.crowd_trips import Trips
from agents.crowd_weights import RouteWeights
from agents.people import DWELLING, EVACUATED, INDOOR, INJURED, WALKING, People
from agents.routing import Router, WalkNetwork

__all__ = ["Reactions"]


class Reactions:
    """Hazards, surges, evacuation orders and injuries acting on the people in ``people``.

    Parameters
    ----------
    people : People
    net : WalkNetwork
    router : Router
    streets : Streets
    places : Places
        Node ids, and the routable nodes people flee to.
    trips : Trips
        Sets standing people off.
    weights : RouteWeights
        Takes hazards.
    params : CrowdParams
    """

    def __init__(self, people: People, net: WalkNetwork, router: Router, streets: Streets, places: Places,
                 trips: Trips, weights: RouteWeights, params: CrowdParams):
        self.people = people
        self.net = net
        self.router = router
        self.streets = streets
        self.places = places
        self.trips = trips
        self.weights = weights
        self.p = params

    def _in_world(self, states: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Rows in ``states`` and where they are (indoor people at their POI's node)."""
        pp = self.people
        rows = np.flatnonzero(np.isin(pp.state[: pp.n], states))
        pos = self.streets.positions(pp, rows)
        indoor = pp.state[rows] == INDOOR
        if indoor.any():
            nd = pp.node[rows[indoor]]
            pos[indoor] = np.column_stack([self.net.x[nd], self.net.y[nd]])
        return rows, pos

    def _near(self, xy, radius_m: float, states: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Rows in ``states`` within ``radius_m`` of ``xy``, and where they are."""
        rows, pos = self._in_world(states)
        m = np.hypot(pos[:, 0] - xy[0], pos[:, 1] - xy[1]) <= radius_m
        return rows[m], pos[m]

    def _flee_from(self, rows: np.ndarray, pos: np.ndarray, xy, radius_m: float, boost: float) -> None:
        """``rows`` at ``pos`` flee from ``xy``, ``boost`` times their free speed."""
        if rows.size == 0:
            return
        pp = self.people
        reach = radius_m + self.p.flee_margin_m
        ang = np.arange(8) * (np.pi / 4)
        ring = np.column_stack([xy[0] + reach * np.cos(ang), xy[1] + reach * np.sin(ang)])
        targets = self.places.snap(ring)
        bearing = np.arctan2(pos[:, 1] - xy[1], pos[:, 0] - xy[0])
        sector = np.round(bearing / (np.pi / 4)).astype(int) % 8
        goal = targets[sector]
        self._turn_round(rows, xy)
        still = rows[pp.state[rows] != WALKING]
        pp.due_t[still] = np.inf
        for g in np.unique(goal):
            sel = rows[goal == g]
            pp.goal[sel] = g
            pp.route_slot[sel] = self.router.slot([g])
        pp.fleeing[rows] = True
        pp.evacuating[rows] = False
        self._set_off(rows, boost)
        pp.announce(still)

    def _turn_round(self, rows: np.ndarray, xy) -> None:
        """Those of ``rows`` walking an edge toward ``xy`` take its reverse edge at the same lane point."""
        pp, streets, net = self.people, self.streets, self.net
        e = pp.edge[rows]
        walking = (pp.state[rows] == WALKING) & (e < streets.n_edges)
        if not walking.any():
            return
        w = rows[walking]
        ew = e[walking]
        dv = np.hypot(net.x[net.ev[ew]] - xy[0], net.y[net.ev[ew]] - xy[1])
        du = np.hypot(net.x[net.eu[ew]] - xy[0], net.y[net.eu[ew]] - xy[1])
        turn = (dv < du) & (net.rev[ew] >= 0)
        tw, te = w[turn], ew[turn]
        old = streets.positions(pp, tw)
        pp.offset[tw] = np.clip(net.length[te] - pp.offset[tw], 0.0, net.length[net.rev[te]] * 0.999)
        streets.place(pp, tw, net.rev[te])
        pp.lateral[tw] = -pp.lateral[tw]
        # the same lane point on the reverse edge; a lane change still easing in keeps its offset
        pp.lane_jump_x[tw] = pp.lane_jump_y[tw] = 0.0
        new = streets.positions(pp, tw)
        ease = np.maximum(1.0 - pp.offset[tw] / self.p.lane_blend_m, 1e-9)
        keep = ease > 0.05
        pp.lane_jump_x[tw] = np.where(keep, (old[:, 0] - new[:, 0]) / ease, 0.0)
        pp.lane_jump_y[tw] = np.where(keep, (old[:, 1] - new[:, 1]) / ease, 0.0)

    def _set_off(self, rows: np.ndarray, boost: float) -> None:
        """``rows`` walk at ``boost`` times their free speed; those not walking yet depart (walkers keep
        their edge)."""
        self.trips.depart(rows[self.people.state[rows] != WALKING])
        self.people.desired_speed[rows] = self.people.free_speed[rows] * boost

    # ------------------------------------------------------------------ the crowd's reaction methods
    def hazard(self, xy, radius_m: float, *, t: float, duration_s: float) -> None:
        """See ``Crowd.hazard``."""
        if radius_m <= 0 or duration_s <= 0:
            raise CrowdError(f"hazard: radius_m and duration_s must be positive, got {radius_m}, "
                             f"{duration_s}")
        xy = (float(xy[0]), float(xy[1]))
        self.weights.add_hazard(xy, radius_m, t=t, t_end=t + duration_s)
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING, INDOOR))
        self._flee_from(rows, pos, xy, radius_m, self.p.flee_boost)

    def surge(self, xy, radius_m: float, *, t: float) -> None:
        """See ``Crowd.surge``."""
        if radius_m <= 0:
            raise CrowdError(f"surge: radius_m must be positive, got {radius_m}")
        xy = (float(xy[0]), float(xy[1]))
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING))
        self._flee_from(rows, pos, xy, radius_m, self.p.panic_boost)

    def evacuate(self, zone, safe_nodes: Iterable, *, t: float) -> int:
        """See ``Crowd.evacuate``."""
        safe = [self.places.node_index(s, "evacuate.safe_nodes") for s in safe_nodes]
        if not safe:
            raise CrowdError("evacuate.safe_nodes: empty")
        slot = self.router.slot(safe)
        rows, pos = self._in_world((WALKING, DWELLING, INDOOR))
        rows = rows[shapely.contains_xy(zone, pos[:, 0], pos[:, 1])]
        if rows.size == 0:
            return 0
        pp, streets = self.people, self.streets
        e = pp.edge[rows]
        on = (pp.state[rows] == WALKING) & (e < streets.n_edges)
        head = streets.head[np.minimum(e, streets.n_edges)]
        frm = np.where(on, head, self.trips.leave_nodes(rows))
        dest = self.router.nearest_dest(slot, frm)
        ok = dest >= 0
        rows, dest = rows[ok], dest[ok]
        pp.goal[rows] = dest
        pp.route_slot[rows] = slot
        pp.evacuating[rows] = True
        pp.assembling[rows] = False
        pp.fleeing[rows] = False
        still = rows[pp.state[rows] != WALKING]
        pp.due_t[still] = np.inf
        pp.announce(still)
        self._set_off(rows, 1.0)
        return int(rows.size)

    def injure_near(self, xy, radius_m: float, *, t: float) -> list[dict]:
        """See ``Crowd.injure_near``."""
        xy = (float(xy[0]), float(xy[1]))
        rows, pos = self._near(xy, radius_m, (WALKING, DWELLING, EVACUATED))
        if rows.size == 0:
            return []
        pp = self.people
        pp.spot_x[rows], pp.spot_y[rows] = pos[:, 0], pos[:, 1]
        pp.state[rows] = INJURED
        self.streets.place(pp, rows, self.streets.off_graph)
        pp.desired_speed[rows] = 0.0
        pp.speed[rows] = 0.0
        pp.due_t[rows] = np.inf
        pp.fleeing[rows] = False
        pp.evacuating[rows] = False
        return truth_events(t, "injured", rows, pos)
