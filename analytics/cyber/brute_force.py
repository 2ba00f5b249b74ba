"""Brute force on a login service: failed logins in syslog (``host/syslog``) or short connections to its port
(``net/conn``) per source over a sliding window."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from analytics.base import EpisodeFilter, make_alert
from analytics.cyber.conn import ConnDetector
from analytics.syslog import auth_failure, parse_syslog_line

__all__ = ["BruteForceDetector", "BruteForceParams"]


@dataclass(frozen=True, slots=True)
class BruteForceParams:
    """Brute force on a login service: many failed logins (syslog) or short connections to its port.

    Parameters
    ----------
    window_s : sliding window (default 300 s).
    min_attempts : attempts from one source within the window that alert (default 10).
    ports : destination tcp ports of login services (default 22).
    short_s : a connection shorter than this to those ports counts as one attempt (default 5 s).
    hold_s : further alerts for the same source within this time are one episode (default 900 s).
    allowed_sources : addresses the site authorises (its vulnerability scanner, whose credentialed checks
        open many short SSH sessions); their attempts are not counted. Default None: none given; the
        simulator's engine fills in the network's authorised scanners.
    conf : confidence given to the alert.
    """

    window_s: float = 300.0
    min_attempts: int = 10
    ports: tuple[int, ...] = (22,)
    short_s: float = 5.0
    hold_s: float = 900.0
    allowed_sources: tuple[str, ...] | None = None
    conf: float = 0.8


class BruteForceDetector(ConnDetector):
    """Counts attempts per source over a sliding window, from conn records and from syslog lines.

    Times are message times ``t`` (a record's arrival); windows of the other detectors that need the flow
    start use Zeek's ``ts``.

    ``totals`` keeps every source's attempt count over the whole stream (for reports).
    """

    name = "brute_force"
    alert_kinds = ("brute_force",)
    Params = BruteForceParams
    topics = ("net/conn", "host/syslog")

    def __init__(self, params: BruteForceParams = BruteForceParams()) -> None:
        self.p = params
        self._times: dict[tuple[str, str], deque[float]] = {}
        self._targets: dict[str, Counter[str]] = {}
        self._users: dict[str, Counter[str]] = {}
        self._episodes = EpisodeFilter(params.hold_s)
        self._allowed = frozenset(params.allowed_sources or ())
        self.totals: Counter[str] = Counter()

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        if msg.get("topic") == "host/syslog":
            app, text = msg.get("app"), msg.get("msg")
            if text is None:
                rec = parse_syslog_line(str(msg.get("line", "")))
                if rec is None:
                    return []
                app, text = rec.app, rec.msg
            hit = auth_failure(text, app or "")
            if hit is None:
                return []
            src, user, n = hit
            return self._attempt(float(msg["t"]), src, str(msg.get("host", "?")), "syslog", n, user)
        port, proto, dur = msg.get("id.resp_p"), msg.get("proto"), msg.get("duration")
        if proto != "tcp" or port is None or int(port) not in self.p.ports:
            return []
        if dur is not None and dur == dur and float(dur) >= self.p.short_s:
            return []
        return self._attempt(float(msg["t"]), msg["id.orig_h"], msg["id.resp_h"], "conn", 1, None)

    def _attempt(
        self, t: float, src: str, dst: str, via: str, n: int, user: str | None
    ) -> list[dict[str, Any]]:
        if src in self._allowed:
            return []
        self.totals[src] += n
        if len(self._times) > 10_000:  # forget sources whose window has emptied
            self._times = {k: v for k, v in self._times.items() if v and t - v[-1] <= self.p.window_s}
        dq = self._times.setdefault((src, via), deque())
        dq.extend([t] * n)
        while dq and t - dq[0] > self.p.window_s:
            dq.popleft()
        self._targets.setdefault(src, Counter())[dst] += n
        if user:
            self._users.setdefault(src, Counter())[user] += n
        if len(dq) < self.p.min_attempts or not self._episodes.admit(t, src):
            return []
        users = self._users.get(src, Counter())
        return [
            make_alert(
                t,
                "brute_force",
                self.p.conf,
                source=[src],
                evidence={
                    "src": src,
                    "dst": [d for d, _ in self._targets[src].most_common(3)],
                    "count": len(dq),
                    "total": self.totals[src],
                    "window_s": self.p.window_s,
                    "via": via,
                    "users": [u for u, _ in users.most_common(5)],
                },
            )
        ]
