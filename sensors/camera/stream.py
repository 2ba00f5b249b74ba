"""What the video management system (VMS) receives of one camera's stream, and the health record it keeps.

A camera's ``measure`` asks its ``StreamView`` three things each frame: does this frame reach the server
(``delivers``), what picture does it carry (``content``: the live detections, a stuck encoder's last frame,
an attacker's replay), and what does the server's health record say now (``health``).

``camera/health`` is what a VMS observes of a stream, nothing more::

    {camera_id, t, stream: "up" | "down", fps, bitrate_kbps, reconnects}

- ``stream``: ``up`` while frames arrive over an open session; ``down`` when the session breaks (the
  network's ``CameraLink.connected``) or no frame arrived for ``STALL_S``. Back ``up`` at the next frame,
  which counts one more ``reconnects`` (sessions re-opened since the first one).
- ``fps``: frames received per second over the last ``HEALTH_PERIOD_S`` of the current session (0 while
  down); ``bitrate_kbps``: the stream's nominal bitrate scaled by the share of frames received.
- Sent when ``stream`` changes (the first frame opens the session: one message) and every
  ``HEALTH_PERIOD_S``.

The camera's internal state is never in it. What each state looks like from the server:

============  ==============================================================================================
state         what reaches the server
============  ==============================================================================================
ok, moved     every frame; a moved camera's picture no longer matches its calibration, its health is normal
frozen        every frame, each repeating the last live one (a stuck encoder re-sending its last picture at
              the stream's rate and bitrate: the VMS sees a healthy stream)
replayed      an attacker's loop of the camera's own last ``loop_s`` seconds (``CameraLink.loop_s``), with
              new timestamps and frame numbers: a healthy stream after the session reset the attack causes
degraded      a congested uplink: only a share of the frames (``CameraLink.share``, else ``DEGRADED_SHARE``),
              evenly spread; fps and bitrate fall with it
offline       nothing: the stream stalls and goes ``down`` after ``STALL_S``
============  ==============================================================================================

No randomness: which frames a congested link lets through is a fixed pattern of the frame number.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Protocol

__all__ = ["DEFAULT_BITRATE_KBPS", "DEGRADED_SHARE", "HEALTH_PERIOD_S", "STALL_S", "LinkState", "StreamView"]

#: Seconds between periodic ``camera/health`` records (a choice: VMSs poll stream statistics every few
#: seconds to a minute; 10 s keeps the record small and an outage visible within one period).
HEALTH_PERIOD_S = 10.0
#: A stream with no frame for this long is down: the video server's "no data for 5 s" timeout, the same
#: the range's recorder logs when it aborts a session (``sensors.cyber.streams``).
STALL_S = 5.0
#: Share of frames a degraded camera delivers when the network gives none (a scheduled ``degraded`` fault:
#: a congested uplink of unstated cause; a choice, half the frames).
DEGRADED_SHARE = 0.5
#: Nominal bitrate of a stream the network gives none for: 5000 kbit/s, the mean of the cyber range's
#: per-camera draw U(2, 8) Mbit/s (``sensors.cyber.traffic.TrafficParams.bitrate_mbps``).
DEFAULT_BITRATE_KBPS = 5000.0


class LinkState(Protocol):
    """What the network does to the stream now (``sensors.cyber.streams.CameraLink`` is one)."""

    connected: bool
    share: float | None
    loop_s: float
    keep_s: float
    bitrate_kbps: float | None


def _copy(dets: Any) -> Any:
    """New detection dicts (subscribers may change theirs); the arrays of compact forms are shared."""
    return dets.copy() if hasattr(dets, "boxes") else [dict(d) for d in dets]


class StreamView:
    """One camera's stream as the video server receives it (rules in the module docstring)."""

    def __init__(self, camera_id: str, fps: float) -> None:
        self.camera_id = camera_id
        self.fps = float(fps)
        self.link: LinkState | None = None
        self.reconnects = 0
        self._up: bool | None = None          # None: no frame asked for yet
        self._opened = 0                      # 1 once a session has been up
        self._since = 0.0                     # when the current session came up
        self._last_t = 0.0                    # last frame received (or the first call)
        self._times: deque[float] = deque()   # frames received within the last HEALTH_PERIOD_S
        self._next_report = math.inf
        self._last: Any = []                  # last live detections (what a stuck encoder repeats)
        self._keep: deque = deque(maxlen=0)   # the recent live picture an attacker records
        self._loop: list | None = None
        self._loop_i = 0

    def set_link(self, link: LinkState | None) -> None:
        """The network's state for this stream now (the engine sets it once a second)."""
        self.link = link
        keep = 0 if link is None else math.ceil(max(link.keep_s, link.loop_s) * self.fps)
        if keep != self._keep.maxlen:
            self._keep = deque(self._keep, maxlen=keep)

    def delivers(self, frame: int, status: str) -> bool:
        """Whether frame number ``frame`` (from 1) of a camera in ``status`` reaches the video server."""
        link = self.link
        if status == "offline" or (link is not None and not link.connected):
            return False
        if status != "degraded":
            return True
        share = link.share if link is not None and link.share is not None else DEGRADED_SHARE
        return math.floor(frame * share) > math.floor((frame - 1) * share)

    def content(self, status: str, dets: Any) -> Any:
        """The detections the server gets for a delivered frame whose live detections are ``dets``."""
        if status == "replayed":
            if self._loop is None:
                n = math.ceil(self.link.loop_s * self.fps) if self.link is not None else len(self._keep)
                kept = list(self._keep)
                self._loop, self._loop_i = kept[len(kept) - min(n, len(kept)):], 0
            if not self._loop:
                return []
            out = self._loop[self._loop_i % len(self._loop)]
            self._loop_i += 1
            return _copy(out)
        self._loop = None
        if status == "frozen":
            return _copy(self._last)
        self._last = dets
        if self._keep.maxlen:
            self._keep.append(dets)
        return dets

    def health(self, t: float, delivered: bool) -> list[tuple[str, dict]]:
        """``camera/health`` messages at ``t`` (after deciding whether this frame was ``delivered``)."""
        first = self._up is None
        if first:
            self._up, self._last_t, self._next_report = delivered, t, t + HEALTH_PERIOD_S
            self._since = t
        changed = first
        if delivered:
            if not self._up:
                self.reconnects += self._opened      # a session opened before: this one is a reconnect
                self._up, self._since, changed = True, t, True
            self._opened = 1
            self._last_t = t
            self._times.append(t)
        elif self._up:
            cut = self.link is not None and not self.link.connected
            if cut or t - self._last_t >= STALL_S - 1e-9:
                self._up, changed = False, True
        while self._times and self._times[0] <= t - HEALTH_PERIOD_S:
            self._times.popleft()
        if t >= self._next_report - 1e-9:
            changed = True
            while self._next_report <= t + 1e-9:
                self._next_report += HEALTH_PERIOD_S
        return [("camera/health", self.record(t))] if changed else []

    def record(self, t: float) -> dict:
        """The health record now: stream state, received frame rate and bitrate, sessions re-opened."""
        fps = 0.0
        if self._up:
            span = min(HEALTH_PERIOD_S, t - self._since + 1.0 / self.fps)
            n = sum(1 for x in self._times if x >= self._since - 1e-9)
            fps = min(n / span, self.fps) if span > 0 else 0.0
        rate = self.link.bitrate_kbps if self.link is not None else None
        rate = DEFAULT_BITRATE_KBPS if rate is None else float(rate)
        return {"camera_id": self.camera_id, "t": t, "stream": "up" if self._up else "down",
                "fps": round(fps, 2), "bitrate_kbps": round(rate * fps / self.fps, 1),
                "reconnects": self.reconnects}
