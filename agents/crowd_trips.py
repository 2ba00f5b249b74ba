"""The crowd's trips: what people do when they reach their goal, when a dwell ends, and how they set off.

On arrival: the evacuated stay where they are; people who fled stand ``after_flee_dwell_s`` and then resume
(flows to their destination, gatherers home, the population to a new POI); the population dwells at a POI
(indoors out of sight for ``dwell_indoor_s``, else standing for ``dwell_outdoor_s``); flows and gatherers
coming home leave the world; gatherers reaching the gathering's node walk a straight leg to a spot in its area
and stand there until ``leave_t``.

Setting off, people standing in the world walk a straight leg from their spot to the nearest routable node,
ending on the lane of their first edge, so positions never jump; the others wait at their node.
"""

from __future__ import annotations

import numpy as np

from agents.crowd_events import spawned_events, truth_events
from agents.crowd_params import CrowdParams
from agents.crowd_places import Places
from agents.crowd_streets import Streets
from agents.people import (
    ARRIVED,
    DWELLING,
    EVACUATED,
    FLOW,
    GATHERING,
    INDOOR,
    PENDING,
    POPULATION,
    WALKING,
    People,
)
from agents.routing import Router, WalkNetwork

__all__ = ["Trips"]


def _pick(items: list, mask: np.ndarray) -> list:
    return [x for x, m in zip(items, mask.tolist(), strict=True) if m]


