"""ByteTrack for many cameras at once: every camera's frame of one instant tracked by one batch of array ops.

Why: a city run has about 1,100 camera frames per simulated second of 5-30 boxes each, and the library
tracker (``analytics.bytetrack_pool.PooledByteTrackTracker``, one per camera) spends most of its time per
frame in Python (detection objects, tracklet objects, per-frame IoU and assignment calls, lifecycle loops),
not in arithmetic. ``MultiByteTrack`` keeps every camera's tracklets as rows of arrays (camera, filter
row in one ``KalmanPool``, id, miss clocks) and runs each step once for the whole batch: one Kalman
predict, one IoU pass (over the track-detection pairs of a camera whose x ranges can overlap, found by one
sort and binary search for all cameras: every other pair's IoU is 0), one Kalman update. Only the
assignment is per camera, and only where it must be: a camera whose overlapping (IoU > 0) pairs form a
matching (no track or detection overlaps two) has exactly those pairs as its optimal assignment, so it
needs no solver; the others run scipy's ``linear_sum_assignment`` on their whole IoU matrix, as the library
does.

The result is the library tracker's, camera by camera: same ids, same returned detections in the same
order (tested frame by frame against ``PooledByteTrackTracker``), because every rule is the library's
(``trackers`` 2.6: ``ByteTrackTracker.update``, ``BaseTracker._predict_timing``, ``_prune_lost_tracks``,
``_get_associated_indices``, ``_get_alive_tracklets``), the IoU is supervision's ``box_iou_batch``
arithmetic element for element (float64, rounded to float32), and the Kalman rows go through the same
row kernels as the pooled tracker's (``analytics.kalman_rows``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from analytics.bytetrack_pool import KalmanPool
from analytics.kalman_rows import predict_rows, update_rows

__all__ = ["BatchResult", "MultiByteTrack", "box_iou_pairs", "overlap_candidates", "ranges"]

_ROW_FIELDS = ("cam", "slot", "tid", "key", "tsu", "tsu_s", "nsc", "age")


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, counts)])`` without the Python loop."""
    counts = np.asarray(counts, np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(np.asarray(starts, np.int64) - (ends - counts), counts)
    return np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + shift


def box_iou_pairs(a: np.ndarray, b: np.ndarray, area_a: np.ndarray, area_b: np.ndarray) -> np.ndarray:
    """IoU of the box pairs ``a[i]``, ``b[i]`` (``[x1, y1, x2, y2]``, float64; ``area_*`` their
    ``(x2 - x1) * (y2 - y1)``), with supervision's ``box_iou_batch`` arithmetic element for element: float64
    operations in its order, the quotient rounded to float32, 0 where the union is not positive."""
    iw = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    np.clip(iw, 0.0, None, out=iw)
    np.clip(ih, 0.0, None, out=ih)
    inter = iw * ih
    union = area_a + area_b - inter
    out = np.zeros(len(inter), np.float32)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def _areas(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def overlap_candidates(
    tboxes: np.ndarray, tpos: np.ndarray, dboxes: np.ndarray, dpos: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(track, box) index pairs of the same camera (``tpos``, ``dpos``: camera positions, each ascending)
    that include every pair whose x ranges overlap, without forming all pairs.

    A pair has a positive intersection width only if ``t.x1 < d.x2`` and ``t.x2 > d.x1``, so ``t.x1`` lies
    in ``[d.x1 - w, d.x2]`` with ``w`` the camera's widest track (a bit more, for rounding): with the
    tracks sorted by camera and ``x1``, a contiguous run found by binary search. The runs are searched in
    one sorted key ``camera * span + x1`` (rounding is monotonic, so no track in a run's range is missed;
    ``tpos`` must be grouped by camera).
    Pairs come grouped by box (ascending), then in track ``x1`` order.
    """
    if not len(tboxes) or not len(dboxes):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    width = np.maximum(tboxes[:, 2] - tboxes[:, 0], 0.0)
    wmax = np.zeros(k)
    first = np.flatnonzero(np.r_[True, tpos[1:] != tpos[:-1]])  # tpos is grouped: each camera's first
    wmax[tpos[first]] = np.maximum.reduceat(width, first)
    lo = dboxes[:, 0] - wmax[dpos] * 1.001
    lo -= 1e-6 * (np.abs(lo) + wmax[dpos])  # rounding slack, far above rounding's size
    hi = dboxes[:, 2]
    base = min(lo.min(), tboxes[:, 0].min())
    with np.errstate(over="ignore", invalid="ignore"):
        span = 2.0 * (max(hi.max(), tboxes[:, 0].max()) - base) + 1.0
        finite = np.isfinite(span * k)
    if not finite:  # coordinates near the float limit: every same-camera pair instead
        nt = np.bincount(tpos, minlength=k)
        t0 = np.cumsum(nt) - nt
        return ranges(t0[dpos], nt[dpos]), np.repeat(np.arange(len(dboxes)), nt[dpos])
    key = tpos * span + (tboxes[:, 0] - base)
    order = np.argsort(key)
    key = key[order]
    a = np.searchsorted(key, dpos * span + (lo - base), "left")
    b = np.searchsorted(key, dpos * span + (hi - base), "right")
    count = b - a
    return order[ranges(a, count)], np.repeat(np.arange(len(dboxes)), count)


@dataclass
class BatchResult:
    """What ``MultiByteTrack.update`` returns for a batch of ``k`` frames.

    Camera ``p`` (its position in the batch) returned rows ``offsets[p]:offsets[p + 1]``: ``det`` indexes
    the detection in that camera's frame, ``tracker_id`` is its id (-1: not tracked, or not yet confirmed),
    ``key`` a number unique to the track over all cameras (-1 with id -1). ``errors[p]``: the frame held a
    non-finite box, the error ``sv.Detections`` raises on it; it returned nothing and changed nothing.
    """

    offsets: np.ndarray
    det: np.ndarray
    tracker_id: np.ndarray
    key: np.ndarray
    errors: dict[int, Exception] = field(default_factory=dict)


@dataclass
class _Timing:
    """``BaseTracker._predict_timing`` for each camera of a batch (``rate`` NaN for None)."""

    step: np.ndarray
    elapsed: np.ndarray
    rate: np.ndarray
    uses_elapsed: np.ndarray
    skip: np.ndarray


class MultiByteTrack:
    """The library's ``ByteTrackTracker`` (XYXY state, IoU) run for many cameras in one set of arrays.

    Parameters are the library's; ``add_camera`` gives each camera its frame rate. ``update`` takes one frame
    of each of a set of cameras and returns, per camera, what its own ``PooledByteTrackTracker.update(dets,
    timestamp=t)`` would return. Ids are per camera, from 0, as a per-camera tracker hands them out.
    """

    def __init__(
        self,
        lost_track_buffer: int = 30,
        track_activation_threshold: float = 0.7,
        minimum_consecutive_frames: int = 2,
        minimum_iou_threshold: float = 0.1,
        high_conf_det_threshold: float = 0.6,
    ) -> None:
        if lost_track_buffer < 0:
            raise ValueError("lost_track_buffer must be greater than or equal to 0")
        self.lost_track_buffer = lost_track_buffer
        self.maximum_time_without_update = lost_track_buffer / 30.0
        self.track_activation_threshold = track_activation_threshold
        self.minimum_consecutive_frames = minimum_consecutive_frames
        self.minimum_iou_threshold = minimum_iou_threshold
        self.high_conf_det_threshold = high_conf_det_threshold
        #: every track's Kalman filter (a row ``slot``), with the library's R, initial P and Q(step)
        self.pool = KalmanPool(capacity=256)
        # per camera
        self.frame_rate = np.empty(0)
        self.max_frames = np.empty(0, np.int64)
        self.last_ts = np.empty(0)  # NaN: no timestamp yet (the library's None)
        self.next_id = np.empty(0, np.int64)
        # per track, sorted by camera; a camera's rows in its tracker's list order
        self.cam = np.empty(0, np.int64)
        self.slot = np.empty(0, np.int64)
        self.tid = np.empty(0, np.int64)
        self.key = np.empty(0, np.int64)
        self.tsu = np.empty(0, np.int64)  # frames since the last match
        self.tsu_s = np.empty(0)  # seconds since the last match
        self.nsc = np.empty(0, np.int64)  # consecutive matched frames
        self.age = np.empty(0, np.int64)
        self.keys_issued = 0

    def add_camera(self, frame_rate: float) -> int:
        """A new camera (no tracks, no timestamp yet); returns its index for ``update``."""
        if not math.isfinite(frame_rate) or frame_rate <= 0:
            raise ValueError("frame_rate must be a finite positive value")
        buf = self.lost_track_buffer
        frames = 0 if buf == 0 else max(1, math.ceil(frame_rate / 30.0 * buf))
        self.frame_rate = np.append(self.frame_rate, float(frame_rate))
        self.max_frames = np.append(self.max_frames, frames)
        self.last_ts = np.append(self.last_ts, np.nan)
        self.next_id = np.append(self.next_id, 0)
        return len(self.frame_rate) - 1

    def tracks_of(self, camera: int) -> np.ndarray:
        """Row indices of one camera's live tracks, in its tracker's order."""
        return np.arange(*np.searchsorted(self.cam, [camera, camera + 1]))

    def update(
        self,
        cams: Sequence[int] | np.ndarray,
        timestamps: Sequence[float | None],
        xyxy: np.ndarray,
        conf: np.ndarray,
        offsets: Sequence[int] | np.ndarray,
    ) -> BatchResult:
        """Track one frame of each camera in ``cams`` (distinct): camera ``cams[p]`` saw boxes
        ``xyxy[offsets[p]:offsets[p + 1]]`` (``[x1, y1, x2, y2]``) with confidences ``conf[...]`` at
        ``timestamps[p]`` (seconds, or None for the library's fixed-rate mode)."""
        cams = np.asarray(cams, np.int64)
        k = len(cams)
        if len(np.unique(cams)) != k:
            raise ValueError("a batch takes at most one frame per camera")
        xyxy = np.asarray(xyxy, float).reshape(-1, 4)
        conf = np.asarray(conf, float).reshape(-1)
        off = np.asarray(offsets, np.int64)
        det_pos = np.repeat(np.arange(k), np.diff(off))
        bad = _any(det_pos[~np.isfinite(xyxy).all(axis=1)], k)
        if bad.any():
            return self._without(bad, cams, timestamps, xyxy, conf, off)
        tm = self._timing(cams, timestamps)
        seg0 = np.searchsorted(self.cam, cams, "left")
        nt0 = np.searchsorted(self.cam, cams, "right") - seg0
        nd = np.diff(off)
        act = ~tm.skip & ((nt0 > 0) | (nd > 0))  # the others return at once (skip_update, nothing to track)
        rows = ranges(seg0[act], nt0[act])
        rpos = np.repeat(np.flatnonzero(act), nt0[act])
        self._predict(rows, rpos, tm)
        alive = np.ones(len(self.cam), bool)
        expired = tm.uses_elapsed[rpos] & (self.tsu_s[rows] > self.maximum_time_without_update)
        alive[rows[expired]] = False  # the library's pre-association time-budget prune
        rows, rpos = rows[~expired], rpos[~expired]
        out = _Outputs(k)
        skipped = np.flatnonzero(tm.skip[det_pos])  # returned as given, with id -1
        out.add(det_pos[skipped], 0, skipped - off[det_pos[skipped]], -1, -1)
        self._associate_and_spawn(rows, rpos, act, (xyxy, conf, off, det_pos), cams, tm, alive, out)
        return out.result()

    def _without(
        self,
        bad: np.ndarray,
        cams: np.ndarray,
        timestamps: Sequence[float | None],
        xyxy: np.ndarray,
        conf: np.ndarray,
        off: np.ndarray,
    ) -> BatchResult:
        """The batch without the frames that hold a non-finite box: each gets the error ``sv.Detections``
        raises on it (a per-camera tracker never sees such a frame: its state stays as it was)."""
        good = np.flatnonzero(~bad)
        keep = np.repeat(~bad, np.diff(off))
        sub = self.update(cams[good], [timestamps[p] for p in good], xyxy[keep], conf[keep],
                          np.concatenate([[0], np.cumsum(np.diff(off)[good])]))
        count = np.zeros(len(cams), np.int64)
        count[good] = np.diff(sub.offsets)
        errors = {int(good[q]): e for q, e in sub.errors.items()}
        for p in np.flatnonzero(bad):
            errors[int(p)] = ValueError("xyxy must contain only finite numeric values (no NaN or inf).")
        return BatchResult(offsets=np.concatenate([[0], np.cumsum(count)]), det=sub.det,
                           tracker_id=sub.tracker_id, key=sub.key, errors=errors)

    def _timing(self, cams: np.ndarray, timestamps: Sequence[float | None]) -> _Timing:
        """``BaseTracker._predict_timing`` for each camera (its warnings too); advances ``last_ts``."""
        k = len(cams)
        has = np.array([t is not None for t in timestamps], bool).reshape(k)
        ts = np.array([np.nan if t is None else float(t) for t in timestamps], float).reshape(k)
        fr, last = self.frame_rate[cams], self.last_ts[cams]
        with np.errstate(invalid="ignore"):
            finite = has & np.isfinite(ts)
            boot = finite & np.isnan(last)
            back = finite & ~boot & (ts < last)
            dup = finite & ~boot & (ts == last)
            ahead = finite & ~boot & (ts > last)
        moved = boot | ahead
        elapsed = np.full(k, np.nan)
        elapsed[boot] = 1.0 / fr[boot]
        elapsed[ahead] = ts[ahead] - last[ahead]
        elapsed[dup] = 0.0
        step = np.where(has, 0.0, 1.0)
        step[moved] = elapsed[moved] * fr[moved]
        new_last = last.copy()
        new_last[~has] = np.nan
        new_last[moved] = ts[moved]
        self.last_ts[cams] = new_last
        name = type(self).__name__
        for p in np.flatnonzero(has & ~finite):
            warnings.warn(f"{name}: timestamp {ts[p]!r} is not finite; skipping update.", UserWarning,
                          stacklevel=3)
        for p in np.flatnonzero(back):
            warnings.warn(f"{name}: timestamp {ts[p]} is earlier than the previous timestamp {last[p]}. "
                          "Skipping update; pass capture times in non-decreasing order.", UserWarning,
                          stacklevel=3)
        for p in np.flatnonzero(dup):
            warnings.warn(f"{name}: duplicate timestamp {ts[p]}; skipping predict for this step.",
                          UserWarning, stacklevel=3)
        return _Timing(step=step, elapsed=elapsed, rate=np.where(moved, fr, np.nan),
                       uses_elapsed=boot | ahead | dup, skip=(has & ~finite) | back)

    def _predict(self, rows: np.ndarray, rpos: np.ndarray, tm: _Timing) -> None:
        """Kalman predict and miss-clock advance of the tracks of cameras whose time moved on."""
        go = tm.step[rpos] > 0  # skip_predict: a duplicate timestamp
        rows, rpos = rows[go], rpos[go]
        if not len(rows):
            return
        # Q per distinct (step, rate) of the cameras (one in a city run: every camera's step is the same)
        cam_pos = np.unique(rpos)
        keys = np.column_stack([tm.step, np.nan_to_num(tm.rate, nan=-1.0)])[cam_pos]
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        Q = np.stack([self.pool.process_noise(float(s), None if r < 0 else float(r)) for s, r in uniq])
        q_of = inv.reshape(-1)[np.searchsorted(cam_pos, rpos)].astype(np.int64)
        slots = self.slot[rows]
        o = np.argsort(slots)  # filters in memory order: about 4x faster than scattered on a city's 10,000
        predict_rows(self.pool.x, self.pool.P, slots[o], tm.step[rpos][o], Q, q_of[o])
        lost = rows[self.tsu[rows] > 0]
        self.nsc[lost] = 0
        self.tsu[rows] += 1
        uses = tm.uses_elapsed[rpos]
        self.tsu_s[rows] = np.where(uses, self.tsu_s[rows] + np.where(uses, tm.elapsed[rpos], 0.0), 0.0)
        self.age[rows] += 1

    def _associate_and_spawn(
        self,
        rows: np.ndarray,
        rpos: np.ndarray,
        act: np.ndarray,
        frames: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        cams: np.ndarray,
        tm: _Timing,
        alive: np.ndarray,
        out: _Outputs,
    ) -> None:
        """The two association stages, id allocation, new tracks and the lifecycle prune of a batch
        (``frames``: the batch's boxes, confidences, offsets and each box's camera position)."""
        xyxy, conf, off, det_pos = frames
        k = len(cams)
        high = conf >= self.high_conf_det_threshold
        boxes = self.pool.x[self.slot[rows], :4]  # the predicted boxes
        # the IoU of every (track, box) pair that can overlap, once for both stages
        dk = np.flatnonzero(act[det_pos])
        ct, cd = overlap_candidates(boxes, rpos, xyxy[dk], det_pos[dk], k)
        cd = dk[cd]
        pairs = (ct, cd, box_iou_pairs(boxes[ct], xyxy[cd], _areas(boxes)[ct], _areas(xyxy)[cd]))
        # stage 1: every track against the high-confidence boxes
        h = np.flatnonzero(high & act[det_pos])
        mt, md = self._match(pairs, (np.arange(len(rows)), rpos), (h, det_pos), k)
        m1, d1 = mt, h[md]
        # stage 2: the tracks left against the low-confidence boxes
        left = np.ones(len(rows), bool)
        left[m1] = False
        t2 = np.flatnonzero(left)
        low = np.flatnonzero(~high & act[det_pos])
        mt, md = self._match(pairs, (t2, rpos), (low, det_pos), k)
        m2, d2 = t2[mt], low[md]
        r1, r2 = rows[m1], rows[m2]
        matched, dets_m = np.concatenate([r1, r2]), np.concatenate([d1, d2])
        self.tsu[matched] = 0
        self.tsu_s[matched] = 0.0
        self.nsc[matched] += 1
        self._allocate_ids(matched, det_pos[dets_m], cams)
        for group, r, d in ((0, r1, d1), (1, r2, d2)):
            out.add(det_pos[d], group, d - off[det_pos[d]], self.tid[r], self.key[r])
        unmatched = act[det_pos]
        unmatched[dets_m] = False
        for group, mask in ((2, ~high), (3, high)):
            d = np.flatnonzero(unmatched & mask)
            out.add(det_pos[d], group, d - off[det_pos[d]], -1, -1)
        # the measurements, as the pooled tracker's flush at the end of a frame
        slots = self.slot[matched]
        o = np.argsort(slots)  # in memory order
        update_rows(self.pool.x, self.pool.P, slots[o], xyxy[dets_m[o]], self.pool.R)
        spawn = np.flatnonzero(unmatched & high & (conf >= self.track_activation_threshold))
        self._lifecycle(rows, rpos, cams, tm, alive)
        self._compact(alive, cams[det_pos[spawn]], xyxy[spawn])

    def _match(
        self,
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
        tracks: tuple[np.ndarray, np.ndarray],
        dets: tuple[np.ndarray, np.ndarray],
        k: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``_get_associated_indices`` for every camera at once.

        ``tracks`` = (the stage's tracks, ascending, as indices into the batch's track list; every track's
        camera position), ``dets`` likewise for its boxes, ``pairs`` = (track, box, IoU) of the pairs that
        can overlap (every other pair's IoU is 0). Returns the matched pairs as indices into the stage's
        tracks and boxes, in the library's order (by track within a camera).

        A camera whose overlapping pairs (IoU > 0) share no track and no box has them as its optimal
        assignment (no assignment sums more, and one holding them all exists), so the solver could only
        add pairs of IoU 0, which the threshold drops: its matches are its overlapping pairs at or above
        the threshold. Every other camera gets scipy's ``linear_sum_assignment`` on its whole IoU matrix,
        exactly as the library calls it.
        """
        (tsel, tpos_all), (dsel, dpos_all) = tracks, dets
        tpos, dpos = tpos_all[tsel], dpos_all[dsel]
        nt, nd = np.bincount(tpos, minlength=k), np.bincount(dpos, minlength=k)
        npair = nt * nd
        if not npair.any():
            return np.empty(0, np.int64), np.empty(0, np.int64)
        t0, d0 = np.cumsum(nt) - nt, np.cumsum(nd) - nd
        tmap, dmap = np.full(len(tpos_all), -1), np.full(len(dpos_all), -1)
        tmap[tsel], dmap[dsel] = np.arange(len(tsel)), np.arange(len(dsel))
        gt, gd = tmap[pairs[0]], dmap[pairs[1]]
        on = (gt >= 0) & (gd >= 0)
        gt, gd, iou = gt[on], gd[on], pairs[2][on]
        pp = tpos[gt]
        thr = self.minimum_iou_threshold
        overlap = iou > 0
        if thr > 0:
            t_many = np.bincount(gt[overlap], minlength=len(tsel)) > 1
            d_many = np.bincount(gd[overlap], minlength=len(dsel)) > 1
            hard = _any(tpos[t_many], k) | _any(dpos[d_many], k) | _any(pp[~np.isfinite(iou)], k)
        else:  # pairs of IoU 0 are matches too: only the solver knows which
            hard = npair > 0
        easy = overlap & ~hard[pp] & (iou >= thr)
        mt, md = gt[easy], gd[easy]
        if hard.any():
            r, c = _solve(hard, nt, nd, (pp, gt - t0[pp], gd - d0[pp], iou), thr)
            mt, md = np.concatenate([mt, t0[r[0]] + r[1]]), np.concatenate([md, d0[r[0]] + c])
        order = np.argsort(mt, kind="stable")
        return mt[order], md[order]

    def _allocate_ids(self, matched: np.ndarray, mpos: np.ndarray, cams: np.ndarray) -> None:
        """Ids for the matched tracks that just became confirmed, per camera in the library's order
        (stage 1 matches by track, then stage 2's: ``matched`` is in that order within each camera)."""
        need = (self.tid[matched] == -1) & (self.nsc[matched] >= self.minimum_consecutive_frames)
        rows, pos = matched[need], mpos[need]
        if not len(rows):
            return
        order = np.argsort(pos, kind="stable")
        rows, pos = rows[order], pos[order]
        count = np.bincount(pos, minlength=len(cams))
        rank = np.arange(len(rows)) - (np.cumsum(count) - count)[pos]
        self.tid[rows] = self.next_id[cams[pos]] + rank
        self.next_id[cams] += count
        self.key[rows] = self.keys_issued + np.arange(len(rows))
        self.keys_issued += len(rows)

    def _lifecycle(self, rows: np.ndarray, rpos: np.ndarray, cams: np.ndarray, tm: _Timing,
                   alive: np.ndarray) -> None:
        """``_get_alive_tracklets`` on the batch's old tracks (new ones always pass): within the lost-track
        budget (seconds with timestamps, else frames) and confirmed or matched this frame."""
        within = np.where(
            tm.uses_elapsed[rpos],
            self.tsu_s[rows] <= self.maximum_time_without_update,
            self.tsu[rows] <= self.max_frames[cams[rpos]],
        )
        mature = (self.tid[rows] != -1) | (self.nsc[rows] >= self.minimum_consecutive_frames)
        alive[rows[~(within & (mature | (self.tsu[rows] == 0)))]] = False

    def _compact(self, alive: np.ndarray, new_cam: np.ndarray, new_boxes: np.ndarray) -> None:
        """Drop the dead tracks (their filters go back to the pool) and append the new ones after their
        camera's others."""
        self.pool.release(self.slot[~alive])
        n = len(new_cam)
        new = {
            "cam": new_cam,
            "slot": self.pool.allocate_many(new_boxes),
            "tid": np.full(n, -1, np.int64),
            "key": np.full(n, -1, np.int64),
            "tsu": np.zeros(n, np.int64),
            "tsu_s": np.zeros(n),
            "nsc": np.ones(n, np.int64),  # the first box counts, as in ByteTrackTracklet
            "age": np.zeros(n, np.int64),
        }
        # the survivors stay sorted by camera; new rows go after their camera's others
        order = np.argsort(np.concatenate([self.cam[alive], new_cam]), kind="stable") if n else None
        for name in _ROW_FIELDS:
            col = np.concatenate([getattr(self, name)[alive], new[name]])
            setattr(self, name, col if order is None else col[order])


def _solve(
    hard: np.ndarray, nt: np.ndarray, nd: np.ndarray, pairs: tuple[np.ndarray, ...], thr: float
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """scipy's ``linear_sum_assignment`` (maximize) on each ``hard`` camera's whole IoU matrix (``nt`` x
    ``nd``: 0 but for ``pairs`` = (camera, track, box, IoU), local indices), as the library calls it;
    returns its pairs at or above ``thr`` as ((camera, track), box)."""
    size = np.where(hard, nt * nd, 0)
    b0 = np.cumsum(size) - size
    pp, ti, di, iou = pairs
    on = hard[pp]
    # every hard camera's matrix, one after the other (in float64, as scipy converts it: exact)
    flat = np.zeros(int(size.sum()))
    flat[b0[pp[on]] + ti[on] * nd[pp[on]] + di[on]] = iou[on]
    hp = np.flatnonzero(hard)
    rs, cs = [], []
    for o, a, b in zip(b0[hp].tolist(), nt[hp].tolist(), nd[hp].tolist(), strict=True):
        r, c = linear_sum_assignment(flat[o : o + a * b].reshape(a, b), maximize=True)
        rs.append(r)
        cs.append(c)
    cam = np.repeat(hp, [len(r) for r in rs])
    r, c = np.concatenate(rs), np.concatenate(cs)
    keep = flat[b0[cam] + r * nd[cam] + c].astype(np.float32) >= thr  # the library compares float32
    return (cam[keep], r[keep]), c[keep]


def _any(pos: np.ndarray, k: int) -> np.ndarray:
    """Which of ``k`` camera positions occur in ``pos``."""
    return np.bincount(pos, minlength=k) > 0


class _Outputs:
    """The rows a batch returns, gathered in groups and put in the library's order at the end: per camera,
    stage 1 matches, stage 2 matches, unmatched low boxes, unmatched high boxes."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, pos: np.ndarray, group: int, det: np.ndarray, tid: np.ndarray | int,
            key: np.ndarray | int) -> None:
        n = len(pos)
        self.parts.append((pos, np.full(n, group), det, np.broadcast_to(tid, n), np.broadcast_to(key, n)))

    def result(self) -> BatchResult:
        pos, group, det, tid, key = (np.concatenate([p[i] for p in self.parts]) for i in range(5))
        order = np.lexsort((np.arange(len(pos)), group, pos))
        count = np.bincount(pos, minlength=self.k)
        offsets = np.concatenate([[0], np.cumsum(count)])
        return BatchResult(offsets=offsets, det=det[order].astype(np.int64),
                           tracker_id=tid[order].astype(np.int64), key=key[order].astype(np.int64))
