"""The crowd's people table: one row per pedestrian, one numpy array per column (a structure of arrays).

Rows live in a buffer grown in chunks (like mesa's ``ContinuousSpace`` agent buffer) of which the first ``n``
are people; a person's id is its row number, never reused. Each column is an attribute of ``People`` as long
as the buffer: read ``people.<column>[:people.n]``.

Where somebody is depends on ``edge`` (``n_edges`` is the walk graph's edge count; positions are computed by
``agents.crowd_streets.Streets.positions``):

- ``edge < n_edges``: walking that edge, ``offset`` m from its tail, in lane ``lateral``;
- ``edge == n_edges`` (at a node): walking a straight *leg* of ``leg_length`` m from the spot
  (``spot_x``, ``spot_y``) to (``leg_end_x``, ``leg_end_y``) when ``leg_length >= 0`` (a dwell spot to its
  node, or a gathering node to a spot), else waiting at ``node`` for room on the next edge;
- ``edge == n_edges + 1`` (off the graph): standing at the spot (dwelling outdoors, evacuated, injured) or out
  of the world (pending, indoors, arrived).

===================  =======  =====  ========  =========================================================
column               dtype    unit   default   meaning
===================  =======  =====  ========  =========================================================
``state``            int8     code   ARRIVED   index into ``STATES``: pending, walking, dwelling, ...
``group``            int8     code   0         index into ``GROUPS``: population, flow or gathering
``edge``             int32    index  0         edge walked; ``n_edges`` at a node, ``n_edges + 1`` off
                                               the graph (every new row starts off the graph)
``offset``           float64  m      0.0       distance walked along the edge or leg; waiting at a node:
                                               how far the person would have walked this step
``leg_length``       float64  m      inf       length of the edge or leg walked (``offset`` reaching it
                                               ends it); -1 waiting at a node, inf off the graph
``lateral``          float32  1      0.0       lane across the street, a fraction in [-0.5, 0.5] of its
                                               free width (width - person width); > 0 left of the way
``lane_jump_x``      float64  m      0.0       the lane point's jump on entering the edge at a node (new
                                               direction and lateral offset), eased out over
                                               ``lane_blend_m`` so positions stay continuous
``lane_jump_y``      float64  m      0.0       the same, along y
``cell_base``        float64  cell   0.0       density cell of the edge's start, cached from the edge;
                                               cell = int(``cell_base`` + ``offset`` * ``cell_slope``)
``cell_slope``       float64  1/m    0.0       cells per metre along the edge (< 0 on the backward
                                               direction: both directions of a street share its cells)
``node``             int32    index  -1        node at or last passed: the tail of the edge walked, the
                                               node end of a leg, the node waited or dwelt at, home
``goal``             int32    index  -1        node walked to
``route_slot``       int32    id     -1        ``Router`` table toward ``goal`` (or a set of safe nodes)
``final_goal``       int32    index  -1        goal after the next dwell: a flow's destination (it
                                               resumes after fleeing), a gatherer's home
``free_speed``       float64  m/s    0.0       walking speed on an empty street, ~ N(v0_mean, v0_sd) in
                                               [v0_min, v0_max]
``desired_speed``    float64  m/s    0.0       ``free_speed`` times the flee or panic boost while walking,
                                               0 otherwise
``speed``            float64  m/s    0.0       ``desired_speed`` times Weidmann's factor of the density
                                               cell; 0 while queued
``height``           float32  m      1.7       body height, ~ N(person_height_m, person_height_sd) in
                                               [1.4, 2.05]
``spot_x``           float64  m      0.0       where the person stands in the world (a dwell or gathering
                                               spot, where evacuated or injured); a leg's start
``spot_y``           float64  m      0.0       the same, along y
``leg_end_x``        float64  m      0.0       the end of the straight leg walked at a node
``leg_end_y``        float64  m      0.0       the same, along y
``due_t``            float64  s      inf       time of the next scheduled change: a pending person's
                                               departure, the end of a dwell; inf for none
``leave_t``          float64  s      inf       when a gatherer leaves the gathering; inf: stays
``gathering_id``     int32    index  -1        the gathering of a gatherer (``Places.gatherings``)
``gathering_phase``  int8     code   0         a gatherer's phase: 0 on the way, 1 walking to or standing
                                               on the spot, 2 going home (also after fleeing)
``fleeing``          bool     -      False     walking away from a hazard or surge
``evacuating``       bool     -      False     ordered out; arrives as ``evacuated``
``assembling``       bool     -      False     an evacuee past the safe node, walking to its assembly spot
``announced``        bool     -      False     its ``spawned`` event is out or queued
===================  =======  =====  ========  =========================================================
"""

