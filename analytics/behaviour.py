"""Behaviour detectors on ground tracks (``track/frame`` messages): abandoned object, running and sudden
dispersal, zone intrusion (loitering: ``analytics.loitering``; vehicles: ``analytics.vehicles``).

Each detector has a frozen parameter dataclass with documented defaults and emits one alert per episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.base import Detector, DetectorContext, EpisodeFilter, make_alert
from analytics.geometry import Zones
from analytics.tracks import Persistence, TrackHistory, track_frame

__all__ = ["AbandonedObjectDetector", "AbandonedParams", "RunningDetector", "RunningParams",
           "ZoneIntrusionDetector", "ZoneIntrusionParams"]


@dataclass(frozen=True, slots=True)
class AbandonedParams:
    """Abandoned object: a static object its owner has left, or with no person near it.

    The owner is the person nearest the object (within ``person_radius_m``) when the object first appears.
    With an owner, only the owner attends the object, so passers-by in a crowd do not hide it; without
    one, any person within ``person_radius_m`` does.

    Parameters
    ----------
    static_radius_m : the object counts as static while it stays within this distance (default 1 m).
    unattended_s : seconds static and unattended before an alert (default 60 s).
    person_radius_m : a person (or the owner) closer than this attends the object (default 3 m).
    forget_s : an object track unseen for this long is dropped (default 30 s).
    min_seen_frac : the object must have been tracked in at least this share of its camera's frames since
        it appeared (default 0.5; its re-numbered tracks count as one): a bag on the ground is detected in
        most frames it is in view, a bin or a bench that the detector calls a bag now and then is not.
    hold_s : alerts within ``static_radius_m`` * 5 and this time are one episode (default 900 s).
    conf : confidence given to the alert.
    """

    static_radius_m: float = 1.0
    unattended_s: float = 60.0
    person_radius_m: float = 3.0
    forget_s: float = 30.0
    min_seen_frac: float = 0.5
    hold_s: float = 900.0
    conf: float = 0.8


@dataclass(slots=True)
class _Object:
    x: float
    y: float
    owner: str | None
    alone_since: float | None
    last: float
    frame0: int = 0  # its camera's frame count when it appeared
    seen: int = 1    # frames it was tracked in since


class AbandonedObjectDetector(Detector):
    """Static object tracks left unattended (by their owner, else by everyone) for ``unattended_s``."""

    name = "abandoned"
    alert_kinds = ("abandoned_object",)
    Params = AbandonedParams
    topics = ("track/frame",)

    def __init__(self, params: AbandonedParams = AbandonedParams()) -> None:
        self.p = params
        self._obj: dict[str, _Object] = {}
        self._frames: dict[str, int] = {}  # frames seen per camera
        self._prev_t = self._last_prune = float("-inf")  # time of the previous frame, of the last sweep
        self._episodes = EpisodeFilter(params.hold_s, 5 * params.static_radius_m)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        cam = str(msg.get("camera_id"))
        frame = self._frames[cam] = self._frames.get(cam, 0) + 1  # empty frames count too
        fr = track_frame(msg)
        if fr is None:
            return []
        t, ids, cls, xy = fr
        cls_a = np.asarray(cls)
        is_person = (cls_a == "person") & np.isfinite(xy).all(axis=1)
        p_ids, p_xy = [ids[i] for i in np.flatnonzero(is_person)], xy[is_person]
        out = []
        for i in np.flatnonzero(cls_a == "object"):
            tid, (x, y) = ids[i], xy[i]
            if not np.isfinite(xy[i]).all():
                continue
            dist = np.hypot(p_xy[:, 0] - x, p_xy[:, 1] - y)
            o = self._obj.get(tid)
            if o is not None and self._prev_t - o.last > self.p.forget_s:
                o = None  # forgotten at the end of the previous frame
            if o is None and (lost := self._lost_at(tid.rsplit(":", 1)[0] + ":", t, x, y)) is not None:
                o = self._obj[tid] = self._obj.pop(lost)  # the same bag under a new track id
            if o is None or np.hypot(x - o.x, y - o.y) > self.p.static_radius_m:
                if o is not None:  # the id moved off (onto someone's bag?): the place keeps its object
                    self._obj[f"{tid}~moved@{t:g}"] = o
                k = int(dist.argmin()) if len(dist) else -1
                owner = p_ids[k] if k >= 0 and dist[k] <= self.p.person_radius_m else None
                self._obj[tid] = _Object(x, y, owner, None if owner else t, t, frame)
                continue
            o.last = t
            o.seen += 1
            near = dist <= self.p.person_radius_m
            attended = (
                bool(near[[j for j, pid in enumerate(p_ids) if pid == o.owner]].any())
                if o.owner
                else bool(near.any())
            )
            if attended:
                o.alone_since = None
                continue
            if o.alone_since is None:
                o.alone_since = t
            alone = t - o.alone_since
            seen_frac = o.seen / (frame - o.frame0 + 1)
            if alone >= self.p.unattended_s and seen_frac >= self.p.min_seen_frac and \
                    self._episodes.admit(t, tid, (x, y)):
                out.append(
                    make_alert(
                        t,
                        "abandoned_object",
                        self.p.conf,
                        xy=(x, y),
                        source=[msg["camera_id"]],
                        evidence={
                            "track": tid,
                            "owner": o.owner,
                            "unattended_s": round(alone, 1),
                            "seen_frac": round(seen_frac, 2),
                            "people_near": int(near.sum()),
                            "person_radius_m": self.p.person_radius_m,
                        },
                    )
                )
        self._prev_t = t
        if t - self._last_prune > self.p.forget_s:  # memory only: lookups skip forgotten objects
            self._last_prune = t
            self._obj = {k: v for k, v in self._obj.items() if t - v.last <= self.p.forget_s}
        return out


    def _lost_at(self, cam: str, t: float, x: float, y: float) -> str | None:
        """The nearest object track of camera prefix ``cam`` not seen since an earlier frame (within
        ``forget_s``) that stood within ``static_radius_m`` of ``(x, y)``: a tracker re-numbers a bag after
        a few missed detections or a passer-by hiding it, and its owner and unattended clock carry over."""
        best, best_d = None, self.p.static_radius_m
        for k, o in self._obj.items():
            if not (o.last < t and t - o.last <= self.p.forget_s and k.startswith(cam)):
                continue
            d = float(np.hypot(x - o.x, y - o.y))
            if d <= best_d:
                best, best_d = k, d
        return best


@dataclass(frozen=True, slots=True)
class RunningParams:
    """Running and sudden dispersal of persons.

    Parameters
    ----------
    run_speed_mps : ground speed above which a person runs (default 3.0 m/s; walking is 1.34 ± 0.26 m/s).
    max_speed_mps : faster than this is a projection or ID error, not a person (default 12 m/s).
    min_duration_s : the speed must hold this long (default 4 s; longer than ``window_s`` so that an ID
        switch, which makes one jump that stays in the window for ``window_s``, does not alert).
    max_gap_s : a track not seen fast for longer than this starts its duration again (default 1 s: a track
        lost behind others and re-found metres away jumps once, which is no run). A person is a runner
        only when the tracker's class, which follows its recent detections
        (``TrackerParams.class_vote_half_life_s``), is person: an ID switch onto a cyclist or a car is not.
    window_s : speed is the displacement over this window, which averages box jitter (default 2 s).
    noise_k : the speed must exceed ``run_speed_mps`` by this many standard deviations of the speed noise
        that the track's ground uncertainty (``xy_sigma``) implies, sqrt(2) sigma / window (default 2); far,
        small boxes whose ground position is uncertain by metres cannot be called running.
    dispersal_count, dispersal_speed_mps, dispersal_min_s : this many persons in one camera at once, each
        faster than ``dispersal_speed_mps`` (by ``noise_k`` as above) for ``dispersal_min_s``, is a sudden
        dispersal (defaults 4, 2.0 m/s, 2 s), as is this many runners. A crowd in panic moves at a fast
        jog, well above walking (1.34 +- 0.26 m/s, Weidmann 1993), yet below a runner's 3 m/s: several
        people at once that fast is the signal; one is not.
    dispersal_noise_k : ``noise_k`` of the dispersal test (default 1: that several tracks at once read
        fast by their jitter alone is unlikely, so each needs less margin than a lone runner).
    hold_s, radius_m : alerts within this time and distance are one episode (default 60 s, 30 m).
    conf, dispersal_conf : confidence of a single runner / of a dispersal.
    """

    run_speed_mps: float = 3.0
    max_speed_mps: float = 12.0
    min_duration_s: float = 4.0
    max_gap_s: float = 1.0
    window_s: float = 2.0
    noise_k: float = 2.0
    dispersal_count: int = 4
    dispersal_speed_mps: float = 2.0
    dispersal_min_s: float = 2.0
    dispersal_noise_k: float = 1.0
    hold_s: float = 60.0
    radius_m: float = 30.0
    conf: float = 0.5
    dispersal_conf: float = 0.8


class RunningDetector(Detector):
    """Persons faster than ``run_speed_mps`` for ``min_duration_s``; several at once is a dispersal."""

    name = "running"
    alert_kinds = ("running",)
    Params = RunningParams
    topics = ("track/frame",)

    def __init__(self, params: RunningParams = RunningParams()) -> None:
        self.p = params
        self._hist = TrackHistory(window_s=params.window_s)
        self._fast = Persistence(params.max_gap_s)   # how long each track has been running
        self._brisk = Persistence(params.max_gap_s)  # ... faster than dispersal_speed_mps
        self._vel: dict[int, np.ndarray] = {}  # per prepared message (by id), its tracks' velocities
        self._episodes = EpisodeFilter(params.hold_s, params.radius_m)

    def prepare(self, msgs: list[dict[str, Any]]) -> None:
        """Every frame's track velocities in one history update."""
        frames = [(m, f) for m in msgs if (f := track_frame(m)) is not None]
        vel = self._hist.update_many([f[0] for _, f in frames], [f[1] for _, f in frames],
                                     [f[3] for _, f in frames])
        self._vel = {id(m): v for (m, _), v in zip(frames, vel, strict=True)}

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        fr = track_frame(msg)
        if fr is None:
            return []
        t, ids, cls, xy = fr
        vel = self._vel.pop(id(msg), None)
        speed = np.hypot(*(self._hist.update(t, ids, xy) if vel is None else vel).T)
        sigma = msg.get("xy_sigma")
        sd = 0.0 if sigma is None else np.sqrt(2) * np.asarray(sigma) / self.p.window_s  # speed noise
        ok = (np.asarray(cls) == "person") & (speed <= self.p.max_speed_mps)
        fast = ok & (speed - self.p.noise_k * sd >= self.p.run_speed_mps)
        running = np.flatnonzero(self._fast.update(t, ids, fast) >= self.p.min_duration_s - 1e-9)
        brisk = ok & (speed - self.p.dispersal_noise_k * sd >= self.p.dispersal_speed_mps)
        brisk = np.flatnonzero(self._brisk.update(t, ids, brisk) >= self.p.dispersal_min_s - 1e-9)
        if len(brisk) >= self.p.dispersal_count:
            running = brisk
        elif not len(running):
            return []
        cam = msg["camera_id"]
        if len(running) >= self.p.dispersal_count:
            c = xy[running].mean(axis=0)
            if self._episodes.admit(t, ("dispersal", cam), c):
                return [
                    make_alert(
                        t,
                        "running",
                        self.p.dispersal_conf,
                        xy=c,
                        source=[cam],
                        evidence={
                            "dispersal": True,
                            "n_running": len(running),
                            "tracks": [ids[i] for i in running],
                            "mean_speed_mps": round(float(speed[running].mean()), 2),
                        },
                    )
                ]
            return []
        out = []
        for i in running:
            if self._episodes.admit(t, ids[i], xy[i]):
                out.append(
                    make_alert(
                        t,
                        "running",
                        self.p.conf,
                        xy=xy[i],
                        source=[cam],
                        evidence={
                            "dispersal": False,
                            "n_running": len(running),
                            "track": ids[i],
                            "speed_mps": round(float(speed[i]), 2),
                        },
                    )
                )
        return out


