"""``road_traffic``: cars, vans and buses on the drive graph; vans (and a few cars) stop at the kerb for
minutes; now and then a delivery van drives at walking pace into a square and stands there.

What it imitates: a ``vehicle_rammer`` (a vehicle near people at street speed, a vehicle in a pedestrian
area) and, standing at the kerb, something left for a long time.

The traffic (``GraphMovers`` on the drive graph, one row per vehicle, numpy throughout):

- **How many**: ``vehicles_per_km`` per km of drive edges that are roads (each direction counts; a class
  not in ``ROAD_PREF``, such as a synthetic twin's footway, carries none), all the time: a
  vehicle that leaves the twin through a street cut by its bbox is replaced by one entering through another.
  Default 10 veh/km: an assumption between a main street's density (about 20 veh/km per direction at
  600 veh/h and 30 km/h; density = flow / speed) and a quiet side street's (a few).
- **Mix**: ``van_share`` vans, ``bus_share`` buses, the rest cars. Defaults 10 % vans and 5 % buses: an
  assumption close to the mix the City of Helsinki's cordon counts report for the inner city (mostly cars,
  vans next, buses a few per cent).
- **Sizes** (length x width x height): car 4.5 x 1.8 x 1.5 m (a compact family car, e.g. a VW Golf is
  4.28 x 1.79 x 1.46 m), van 6.0 x 2.0 x 2.6 m (a Mercedes-Benz Sprinter panel van is 5.9-7.4 m long,
  2.0 m wide, 2.4-2.8 m high), bus 12.0 x 2.55 x 3.1 m (a 12 m city bus; 2.55 m is the EU width limit,
  Directive 96/53/EC). Targets carry the width, as the other vehicles of the model do.
- **Where**: at the end of a street a vehicle turns into one of the next streets with probability
  proportional to ``ROAD_PREF`` of its class (main streets carry more), buses only main streets
  (``BUS_PREF``), never straight back unless it is a dead end.
- **Speed**: each edge's ``speed_kph`` (osmnx's, from the speed limit) times a per-vehicle factor
  ~ N(``speed_factor``, ``speed_factor_sd``) (0.9 +- 0.08 by default: drivers keep a little under the limit
  in town, an assumption), buses x0.85; accelerating at most ``accel_mps2`` (1.5 m/s², a normal car's
  comfortable acceleration), slowing at ``brake_mps2`` (2 m/s², comfortable braking) before a turn of more
  than 35 degrees to ``turn_kph`` (20 km/h) and before a kerb stop; following the vehicle ahead (the same
  edge, or the first one on the next edge) at a time gap of ``headway_s`` (1.5 s) plus 2 m (a
  Newell-type car-following rule). Traffic lights and priorities are not modelled: vehicles slow at turns
  but never queue at a red light.
- **Lane**: 1.6 m right of the centre line on two-way streets (half a 3.2 m lane), the centre of one-way
  streets; at the kerb (half the road width, 3 m per lane from OSM ``lanes``, less 1 m) while stopped;
  sideways moves at 1 m/s.
- **Kerb stops**: entering a street at least 30 m long, a van stops on it with probability
  ``1 - exp(-length / (1000 * van_stop_every_km))``, a car with ``car_stop_every_km``; buses never. Stops last
  ~ lognormal with median ``van_stop_median_s`` / ``car_stop_median_s`` and log-sd ``stop_log_sd``.
  Defaults: a van stops about once per km (a city courier's round: tens of stops on tens of km a day) for
  about 6 min (median), a car once per 10 km for about 1 min (a pick-up or drop-off); assumptions. At the
  start, vans are already at a stop with the share of time their round spends stopped.
- **Square deliveries**: ``square_deliveries_per_km2_h`` times per hour and km² of the twin a van leaves
  the drive node nearest a square at 2 m/s (walking pace, what the Finnish Road Traffic Act asks on a
  pedestrian street), stops on the square for ~ lognormal(median ``van_stop_median_s``) and drives back the
  same way. Default 0.5 per km² and hour, an assumption (deliveries to pedestrian streets happen mostly in
  the morning).

Records (each with ``lookalike: road_traffic``): ``spawned`` (``cls: vehicle``, ``vehicle``: car, van or
bus) and ``left`` per vehicle, ``kerb_stop`` (``vehicle``, ``duration_s``, ``place`` for a square) and
``kerb_stop_end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from agents.lookalikes.base import Lookalike, LookalikeParams
from agents.lookalikes.movers import EdgeNet, GraphMovers, edge_net
from agents.lookalikes.paths import Agenda, TimedPaths, walk_times
from agents.lookalikes.sites import area_km2, spots_in, squares
from agents.world import VEHICLE, Targets
from twin.roads import LANE_M as _LANE_M
from twin.roads import osm_number, osm_values

__all__ = ["BUS_PREF", "ROAD_PREF", "VEHICLE_TYPES", "RoadTraffic"]

#: name -> (length, width, height) in metres; see the module docstring for the sources.
VEHICLE_TYPES = {"car": (4.5, 1.8, 1.5), "van": (6.0, 2.0, 2.6), "bus": (12.0, 2.55, 3.1)}
_CAR, _VAN, _BUS = 0, 1, 2
#: preference of a street class (OSM ``highway``) for cars and vans (assumption: main streets carry more);
#: a class not listed (a footway in a synthetic twin's drive graph) carries no traffic.
ROAD_PREF = {"motorway": 8.0, "motorway_link": 4.0, "trunk": 8.0, "trunk_link": 4.0, "primary": 8.0,
             "primary_link": 4.0, "secondary": 6.0, "secondary_link": 3.0, "tertiary": 3.0,
             "tertiary_link": 2.0, "unclassified": 1.5, "residential": 1.0, "road": 1.0, "living_street": 0.3,
             "service": 0.3}
#: the same for buses: they keep to the main streets.
BUS_PREF = {"primary": 8.0, "primary_link": 4.0, "secondary": 6.0, "secondary_link": 3.0, "tertiary": 3.0,
            "tertiary_link": 2.0}
_TURN_DEG, _S0_M = 35.0, 2.0
_BUS_SPEED = 0.85


def _share_rule(data, path, report) -> None:
    van, bus = data.get("van_share", 0.10), data.get("bus_share", 0.05)
    if isinstance(van, int | float) and isinstance(bus, int | float) and van + bus > 1:
        report.error(path, "van_share + bus_share must be at most 1")


def _pref(v, table: dict[str, float]) -> float:
    """A way's preference: the highest of its classes' (order-free: merged ways list several)."""
    return max((table.get(str(h), 0.0) for h in osm_values(v)), default=0.0)


class RoadTraffic(Lookalike):
    """Cars, vans and buses on the drive graph, stopping at the kerb and delivering to squares."""

    key = "road_traffic"
    #: cars near and in pedestrian areas; a car taken for a person or a bag
    explains = frozenset({"vehicle_intrusion", "running", "abandoned_object"})
    rank = 10

    @dataclass(frozen=True)
    class Params(LookalikeParams):
        RULES = (_share_rule,)

        vehicles_per_km: float = field(default=10.0, metadata={
            "ge": 0, "le": 200, "doc": "vehicles per km of drive edges (each direction counts)"})
        van_share: float = field(default=0.10, metadata={"ge": 0, "le": 1, "doc": "share of vans"})
        bus_share: float = field(default=0.05, metadata={"ge": 0, "le": 1, "doc": "share of buses"})
        speed_factor: float = field(default=0.9, metadata={
            "gt": 0, "le": 1.5, "doc": "mean speed as a share of each street's speed limit"})
        speed_factor_sd: float = field(default=0.08, metadata={"ge": 0, "le": 0.5, "doc": "its spread (sd)"})
        accel_mps2: float = field(default=1.5, metadata={"gt": 0, "le": 10, "doc": "acceleration (m/s²)"})
        brake_mps2: float = field(default=2.0, metadata={"gt": 0, "le": 10, "doc": "braking (m/s²)"})
        turn_kph: float = field(default=20.0, metadata={"gt": 0, "le": 100, "doc": "speed in a turn"})
        headway_s: float = field(default=1.5, metadata={
            "gt": 0, "le": 10, "doc": "time gap to the vehicle ahead (s)"})
        van_stop_every_km: float = field(default=1.0, metadata={
            "gt": 0, "doc": "a van stops at the kerb about once per this many km"})
        car_stop_every_km: float = field(default=10.0, metadata={
            "gt": 0, "doc": "a car stops at the kerb about once per this many km"})
        van_stop_median_s: float = field(default=360.0, metadata={"gt": 0, "doc": "median van stop (s)"})
        car_stop_median_s: float = field(default=60.0, metadata={"gt": 0, "doc": "median car stop (s)"})
        stop_log_sd: float = field(default=0.6, metadata={"ge": 0, "le": 3, "doc": "log-sd of stop times"})
        square_deliveries_per_km2_h: float = field(default=0.5, metadata={
            "ge": 0, "doc": "vans driving into a square per km² of the twin and hour"})

    # ------------------------------------------------------------------ set-up
    def start(self, t0: float) -> None:
        s, rng, model = self.params, self.rng, self.model
        self.net: EdgeNet = edge_net(model.twin.drive)
        net = self.net
        pref = np.array([[_pref(d.get("highway"), ROAD_PREF) for d in net.data],
                         [_pref(d.get("highway"), BUS_PREF) for d in net.data]]).reshape(2, -1)
        n = int(round(s.vehicles_per_km * net.length[pref[0] > 0].sum() / 1000.0))
        share = np.array([max(1.0 - s.van_share - s.bus_share, 0.0), s.van_share, s.bus_share])
        vtype = rng.choice(3, size=n, p=share / share.sum())
        if not (pref[1] > 0).any():        # no main street: the buses are cars
            vtype[vtype == _BUS] = _CAR
        self.mv = GraphMovers(net, pref, (vtype == _BUS).astype(np.int64), rng=rng, blend_m=15.0,
                              lateral_of=lambda rows, edges: self.lane_lat[edges])
        mv = self.mv
        self.vtype = vtype
        dims = np.array(list(VEHICLE_TYPES.values()))
        self.dims = dims
        self.factor = np.clip(rng.normal(s.speed_factor, s.speed_factor_sd, mv.n), 0.5, 1.3)
        self.factor[self.vtype == _BUS] *= _BUS_SPEED
        kph = np.array([osm_number(d.get("speed_kph")) or 30.0 for d in net.data])
        self.v_edge = kph / 3.6
        lanes = np.array([osm_number(d.get("lanes")) for d in net.data])
        two_way = net.rev >= 0
        lanes = np.where(lanes > 0, lanes, np.where(two_way, 2.0, 1.0))
        self.lane_lat = np.where(two_way, _LANE_M / 2, 0.0)
        self.kerb_lat = np.maximum(lanes * _LANE_M / 2 - 1.0, self.lane_lat)
        self.ids = np.array([model.new_target_id() for _ in range(mv.n)], np.int64)
        self.stop_at = np.full(mv.n, -1.0)            # planned kerb stop (offset on the edge), -1 none
        self.parked_until = np.full(mv.n, -np.inf)
        self.agenda = Agenda(self)
        mv.lateral[:] = self.lane_lat[mv.edge]
        mv.speed[:] = self.v_edge[mv.edge] * self.factor
        parked, left = self._initial_stops()
        xy = mv.positions()
        names = list(VEHICLE_TYPES)
        for i in range(mv.n):
            self.record("spawned", int(self.ids[i]), xy[i], t0, cls="vehicle", vehicle=names[self.vtype[i]])
        self._park(parked, t0, left)
        self._squares_setup(t0)

    def _stop_every_m(self, rows: np.ndarray) -> np.ndarray:
        s = self.params
        return np.select([self.vtype[rows] == _VAN, self.vtype[rows] == _CAR],
                         [1000.0 * s.van_stop_every_km, 1000.0 * s.car_stop_every_km], np.inf)

    def _stop_s(self, rows: np.ndarray) -> np.ndarray:
        s = self.params
        med = np.where(self.vtype[rows] == _VAN, s.van_stop_median_s, s.car_stop_median_s)
        return med * np.exp(self.rng.normal(0.0, s.stop_log_sd, len(rows)))

    def _initial_stops(self) -> tuple[np.ndarray, np.ndarray]:
        """Vans (and cars) already at a stop at the start (the share of time their round spends stopped),
        put at the kerb; returns them and what is left of their stops (s)."""
        s, mv = self.params, self.mv
        rows = np.flatnonzero(self.vtype != _BUS)
        drive_s = self._stop_every_m(rows) / np.maximum(self.v_edge[mv.edge[rows]] * self.factor[rows], 1.0)
        med = np.where(self.vtype[rows] == _VAN, s.van_stop_median_s, s.car_stop_median_s)
        mean_stop = med * np.exp(s.stop_log_sd ** 2 / 2)
        stopped = self.rng.random(len(rows)) < mean_stop / (mean_stop + drive_s)
        stopped &= self.net.length[mv.edge[rows]] >= 30.0
        r = rows[stopped]
        left = self._stop_s(r) * self.rng.random(len(r))
        self.mv.lateral[r] = self.kerb_lat[self.mv.edge[r]]
        self.mv.speed[r] = 0.0
        return r, left

    def _park(self, rows: np.ndarray, t: float, dur: np.ndarray) -> None:
        mv = self.mv
        self.parked_until[rows] = t + dur
        self.stop_at[rows] = -1.0
        mv.speed[rows] = 0.0
        xy = self.net.at(mv.edge[rows], mv.offset[rows], self.kerb_lat[mv.edge[rows]])[0]
        names = list(VEHICLE_TYPES)
        for i, r in enumerate(rows.tolist()):
            self.record("kerb_stop", int(self.ids[r]), xy[i], t, vehicle=names[self.vtype[r]],
                        duration_s=round(float(dur[i]), 1))
            self.agenda.record(t + float(dur[i]), "kerb_stop_end", int(self.ids[r]), xy[i])

    # ------------------------------------------------------------------ the tick
    def step(self, t: float, dt: float) -> None:
        t1 = t + dt
        if self.mv.n:
            self._drive(t, dt)
        self._squares_step(t, t1)
        self.agenda.run(t1)

    def _limits(self, v_des: np.ndarray, moving: np.ndarray) -> np.ndarray:
        """Speed each vehicle may reach now: the turn ahead, a planned stop, the vehicle ahead."""
        s, mv, net = self.params, self.mv, self.net
        e, off = mv.edge, mv.offset
        to_end = net.length[e] - off
        has = mv.nxt >= 0
        turn = np.zeros(mv.n)
        turn[has] = net.turn_deg(e[has], mv.nxt[has])
        v_node = np.where(turn > _TURN_DEG, np.minimum(v_des, s.turn_kph / 3.6), v_des)
        lim = np.minimum(v_des, np.sqrt(v_node ** 2 + 2 * s.brake_mps2 * np.maximum(to_end, 0.0)))
        stop = self.stop_at >= 0
        room = np.maximum(self.stop_at[stop] - off[stop], 0.0)
        lim[stop] = np.minimum(lim[stop], np.sqrt(2 * s.brake_mps2 * room))
        gap = self._gaps(moving)
        return np.minimum(lim, np.maximum(gap - _S0_M, 0.0) / s.headway_s)

    def _gaps(self, moving: np.ndarray) -> np.ndarray:
        """Free distance (m) to the moving vehicle ahead on the same or the next edge (inf if none)."""
        mv, net = self.mv, self.net
        length = self.dims[self.vtype, 0]
        gap = np.full(mv.n, np.inf)
        rows = np.flatnonzero(moving)
        if not len(rows):
            return gap
        key = mv.edge[rows] * 1e6 + mv.offset[rows]
        o = rows[np.argsort(key, kind="stable")]
        same = mv.edge[o[1:]] == mv.edge[o[:-1]]
        ahead = mv.offset[o[1:]] - mv.offset[o[:-1]] - (length[o[1:]] + length[o[:-1]]) / 2
        gap[o[:-1][same]] = ahead[same]
        first = np.r_[True, ~same]
        first_off = np.full(net.n_edges, np.inf)
        first_len = np.zeros(net.n_edges)
        first_off[mv.edge[o[first]]] = mv.offset[o[first]]
        first_len[mv.edge[o[first]]] = length[o[first]]
        last = o[np.r_[~same, True]]
        nx_ = mv.nxt[last]
        ok = nx_ >= 0
        g2 = np.full(len(last), np.inf)
        g2[ok] = (net.length[mv.edge[last[ok]]] - mv.offset[last[ok]] + first_off[nx_[ok]]
                  - (length[last[ok]] + first_len[nx_[ok]]) / 2)
        gap[last] = g2
        return gap

    def _drive(self, t: float, dt: float) -> None:
        s, mv = self.params, self.mv
        t1 = t + dt
        parked = self.parked_until > t
        v_des = self.v_edge[mv.edge] * self.factor
        v = np.minimum(self._limits(v_des, ~parked), mv.speed + s.accel_mps2 * dt)
        v = np.where(parked, 0.0, np.maximum(v, 0.0))
        old_edge = mv.edge.copy()
        entered, gone = mv.advance(v, dt)
        target = np.where(parked, self.kerb_lat[mv.edge], self.lane_lat[mv.edge])
        changed = mv.edge != old_edge
        mv.lateral += np.clip(target - mv.lateral, -dt, dt)
        # a planned stop reached (braking to it overshoots by at most a metre): park there
        arrive = np.flatnonzero((self.stop_at >= 0) & ~changed & (mv.offset >= self.stop_at - 1.0))
        if len(arrive):
            mv.offset[arrive] = np.minimum(mv.offset[arrive], self.stop_at[arrive])
            self._park(arrive, t1, self._stop_s(arrive))
        self.stop_at[changed] = -1.0
        self._plan_stops(entered)
        if len(gone):
            self._replace(gone, t1)

    def _plan_stops(self, rows: np.ndarray) -> None:
        """Vehicles that just entered a street decide whether they stop at its kerb, and where."""
        if not len(rows):
            return
        net, mv = self.net, self.mv
        length = net.length[mv.edge[rows]]
        p = 1.0 - np.exp(-length / self._stop_every_m(rows))
        at = mv.offset[rows] + self.rng.uniform(0.25, 0.85, len(rows)) * (length - mv.offset[rows])
        go = (self.rng.random(len(rows)) < p) & (length >= 30.0) & (at - mv.offset[rows] > 10.0)
        self.stop_at[rows[go]] = at[go]

    def _replace(self, rows: np.ndarray, t: float) -> None:
        """Vehicles that left through the twin's edge: recorded as left, another vehicle enters."""
        mv = self.mv
        xy = mv.positions(rows)
        for i, r in enumerate(rows.tolist()):
            self.record("left", int(self.ids[r]), xy[i], t)
        mv.enter(rows)
        mv.lateral[rows] = self.lane_lat[mv.edge[rows]]
        mv.speed[rows] = self.v_edge[mv.edge[rows]] * self.factor[rows]
        self.stop_at[rows] = -1.0
        xy = mv.positions(rows)
        names = list(VEHICLE_TYPES)
        for i, r in enumerate(rows.tolist()):
            self.ids[r] = self.model.new_target_id()
            self.record("spawned", int(self.ids[r]), xy[i], t, cls="vehicle", vehicle=names[self.vtype[r]])

    # ------------------------------------------------------------------ square deliveries
    def _squares_setup(self, t0: float) -> None:
        s = self.params
        self.vans = TimedPaths(VEHICLE)
        self.squares = squares(self.model.twin)
        rate = s.square_deliveries_per_km2_h * area_km2(self.model.twin) / 3600.0
        self.sq_rate = rate if self.squares and self.model.twin.drive.number_of_nodes() else 0.0
        self.next_sq = t0 + (self.rng.exponential(1.0 / self.sq_rate) if self.sq_rate > 0 else np.inf)

    def _squares_step(self, t: float, t1: float) -> None:
        while self.next_sq <= t1:
            self._square_delivery(self.next_sq)
            self.next_sq += self.rng.exponential(1.0 / self.sq_rate)
        if len(self.vans) > 64:
            self.vans.prune(t1)

    def _square_delivery(self, t: float) -> None:
        """A van from the nearest street into a square at walking pace, a stop there, and back out."""
        s, rng, model = self.params, self.rng, self.model
        sq = self.squares[int(rng.integers(len(self.squares)))]
        spot = spots_in(sq.polygon, 1, rng)[0]
        walk = model.walk
        road = model.drive.node_xy(model.drive.nearest(spot))
        a, b = walk.nearest(road), walk.nearest(spot)
        try:
            inner = walk.polyline(walk.path(a, b))[0] if a != b else walk.node_xy(a).reshape(1, 2)
        except nx.NetworkXNoPath:
            return
        pts = np.vstack([road, inner, spot])
        speed = 2.0
        dwell = s.van_stop_median_s * float(np.exp(rng.normal(0.0, s.stop_log_sd)))
        t_in = walk_times(pts, speed, t)
        back = pts[::-1]
        t_out = walk_times(back, speed, t_in[-1] + dwell)
        tid = model.new_target_id()
        L, W, H = VEHICLE_TYPES["van"]
        self.vans.add(tid, np.vstack([pts, back]), np.concatenate([t_in, t_out]), height=H, width=W)
        self.record("spawned", tid, road, t, cls="vehicle", vehicle="van", place=sq.id, place_name=sq.name)
        self.agenda.record(t_in[-1], "kerb_stop", tid, spot, vehicle="van", duration_s=round(dwell, 1),
                           place=sq.id, place_name=sq.name)
        self.agenda.record(t_out[0], "kerb_stop_end", tid, spot)
        self.agenda.record(t_out[-1], "left", tid, road)

    # ------------------------------------------------------------------ what sensors see
    def targets(self) -> Targets | None:
        mv = self.mv
        parts = [self.vans.targets(self.model.t)]
        if mv.n:
            dims = self.dims[self.vtype]
            parts.append(Targets(ids=self.ids.copy(), cls=np.full(mv.n, VEHICLE, np.int8), xy=mv.positions(),
                                 height_m=dims[:, 2], width_m=dims[:, 1], speed=mv.speed.copy()))
        return Targets.concat(parts)
