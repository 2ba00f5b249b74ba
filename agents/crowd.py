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

``Crowd`` is the facade; each part is given what it works on:

==========================  ==============================================================================
``agents.people``           ``People``, the table of people (one column per attribute, documented there)
``agents.crowd_params``     ``CrowdParams`` (every constant with its default) and ``CrowdError``
``agents.crowd_streets``    ``Streets``: edge geometry, density cells, ground positions
``agents.crowd_places``     ``Places``: routable nodes, points of interest, gathering areas
``agents.crowd_spawn``      ``Spawner``: ``add_population``, ``add_flow``, ``add_walkers``, ``add_gathering``
``agents.crowd_walking``    ``Walking``: speeds, advance, edge entry (token buckets), lane changes
``agents.crowd_trips``      ``Trips``: arrivals, ends of dwells, departures
``agents.crowd_react``      ``Reactions``: hazards, surges, evacuation orders, injuries
``agents.crowd_weights``    ``RouteWeights``: closures, hazards and congestion as routing weights
``agents.crowd_events``     the ground-truth event records
==========================  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import shapely

from agents.crowd_events import spawned_events
from agents.crowd_params import CrowdError, CrowdParams
from agents.crowd_places import Places
from agents.crowd_react import Reactions
from agents.crowd_spawn import Spawner
from agents.crowd_streets import Streets
from agents.crowd_trips import Trips
from agents.crowd_walking import Walking
from agents.crowd_weights import RouteWeights
from agents.people import (
    ARRIVED,
    DWELLING,
    EVACUATED,
    INDOOR,
    INJURED,
    PENDING,
    STATES,
    VISIBLE,
    WALKING,
    People,
)
from agents.routing import Router, RoutingError, WalkNetwork
from agents.world import PERSON, Targets

__all__ = ["ARRIVED", "DWELLING", "EVACUATED", "INDOOR", "INJURED", "PENDING", "STATES", "WALKING", "Crowd",
           "CrowdError", "CrowdParams"]