from __future__ import annotations

import numpy as np

__all__ = ["ARRIVED", "COLUMNS", "DWELLING", "EVACUATED", "FLOW", "GATHERING", "GROUPS", "INDOOR", "INJURED",
           "PENDING", "POPULATION", "STATES", "VISIBLE", "WALKING", "People"]

#: Person states (code = index).
STATES = ("pending", "walking", "dwelling", "indoor", "arrived", "evacuated", "injured")
PENDING, WALKING, DWELLING, INDOOR, ARRIVED, EVACUATED, INJURED = range(7)
#: Person groups (code = index): how they were added, hence what they do on arrival.
GROUPS = ("population", "flow", "gathering")
POPULATION, FLOW, GATHERING = range(3)
#: By state code: in the world, so sensors see them (walking, dwelling outdoors, evacuated, injured).
VISIBLE = np.array([False, True, True, False, False, True, True])

#: (name, dtype, default) of every column; the module docstring says what each holds.
COLUMNS = (
    ("state", np.int8, ARRIVED), ("group", np.int8, 0),
    ("edge", np.int32, 0), ("offset", np.float64, 0.0), ("leg_length", np.float64, np.inf),
    ("lateral", np.float32, 0.0), ("lane_jump_x", np.float64, 0.0), ("lane_jump_y", np.float64, 0.0),
    ("cell_base", np.float64, 0.0), ("cell_slope", np.float64, 0.0),
    ("node", np.int32, -1), ("goal", np.int32, -1), ("route_slot", np.int32, -1),
    ("final_goal", np.int32, -1),
    ("free_speed", np.float64, 0.0), ("desired_speed", np.float64, 0.0), ("speed", np.float64, 0.0),
    ("height", np.float32, 1.7),
    ("spot_x", np.float64, 0.0), ("spot_y", np.float64, 0.0),
    ("leg_end_x", np.float64, 0.0), ("leg_end_y", np.float64, 0.0),
    ("due_t", np.float64, np.inf), ("leave_t", np.float64, np.inf),
    ("gathering_id", np.int32, -1), ("gathering_phase", np.int8, 0),
    ("fleeing", np.bool_, False), ("evacuating", np.bool_, False), ("announced", np.bool_, False),
    ("assembling", np.bool_, False),
)
_CHUNK = 4096


class People:
    """The people table: every column of ``COLUMNS`` as an attribute, ``n`` live rows of ``capacity``.

    Parameters
    ----------
    chunk : int
        Rows allocated at first; the buffer then at least doubles whenever it is full.
    """

    __slots__ = (*(name for name, _, _ in COLUMNS), "n", "capacity", "_chunk", "_to_announce")

    def __init__(self, *, chunk: int = _CHUNK):
        self.n = 0
        self.capacity = 0
        self._chunk = chunk
        self._to_announce: list[np.ndarray] = []
        self._grow(chunk)

    def __len__(self) -> int:
        return self.n

    def _grow(self, capacity: int) -> None:
        """Reallocate every column with ``capacity`` rows, keeping the live ones; new rows hold defaults."""
        for name, dtype, default in COLUMNS:
            new = np.full(capacity, default, dtype=dtype)
            if self.capacity:
                new[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, new)
        self.capacity = capacity

    def add(self, k: int) -> np.ndarray:
        """Append ``k`` rows holding the defaults; returns their ids (int64)."""
        if self.n + k > self.capacity:
            self._grow(max(self.capacity * 2, self.n + k + self._chunk))
        rows = np.arange(self.n, self.n + k)
        self.n += k
        return rows

    def announce(self, rows: np.ndarray) -> None:
        """Queue a ``spawned`` event for those of ``rows`` not yet announced (the next step emits it)."""
        self._to_announce.append(rows[~self.announced[rows]])
        self.announced[rows] = True

    def take_announced(self) -> np.ndarray | None:
        """The rows queued by ``announce`` since the last call, in order; ``None`` when nothing was queued."""
        if not self._to_announce:
            return None
        rows = np.concatenate(self._to_announce)
        self._to_announce = []
        return rows
