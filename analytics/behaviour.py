"""Behaviour detectors on ground tracks (``track/frame`` messages): loitering, abandoned object, running and
sudden dispersal, zone intrusion (vehicles: ``analytics.vehicles``).

Each detector has a frozen parameter dataclass with documented defaults and emits one alert per episode.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.base import Detector, DetectorContext, EpisodeFilter, make_alert
from analytics.geometry import Zones
from analytics.tracks import Persistence, TrackHistory

__all__ = ["AbandonedObjectDetector", "AbandonedParams", "LoiteringDetector", "LoiteringParams",
           "RunningDetector", "RunningParams", "ZoneIntrusionDetector", "ZoneIntrusionParams", "track_frame"]


def track_frame(msg: dict[str, Any]) -> tuple[float, list[str], list[str], np.ndarray] | None:
    """(t, ids, cls, xy) of a ``track/frame`` message with a ground projection, else None."""
    xy = msg.get("xy")
    if xy is None or not msg.get("ids"):
        return None
    return float(msg["t"]), list(msg["ids"]), list(msg["cls"]), np.asarray(xy, dtype=float).reshape(-1, 2)


@dataclass(frozen=True, slots=True)
class LoiteringParams:
    """Loitering: a person whose track stays in one area (a disc of ``radius_m``) for ``dwell_s``.

    The area is where the track has been lately: its recent positions (one kept per ``sample_s``) around
    their centroid. While the newest or the oldest of them lies farther than ``radius_m`` from the centroid,
    the oldest is dropped, so walking on (or drifting slowly away) restarts the clock while standing,
    pacing or circling a spot (the scout's pattern) keeps it running. A new track that starts inside the
    area of a track of the same camera lost within ``forget_s`` takes that area over (tracklet stitching:
    trackers re-number a person after an occlusion or a few missed detections).

    Parameters
    ----------
    dwell_s : seconds in the area before an alert (default 300 s).
    radius_m : radius of the area around the centroid of the track's recent positions (default 12 m: the
        centroid of part of a lap lies off the circle's centre, up to 1.26 r from the arc's ends, so a scout
        circling at up to 9.5 m stays in it; a walker at 1.3 m/s leaves it within 20 s).
    sample_s : one position per this many seconds is kept per track (default 1 s).
    forget_s : a track unseen for this long is dropped (default 10 s).
    keep_s : a track that leaves an area it dwelt in this long leaves the area behind (default 60 s): a
        younger track of the camera in that area takes it over, or a new one within ``forget_s``. At 2 fps
        a walker crossing a circling scout often takes the scout's id away with it.
    hold_s : alerts of one track, or within ``radius_m`` of an earlier one, within this time are one episode.
    conf : confidence given to the alert.
    """

    dwell_s: float = 300.0
    radius_m: float = 12.0
    sample_s: float = 1.0
    forget_s: float = 10.0
    keep_s: float = 60.0
    hold_s: float = 600.0
    conf: float = 0.7


class _Dwell:
    """Recent sampled positions of one track with their running sums (for the centroid)."""

    __slots__ = ("last", "left", "pts", "sx", "sy")

    def __init__(self) -> None:
        self.pts: deque[tuple[float, float, float]] = deque()
        self.sx = self.sy = 0.0
        self.last = float("-inf")
        self.left: _Dwell | None = None  # the area a long dwell just left (see ``add``)

    def add(self, t: float, x: float, y: float, r2: float, sample_s: float, keep_s: float = np.inf) -> float:
        """Take one position; return how long the track has been in its area (s). When a dwell of at least
        ``keep_s`` starts to shrink (the track leaves its area), a copy of the area is put in ``left``."""
        pts = self.pts
        if not pts or t - pts[-1][0] >= sample_s:
            pts.append((t, x, y))
            self.sx += x
            self.sy += y
        self.left = None
        # drop the oldest positions while the newest or the oldest lies outside the area around the centroid
        # (a slow drift leaves its oldest positions behind; pacing or circling keeps both inside)
        if len(pts) > 1 and t - pts[0][0] >= keep_s:
            n = len(pts)
            cx, cy = self.sx / n, self.sy / n
            _, px, py = pts[-2]
            if (x - cx) ** 2 + (y - cy) ** 2 > r2 >= (px - cx) ** 2 + (py - cy) ** 2:
                # the step out of a long dwell: keep the area as it was
                self.left = _Dwell()
                self.left.pts = deque(list(pts)[:-1])
                self.left.sx, self.left.sy = self.sx - x, self.sy - y
                self.left.last = pts[-2][0]
        while len(pts) > 1:
            n = len(pts)
            cx, cy = self.sx / n, self.sy / n
            _, ox, oy = pts[0]
            if (x - cx) ** 2 + (y - cy) ** 2 <= r2 and (ox - cx) ** 2 + (oy - cy) ** 2 <= r2:
                break
            pts.popleft()
            self.sx -= ox
            self.sy -= oy
        self.last = t
        return t - pts[0][0]

    def centre(self) -> tuple[float, float]:
        n = len(self.pts)
        return self.sx / n, self.sy / n


class LoiteringDetector(Detector):
    """Dwell time per person track in the area of its recent positions; one alert per episode."""

    name = "loitering"
    alert_kinds = ("loitering",)
    Params = LoiteringParams
    topics = ("track/frame",)

    def __init__(self, params: LoiteringParams = LoiteringParams()) -> None:
        self.p = params
        self._dwell: dict[str, _Dwell] = {}
        # the same tracks grouped by camera prefix ("cam:"), in the same relative order, so that stitching
        # scans one camera's tracks instead of every track; _nested: prefixes that other prefixes extend
        self._by_cam: dict[str, dict[str, _Dwell]] = {}
        self._nested: dict[str, bool] = {}
        self._episodes = EpisodeFilter(params.hold_s, params.radius_m)
        self._last_prune = float("-inf")

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        fr = track_frame(msg)
        if fr is None:
            return []
        t, ids, cls, xy = fr
        out = []
        r2 = self.p.radius_m**2
        lost = None  # this camera's tracks lost within forget_s (computed on the first new track)
        for i, tid in enumerate(ids):
            if cls[i] != "person" or not np.isfinite(xy[i]).all():
                continue
            x, y = float(xy[i, 0]), float(xy[i, 1])
            d = self._dwell.get(tid)
            if d is None or t - d.last > self.p.forget_s:
                if lost is None:
                    lost = self._lost(tid, t, set(ids))
                d = self._dwell[tid] = self._stitch(lost, x, y, r2) or _Dwell()
                self._group(tid)[tid] = d
            dwell = d.add(t, x, y, r2, self.p.sample_s, self.p.keep_s)
            if d.left is not None:  # an ID switch may carry this track off: the area stays to stitch
                self._left_area(tid, d.left, t, r2)
            if dwell >= self.p.dwell_s and self._episodes.admit(t, tid, (x, y)):
                cx, cy = d.centre()
                out.append(
                    make_alert(
                        t,
                        "loitering",
                        self.p.conf,
                        xy=(x, y),
                        source=[msg["camera_id"]],
                        evidence={
                            "track": tid,
                            "dwell_s": round(dwell, 1),
                            "radius_m": self.p.radius_m,
                            "centre_xy": [round(cx, 2), round(cy, 2)],
                        },
                    )
                )
        if t - self._last_prune > self.p.forget_s:
            self._last_prune = t
            for k, v in self._dwell.items():  # a long dwell whose track died: to a young track there
                if t - v.last > self.p.forget_s and v.last - v.pts[0][0] >= self.p.keep_s and "~" not in k:
                    self._left_area(k, v, t, r2, wait=False)
            self._dwell = {k: v for k, v in self._dwell.items() if t - v.last <= self.p.forget_s}
            for cam, group in self._by_cam.items():
                self._by_cam[cam] = {k: v for k, v in group.items() if t - v.last <= self.p.forget_s}
        return out

    def _left_area(self, tid: str, area: _Dwell, t: float, r2: float, *, wait: bool = True) -> None:
        """A track left (or, lost, stopped being seen in) the area it dwelt in for ``keep_s``: a younger
        track of the same camera now in that area (the person the tracker re-numbered while the old id
        followed someone else away, or died) takes the area over; with none, the area waits ``forget_s``
        for a new track to stitch to (``_stitch``), if ``wait``."""
        cx, cy = area.centre()
        best, best_d2 = None, r2
        for k, d in self._group(tid).items():
            if k == tid or d.last < t - self.p.forget_s or not d.pts or d.pts[0][0] <= area.pts[0][0]:
                continue
            n = len(d.pts)
            d2 = (d.sx / n - cx) ** 2 + (d.sy / n - cy) ** 2
            if d2 <= best_d2:
                best, best_d2 = k, d2
        if best is None:
            if not wait or ":" not in tid:  # an id without a camera prefix has no camera to stitch in
                return
            key = f"{tid}~left@{t:g}"
            self._dwell[key] = area
            self._group(tid)[key] = area
            return
        young = self._dwell[best]
        merged = sorted([p for p in area.pts if p[0] < young.pts[0][0]] + list(young.pts))
        young.pts = deque(merged)
        young.sx, young.sy = sum(p[1] for p in merged), sum(p[2] for p in merged)

    def _group(self, tid: str) -> dict[str, _Dwell]:
        """The tracks of ``tid``'s camera prefix (created, and the prefix nesting noted, on first use)."""
        cam = tid.rsplit(":", 1)[0] + ":"
        group = self._by_cam.get(cam)
        if group is None:
            group = self._by_cam[cam] = {}
            self._nested[cam] = any(o != cam and o.startswith(cam) for o in self._by_cam)
            self._nested.update((o, True) for o in self._by_cam if o != cam and cam.startswith(o))
        return group

    def _lost(self, tid: str, t: float, present: set[str]) -> list:
        """``[keys, centroids (n, 2), taken]`` of the tracks of ``tid``'s camera that are not in this frame
        (``present``) and were seen within ``forget_s``: the ones a new track may continue."""
        cam = tid.rsplit(":", 1)[0] + ":"
        group = self._by_cam.get(cam)
        # a camera id that extends this one ("a:" and "a:b:") shares the prefix: scan every track
        nested = self._nested[cam] if group is not None else any(c.startswith(cam) for c in self._by_cam)
        tracks = self._dwell if nested else (group or {})
        forget = self.p.forget_s
        keys = [k for k, d in tracks.items()
                if d.last < t and t - d.last <= forget and k not in present and k.startswith(cam)]
        cen = np.array([tracks[k].centre() for k in keys]).reshape(-1, 2)
        return [keys, cen, np.zeros(len(keys), bool)]

    def _stitch(self, lost: list, x: float, y: float, r2: float) -> _Dwell | None:
        """The area of a lost track (``_lost``) whose centroid is within ``radius_m`` of a new track's first
        position: the tracker gave the same person a new id after an occlusion or missed detections, and
        the dwell clock must not restart. Each lost track continues one new track at most."""
        keys, cen, taken = lost
        if not len(keys):
            return None
        d2 = (cen[:, 0] - x) ** 2 + (cen[:, 1] - y) ** 2
        d2[taken] = np.inf
        k = int(np.argmin(d2))
        if d2[k] > r2:
            return None
        taken[k] = True
        best = keys[k]
        self._group(best).pop(best)
        return self._dwell.pop(best)


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
    hold_s : alerts within ``static_radius_m`` * 5 and this time are one episode (default 900 s).
    conf : confidence given to the alert.
    """

    static_radius_m: float = 1.0
    unattended_s: float = 60.0
    person_radius_m: float = 3.0
    forget_s: float = 30.0
    hold_s: float = 900.0
    conf: float = 0.8


@dataclass(slots=True)
class _Object:
    x: float
    y: float
    owner: str | None
    alone_since: float | None
    last: float


class AbandonedObjectDetector(Detector):
    """Static object tracks left unattended (by their owner, else by everyone) for ``unattended_s``."""

    name = "abandoned"
    alert_kinds = ("abandoned_object",)
    Params = AbandonedParams
    topics = ("track/frame",)

    def __init__(self, params: AbandonedParams = AbandonedParams()) -> None:
        self.p = params
        self._obj: dict[str, _Object] = {}
        self._prev_t = self._last_prune = float("-inf")  # time of the previous frame, of the last sweep
        self._episodes = EpisodeFilter(params.hold_s, 5 * params.static_radius_m)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
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
                k = int(dist.argmin()) if len(dist) else -1
                owner = p_ids[k] if k >= 0 and dist[k] <= self.p.person_radius_m else None
                self._obj[tid] = _Object(x, y, owner, None if owner else t, t)
                continue
            o.last = t
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
            if alone >= self.p.unattended_s and self._episodes.admit(t, tid, (x, y)):
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
