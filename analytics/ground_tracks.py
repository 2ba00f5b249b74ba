"""Cross-camera ground-track fusion: the ``track/frame`` tracks of cameras whose views overlap, fused on the
ground plane into global tracks, so that one person seen by two cameras is one track (``track/ground``).

Each instant (the ``track/frame`` messages of one time), every live camera track (seen within
``max_age_s``) is a ground point with a 1-sigma ``xy_sigma`` along the ray from its camera
(``lateral_ratio`` of it across: ``analytics.ground_assoc.ray_covariance``). Tracks of *different* cameras
whose views overlap and of the same class are compared when they lie within ``search_m`` (a coarse grid,
never every pair); a pair is gated by its Mahalanobis distance under the sum of the two covariances plus
``gate_floor_m`` squared each way (``<= gate_chi2``), and each track is paired with at most one track of
each other camera (the least total distance: ``scipy.optimize.linear_sum_assignment`` on the contested
clusters only). A pair so paired on
``confirm_n`` consecutive instants is linked; a link breaks after ``break_n`` consecutive instants without
it (the tracks diverged, or one of them switched to someone else). Linked tracks form the global tracks
(connected components); two tracks of one camera are never in one. A global track keeps its id ``g<n>``
(numbered in order of creation, so the same input gives the same ids) while any of its camera tracks goes
on; a camera track that starts in another camera overlapping those of a global track that ended within
``handover_s``, within reach of where it ended, continues it when nothing else could (handover). Its
position is the inverse-covariance weighted mean of its live members' ground points (their errors are
independent: other images, other detectors); two cameras looking from different sides pin each other's
long axis down.

Stone Soup (1.9.1, read for this stage, not a dependency). Its ``TrackToTrackCounting`` associator is the
rule used here (Sagild, Hem and Brekke, FUSION 2021: associated after ``consec_pairs_confirm`` = 3
consecutive instants within a threshold, ended after ``consec_misses_end`` = 2 outside it; our
``confirm_n``, ``break_n``), its ``OneToOneAssociator`` is the gated ``linear_sum_assignment`` and its
``TrackStitcher`` the idea behind the handover. They are not used as such: ``TrackToTrackCounting`` runs
offline on whole ``Track`` objects (``State`` per point, a Python loop over every pair of tracks and every
common timestamp), ``OneToOneAssociator`` fills its cost matrix one Python ``measure`` call per pair, and
the ``ChernoffUpdater`` (covariance intersection) fuses filtered tracks of unknown cross-correlation, where
our per-frame ground points have independent errors and the plain inverse-covariance mean is the right
one. At a few hundred live tracks of 200 cameras, 5 instants a second, that object-per-point cost is what
``docs/performance.md`` ("Tracker choice") measured against Stone Soup's tracker; here every step is numpy
over the instant's arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.camera_views import ViewParams, view_polygon
from analytics.geometry import camera_position
from analytics.ground_assoc import (
    PairOffsets,
    ViewOverlap,
    mahalanobis2,
    near_pairs,
    one_per_camera,
    ray_covariance,
)
from analytics.ground_labels import GlobalIds
from analytics.tracks import track_frame

__all__ = ["GroundTrackParams", "GroundTrackParamsError", "GroundTrackStage", "TOPIC"]

#: The topic of the fused messages.
TOPIC = "track/ground"
#: Two message times closer than this are one instant.
_SAME_T = 1e-6
_MASK = (1 << 32) - 1


class GroundTrackParamsError(ValueError):
    """A ground-track fusion parameter out of its range."""


@dataclass(frozen=True, slots=True)
class GroundTrackParams:
    """Cross-camera ground-track fusion.

    Parameters
    ----------
    gate_chi2 : squared Mahalanobis distance within which two camera tracks may be one target (default
        9.21: 99 % of a 2-dof chi-square).
    gate_floor_m : added in quadrature to the two tracks' sigmas in the gate (default 1 m): what the
        foot-point sigma leaves out, the calibration error between two cameras and the foot point of a
        body seen from two sides. Two people a metre or two apart, each seen by one camera only, are then
        within the gate: the one-per-camera assignment tells people apart where both cameras see both.
    offset_window, offset_min_n : the mean offset between two cameras' points for one target is learnt
        from their linked tracks over about ``offset_window`` linked points (default 200; 0: not learnt)
        and taken out in the gate once ``offset_min_n`` (default 20) were seen.
    lateral_ratio : a point's sigma across its camera's ray, as a fraction of ``xy_sigma`` (along it;
        default 0.3: a box's foot jitters less sideways than up and down, and a sideways pixel is a
        shorter step on the ground).
    search_m : no two points farther apart are compared (grid cell size; default 6 m).
    confirm_n, break_n : consecutive instants paired before a link, and unpaired before it breaks
        (defaults 3 and 2, Stone Soup's ``TrackToTrackCounting``).
    max_age_s : a camera track's last point stands for it this long (default 0.6 s: one frame at 2 fps,
        two at 5 fps); older, it is not live.
    forget_s : a camera track unseen this long is dropped (default 3 s, past the tracker's 2 s buffer).
    handover_s, handover_m, reach_mps : a new camera track continues a global track that ended up to
        ``handover_s`` earlier (default 2 s) when it starts within ``handover_m`` (default 1.5 m) plus
        ``reach_mps`` (default 1.5 m/s, a walk; also the motion a stale point may have missed) per second
        since, in a camera that is not one of the ended track's but overlaps one of them, and neither has
        another such candidate (in a crowd a handover is a guess; an ambiguous one is not taken).
    handover_same_camera : also let a new track of one of the ended track's cameras continue it (its
        tracker re-numbered the target); default False.
    default_sigma_m : sigma of a point whose message has none (default 1 m).
    fuse_floor_m : sigma floor of each point in the fused mean (default 0.1 m).
    min_overlap_m2 : two views overlap when they share this area (default 1 m^2).
    view_range_m : ground range of a camera's view polygon (``analytics.camera_views.ViewParams``,
        default 80 m).
    period_s : at most one fused message per this many seconds (default 0: every instant).
    """

    gate_chi2: float = 9.21
    gate_floor_m: float = 1.0
    lateral_ratio: float = 0.3
    offset_window: int = 200
    offset_min_n: int = 20
    search_m: float = 6.0
    confirm_n: int = 3
    break_n: int = 2
    max_age_s: float = 0.6
    forget_s: float = 3.0
    handover_s: float = 2.0
    handover_m: float = 1.5
    reach_mps: float = 1.5
    handover_same_camera: bool = False
    default_sigma_m: float = 1.0
    fuse_floor_m: float = 0.1
    min_overlap_m2: float = 1.0
    view_range_m: float = 80.0
    period_s: float = 0.0

    def __post_init__(self) -> None:
        positive = ("gate_chi2", "lateral_ratio", "search_m", "max_age_s", "forget_s", "default_sigma_m",
                    "view_range_m")
        for name in positive:
            v = getattr(self, name)
            if not (isinstance(v, int | float) and np.isfinite(v) and v > 0):
                raise GroundTrackParamsError(f"ground tracks: {name} must be a finite number > 0, got {v!r}")
        for name in ("gate_floor_m", "handover_s", "handover_m", "reach_mps", "fuse_floor_m",
                     "min_overlap_m2", "period_s"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0):
                raise GroundTrackParamsError(f"ground tracks: {name} must be a finite number >= 0, got {v!r}")
        for name in ("offset_window", "offset_min_n"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 0):
                raise GroundTrackParamsError(f"ground tracks: {name} must be an int >= 0, got {v!r}")
        for name in ("confirm_n", "break_n"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise GroundTrackParamsError(f"ground tracks: {name} must be an int >= 1, got {v!r}")
        if self.forget_s < self.max_age_s:
            raise GroundTrackParamsError("ground tracks: forget_s must be >= max_age_s")


class _Slots:
    """Per camera track (a slot, numbered in order of first sight, never reused): its latest point."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.keys: list[str] = []
        self.t = np.zeros(0)
        self.xy = np.zeros((0, 2))
        self.sigma = np.zeros(0)
        self.cov = np.zeros((0, 3))        # covariance rows [xx, xy, yy]
        self.cam = np.zeros(0, np.int64)
        self.cls = np.zeros(0, np.int64)
        self.seen = np.zeros(0, np.int64)    # fresh points so far

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The slots of ``keys`` (new ones added) and a mask of the new ones."""
        get, n0 = self.index.get, len(self.keys)
        out = []
        for k in keys:
            s = get(k)
            if s is None:
                s = self.index[k] = len(self.keys)
                self.keys.append(k)
            out.append(s)
        if len(self.keys) > len(self.t):
            self._grow(len(self.keys))
        slots = np.array(out, dtype=np.int64)
        return slots, slots >= n0

    def _grow(self, need: int) -> None:
        cap = max(64, 2 * need)
        pad = cap - len(self.t)
        self.t = np.concatenate([self.t, np.full(pad, -np.inf)])
        self.xy = np.concatenate([self.xy, np.zeros((pad, 2))])
        self.sigma = np.concatenate([self.sigma, np.ones(pad)])
        self.cov = np.concatenate([self.cov, np.tile([1.0, 0.0, 1.0], (pad, 1))])
        self.cam = np.concatenate([self.cam, np.zeros(pad, np.int64)])
        self.cls = np.concatenate([self.cls, np.zeros(pad, np.int64)])
        self.seen = np.concatenate([self.seen, np.zeros(pad, np.int64)])

    def forget(self, slots: np.ndarray) -> None:
        """Drop slots from the key index (their numbers are not reused)."""
        for s in slots.tolist():
            self.index.pop(self.keys[s], None)


class GroundTrackStage:
    """``track/frame`` messages of all cameras in, one ``track/ground`` message per instant out.

    ``update`` takes every message in time order (``camera/calibration`` records give the cameras' views,
    ``track/frame`` messages the tracks; any later time closes the instant before it) and returns the
    ``track/ground`` messages of the instants it closed; ``flush`` closes the last one. A ``track/ground``
    message is plain JSON::

        {"t", "topic": "track/ground", "ids": ["g1", ...], "cls": [...], "xy": [[x, y], ...],
         "xy_sigma": [...], "xy_cov": [[xx, xy, yy], ...], "members": [["cam-a:3", "cam-b:7"], ...],
         "cameras": [["cam-a", "cam-b"], ...]}

    one row per live global track, in id order: its fused position (metres), the 1-sigma of its long axis
    and its covariance (m^2); ``members`` are its live camera tracks. A camera track that
    is still being compared with a global track it may join (for up to ``confirm_n`` points) is not listed
    yet: the person is, through the other camera's track.

    Parameters
    ----------
    params
        ``GroundTrackParams``.
    views
        The cameras given up front (a real site's surveyed views), ``{camera_id: view polygon}`` or
        ``analytics.camera_views.camera_table``'s ``{camera_id: {"view": polygon, "xy": [x, y]}}`` (with
        its position a camera's points are elongated along its rays); calibration records in the stream add
        or replace them.
    """

    def __init__(self, params: GroundTrackParams | None = None, *,
                 views: Mapping[str, Any] | None = None) -> None:
        self.p = GroundTrackParams() if params is None else params
        self.views = ViewOverlap(min_area_m2=self.p.min_overlap_m2)
        for cam, view in sorted((views or {}).items()):
            if isinstance(view, Mapping):
                self.views.set_view(str(cam), view.get("view"), view.get("xy"))
            else:
                self.views.set_view(str(cam), view)
        self.slots = _Slots()
        self.offsets = PairOffsets(window=self.p.offset_window, min_n=self.p.offset_min_n)
        self.ids = GlobalIds(self.p, self.views)
        self._classes: dict[str, int] = {}
        self._active = np.zeros(0, np.int64)
        self._pairs = np.zeros(0, np.int64)          # sorted codes lo << 32 | hi of the pairs being counted
        self._hits = np.zeros(0, np.int64)
        self._miss = np.zeros(0, np.int64)
        self._linked = np.zeros(0, bool)
        self._fresh: list[np.ndarray] = []            # slots given a point since the last instant
        self._open: float | None = None               # time of the instant being gathered
        self._dirty = False
        self._last_run = -np.inf
        self.instants = 0

    # ----------------------------------------------------------------------------------- stream
    def update(self, msg: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Take one message; return the ``track/ground`` messages of the instants its time closes."""
        t = msg.get("t")
        out = self.tick(float(t)) if isinstance(t, int | float) else []
        topic = msg.get("topic")
        if topic == "camera/calibration" and msg.get("camera_id") is not None:
            self.views.set_view(str(msg["camera_id"]),
                                view_polygon(msg, params=ViewParams(max_range_m=self.p.view_range_m)),
                                camera_position(dict(msg)))
        elif topic == "track/frame":
            self._observe(msg)
        return out

    def tick(self, t: float) -> list[dict[str, Any]]:
        """Time ``t`` has come: close the instant gathered before it."""
        if self._open is None or t <= self._open + _SAME_T:
            return []
        return self._close()

    def flush(self) -> list[dict[str, Any]]:
        """End of stream: the last instant's message."""
        return self._close()

    def _close(self) -> list[dict[str, Any]]:
        t = self._open
        if t is None or not self._dirty or t - self._last_run < self.p.period_s - _SAME_T:
            return []
        self._dirty, self._last_run = False, t
        return [self._instant(t)]

    def _observe(self, msg: Mapping[str, Any]) -> None:
        """Take one camera's tracks (their covariances are made for all cameras at once, ``_covariances``)."""
        if isinstance(msg.get("t"), int | float):
            self._open, self._dirty = float(msg["t"]), True   # an instant, even with no tracks in view
        fr = track_frame(msg if isinstance(msg, dict) else dict(msg))
        if fr is None:
            return
        t, ids, cls, xy = fr
        sig = msg.get("xy_sigma")
        sigma = np.full(len(ids), self.p.default_sigma_m) if sig is None else np.asarray(sig, float).ravel()
        ok = np.isfinite(xy).all(axis=1) & np.isfinite(sigma) & (sigma >= 0)
        if not ok.any():
            return
        keep = np.flatnonzero(ok) if not ok.all() else np.arange(len(ids))
        slots, new = self.slots.take([str(ids[k]) for k in keep] if len(keep) < len(ids) else ids)
        s = self.slots
        s.t[slots] = t
        s.xy[slots] = xy[keep]
        s.sigma[slots] = sigma[keep]
        s.cam[slots] = self.views.index(str(msg.get("camera_id")))
        code = self._classes.setdefault
        s.cls[slots] = [code(str(cls[k]), len(self._classes)) for k in keep.tolist()]
        s.seen[slots] += 1
        self._fresh.append(slots)
        if new.any():
            self._active = np.concatenate([self._active, slots[new]])

    def _covariances(self) -> None:
        """Covariance rows of the points taken since the last instant, elongated along their cameras' rays."""
        if not self._fresh:
            return
        s = self.slots
        f = np.concatenate(self._fresh)
        self._fresh = []
        s.cov[f] = ray_covariance(s.xy[f], self.views.xy[s.cam[f]], s.sigma[f], self.p.lateral_ratio)

    # ----------------------------------------------------------------------------------- one instant
    def _instant(self, t: float) -> dict[str, Any]:
        """Association, link counting, global ids and the fused message of the instant at ``t``."""
        self.instants += 1
        self._covariances()
        self._forget(t)
        s = self.slots
        act = self._active
        live = act[t - s.t[act] <= self.p.max_age_s + _SAME_T]
        i, j, d2 = self._gated(t, live)
        keep = one_per_camera(i, j, s.cam[live], d2, 0.5 * self.p.gate_chi2)
        a, b = live[i[keep]], live[j[keep]]
        self._count(t, live, np.unique(np.minimum(a, b) << 32 | np.maximum(a, b)))
        linked = self._linked
        self._learn(t, self._pairs[linked])
        pending = ~linked & (self._hits > 0)
        rows = self.ids.label(t, act, live, s, self._pairs[linked], self._hits[linked], self._pairs[pending])
        self._unlink(rows.dropped)
        return self._message(t, rows)

    def _covariance(self, t: float, slots: np.ndarray) -> np.ndarray:
        """Each point's covariance rows now: its own, plus the motion it may have missed since (both ways)."""
        age = np.maximum(t - self.slots.t[slots], 0.0)
        cov = self.slots.cov[slots].copy()
        cov[:, [0, 2]] += ((self.p.reach_mps * age) ** 2)[:, None]
        return cov

    def _gated(self, t: float, live: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs ``(i, j)`` of live tracks (indices into ``live``) of different, overlapping cameras and
        one class, within the gate; and their squared Mahalanobis distances."""
        s = self.slots
        i, j = near_pairs(s.xy[live], self.p.search_m)
        ci, cj = s.cam[live[i]], s.cam[live[j]]
        ok = (ci != cj) & self.views.matrix[ci, cj] & (s.cls[live[i]] == s.cls[live[j]])
        i, j = i[ok], j[ok]
        cov = self._covariance(t, live)
        pair = cov[i] + cov[j]
        pair[:, [0, 2]] += self.p.gate_floor_m ** 2
        d2 = mahalanobis2(s.xy[live[i]] - s.xy[live[j]] - self.offsets.of(ci[ok], cj[ok]), pair)
        ok = d2 <= self.p.gate_chi2
        return i[ok], j[ok], d2[ok]

    def _count(self, t: float, live: np.ndarray, paired: np.ndarray) -> None:
        """Counting technique: consecutive instants each pair was paired (``paired``: sorted codes) or not.
        An instant counts for a pair when both its tracks are live and one of them has a point of this
        instant; a pair not linked and missed once is dropped, a link missed ``break_n`` times breaks."""
        s = self.slots
        fresh = np.zeros(len(s), bool)
        is_live = np.zeros(len(s), bool)
        is_live[live] = True
        fresh[live[s.t[live] >= t - _SAME_T]] = True
        codes, hits, miss, linked = self._pairs, self._hits, self._miss, self._linked
        lo, hi = codes >> 32, codes & _MASK
        judged = is_live[lo] & is_live[hi] & (fresh[lo] | fresh[hi])
        pos = np.clip(np.searchsorted(paired, codes), 0, max(len(paired) - 1, 0))
        was = (paired[pos] == codes) if len(paired) else np.zeros(len(codes), bool)
        hit, missed = judged & was, judged & ~was
        hits[hit] += 1
        miss[hit] = 0
        hits[missed] = 0
        miss[missed] += 1
        new = np.setdiff1d(paired, codes, assume_unique=True)
        nlo, nhi = new >> 32, new & _MASK
        new = new[fresh[nlo] | fresh[nhi]]
        linked |= hits >= self.p.confirm_n
        stay = ~((~linked & (miss >= 1)) | (linked & (miss >= self.p.break_n)))
        codes = np.concatenate([codes[stay], new])
        order = np.argsort(codes, kind="stable")
        self._pairs = codes[order]
        self._hits = np.concatenate([hits[stay], np.ones(len(new), np.int64)])[order]
        self._miss = np.concatenate([miss[stay], np.zeros(len(new), np.int64)])[order]
        self._linked = np.concatenate([linked[stay], np.zeros(len(new), bool)])[order]
        self._linked |= self._hits >= self.p.confirm_n

    def _learn(self, t: float, links: np.ndarray) -> None:
        """Learn the cameras' pair offsets from the links whose two tracks both have a point now."""
        s = self.slots
        lo, hi = links >> 32, links & _MASK
        now = (s.t[lo] >= t - _SAME_T) & (s.t[hi] >= t - _SAME_T)
        lo, hi = lo[now], hi[now]
        self.offsets.learn(s.cam[lo], s.cam[hi], s.xy[lo] - s.xy[hi])

    def _unlink(self, dropped: np.ndarray) -> None:
        """Links that would put two tracks of one camera in one global track: counted again from 0."""
        if not len(dropped):
            return
        k = np.searchsorted(self._pairs, dropped)
        self._linked[k] = False
        self._hits[k] = 0

    def _forget(self, t: float) -> None:
        """Drop the camera tracks unseen for ``forget_s`` and their pairs."""
        act = self._active
        gone = t - self.slots.t[act] > self.p.forget_s
        if not gone.any():
            return
        dead = act[gone]
        self._active = act[~gone]
        self.slots.forget(dead)
        self.ids.forget(dead)
        alive = np.zeros(len(self.slots), bool)
        alive[self._active] = True
        keep = alive[self._pairs >> 32] & alive[self._pairs & _MASK]
        self._pairs, self._hits = self._pairs[keep], self._hits[keep]
        self._miss, self._linked = self._miss[keep], self._linked[keep]

    def _message(self, t: float, rows: Any) -> dict[str, Any]:
        """The instant's ``track/ground`` message from the labelled live tracks (``GlobalIds.label``)."""
        s = self.slots
        names = {v: k for k, v in self._classes.items()}
        ids, cls, members, cams = [], [], [], []
        cam_ids = self.views.ids
        for g, mem in zip(rows.gids.tolist(), rows.members, strict=True):
            ids.append(f"g{g}")
            cls.append(names[int(s.cls[mem[0]])])
            members.append([s.keys[m] for m in mem])
            cams.append(sorted({cam_ids[int(s.cam[m])] for m in mem}))
        c = rows.cov
        half, mid = 0.5 * (c[:, 0] - c[:, 2]), 0.5 * (c[:, 0] + c[:, 2])
        major = np.sqrt(mid + np.sqrt(half ** 2 + c[:, 1] ** 2))     # the long axis' 1-sigma
        return {"t": float(t), "topic": TOPIC, "ids": ids, "cls": cls, "xy": np.round(rows.xy, 2).tolist(),
                "xy_sigma": np.round(major, 3).tolist(), "xy_cov": np.round(c, 4).tolist(),
                "members": members, "cameras": cams}