@dataclass(frozen=True, slots=True)
class ZoneIntrusionParams:
    """Zone intrusion: a tracked person or vehicle inside a restricted polygon.

    Parameters
    ----------
    classes : track classes that intrude (default person and vehicle).
    min_inside_s : seconds inside before an alert, against box jitter at the edge (default 1 s).
    min_move_m, static_inside_s : a track that entered (was seen outside the polygon first) or has moved
        ``min_move_m`` inside, plus ``noise_k`` times its ground uncertainty (default 1.5 m, k = 2), alerts
        after ``min_inside_s``; one that has done neither, after ``static_inside_s`` (default 20 s): a
        false detection that persists at one place for seconds (a poster, a mannequin, a reflection) does
        not alert, while a person standing inside whom the tracker did not follow in (at 2 fps a walker
        near the camera moves more than its box between frames) still does.
    max_gap_s : a track missed (or outside) for up to this long is still inside (default 2 s).
    hold_s, radius_m : further alerts within this time and distance are one episode (default 120 s, 5 m):
        a false detection at one place does not hide an intruder elsewhere in the polygon.
    conf : confidence given to the alert.
    """

    classes: tuple[str, ...] = ("person", "vehicle")
    min_inside_s: float = 1.0
    min_move_m: float = 1.5
    noise_k: float = 2.0
    static_inside_s: float = 20.0
    max_gap_s: float = 2.0
    hold_s: float = 120.0
    radius_m: float = 5.0
    conf: float = 0.9


