"""The crowd's view of the walk edges: geometry per edge, density cells, and where people are on the ground.

Edge arrays that people index by their ``edge`` column have two extra rows past the ``n_edges`` real edges:
``at_node`` (waiting at a node, or walking a straight leg there) and ``off_graph``. Density cells are about
``cell_m`` of a street each, both directions of a street sharing them; one more, dummy, cell of vast area
holds everybody not on an edge, so its density is nil.
"""

from __future__ import annotations

import numpy as np

from agents.crowd_params import CrowdParams
from agents.people import WALKING, People
from agents.routing import WalkNetwork

__all__ = ["Streets"]


class Streets:
    """Per-edge geometry and density cells of ``net`` for the crowd, and people's ground positions.

    Parameters
    ----------
    net : WalkNetwork
    params : CrowdParams
        Uses ``cell_m``, ``person_width_m`` and ``lane_blend_m``.

    Attributes
    ----------
    n_edges, at_node, off_graph : int
        Real edges are ``0 .. n_edges - 1``; ``at_node`` (= ``n_edges``) and ``off_graph`` are the sentinels.
    unit_x, unit_y : numpy.ndarray
        (E,) unit vector of each edge's chord, tail to head.
    chord_x, chord_y : numpy.ndarray
        (E,) the chord itself, m.
    midpoint : numpy.ndarray
        (E, 2) the chord's midpoint, m.
    length : numpy.ndarray
        (E + 2,) walked length, m; -1 at a node (so waiting people move on at once), inf off the graph.
    head : numpy.ndarray
        (E + 2,) int32 head node; -1 for the sentinels.
    cell_base, cell_slope : numpy.ndarray
        (E + 2,) an edge's density cell at ``offset`` is ``int(cell_base + offset * cell_slope)``; the
        sentinels map to the dummy cell ``n_cells``.
    inv_cell_area : numpy.ndarray
        (n_cells + 1,) 1 / area of each cell, m^-2 (length x width of the street).
    n_cells : int
    cell_street : numpy.ndarray
        (n_cells,) the forward edge of each cell's street.
    """

    def __init__(self, net: WalkNetwork, params: CrowdParams):
        self.net = net
        self.p = params
        E = net.n_edges
        self.n_edges = E
        self.at_node, self.off_graph = E, E + 1
        x, y = net.x, net.y
        dx, dy = x[net.ev] - x[net.eu], y[net.ev] - y[net.eu]
        d = np.maximum(np.hypot(dx, dy), 1e-9)
        self.unit_x, self.unit_y = dx / d, dy / d
        self.chord_x, self.chord_y = dx, dy
        self.length = np.concatenate([net.length, [-1.0, np.inf]])
        self.head = np.concatenate([net.ev, [-1, -1]]).astype(np.int32)
        self.midpoint = np.column_stack([(x[net.eu] + x[net.ev]) / 2, (y[net.eu] + y[net.ev]) / 2])
        self._build_cells()

    def _build_cells(self) -> None:
        """Density cells of ~cell_m per street; both directions of a street share its cells."""
        net, E = self.net, self.n_edges
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
        self.cell_base = np.concatenate([a, [C, C]])
        self.cell_slope = np.concatenate([b, [0.0, 0.0]])
        area = np.zeros(C + 1)
        cell_len = net.length / ncell
        # a street's cell area from its forward edge: (length / ncell) * width
        reps = np.repeat(cell_len[sid] * net.width[sid], ncell[sid])
        area[:C] = reps
        area[C] = 1e12                      # the dummy cell for everybody not walking an edge
        self.inv_cell_area = 1.0 / area
        self.n_cells = C
        self.cell_street = np.repeat(sid, ncell[sid])

    def lane_offset(self, lateral: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """Lateral offsets (m, > 0 to the left) of lanes ``lateral`` on real ``edges``."""
        return lateral * np.maximum(self.net.width[edges] - self.p.person_width_m, 0.0)

    def place(self, people: People, rows: np.ndarray, edges) -> None:
        """Put ``rows`` on ``edges`` (or a sentinel); cache its cell mapping and length per row, so a step
        needs no gather by edge."""
        people.edge[rows] = edges
        e = people.edge[rows]
        people.cell_base[rows] = self.cell_base[e]
        people.cell_slope[rows] = self.cell_slope[e]
        people.leg_length[rows] = self.length[e]

    def positions(self, people: People, rows: np.ndarray) -> np.ndarray:
        """Ground positions (m) of ``rows``: along the edge plus the lane, along a leg, at the node waited at,
        else the spot."""
        rows = np.asarray(rows, np.int64)
        out = np.column_stack([people.spot_x[rows], people.spot_y[rows]])
        e = people.edge[rows]
        st = people.state[rows]
        on = (e < self.n_edges) & (st == WALKING)
        if on.any():
            r, ee = rows[on], e[on]
            net = self.net
            lat = self.lane_offset(people.lateral[r], ee)
            ux, uy = self.unit_x[ee], self.unit_y[ee]
            frac = people.offset[r] / net.length[ee]   # along the chord (curved streets are longer)
            # entering an edge at a node, the lane point jumps (new direction, lateral offset): the lane jump
            # is that jump, eased out over the first lane_blend_m so positions stay continuous
            ease = np.maximum(1.0 - people.offset[r] / self.p.lane_blend_m, 0.0)
            jx, jy = people.lane_jump_x[r], people.lane_jump_y[r]
            out[on, 0] = net.x[net.eu[ee]] + self.chord_x[ee] * frac - uy * lat + jx * ease
            out[on, 1] = net.y[net.eu[ee]] + self.chord_y[ee] * frac + ux * lat + jy * ease
        leg = (e == self.at_node) & (st == WALKING) & (people.leg_length[rows] >= 0)
        wait = (e == self.at_node) & (st == WALKING) & ~leg
        if wait.any():
            nd = people.node[rows[wait]]
            out[wait, 0], out[wait, 1] = self.net.x[nd], self.net.y[nd]
        if leg.any():   # from the spot straight to the leg's end
            r = rows[leg]
            frac = np.minimum(people.offset[r] / np.maximum(people.leg_length[r], 1e-9), 1.0)
            out[leg, 0] += (people.leg_end_x[r] - out[leg, 0]) * frac
            out[leg, 1] += (people.leg_end_y[r] - out[leg, 1]) * frac
        return out