class Trips:
    """Arrivals, ends of dwells and departures of the people in ``people``.

    Parameters
    ----------
    people : People
    net : WalkNetwork
    router : Router
    streets : Streets
    places : Places
        POIs (the population's next goal), gathering spots, the node a standing person walks to.
    params : CrowdParams
    rng : numpy.random.Generator
        The crowd's generator (dwell times).
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
        #: evacuees assembled so far at each safe node (index): the next one stands further out
        self._assembled: dict[int, int] = {}

    # ------------------------------------------------------------------ arrivals
    def arrive(self, r: np.ndarray, node: np.ndarray, tt: float) -> list[dict]:
        """People ``r`` reaching their goal ``node`` at ``tt``: arrived/evacuated events, then dwell, go
        indoors or leave."""
        pp, streets = self.people, self.streets
        events = []
        # where they are now (at the end of their edge or leg) is where they stand: no jump on arrival
        pp.offset[r] = np.minimum(pp.offset[r], np.maximum(pp.leg_length[r], 0.0))
        here = streets.positions(pp, r)
        pp.node[r] = node
        streets.place(pp, r, streets.off_graph)
        pp.offset[r] = 0.0
        pp.desired_speed[r] = 0.0
        nodes = self.net.nodes
        goal_ids = [nodes[i] for i in node.tolist()]
        nxy = np.column_stack([self.net.x[node], self.net.y[node]])
        evac = pp.evacuating[r]
        flee = pp.fleeing[r] & ~evac
        norm = ~evac & ~flee
        if evac.any():
            first = evac & ~pp.assembling[r]     # at the safe node: out, then on to a spot of the area
            if first.any():
                events += truth_events(tt, "evacuated", r[first], nxy[first], goal=_pick(goal_ids, first))
                self._to_assembly(r[first], node[first], here[first])
            done = r[evac & pp.assembling[r] & ~first]
            pp.state[done] = EVACUATED
            pp.spot_x[done], pp.spot_y[done] = pp.leg_end_x[done], pp.leg_end_y[done]
            pp.due_t[done] = np.inf
        if flee.any():
            rf = r[flee]
            events += truth_events(tt, "arrived", rf, nxy[flee], goal=_pick(goal_ids, flee), reason="fled")
            pp.fleeing[rf] = False
            pp.state[rf] = DWELLING
            pp.spot_x[rf], pp.spot_y[rf] = here[flee, 0], here[flee, 1]
            pp.due_t[rf] = tt + self.p.after_flee_dwell_s
            pp.gathering_phase[rf] = np.where(pp.group[rf] == GATHERING, 2, pp.gathering_phase[rf])
        settle = norm & (pp.group[r] == GATHERING) & (pp.gathering_phase[r] == 1)
        if settle.any():   # gatherers at the end of the leg from the gathering node to their spot
            rs = r[settle]
            pp.state[rs] = DWELLING
            pp.spot_x[rs], pp.spot_y[rs] = pp.leg_end_x[rs], pp.leg_end_y[rs]
            pp.due_t[rs] = np.maximum(pp.leave_t[rs], tt)
            norm &= ~settle
        if norm.any():
            events += truth_events(tt, "arrived", r[norm], nxy[norm], goal=_pick(goal_ids, norm))
            self._arrived(r[norm], node[norm], here[norm], tt)
        return events

    def _to_assembly(self, re: np.ndarray, node: np.ndarray, here: np.ndarray) -> None:
        """Evacuees ``re`` at their safe nodes walk a straight leg to their spot of its assembly area."""
        self.people.assembling[re] = True
        self._leg(re, here, self._assemble(node, here))

    def _leg(self, rows: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        """``rows`` walk a straight leg from ``start`` (where they stand at their node) to ``end``."""
        pp = self.people
        pp.spot_x[rows], pp.spot_y[rows] = start[:, 0], start[:, 1]
        pp.leg_end_x[rows], pp.leg_end_y[rows] = end[:, 0], end[:, 1]
        pp.state[rows] = WALKING
        self.streets.place(pp, rows, self.streets.at_node)
        pp.leg_length[rows] = np.hypot(end[:, 0] - start[:, 0], end[:, 1] - start[:, 1])
        pp.desired_speed[rows] = pp.free_speed[rows]
        pp.due_t[rows] = np.inf

    def _assemble(self, node: np.ndarray, here: np.ndarray) -> np.ndarray:
        """Where evacuees arriving at safe nodes ``node`` (seen at ``here``) stand: the k-th evacuee of a node
        at a random bearing at the radius that holds k people at ``assembly_density`` around where it
        arrived (a disc filled from the inside), so an assembly area never packs everyone on one point."""
        uniq, inv = np.unique(node, return_inverse=True)
        before = np.array([self._assembled.get(int(k), 0) for k in uniq.tolist()])
        order = np.argsort(inv, kind="stable")
        rank = np.empty(len(node), np.int64)
        starts = np.searchsorted(inv[order], np.arange(len(uniq)))
        rank[order] = np.arange(len(node)) - starts[inv[order]]
        k = before[inv] + rank
        for u, n in zip(uniq.tolist(), np.bincount(inv, minlength=len(uniq)).tolist(), strict=True):
            self._assembled[int(u)] = self._assembled.get(int(u), 0) + n
        r = np.sqrt((k + self.rng.uniform(0.0, 1.0, len(k))) / (np.pi * self.p.assembly_density))
        a = self.rng.uniform(0.0, 2 * np.pi, len(k))
        return here + np.column_stack([r * np.cos(a), r * np.sin(a)])

    def _arrived(self, rn: np.ndarray, nn: np.ndarray, hn: np.ndarray, tt: float) -> None:
        """Arrivals neither fled nor evacuated nor settling, at nodes ``nn``, seen at ``hn``."""
        pp, p, rng = self.people, self.p, self.rng
        grp = pp.group[rn]
        pop = grp == POPULATION
        if pop.any():
            rp, np_ = rn[pop], nn[pop]
            ind = self.places.indoor_node[np_]
            pp.state[rp] = np.where(ind, INDOOR, DWELLING)
            lo, hi = p.dwell_indoor_s
            olo, ohi = p.dwell_outdoor_s
            dwell = np.where(ind, rng.uniform(lo, hi, len(rp)), rng.uniform(olo, ohi, len(rp)))
            pp.due_t[rp] = tt + dwell
            pp.spot_x[rp], pp.spot_y[rp] = hn[pop, 0], hn[pop, 1]
        gone = (grp == FLOW) | ((grp == GATHERING) & (pp.gathering_phase[rn] == 2))
        pp.state[rn[gone]] = ARRIVED
        pp.due_t[rn[gone]] = np.inf
        at_event = (grp == GATHERING) & (pp.gathering_phase[rn] == 0)
        if at_event.any():   # walk a straight leg from the node to a spot spread over the area
            rg = rn[at_event]
            pp.gathering_phase[rg] = 1
            self._leg(rg, hn[at_event], np.column_stack(self.places.gathering_spots(pp.gathering_id[rg])))

    # ------------------------------------------------------------------ scheduled changes
    def due(self, d: np.ndarray, tt: float) -> list[dict]:
        """Scheduled changes of rows ``d`` at ``tt``: departures of pending people and the end of dwells."""
        pp = self.people
        st = pp.state[d]
        pend = d[st == PENDING]
        dw = d[(st == DWELLING) | (st == INDOOR)]
        pp.due_t[d] = np.inf
        events = []
        if dw.size:
            self._next_goals(dw)
            new = dw[~pp.announced[dw]]
            home = dw[pp.goal[dw] == pp.node[dw]]
            if home.size:  # already there (a flow that fled onto its own goal)
                pp.state[home] = ARRIVED
                dw = dw[pp.goal[dw] != pp.node[dw]]
            self.start_walking(dw)
            pp.announced[new] = True
            events += spawned_events(tt, new, pp, self.streets)
        if pend.size:
            self.start_walking(pend)
            pp.announced[pend] = True
            events += spawned_events(tt, pend, pp, self.streets)
        return events

    def _next_goals(self, dw: np.ndarray) -> None:
        """Goals after a dwell: a new POI (population), the destination (flow), home (gathering)."""
        pp = self.people
        grp = pp.group[dw]
        pop = dw[grp == POPULATION]
        if pop.size:
            j = self.places.pick_poi(pp.node[pop].astype(np.int64))
            pp.goal[pop] = self.places.pois[j]
            pp.route_slot[pop] = self.places.poi_slot[j]
        fl = dw[grp == FLOW]
        if fl.size:
            pp.goal[fl] = pp.final_goal[fl]
            pp.route_slot[fl] = self._slots_for(pp.final_goal[fl])
        ga = dw[grp == GATHERING]
        if ga.size:
            pp.gathering_phase[ga] = 2
            pp.goal[ga] = pp.final_goal[ga]
            pp.route_slot[ga] = self._slots_for(pp.final_goal[ga])

    def _slots_for(self, goals: np.ndarray) -> np.ndarray:
        u, inv = np.unique(goals, return_inverse=True)
        return np.array([self.router.slot([g]) for g in u.tolist()], np.int32)[inv]

    # ------------------------------------------------------------------ departures
    def start_walking(self, r: np.ndarray) -> None:
        """Set ``r`` (not walking) off toward their goal, ``flee_boost`` faster when fleeing."""
        boost = np.where(self.people.fleeing[r], self.p.flee_boost, 1.0)
        self.depart(r)
        self.people.desired_speed[r] = self.people.free_speed[r] * boost

    def leave_nodes(self, rows: np.ndarray) -> np.ndarray:
        """The node each of ``rows`` joins the graph at: the nearest routable node to a standing person's
        spot (a gatherer on a big square walks to its nearest corner, not its centre), else ``node``."""
        pp = self.people
        nd = pp.node[rows].copy()
        standing = pp.state[rows] == DWELLING
        if standing.any():
            r = rows[standing]
            nd[standing] = self.places.snap(np.column_stack([pp.spot_x[r], pp.spot_y[r]]))
        return nd

    def depart(self, rows: np.ndarray) -> None:
        """Set non-walking ``rows`` walking from where they are (goal and route slot already set).

        People appearing (pending, indoor) wait at their node; people standing in the world (dwelling) walk a
        straight leg from their spot to the nearest node, ending where they will enter their first edge (its
        lateral lane), so their positions never jump.
        """
        pp, streets = self.people, self.streets
        standing = rows[pp.state[rows] == DWELLING]
        other = rows[pp.state[rows] != DWELLING]
        if standing.size:
            nd = self.leave_nodes(standing)
            pp.node[standing] = nd
            net = self.net
            lx, ly = net.x[nd].copy(), net.y[nd].copy()
            ne = self.router.next_edges(pp.route_slot[standing], nd)
            ok = ne >= 0
            if ok.any():
                e = ne[ok]
                lat = streets.lane_offset(pp.lateral[standing[ok]], e)
                lx[ok] -= streets.unit_y[e] * lat
                ly[ok] += streets.unit_x[e] * lat
            pp.leg_end_x[standing], pp.leg_end_y[standing] = lx, ly
            pp.state[standing] = WALKING
            streets.place(pp, standing, streets.at_node)
            pp.leg_length[standing] = np.hypot(lx - pp.spot_x[standing], ly - pp.spot_y[standing])
            pp.offset[standing] = 0.0
        if other.size:
            pp.state[other] = WALKING
            streets.place(pp, other, streets.at_node)
            pp.offset[other] = 0.0