class ZoneIntrusionDetector(Detector):
    """Tracks inside any of the ``restricted`` polygons (projected metres)."""

    name = "zone_intrusion"
    alert_kinds = ("zone_intrusion",)
    Params = ZoneIntrusionParams
    topics = ("track/frame",)

    @classmethod
    def from_context(cls, ctx: DetectorContext, params: ZoneIntrusionParams) -> ZoneIntrusionDetector:
        """Watch the pipeline's restricted polygons."""
        return cls(ctx.restricted, params)

    def __init__(
        self,
        restricted: Sequence[Sequence[Sequence[float]]] | None,
        params: ZoneIntrusionParams = ZoneIntrusionParams(),
    ) -> None:
        self.p = params
        self.zones = Zones({f"restricted_{i}": poly for i, poly in enumerate(restricted or [])})
        self._inside = Persistence(params.max_gap_s)  # how long each (track, zone) has been inside
        self._first: dict[tuple[str, int], np.ndarray] = {}  # where it was first seen inside
        self._was_out: dict[tuple[str, int], float] = {}  # (track, zone) seen outside, last time
        self._last_prune = float("-inf")
        self._episodes = EpisodeFilter(params.hold_s, params.radius_m)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        fr = track_frame(msg)
        if fr is None or not len(self.zones):
            return []
        t, ids, cls, xy = fr
        ok = np.isin(np.asarray(cls), self.p.classes)
        contains = self.zones.contains(xy)
        inside = contains & ok
        for z, j in zip(*np.nonzero(~contains & np.isfinite(xy).all(axis=1)), strict=True):
            self._was_out[(ids[j], int(z))] = t
        sigma = msg.get("xy_sigma")
        pairs = list(zip(*np.nonzero(inside), strict=True))
        keys = [(ids[j], int(z)) for z, j in pairs]
        held = self._inside.update(t, keys, np.ones(len(keys), bool))  # seconds inside, gaps bridged
        out = []
        for k, (z, j) in enumerate(pairs):
            key = keys[k]
            if held[k] == 0.0 or key not in self._first:
                self._first[key] = xy[j]
            if held[k] < self.p.min_inside_s:
                continue
            moved = float(np.hypot(*(xy[j] - self._first[key])))
            noise = 0.0 if sigma is None else self.p.noise_k * float(sigma[j])
            if key not in self._was_out and moved < self.p.min_move_m + noise and \
                    held[k] < self.p.static_inside_s:
                continue  # there from its first sight and still: perhaps a persistent false detection
            if self._episodes.admit(t, key, xy[j]):
                out.append(self._alert(msg, t, ids[j], cls[j], xy[j], int(z), held[k]))
        if t - self._last_prune > 60.0:  # tracks unseen for a minute are gone (ids are never reused)
            self._last_prune = t
            self._was_out = {k: v for k, v in self._was_out.items() if t - v <= 60.0}
            self._first = {k: v for k, v in self._first.items() if k in self._inside}
        return out

    def _alert(self, msg: dict[str, Any], t: float, tid: str, cls: str, xy: np.ndarray, z: int,
               inside_s: float) -> dict[str, Any]:
        return make_alert(t, "zone_intrusion", self.p.conf, xy=xy, source=[msg["camera_id"]],
                          evidence={"zone": self.zones.names[z], "track": tid, "cls": cls,
                                    "inside_s": round(inside_s, 1)})
