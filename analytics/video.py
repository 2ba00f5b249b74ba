"""Frozen and replayed video found from the frames' content alone (``camera/frame`` detections).

A live camera never sends the same frame twice: sensor noise changes every picture a little, so a
detector's boxes and scores change from frame to frame, even for a person standing still. In the real
detector outputs of ``../shared/datasets/mot`` (ACF and Faster R-CNN on TUD-Campus and TUD-Stadtmitte) no
(box, score) pair occurs twice, let alone a whole frame (``docs/performance.md``). The same frame coming
back is therefore evidence the picture is not live:

- ``video_frozen``: the same frame over and over (a stuck encoder, a frozen decoder): consecutive frames
  with identical detections for ``frozen_s``;
- ``video_replay``: frames that came before coming back after a while (a recorded loop played in place of
  the live picture): frames identical to one ``lag`` seconds earlier, ``min_matches`` times at one lag; the
  lag is the loop's period.

A frame is compared by its signature: every detection's box and score (as published, to 0.01 px and
0.001) hashed into 64 bits, combined over the frame in an order-free way. Only frames that carry
information count: a frame must hold a detection that was not in the previous frame of the stream
(``fresh``). An empty scene (a square at night), or one whose only detections are fixed (a poster a
detector keeps finding at the same box with the same score), repeats itself exactly while live, so it is
never evidence; the price is that a frozen or replayed empty scene cannot be found from its content.
A replay that is re-encoded (boxes moved by a pixel) is also out of reach of exact signatures.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.base import Detector, EpisodeFilter, make_alert
from analytics.geometry import camera_position

__all__ = ["VideoContentDetector", "VideoContentParams", "frame_keys"]

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True, slots=True)
class VideoContentParams:
    """Frozen and replayed video from repeated frames.

    Parameters
    ----------
    frozen_s : identical consecutive frames over this long are a frozen picture (default 5 s: a live
        stream never repeats one informative frame, so any run is evidence; 5 s makes it a state, not a
        glitch of the feed).
    frozen_frames : and at least this many identical frames (default 4, so a 1 fps camera needs 5 s too).
    min_lag_s : a frame identical to one at least this long before is a replay match (default 2 s; closer
        repeats are a frozen run).
    history_s : how long frame signatures are kept per camera: the longest replay loop found (default
        300 s).
    min_matches : replay matches at one lag before an alert (default 3).
    lag_tol_s : matches whose lags differ by less than this are at one lag (default 1 s: a replayed loop
        comes back at a fixed period; frames lost on the way shift it by a frame interval).
    window_s : matches older than this are forgotten (default 120 s).
    max_gap_s : frames further apart than this are not consecutive (a stream gap): the frame after a gap
        is not compared with the one before it (default 3 s).
    hold_s : alerts of one kind for one camera within this time are one episode (default 600 s).
    conf : confidence given to the alerts.
    """

    frozen_s: float = 5.0
    frozen_frames: int = 4
    min_lag_s: float = 2.0
    history_s: float = 300.0
    min_matches: int = 3
    lag_tol_s: float = 1.0
    window_s: float = 120.0
    max_gap_s: float = 3.0
    hold_s: float = 600.0
    conf: float = 0.8


def frame_keys(dets: Any) -> np.ndarray:
    """One 64-bit key per detection from its box and score (sorted), as the signatures use them.

    ``dets`` is a frame's ``detections``: a list of ``{bbox, conf}`` dicts, or an object that also holds
    them as arrays (``boxes``, ``conf``, as the simulator's bus delivers them).

    >>> d1, d2 = {"bbox": [1.0, 2.0, 3.0, 4.0], "conf": 0.5}, {"bbox": [5.0, 6.0, 7.0, 8.0], "conf": 0.9}
    >>> a, b = frame_keys([d1, d2]), frame_keys([d2, d1])
    >>> bool((a == b).all()), len(a), len(frame_keys([]))
    (True, 2, 0)
    """
    n = len(dets)
    if n == 0:
        return np.zeros(0, np.uint64)
    boxes, conf = getattr(dets, "boxes", None), getattr(dets, "conf", None)
    if boxes is None or conf is None:
        boxes = [d["bbox"] for d in dets]
        conf = [d.get("conf", 1.0) for d in dets]
    rows = np.empty((n, 5), np.float64)
    rows[:, :4] = np.asarray(boxes, np.float64).reshape(n, 4)
    rows[:, 4] = np.asarray(conf, np.float64).reshape(n)
    rows += 0.0                                     # -0.0 -> 0.0: equal values, equal bits
    bits = rows.view(np.uint64)
    h = np.zeros(n, np.uint64)
    for j in range(5):                              # five columns, not one pass per detection
        h = (h ^ bits[:, j]) * _M1
    h ^= h >> np.uint64(31)
    h *= _M2
    h ^= h >> np.uint64(29)
    h *= _M3
    h ^= h >> np.uint64(32)
    return np.sort(h)


def _any_new(keys: np.ndarray, prev: np.ndarray) -> bool:
    """Whether any of the sorted ``keys`` is missing from the sorted ``prev``."""
    if not len(prev):
        return bool(len(keys))
    i = np.minimum(np.searchsorted(prev, keys), len(prev) - 1)
    return bool((prev[i] != keys).any())


def _signature(keys: np.ndarray) -> tuple[int, int, int]:
    """An order-free signature of a frame: its detection count, and the sum and xor of its keys."""
    return len(keys), int(np.add.reduce(keys, dtype=np.uint64)), int(np.bitwise_xor.reduce(keys))


class _Stream:
    """One camera's recent frames: the previous frame, the current run of identical frames, the
    signatures of informative frames (by last time seen) and the replay matches."""

    __slots__ = ("hist", "matches", "order", "prev_keys", "prev_t", "run_alerted", "run_fresh", "run_n",
                 "run_sig", "run_t0")

    def __init__(self) -> None:
        self.prev_keys = np.zeros(0, np.uint64)
        self.prev_t = -np.inf
        self.run_sig: tuple | None = None
        self.run_t0 = 0.0
        self.run_n = 0
        self.run_fresh = False
        self.run_alerted = False
        self.hist: dict[tuple, float] = {}
        self.order: deque[tuple[float, tuple]] = deque()
        self.matches: deque[tuple[float, float]] = deque()


class VideoContentDetector(Detector):
    """Frozen and replayed pictures per camera from repeated frame signatures (see the module docstring)."""

    name = "video_content"
    alert_kinds = ("video_frozen", "video_replay")
    Params = VideoContentParams
    topics = ("camera/calibration", "camera/frame")

    def __init__(self, params: VideoContentParams = VideoContentParams()) -> None:
        self.p = params
        self._streams: dict[str, _Stream] = {}
        self._xy: dict[str, tuple[float, float]] = {}
        self._episodes = EpisodeFilter(params.hold_s)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        cam = str(msg.get("camera_id"))
        if msg.get("topic") == "camera/calibration":
            pos = camera_position(msg)
            if pos is not None:
                self._xy[cam] = pos
            return []
        if msg.get("topic") != "camera/frame":
            return []
        t = float(msg["t"])
        st = self._streams.get(cam)
        if st is None:
            st = self._streams[cam] = _Stream()
        keys = frame_keys(msg.get("detections") or [])
        sig = _signature(keys)
        near = t - st.prev_t <= self.p.max_gap_s
        fresh = bool(len(keys)) and near and _any_new(keys, st.prev_keys)
        out = self._frozen(cam, st, t, sig, near, fresh, len(keys))
        if fresh:
            out += self._replay(cam, st, t, sig)
        st.prev_keys, st.prev_t = keys, t
        return out

    def _frozen(self, cam: str, st: _Stream, t: float, sig: tuple, near: bool, fresh: bool,
                n: int) -> list[dict[str, Any]]:
        """Extend or restart the run of identical frames; alert once per run that lasts."""
        if near and sig == st.run_sig:
            st.run_n += 1
        else:
            st.run_sig, st.run_t0, st.run_n, st.run_fresh, st.run_alerted = sig, t, 1, fresh, False
        p = self.p
        if (not st.run_fresh or st.run_alerted or st.run_n < p.frozen_frames
                or t - st.run_t0 < p.frozen_s - 1e-9):
            return []
        st.run_alerted = True
        if not self._episodes.admit(t, ("video_frozen", cam)):
            return []
        ev = {"camera_id": cam, "since": round(st.run_t0, 3), "frozen_s": round(t - st.run_t0, 3),
              "frames": st.run_n, "detections": n, "via": "identical_frames"}
        return [make_alert(t, "video_frozen", p.conf, xy=self._xy.get(cam), source=[cam], evidence=ev)]

    def _replay(self, cam: str, st: _Stream, t: float, sig: tuple) -> list[dict[str, Any]]:
        """Record an informative frame's signature; a frame seen ``min_lag_s`` or more before is a match."""
        p = self.p
        last = st.hist.get(sig)
        st.hist[sig] = t
        st.order.append((t, sig))
        while st.order and st.order[0][0] < t - p.history_s:
            t_old, s_old = st.order.popleft()
            if st.hist.get(s_old) == t_old:
                del st.hist[s_old]
        while st.matches and st.matches[0][0] < t - p.window_s:
            st.matches.popleft()
        if last is None or t - last < p.min_lag_s:
            return []
        lag = t - last
        st.matches.append((t, lag))
        lags = np.array([m[1] for m in st.matches])
        agree = lags[np.abs(lags - lag) < p.lag_tol_s]
        if len(agree) < p.min_matches or not self._episodes.admit(t, ("video_replay", cam)):
            return []
        ev = {"camera_id": cam, "period_s": round(float(np.median(agree)), 3), "matches": int(len(agree)),
              "via": "frame_signature"}
        return [make_alert(t, "video_replay", p.conf, xy=self._xy.get(cam), source=[cam], evidence=ev)]
