"""Loitering on ground tracks (``track/frame`` messages): a person who keeps moving about one area for
minutes, followed across the tracker's re-numbering.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.base import Detector, EpisodeFilter, make_alert
from analytics.tracks import track_frame

__all__ = ["LoiteringDetector", "LoiteringParams"]


@dataclass(frozen=True, slots=True)
class LoiteringParams:
    """Loitering: a person whose track stays in one area (a disc of ``radius_m``) for ``dwell_s``.

    The area is where the track has been lately: its recent positions (one kept per ``sample_s``) around
    their centroid. While the newest or the oldest of them lies farther than ``radius_m`` from the centroid,
    the oldest is dropped, so walking on (or drifting slowly away) restarts the clock while standing,
    pacing or circling a spot (the scout's pattern) keeps it running. A new track that starts within reach
    of where a track of the same camera was lost, within ``forget_s``, takes that area over (tracklet
    stitching: trackers re-number a person after an occlusion or a few missed detections).

    Parameters
    ----------
    dwell_s : seconds in the area before an alert (default 300 s).
    radius_m : radius of the area around the centroid of the track's recent positions (default 12 m: the
        centroid of part of a lap lies off the circle's centre, up to 1.26 r from the arc's ends, so a scout
        circling at up to 9.5 m stays in it; a walker at 1.3 m/s leaves it within 20 s).
    sample_s : one position per this many seconds is kept per track (default 1 s).
    forget_s : a track unseen for this long is dropped (default 10 s).
    min_speed_mps, step_s : the person must keep moving about the area, at a mean speed of at least
        ``min_speed_mps`` over its positions ``step_s`` apart (defaults 0.3 m/s, 10 s; box jitter of 0.4 m
        adds about 0.06 m/s at that step). A scout walks about the place he watches; people who stand for
        minutes (at an event, a stop, a stall, with friends) are everywhere in a city and are no loiterers.
    keep_s : a track that leaves an area it dwelt in this long leaves the area behind (default 60 s): a
        younger track of the camera born within ``takeover_s`` (default 10 s) of its last time there and
        within reach of its last position there takes it over (its new id), or a new one within
        ``forget_s``. At 2 fps a walker crossing a circling scout often takes the scout's id away with it.
    stitch_m, reach_mps : reach of a person from where a track was last seen: ``stitch_m`` plus
        ``reach_mps`` per second since (defaults 3 m, 1.5 m/s, a brisk walk). Anyone farther is someone
        else: at a busy stop or entrance, a passer-by must not inherit the dwell of a passenger who left.
    hold_s : alerts of one track, or within ``radius_m`` of an earlier one, within this time are one episode.
    conf : confidence given to the alert.
    """

    dwell_s: float = 300.0
    radius_m: float = 12.0
    sample_s: float = 1.0
    forget_s: float = 10.0
    keep_s: float = 60.0
    takeover_s: float = 10.0
    stitch_m: float = 3.0
    reach_mps: float = 1.5
    min_speed_mps: float = 0.3
    step_s: float = 10.0
    hold_s: float = 600.0
    conf: float = 0.7


class _Dwell:
    """Recent sampled positions of one track with their running sums (for the centroid)."""

    __slots__ = ("checked", "last", "left", "moving", "pts", "sx", "sy")

    def __init__(self) -> None:
        self.pts: deque[tuple[float, float, float]] = deque()
        self.sx = self.sy = 0.0
        self.last = float("-inf")
        self.left: _Dwell | None = None  # the area a long dwell just left (see ``add``)
        self.checked, self.moving = float("-inf"), 0.0  # when ``speed`` last ran, and what it gave

    def speed(self, step_s: float) -> float:
        """Mean speed over the area's positions taken ``step_s`` apart (path / time, m/s): longer steps than
        a frame's, so that a stander's box jitter adds little path."""
        a = np.array(self.pts)
        idx = np.unique(np.searchsorted(a[:, 0], np.arange(a[0, 0], a[-1, 0] + 1e-9, step_s)))
        sub = a[idx[idx < len(a)]]
        span = sub[-1, 0] - sub[0, 0]
        return float(np.hypot(*np.diff(sub[:, 1:], axis=0).T).sum() / span) if span > 0 else 0.0

    def add(self, t: float, x: float, y: float, r2: float, sample_s: float, keep_s: float = np.inf) -> float:
        """Take one position; return how long the track has been in its area (s). When a dwell of at least
        ``keep_s`` starts to shrink (the track leaves its area), a copy of the area is put in ``left``."""
        pts = self.pts
        sampled = not pts or t - pts[-1][0] >= sample_s
        if sampled:
            pts.append((t, x, y))
            self.sx += x
            self.sy += y
        self.left = None
        # drop the oldest positions while the newest or the oldest lies outside the area around the centroid
        # (a slow drift leaves its oldest positions behind; pacing or circling keeps both inside)
        if len(pts) > 1 and t - pts[0][0] >= keep_s:
            n = len(pts)
            cx, cy = self.sx / n, self.sy / n
            _, px, py = pts[-2] if sampled else pts[-1]  # the position kept before this one
            if (x - cx) ** 2 + (y - cy) ** 2 > r2 >= (px - cx) ** 2 + (py - cy) ** 2:
                # the step out of a long dwell: keep the area as it was, without this position
                self.left = _Dwell()
                self.left.pts = deque(list(pts)[:-1] if sampled else pts)
                self.left.sx, self.left.sy = (self.sx - x, self.sy - y) if sampled else (self.sx, self.sy)
                self.left.last = self.left.pts[-1][0]
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
                d = self._dwell[tid] = self._stitch(lost, t, x, y) or _Dwell()
                self._group(tid)[tid] = d
            dwell = d.add(t, x, y, r2, self.p.sample_s, self.p.keep_s)
            if d.left is not None:  # an ID switch may carry this track off: the area stays to stitch
                self._left_area(tid, d.left, t)
            if dwell >= self.p.dwell_s and self._walks(d, t) and self._episodes.admit(t, tid, (x, y)):
                cx, cy = d.centre()
                out.append(
                    make_alert(
                        t,
                        "loitering",
                        self.p.conf,
                        xy=(x, y),
                        source=self._source(msg, i),
                        evidence={
                            "track": tid,
                            "dwell_s": round(dwell, 1),
                            "radius_m": self.p.radius_m,
                            "centre_xy": [round(cx, 2), round(cy, 2)],
                            "mean_speed_mps": round(d.moving, 2),
                        },
                    )
                )
        if t - self._last_prune > self.p.forget_s:
            self._last_prune = t
            for k, v in self._dwell.items():  # a long dwell whose track died: to a young track there
                if t - v.last > self.p.forget_s and v.last - v.pts[0][0] >= self.p.keep_s and "~" not in k:
                    self._left_area(k, v, t, wait=False)
            self._dwell = {k: v for k, v in self._dwell.items() if t - v.last <= self.p.forget_s}
            for cam, group in self._by_cam.items():
                self._by_cam[cam] = {k: v for k, v in group.items() if t - v.last <= self.p.forget_s}
        return out

    def _source(self, msg: dict[str, Any], i: int) -> list[str]:
        """The sensors behind track ``i`` of ``msg``: the message's camera."""
        return [str(msg["camera_id"])]

    def _walks(self, d: _Dwell, t: float) -> bool:
        """The track keeps moving about its area (``min_speed_mps``), checked at most every ``step_s``."""
        if t - d.checked >= self.p.step_s:
            d.checked, d.moving = t, d.speed(self.p.step_s)
        return d.moving >= self.p.min_speed_mps

    def _left_area(self, tid: str, area: _Dwell, t: float, *, wait: bool = True) -> None:
        """A track left (or, lost, stopped being seen in) the area it dwelt in for ``keep_s``: a younger
        track of the same camera now in that area (the person the tracker re-numbered while the old id
        followed someone else away, or died) takes the area over; with none, the area waits ``forget_s``
        for a new track to stitch to (``_stitch``), if ``wait``."""
        t_end, x_end, y_end = area.pts[-1]  # where and when the person was last in the area
        best, best_d = None, np.inf
        for k, d in self._group(tid).items():
            if k == tid or d.last < t - self.p.forget_s or not d.pts or d.pts[0][0] <= area.pts[0][0]:
                continue
            t0, x0, y0 = d.pts[0]  # a young track born where and when the old one was: its new id
            dist = float(np.hypot(x0 - x_end, y0 - y_end))
            if abs(t0 - t_end) <= self.p.takeover_s and dist <= self._reach(t0 - t_end) and dist < best_d:
                best, best_d = k, dist
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
        """``[keys, last positions (n, 2), last times, taken]`` of the tracks of ``tid``'s camera that are
        not in this frame (``present``) and were seen within ``forget_s``: the ones a new track may
        continue."""
        cam = tid.rsplit(":", 1)[0] + ":"
        group = self._by_cam.get(cam)
        # a camera id that extends this one ("a:" and "a:b:") shares the prefix: scan every track
        nested = self._nested[cam] if group is not None else any(c.startswith(cam) for c in self._by_cam)
        tracks = self._dwell if nested else (group or {})
        forget = self.p.forget_s
        keys = [k for k, d in tracks.items()
                if d.last < t and t - d.last <= forget and k not in present and k.startswith(cam)]
        last = np.array([tracks[k].pts[-1] for k in keys]).reshape(-1, 3)
        return [keys, last[:, 1:], last[:, 0], np.zeros(len(keys), bool)]

    def _reach(self, dt: np.ndarray | float) -> np.ndarray | float:
        """How far a person may be from where a track was last seen ``dt`` seconds earlier (m)."""
        return self.p.stitch_m + self.p.reach_mps * np.abs(dt)

    def _stitch(self, lost: list, t: float, x: float, y: float) -> _Dwell | None:
        """The area of a lost track (``_lost``) last seen within reach of a new track's first position
        (``stitch_m`` plus ``reach_mps`` per second since): the tracker gave the same person a new id after
        an occlusion or missed detections, and the dwell clock must not restart. Each lost track continues
        one new track at most."""
        keys, last_xy, last_t, taken = lost
        if not len(keys):
            return None
        d = np.hypot(last_xy[:, 0] - x, last_xy[:, 1] - y)
        d[taken | (d > self._reach(t - last_t))] = np.inf
        k = int(np.argmin(d))
        if not np.isfinite(d[k]):
            return None
        taken[k] = True
        best = keys[k]
        self._group(best).pop(best)
        return self._dwell.pop(best)