class Crowd:
    """Pedestrians on ``twin.walk`` as a structure of arrays; see the module docstring.

    Parameters
    ----------
    twin : Twin
        Uses ``walk`` (x/y, length, width_m), ``assets`` (``node``, ``polygon``) and ``buildings``.
    rng : numpy.random.Generator
        The only source of randomness.
    params : CrowdParams
        Defaults to ``CrowdParams()``.

    Attributes
    ----------
    net : WalkNetwork
        The walk graph as arrays (node and edge indices).
    router : Router
        Shared shortest-path trees toward destinations.
    people : People
        The people table; ``len(crowd)`` rows of it are people.
    p : CrowdParams
    streets, places, weights, trips, walking, spawner, reactions
        The parts (see the module docstring).
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
        self.streets = Streets(net, params)
        self.weights = RouteWeights(net, self.router, self.streets, params)
        self.places = Places(twin, net, self.router, params, rng)
        self.people = People()
        self.trips = Trips(self.people, net, self.router, self.streets, self.places, params, rng)
        self.walking = Walking(self.people, net, self.router, self.streets, self.trips, params)
        self.spawner = Spawner(self.people, net, self.router, self.streets, self.places, params, rng)
        self.reactions = Reactions(self.people, net, self.router, self.streets, self.places, self.trips,
                                   self.weights, params)

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

    # ------------------------------------------------------------------ adding people
    def add_population(self, n: int, *, t0: float = 0.0) -> np.ndarray:
        """Background pedestrians with itineraries between POIs, in and out of buildings; returns their ids.

        A share ``walking_share`` starts mid-trip on random streets (weighted by length), the rest in a POI
        whose dwell ends at a random time within ``dwell_indoor_s`` (a building) or ``dwell_outdoor_s`` (an
        outdoor POI, standing in the world); afterwards each picks its next POI.
        """
        return self.spawner.add_population(n, t0=t0)

    def add_flow(self, from_node, to_node, people: int, depart_s=(0.0, 0.0)) -> np.ndarray:
        """``people`` walk ``from_node`` -> ``to_node``, departing uniformly within ``depart_s``; returns ids.

        They leave the world on arrival (an ``arrived`` event at ``to_node``).
        """
        return self.spawner.add_flow(from_node, to_node, people, depart_s)

    def add_walkers(self, u, v, offsets_m: Iterable[float], to_node, *, key=0) -> np.ndarray:
        """Place people walking on edge ``(u, v, key)`` at ``offsets_m`` from ``u``, heading to ``to_node``.

        For controlled experiments and injects (they count as a flow: they leave the world on arrival).
        """
        return self.spawner.add_walkers(u, v, offsets_m, to_node, key=key)

    def add_gathering(self, at_node, people: int, arrive_s=(0.0, 0.0), leave_s=None) -> np.ndarray:
        """``people`` come from homes ``gathering_origin_m`` away, arrive at ``at_node`` within ``arrive_s``,
        stand spread over the asset's area (its polygon, else a disc at ``gathering_density``), and go home
        within ``leave_s`` (``None``: they stay). Returns their ids.
        """
        return self.spawner.add_gathering(at_node, people, arrive_s, leave_s)

    # ------------------------------------------------------------------ reactions
    def hazard(self, xy, radius_m: float, *, t: float, duration_s: float) -> None:
        """A hazard (fire, blast, attacker) at ``xy``: people within ``radius_m`` flee away from it, faster,
        and routing avoids its streets for ``duration_s``."""
        self.reactions.hazard(xy, radius_m, t=t, duration_s=duration_s)

    def surge(self, xy, radius_m: float, *, t: float) -> None:
        """A panic at ``xy``: people within ``radius_m`` run away (``panic_boost``); no street closes."""
        self.reactions.surge(xy, radius_m, t=t)

    def evacuate(self, zone, safe_nodes: Iterable, *, t: float) -> int:
        """Everybody inside ``zone`` (shapely polygon, m), indoors too, walks to the nearest ``safe_nodes``.

        Returns how many were ordered out; each emits ``evacuated`` on reaching a safe node.
        """
        return self.reactions.evacuate(zone, safe_nodes, t=t)

    def injure_near(self, xy, radius_m: float, *, t: float) -> list[dict]:
        """People in the world within ``radius_m`` of ``xy`` fall injured where they are; returns events."""
        return self.reactions.injure_near(xy, radius_m, t=t)

    def close_edges(self, edges: Iterable) -> None:
        """Close streets (``(u, v)`` or ``(u, v, key)``, both ways) to routing: people reroute or hold.

        Somebody already on a closed street finishes it; whoever has no open way left to the goal waits at
        the node (holds at the cordon) until ``reopen_edges``; no escape routing out of a closed area.
        """
        self.weights.close(edges)

    def reopen_edges(self, edges: Iterable) -> None:
        """Undo ``close_edges`` for these streets."""
        self.weights.reopen(edges)

    # ------------------------------------------------------------------ positions
    def _visible_rows(self) -> np.ndarray:
        return np.flatnonzero(VISIBLE[self.people.state[: self.people.n]])

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

    # ------------------------------------------------------------------ the step
    def step(self, t: float, dt: float) -> list[dict]:
        """Advance from ``t`` to ``t + dt``; returns this step's ground-truth events (stamped ``t + dt``)."""
        pp = self.people
        n = pp.n
        tt = t + dt
        events: list[dict] = []
        rows = pp.take_announced()
        if rows is not None:
            events += spawned_events(tt, rows[VISIBLE[pp.state[rows]]], pp, self.streets)
        self.weights.update(tt)
        due = np.flatnonzero(pp.due_t[:n] <= tt)
        if due.size:
            events += self.trips.due(due, tt)
        counts = self.walking.advance(dt)
        self.weights.check_congestion(tt, counts)
        cand = np.flatnonzero(pp.offset[:n] >= pp.leg_length[:n])
        if cand.size:
            events += self.walking.transition(cand, tt, counts)
        return events
