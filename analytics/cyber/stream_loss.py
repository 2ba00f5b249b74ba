"""Video stream loss: broken or silent RTSP flows (``net/conn``) and streams the video server reports down
(``camera/health``: ``{camera_id, t, stream: up|down, fps, bitrate_kbps, reconnects}``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.base import make_alert
from analytics.cyber.conn import ConnDetector

__all__ = ["BROKEN_STATES", "StreamLossDetector", "StreamLossParams"]


#: RTSP conn_state values of a stream that broke or could not be opened (reset, unanswered, refused).
BROKEN_STATES = frozenset({"RSTO", "RSTR", "RSTOS0", "RSTRH", "S0", "REJ", "SH", "SHR", "OTH"})


@dataclass(frozen=True, slots=True)
class StreamLossParams:
    """Video stream loss: an RTSP connection that breaks, a feed that falls silent, or a stream the video
    server's health record reports ``down`` (no session, or no frame for its stall timeout).

    Zeek logs a long RTSP connection only when it ends (and, with the long-connections policy, at 10 min,
    30 min, 1 h ...), so silence alone is not loss there: a stream is lost when its connection ends in a
    broken state (reset, unanswered reconnects, refused). For feeds that report each stream regularly,
    silence counts too, once a stream has reported ``min_reports`` times at gaps shorter than ``timeout_s``.
    A broken record counts only for a stream: a session that lasted ``min_session_s`` or a (server, camera)
    pair seen streaming before, so a scanner's refused probe of port 554 is not a lost stream.

    Parameters
    ----------
    ports : RTSP server ports (default 554, 8554); a record with service "rtsp" counts too.
    rearm_s : a stream is back after this long without a broken record, and may alert again (default 120 s).
    timeout_s : a regularly reporting stream silent for longer than this and 3x its usual gap is lost (30 s).
    min_reports : reports before a stream's silence is judged (default 3).
    min_session_s : a broken connection that lasted this long was a stream (default 5 s).
    statuses : values of a health record's ``stream`` that mean the stream is lost (default ``down``).
    conf : confidence given to the alert.
    """

    ports: tuple[int, ...] = (554, 8554)
    rearm_s: float = 120.0
    timeout_s: float = 30.0
    min_reports: int = 3
    min_session_s: float = 5.0
    statuses: tuple[str, ...] = ("down",)
    conf: float = 0.8


class StreamLossDetector(ConnDetector):
    """Broken or silent RTSP flows per (server, camera) and camera health outages; one alert per outage."""

    name = "stream_loss"
    alert_kinds = ("stream_loss",)
    Params = StreamLossParams
    topics = ("net/conn", "camera/health")

    def __init__(self, params: StreamLossParams = StreamLossParams()) -> None:
        self.p = params
        self._streams: dict[tuple[str, str], list[float]] = {}  # (src, dst) -> [last, gap, reports]
        self._down: dict[str, float] = {}  # camera address or id -> time of the last sign it is down
        self._next_check = float("-inf")

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        t = float(msg["t"])
        out = self._check_silence(t)
        if msg.get("topic") == "camera/health":
            cam, stream = str(msg["camera_id"]), msg.get("stream")
            if stream in self.p.statuses:
                out += self._lost(t, cam, {"camera_id": cam, "stream": stream, "via": "health"})
            else:
                self._down.pop(cam, None)
            return out
        port, service = msg.get("id.resp_p"), msg.get("service") or ""
        if (port is None or int(port) not in self.p.ports) and "rtsp" not in service:
            return out
        src, dst, state = msg["id.orig_h"], msg["id.resp_h"], msg.get("conn_state")
        st = self._streams.get((src, dst))
        if state in BROKEN_STATES:
            dur = msg.get("duration")
            long = dur is not None and dur == dur and float(dur) >= self.p.min_session_s
            if long or st is not None:
                self._streams.setdefault((src, dst), [t, 0.0, 0.0])
                out += self._lost(t, dst, {"src": src, "dst": dst, "conn_state": state, "via": "rtsp_flows"})
            return out
        if st is None:
            self._streams[(src, dst)] = [t, 0.0, 1.0]
        else:
            gap = t - st[0]
            st[:] = [t, max(st[1] * 0.8, gap) if st[1] else gap, st[2] + 1]
        return out

    def _lost(self, t: float, key: str, evidence: dict[str, Any]) -> list[dict[str, Any]]:
        last = self._down.get(key)
        self._down[key] = t
        if last is not None and t - last <= self.p.rearm_s:
            return []
        return [make_alert(t, "stream_loss", self.p.conf, source=[key], evidence=evidence)]

    def _check_silence(self, t: float) -> list[dict[str, Any]]:
        if t < self._next_check:
            return []
        self._next_check = t + 1.0
        out = []
        for (src, dst), st in self._streams.items():
            last, gap, reports = st
            if reports < self.p.min_reports or gap >= self.p.timeout_s:
                continue
            silent = t - last
            if silent > max(self.p.timeout_s, 3 * gap):
                st[2] = 0.0  # judged again only after it reports regularly again
                out += self._lost(
                    t,
                    dst,
                    {
                        "src": src,
                        "dst": dst,
                        "silent_s": round(silent, 1),
                        "last_seen": round(last, 3),
                        "via": "rtsp_silence",
                    },
                )
        return out
