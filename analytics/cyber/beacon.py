"""Beaconing: connections (``net/conn``) from one source to one destination port at regular intervals."""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from analytics.base import EpisodeFilter, make_alert
from analytics.cyber.conn import ConnDetector, flow_start

__all__ = ["BeaconParams", "BeaconingDetector"]


_PRIVATE_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


@lru_cache(maxsize=65536)
def _private(addr: str) -> bool:
    """True for an address in a private/local range; host names and public addresses are False."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in _PRIVATE_NETS if net.version == ip.version)


@dataclass(frozen=True, slots=True)
class BeaconParams:
    """Beaconing: connections from one source to one destination port at regular intervals.

    Parameters
    ----------
    min_events : connections needed before judging regularity (default 5: four intervals; a 60 s beacon
        is judged after 4 min).
    max_events : the last this many start times are kept per pair (default 30).
    max_cv : coefficient of variation of the intervals below which they are regular (default 0.1;
        Poisson traffic has CV near 1).
    min_period_s : shorter median intervals are bursts, not beacons (default 2 s).
    hold_s : further alerts for the same pair within this time are one episode (default 3600 s).
    forget_s : a pair with no connection for this long is forgotten, keeping memory flat (default 7200 s).
    external_only : only destinations outside the site count (default True): a C2 server is outside;
        inside, regular polling (NTP, API pulls) is normal. Outside means Zeek's ``local_resp`` is false
        when the record has it (the site's ``local_nets``, its public addresses included), else an address
        outside the private ranges (RFC 1918, RFC 4193, loopback, link-local).
    ignore_services : Zeek services (identified from the payload by dynamic protocol detection, not from
        the port) whose regular connections are not beacons (default ntp: NTP clients poll their servers
        at a fixed interval by design). A C2 channel hidden inside well-formed NTP would be missed.
    conf : confidence given to the alert.
    """

    min_events: int = 5
    max_events: int = 30
    max_cv: float = 0.1
    min_period_s: float = 2.0
    hold_s: float = 3600.0
    forget_s: float = 7200.0
    external_only: bool = True
    ignore_services: tuple[str, ...] = ("ntp",)
    conf: float = 0.7


class BeaconingDetector(ConnDetector):
    """Regular inter-arrival times per (src, dst, port)."""

    name = "beacon"
    alert_kinds = ("beaconing",)
    Params = BeaconParams

    def __init__(self, params: BeaconParams = BeaconParams()) -> None:
        self.p = params
        self._starts: dict[tuple[str, str, int], deque[float]] = {}
        self._episodes = EpisodeFilter(params.hold_s)
        self._last_prune = -math.inf
        self._ignore = frozenset(params.ignore_services)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        src, dst, port = msg.get("id.orig_h"), msg.get("id.resp_h"), msg.get("id.resp_p")
        if src is None or dst is None:
            return []
        if self.p.external_only and (msg["local_resp"] if isinstance(msg.get("local_resp"), bool)
                                     else _private(dst)):
            return []
        if self._ignore and msg.get("service") and self._ignore & set(str(msg["service"]).split(",")):
            return []
        key = (src, dst, -1 if port is None else int(port))
        dq = self._starts.get(key)
        if dq is None:
            dq = self._starts[key] = deque(maxlen=self.p.max_events)
        ts = flow_start(msg)
        dq.append(ts)
        if ts - self._last_prune > self.p.forget_s:
            self._last_prune = ts
            self._starts = {k: v for k, v in self._starts.items() if ts - v[-1] <= self.p.forget_s}
        if len(dq) < self.p.min_events:
            return []
        iv = np.diff(np.sort(np.fromiter(dq, float)))
        mean = iv.mean()
        if mean < self.p.min_period_s:
            return []
        cv = float(iv.std() / mean)
        if cv > self.p.max_cv or not self._episodes.admit(float(msg["t"]), key):
            return []
        return [
            make_alert(
                float(msg["t"]),
                "beaconing",
                self.p.conf,
                source=[src],
                evidence={
                    "src": src,
                    "dst": dst,
                    "port": key[2],
                    "period_s": round(float(np.median(iv)), 3),
                    "cv": round(cv, 4),
                    "count": len(dq),
                    "window_s": round(float(dq[-1] - dq[0]), 1),
                },
            )
        ]
