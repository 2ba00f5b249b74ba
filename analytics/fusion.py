"""Incident fusion: alerts from every source (video, acoustic, counters, cyber, camera health) associated
into incidents, with the evidence combined, the location estimated, and cyber-physical (``hybrid``)
correlation.

Association of an alert to an open incident of its group (physical, cyber, video loss; see
``analytics.fusion_alerts.GROUP``) tries these rules in order and takes the first that finds one; each
contributing alert keeps its rule and details as ``reason``:

1. ``same_host``: a cyber or camera-loss alert naming a host (address in ``source``, or camera) the incident
   names, else a host on the same network segment (the switch both hang off) when a network is given;
2. ``same_asset``: the alert is at an asset (inside its polygon or within its type's reach) one of the
   incident's alerts is at;
3. ``space_time``: within ``r + gate_sigmas * hypot(sigma_incident, sigma_alert)`` metres (the sigma term
   capped at ``sigma_cap_m``) and ``t`` seconds, with ``(r, t)`` the larger of the alert's and the incident's
   kind gate (``DEFAULT_GATES``);
4. ``same_zone``: the alert names the zone of the incident;
5. ``dependency``: the alert is at an asset that provides for or depends on an asset of the incident.

Every rule also needs the time gate. Ties go to the nearest (space-time) or most recent incident, then the
oldest. Incidents are never merged afterwards. A closed incident (idle past ``idle_s``, or resolved,
dismissed or closed by an operator) takes no more alerts: a new one starts.

Only open incidents are compared, found through a coarse grid (space-time) or a dict (host, segment, asset,
zone): an alert costs the few incidents near it, not a scan of all.

An incident's ``hosts`` are the addresses its alerts name in ``source`` (with a lost camera's address);
its ``cameras`` those that see its location (``FusionContext.cameras_seeing``), its ``assets`` those at it.

Evidence: ``analytics.evidence`` (Dempster-Shafer with discounting; the confidence is the belief).
``observe`` takes area-counter readings (``counter/area`` messages): a counter that sees no crowd in the
zone of a video crowd claim (surge, dispersal) contradicts it.

Hybrid: a physical incident is ``hybrid`` when (a) a camera within ``hybrid_radius_m`` of it (or whose view
holds it) was lost (stream loss, frozen or replayed video, tamper) from ``loss_before_s`` before its first
alert to ``loss_after_s`` after its last; or (b) a cyber incident against the video system (a host whose
loss cuts cameras off the video management server: the vms, a switch, a camera) by an attack that takes
hosts down (``blinding_kinds``: a DoS; a scan, a brute force or a beacon blinds nothing, and a hijack's
lost streams are rule (a)) began before it (up to
``cyber_lag_s`` after, for detection delay; at most ``cyber_before_s`` before) and was active up to
``blind_after_s`` before it, and one of the cameras it blinded is near the physical incident.
The reason names the cameras, alerts and the cyber incident's id.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import networkx as nx

from analytics.evidence import EvidencePool, Reliability
from analytics.fusion_alerts import GROUP, PRECEDENCE, FusionInputError, LocationParams, Obs, read_alert
from analytics.fusion_context import ASSET_RADIUS_M, FusionContext, Grid
from analytics.fusion_hybrid import HybridLinker
from analytics.incidents import INCIDENT_KINDS, Incident

__all__ = ["DEFAULT_GATES", "Fusion", "FusionInputError", "FusionParams", "FusionParamsError", "Gate"]


@dataclass(frozen=True, slots=True)
class Gate:
    """Association gate of one incident kind: alerts within ``r_m`` metres and ``t_s`` seconds join."""

    r_m: float
    t_s: float


#: Gates per incident kind, and why: an armed attack spreads as people flee and the attacker moves (150 m,
#: 2 min); a blast's effects and evacuation cover more (200 m, 3 min); a vehicle covers 300 m in ~25 s at
#: ramming speed, but the attack is over within a minute; an abandoned object stays put but is confirmed
#: slowly (30 m, 10 min); an intruder stays near the breach (50 m, 5 min); behaviour is local and brief
#: (50 m, 2 min); a crowd emergency covers a zone and builds over minutes (100 m, 5 min); camera losses of
#: one cause come together (200 m, 5 min). Cyber incidents have no place (r unused): a campaign on one host
#: runs for an hour; a DoS episode is one alert per 5 min of flooding (15 min).
DEFAULT_GATES: Mapping[str, Gate] = MappingProxyType({
    "armed_attack": Gate(150.0, 120.0), "explosion": Gate(200.0, 180.0), "vehicle_attack": Gate(300.0, 60.0),
    "suspicious_object": Gate(30.0, 600.0), "intrusion": Gate(50.0, 300.0),
    "suspicious_behaviour": Gate(50.0, 120.0), "crowd_emergency": Gate(100.0, 300.0),
    "cyber_attack": Gate(0.0, 3600.0), "dos": Gate(0.0, 900.0), "video_tamper": Gate(200.0, 300.0),
})


class FusionParamsError(ValueError):
    """A fusion parameter out of range."""


@dataclass(frozen=True, slots=True)
class FusionParams:
    """Fusion's parameters.

    Parameters
    ----------
    gates : ``Gate`` per incident kind (default ``DEFAULT_GATES``).
    gate_sigmas : the space gate widens by this many combined 1-sigma location errors (default 2, about the
        95 % radius of one axis).
    sigma_cap_m : ... at most by this many metres (default 50), so a vague location cannot swallow a city.
    idle_s : an incident with no alert for this long is closed to association. Default None: per group, its
        kinds' longest time gate (an incident idle longer could match no alert in time order anyway).
    camera_range_m : a camera without a view polygon sees a location this close (default 60 m: people are
        still recognisable in urban CCTV; EN 62676-4's "observe" level).
    hybrid_radius_m : lost cameras this close to a physical incident blinded it (default 120 m: the cameras
        that would have watched the approach).
    loss_before_s, loss_after_s : camera losses from this long before the first alert (default 600 s: a
        site is blinded minutes before the act) to this long after the last (default 120 s: a camera shot
        or covered during the act) count.
    cyber_before_s : a cyber incident against the video system at most this long before the physical one
        counts (default 1800 s: a campaign precedes the act by up to half an hour).
    cyber_lag_s : ... or starting up to this long after it (default 60 s: a DoS alert comes at the end of a
        counting bin and after its baseline test).
    blind_after_s : the cyber incident's last alert at most this long before the physical one (default 900
        s: a DoS alerts once per episode, so the flood may be still on long after its alert).
    blinding_kinds : cyber alert kinds whose targets are taken down, for rule (b) (default ``("dos",)``).
    no_crowd_p_m2 : a counter density below this is "no crowd" (default 0.31 P/m², Fruin level A: free flow).
    no_crowd_conf : the confidence of a "no crowd" reading as contradicting evidence (default 0.8).
    contra_window_s : a counter reading this close in time to a crowd claim contradicts it (default 30 s).
    min_weight : the smallest weight of an alert in the location mean (default 0.01, for ``conf`` 0).
    reliability : source-class reliabilities (``analytics.evidence.Reliability``).
    location : alert location uncertainties (``analytics.fusion_alerts.LocationParams``).
    asset_radius : reach of an asset around its point, by type (``ASSET_RADIUS_M``).
    """

    gates: Mapping[str, Gate] = field(default_factory=lambda: DEFAULT_GATES)
    gate_sigmas: float = 2.0
    sigma_cap_m: float = 50.0
    idle_s: float | None = None
    camera_range_m: float = 60.0
    hybrid_radius_m: float = 120.0
    loss_before_s: float = 600.0
    loss_after_s: float = 120.0
    cyber_before_s: float = 1800.0
    cyber_lag_s: float = 60.0
    blind_after_s: float = 900.0
    blinding_kinds: tuple[str, ...] = ("dos",)
    no_crowd_p_m2: float = 0.31
    no_crowd_conf: float = 0.8
    contra_window_s: float = 30.0
    min_weight: float = 0.01
    reliability: Reliability = field(default_factory=Reliability)
    location: LocationParams = field(default_factory=LocationParams)
    asset_radius: Mapping[str, float] = field(default_factory=lambda: ASSET_RADIUS_M)

    def __post_init__(self) -> None:
        missing = [k for k in INCIDENT_KINDS if k not in self.gates]
        if missing:
            raise FusionParamsError(f"fusion params: gates lacks the kinds {missing}")
        for k, g in self.gates.items():
            if not (isinstance(g, Gate) and 0 <= g.r_m < math.inf and 0 <= g.t_s < math.inf):
                raise FusionParamsError(f"fusion params: gates[{k!r}] must be a Gate of finite r_m, t_s >= 0")
        for name in ("gate_sigmas", "sigma_cap_m", "camera_range_m", "hybrid_radius_m", "loss_before_s",
                     "loss_after_s", "cyber_before_s", "cyber_lag_s", "blind_after_s", "no_crowd_p_m2",
                     "contra_window_s", "min_weight"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0 <= v < math.inf):
                raise FusionParamsError(f"fusion params: {name} must be a finite number >= 0, got {v!r}")
        if self.idle_s is not None and not (0 < self.idle_s < math.inf):
            raise FusionParamsError(f"fusion params: idle_s must be a positive number or None, "
                                    f"got {self.idle_s!r}")
        if not 0 <= self.no_crowd_conf <= 1:
            raise FusionParamsError(f"fusion params: no_crowd_conf must be in [0, 1], "
                                    f"got {self.no_crowd_conf!r}")


@dataclass(slots=True, eq=False)
class Track:
    """Fusion's working state of one incident: sums for its location, its evidence, what it is indexed by,
    and its cyber-physical links."""

    idx: int
    inc: Incident
    group: str
    pool: EvidencePool
    active: bool = True
    scheduled: bool = False                      # an expiry check is in the heap
    pos: tuple[float, float] | None = None      # unrounded location (grid key position)
    origin: tuple[float, float] | None = None   # the first located alert: sums are offsets from it
    sums: list[float] = field(default_factory=lambda: [0.0] * 6)  # w, w dx, w dy, w d^2, w s^2, w^2
    ll_sums: list[float] = field(default_factory=lambda: [0.0] * 3)  # w, w lon, w lat
    keys: set[str] = field(default_factory=set)
    segments: set[str] = field(default_factory=set)
    assets: set[str] = field(default_factory=set)
    zones: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    crowd_claim: bool = False
    victims: set[str] = field(default_factory=set)
    video_victims: set[str] = field(default_factory=set)
    blinded: frozenset[str] = frozenset()
    loss_linked: bool = False
    cyber_linked: set[int] = field(default_factory=set)
    near: tuple[tuple[float, float], list[tuple[str, float]]] | None = None  # cameras near pos (cache)


_CROWD_KINDS = ("crowd_emergency", "suspicious_behaviour")


class Fusion:
    """Alerts in, incidents out.

    Parameters
    ----------
    cameras, network, assets, dependencies, to_lonlat, zones
        The context as plain data (``analytics.fusion_context.FusionContext``).
    params
        ``FusionParams``.
    sop_dir
        Where the SOP tables are (default: the package's ``analytics/sop``).

    ``push(alert)`` returns the incident dicts the alert created or changed, in incident order;
    ``incidents()`` all of them. ``incident(id)`` gives the ``Incident`` for operator actions.
    """

    def __init__(self, *, cameras: Mapping[str, Mapping[str, Any]] | None = None,
                 network: nx.Graph | None = None, assets: Sequence[Mapping[str, Any]] | None = None,
                 dependencies: nx.DiGraph | None = None,
                 to_lonlat: Callable[[Sequence[float]], Sequence[float] | None] | None = None,
                 zones: Mapping[str, Sequence[Sequence[float]]] | None = None,
                 params: FusionParams | None = None, sop_dir: str | None = None) -> None:
        self.p = p = FusionParams() if params is None else params
        self.ctx = FusionContext(cameras=cameras, network=network, assets=assets, dependencies=dependencies,
                                 to_lonlat=to_lonlat, zones=zones, asset_radius=p.asset_radius,
                                 cell_m=max(p.camera_range_m, p.hybrid_radius_m, 50.0))
        self._sop_dir = sop_dir
        self.tracks: list[Track] = []
        self._active: set[int] = set()
        self._query_r = max(g.r_m for g in p.gates.values()) + p.gate_sigmas * p.sigma_cap_m
        # one grid per group that has places: an alert meets only incidents it may join
        self._grids = {g: Grid(max(self._query_r, 50.0)) for g in sorted(set(GROUP.values()))}
        # (alert's incident kind, incident kind) -> (r, t): the larger of the two kinds' gates
        self._pair = {(a, b): (max(ga.r_m, gb.r_m), max(ga.t_s, gb.t_s))
                      for a, ga in p.gates.items() for b, gb in p.gates.items()}
        self._index: dict[str, dict[str, set[int]]] = {n: {} for n in ("host", "segment", "asset", "zone")}
        self._expiry: list[tuple[float, int]] = []
        self._idle: dict[str, float] = {}
        for kind, g in p.gates.items():
            grp = GROUP[kind]
            self._idle[grp] = p.idle_s or max(self._idle.get(grp, 0.0), g.t_s, p.contra_window_s,
                                              p.loss_after_s if grp == "physical" else 0.0)
        self._now = -math.inf
        self._n = 0
        self._no_crowd: dict[str, dict[str, float]] = {}  # zone -> counter -> time of its last no-crowd
        self.hybrid = HybridLinker(self)
        #: candidate incidents association has examined (every rule; the index keeps this small)
        self.compared = 0

    # -- public ---------------------------------------------------------------------------------------

    def push(self, alert: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Fuse one alert; the incident dicts it created or changed, in incident order.

        Raises
        ------
        FusionInputError
            The alert is not an alert record (one line naming the alert and field).
        """
        ob = read_alert(alert, self._n + 1, self.ctx, self.p.location)
        self._n += 1
        self._advance(ob.t)
        touched: set[int] = set()
        if ob.lost:
            self.hybrid.record_losses(ob)
        tr, reason = self._associate(ob)
        if tr is None:
            tr = self._create(ob)
        self._add(tr, ob, reason)
        touched.add(tr.idx)
        if tr.group == "physical" and tr.pos is not None:
            self.hybrid.check(tr, ob.t, touched)
        if ob.lost:
            self.hybrid.losses_to_incidents(ob, touched)
        if tr.group == "cyber" and ob.victims:
            self.hybrid.cyber_victims(tr, ob, touched)
        if tr.crowd_claim and tr.inc.kind in _CROWD_KINDS:
            self._apply_no_crowd(tr, ob.t, touched)
        return [self.tracks[i].inc.to_dict() for i in sorted(touched)]

    def observe(self, msg: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Read a sensor message; an area counter (``counter/area``: ``t, sensor_id, zone, count,
        area_m2``) that sees no crowd contradicts the video crowd claims of its zone. The incident dicts
        it changed; other messages change nothing."""
        if not isinstance(msg, Mapping) or msg.get("topic") != "counter/area":
            return []
        t, count, area = msg.get("t"), msg.get("count"), msg.get("area_m2")
        sensor = msg.get("sensor_id")
        for name, v in (("t", t), ("count", count), ("area_m2", area)):
            if not (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)):
                raise FusionInputError(f"counter/area {sensor!r}: {name} must be a finite number, got {v!r}")
        if area <= 0:
            raise FusionInputError(f"counter/area {sensor!r}: area_m2 must be > 0, got {area!r}")
        if not isinstance(sensor, str) or not sensor:
            raise FusionInputError(f"counter/area: sensor_id must be a non-empty string, got {sensor!r}")
        zone = str(msg.get("zone") or sensor)
        self._advance(float(t))
        seen = self._no_crowd.setdefault(zone, {})
        if count / area >= self.p.no_crowd_p_m2:
            seen.pop(sensor, None)
            return []
        seen[sensor] = float(t)
        touched: set[int] = set()
        w = self.p.contra_window_s
        for idx in sorted(self._index["zone"].get(zone, ())):
            tr = self.tracks[idx]
            if (self._open(tr) and tr.crowd_claim and tr.inc.kind in _CROWD_KINDS
                    and tr.inc.t_first - w <= t <= tr.inc.t_last + w):
                self._contradict(tr, sensor, float(t), touched)
        return [self.tracks[i].inc.to_dict() for i in sorted(touched)]

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident dict, in incident order."""
        return [tr.inc.to_dict() for tr in self.tracks]

    def incident(self, inc_id: str) -> Incident:
        """The incident ``inc_id`` (``INC-0001`` ...), for operator actions.

        Raises
        ------
        KeyError
            No incident has that id.
        """
        return self._track(inc_id).inc

    def _track(self, inc_id: str) -> Track:
        try:
            n = int(str(inc_id).rsplit("-", 1)[1])
        except (IndexError, ValueError):
            n = 0
        if not 1 <= n <= len(self.tracks) or self.tracks[n - 1].inc.id != inc_id:
            raise KeyError(f"no incident {inc_id!r}")
        return self.tracks[n - 1]

    def transition(self, inc_id: str, state: str, t: float, *, actor: str) -> dict[str, Any]:
        """Change an incident's state (``Incident.transition``); one no longer open takes no more alerts."""
        tr = self._track(inc_id)
        tr.inc.transition(state, t, actor=actor)
        if not tr.inc.is_open:
            self._deactivate(tr)
        return tr.inc.to_dict()

    def active_ids(self) -> list[str]:
        """The incidents still open to association."""
        return [self.tracks[i].inc.id for i in sorted(self._active)]

    # -- association ----------------------------------------------------------------------------------

    def _open(self, tr: Track) -> bool:
        if tr.active and not tr.inc.is_open:
            self._deactivate(tr)
        return tr.active

    def _gate(self, tr: Track, ob: Obs) -> tuple[float, float, float]:
        """The space and time gates for ``ob`` against ``tr``, and the time gap between them."""
        r, t = self._pair[ob.inc_kind, tr.inc.kind]
        return r, t, max(0.0, tr.inc.t_first - ob.t, ob.t - tr.inc.t_last)

    def _candidates(self, ob: Obs, ids: set[int] | Sequence[int]) -> list[tuple[Track, float]]:
        """Open incidents of ``ob``'s group among ``ids`` within the time gate, with their time gap."""
        out = []
        for idx in sorted(ids):
            self.compared += 1
            tr = self.tracks[idx]
            if tr.group != ob.group or not self._open(tr):
                continue
            _, t_gate, dt = self._gate(tr, ob)
            if dt <= t_gate:
                out.append((tr, dt))
        return out

    def _associate(self, ob: Obs) -> tuple[Track | None, dict[str, Any]]:
        for rule in (self._same_host, self._same_asset, self._space_time, self._same_zone, self._dependency):
            hit = rule(ob)
            if hit is not None:
                return hit
        return None, {"rule": "first"}

    def _latest(self, found: list[tuple[Track, dict[str, Any]]]) -> tuple[Track, dict[str, Any]] | None:
        """The most recently updated incident found (ties: the oldest)."""
        if not found:
            return None
        return min(found, key=lambda f: (-f[0].inc.t_last, f[0].idx))

    def _by_key(self, ob: Obs, index: str, keys: Sequence[str] | Sequence[tuple[str, str]],
                rule: str, detail: Callable[[Any], dict[str, Any]]) -> tuple[Track, dict[str, Any]] | None:
        found = []
        for key in keys:
            k = key[0] if isinstance(key, tuple) else key
            for tr, dt in self._candidates(ob, self._index[index].get(k, ())):
                found.append((tr, {"rule": rule, **detail(key), "dt_s": round(dt, 3)}))
        return self._latest(found)

    def _same_host(self, ob: Obs) -> tuple[Track, dict[str, Any]] | None:
        return (self._by_key(ob, "host", ob.host_keys, "same_host", lambda k: {"host": k})
                or self._by_key(ob, "segment", ob.segments, "same_host",
                                lambda sh: {"host": sh[1], "segment": sh[0]}))

    def _same_asset(self, ob: Obs) -> tuple[Track, dict[str, Any]] | None:
        return self._by_key(ob, "asset", ob.assets, "same_asset", lambda a: {"asset": a})

    def _same_zone(self, ob: Obs) -> tuple[Track, dict[str, Any]] | None:
        return self._by_key(ob, "zone", [ob.zone] if ob.zone else [], "same_zone", lambda z: {"zone": z})

    def _dependency(self, ob: Obs) -> tuple[Track, dict[str, Any]] | None:
        found = []
        for a in ob.assets:
            for edge in self.ctx.dependency_edges(a):
                other = edge[0] if edge[1] == a else edge[1]
                for tr, dt in self._candidates(ob, self._index["asset"].get(other, ())):
                    found.append((tr, {"rule": "dependency", "asset": other, "edge": list(edge),
                                       "dt_s": round(dt, 3)}))
        return self._latest(found)

    def _space_time(self, ob: Obs) -> tuple[Track, dict[str, Any]] | None:
        if ob.xy is None:
            return None
        best = None
        p, x, y = self.p, ob.xy[0], ob.xy[1]
        for idx in sorted(self._grids[ob.group].near(ob.xy, self._query_r)):
            self.compared += 1
            tr = self.tracks[idx]
            d = math.hypot(tr.pos[0] - x, tr.pos[1] - y)
            if d > self._query_r or not self._open(tr):
                continue
            r_gate, t_gate, dt = self._gate(tr, ob)
            gate = r_gate + p.gate_sigmas * min(math.hypot(tr.inc.sigma_m, ob.sigma), p.sigma_cap_m)
            if dt <= t_gate and d <= gate and (best is None or d / gate < best[0]):
                best = (d / gate if gate > 0 else 0.0, tr, d, dt)
        if best is None:
            return None
        return best[1], {"rule": "space_time", "distance_m": round(best[2], 2), "dt_s": round(best[3], 3)}

    # -- incident updates -----------------------------------------------------------------------------

    def _create(self, ob: Obs) -> Track:
        idx = len(self.tracks)
        inc = Incident(f"INC-{idx + 1:04d}", ob.inc_kind, ob.t, sop_dir=self._sop_dir)
        tr = Track(idx, inc, ob.group, EvidencePool(self.p.reliability))
        self.tracks.append(tr)
        self._active.add(idx)
        return tr

    def _add(self, tr: Track, ob: Obs, reason: dict[str, Any]) -> None:
        inc, t = tr.inc, ob.t
        inc.add_alert({"id": ob.id, "t": t, "kind": ob.kind, "source": list(ob.source), "conf": ob.conf,
                       "reason": reason})
        if PRECEDENCE.index(ob.inc_kind) < PRECEDENCE.index(inc.kind):
            inc.set_kind(ob.inc_kind, t)
        if tr.pool.add(ob.cls, ob.sensor_ids, ob.conf):
            inc.set_confidence(tr.pool.belief, t)
        if ob.xy is not None:
            self._locate(tr, ob)
        if ob.zone is not None and inc.zone is None:
            inc.set_context(t, zone=ob.zone)
        if not tr.ips.issuperset(ob.hosts):
            tr.ips.update(ob.hosts)
            inc.set_context(t, hosts=sorted(tr.ips))
        self._index_keys(tr, "host", ob.host_keys, tr.keys)
        self._index_keys(tr, "segment", [s for s, _ in ob.segments], tr.segments)
        self._index_keys(tr, "asset", ob.assets, tr.assets)
        self._index_keys(tr, "zone", [z for z in (ob.zone, inc.zone) if z], tr.zones)
        tr.crowd_claim |= ob.crowd_claim
        if not tr.scheduled:  # one pending expiry check per incident (re-armed when it comes due)
            tr.scheduled = True
            heapq.heappush(self._expiry, (inc.t_last + self._idle[tr.group], tr.idx))

    def _index_keys(self, tr: Track, index: str, keys: Sequence[str], have: set[str]) -> None:
        for k in keys:
            if k not in have:
                have.add(k)
                self._index[index].setdefault(k, set()).add(tr.idx)

    def _locate(self, tr: Track, ob: Obs) -> None:
        """Confidence-weighted mean of the located alerts; sigma is the standard error of that mean from
        the alerts' own sigmas and their spread (per axis)."""
        if tr.origin is None:
            tr.origin = ob.xy
        w = max(ob.conf, self.p.min_weight)
        dx, dy = ob.xy[0] - tr.origin[0], ob.xy[1] - tr.origin[1]
        s = tr.sums
        for i, v in enumerate((w, w * dx, w * dy, w * (dx * dx + dy * dy), w * ob.sigma ** 2, w * w)):
            s[i] += v
        mx, my = s[1] / s[0], s[2] / s[0]
        spread = max(0.0, s[3] / s[0] - mx * mx - my * my) / 2.0
        n_eff = s[0] * s[0] / s[5]
        sigma = math.sqrt((spread + s[4] / s[0]) / n_eff)
        pos = (tr.origin[0] + mx, tr.origin[1] + my)
        if ob.lonlat is not None:
            ll = tr.ll_sums
            ll[0], ll[1], ll[2] = ll[0] + w, ll[1] + w * ob.lonlat[0], ll[2] + w * ob.lonlat[1]
        lonlat = self._lonlat(tr, pos)
        grid = self._grids[tr.group]
        if tr.pos is not None:
            grid.remove(tr.idx, tr.pos)
        tr.pos = pos
        grid.add(tr.idx, pos)
        if tr.inc.set_location(list(pos), sigma, lonlat, ob.t):
            ctx = self.ctx
            tr.inc.set_context(ob.t, cameras=ctx.cameras_seeing(pos, self.p.camera_range_m),
                               assets=ctx.assets_at(pos))
            if tr.inc.zone is None and (z := ctx.zone_at(pos)) is not None:
                tr.inc.set_context(ob.t, zone=z)
                self._index_keys(tr, "zone", [z], tr.zones)

    def _lonlat(self, tr: Track, pos: tuple[float, float]) -> list[float] | None:
        if self.ctx.to_lonlat is not None:  # a projection that fails (None, inf) gives no lon/lat
            ll = self.ctx.to_lonlat(pos)
            ll = None if ll is None else [float(ll[0]), float(ll[1])]
            return ll if ll is not None and all(map(math.isfinite, ll)) else None
        w, lon, lat = tr.ll_sums
        return [lon / w, lat / w] if w > 0 else None

    def _contradict(self, tr: Track, sensor: str, t: float, touched: set[int]) -> None:
        if tr.pool.add("counter", [sensor], self.p.no_crowd_conf, against=True):
            tr.inc.note_evidence(t, source=sensor, against=True, conf=self.p.no_crowd_conf)
            tr.inc.set_confidence(tr.pool.belief, t)
            touched.add(tr.idx)

    def _apply_no_crowd(self, tr: Track, t: float, touched: set[int]) -> None:
        """No-crowd readings already seen in the incident's zones, within the contradiction window."""
        w = self.p.contra_window_s
        for zone in sorted(tr.zones):
            for sensor, tc in sorted(self._no_crowd.get(zone, {}).items()):
                if tr.inc.t_first - w <= tc <= tr.inc.t_last + w:
                    self._contradict(tr, sensor, t, touched)

    # -- closing --------------------------------------------------------------------------------------

    def _advance(self, t: float) -> None:
        """Move the clock to ``t``: incidents idle past their group's ``idle`` leave the index."""
        self._now = max(self._now, t)
        while self._expiry and self._expiry[0][0] < self._now:
            _, idx = heapq.heappop(self._expiry)
            tr = self.tracks[idx]
            tr.scheduled = False
            if not tr.active:
                continue
            due = tr.inc.t_last + self._idle[tr.group]
            if due < self._now:
                self._deactivate(tr)
            else:
                tr.scheduled = True
                heapq.heappush(self._expiry, (due, idx))
        self.hybrid.prune(self._now)

    def _deactivate(self, tr: Track) -> None:
        if not tr.active:
            return
        tr.active = False
        self._active.discard(tr.idx)
        if tr.pos is not None:
            self._grids[tr.group].remove(tr.idx, tr.pos)
        for index, keys in (("host", tr.keys), ("segment", tr.segments), ("asset", tr.assets),
                            ("zone", tr.zones)):
            for k in keys:
                ids = self._index[index].get(k)
                if ids is not None:
                    ids.discard(tr.idx)
                    if not ids:
                        del self._index[index][k]

    def near_physical(self, xy: Sequence[float], radius: float) -> list[Track]:
        """Open physical incidents with a location within ``radius`` of ``xy`` (grid lookup), in order."""
        out = []
        for idx in sorted(self._grids["physical"].near(xy, radius)):
            tr = self.tracks[idx]
            if math.hypot(tr.pos[0] - xy[0], tr.pos[1] - xy[1]) <= radius and self._open(tr):
                out.append(tr)
        return out

    def open_physical(self) -> list[Track]:
        """Every open physical incident with a location, in order."""
        return [tr for i in sorted(self._active) if (tr := self.tracks[i]).group == "physical"
                and tr.pos is not None and self._open(tr)]
