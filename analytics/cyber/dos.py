"""Denial of service: one-sided CUSUM on the rate of flows (``net/conn``) to each destination host."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from analytics.base import EpisodeFilter, make_alert
from analytics.cyber.conn import ConnDetector

__all__ = ["DosDetector", "DosParams"]


@dataclass(frozen=True, slots=True)
class DosParams:
    """Denial of service: one-sided CUSUM on the flow rate to each destination host.

    Parameters
    ----------
    bin_s : flows are counted per destination in bins of this length (default 5 s).
    alpha : EWMA weight of the baseline mean and variance per bin (default 0.05).
    warmup_bins : bins of baseline before a host can alert (default 12).
    k : CUSUM slack in standard deviations (default 1.0).
    h : CUSUM alarm threshold in standard deviations (default 10.0).
    min_rate : flows per second a host must reach to alert at all (default 5).
    max_port_spread : distinct destination ports / flows in the alarm bin above which the burst is a port
        scan (the port-scan detector's business), not a flood (default 0.5).
    hold_s : further alerts for the same host within this time are one episode (default 300 s).
    allowed_sources : addresses the site authorises (its vulnerability scanner, whose service checks hit
        one host after another in bursts); their flows are not counted. Default None: none given; the
        simulator's engine fills in the network's authorised scanners.
    conf : confidence given to the alert.
    """

    bin_s: float = 5.0
    alpha: float = 0.05
    warmup_bins: int = 12
    k: float = 1.0
    h: float = 10.0
    min_rate: float = 5.0
    max_port_spread: float = 0.5
    hold_s: float = 300.0
    allowed_sources: tuple[str, ...] | None = None
    conf: float = 0.8


class DosDetector(ConnDetector):
    """CUSUM change detection of flows per bin to each destination, baseline by EWMA (frozen in alarm).

    The standard deviation has a Poisson floor ``sqrt(mean) + 1`` so a quiet host's first flows do not alarm.
    """

    name = "dos"
    alert_kinds = ("dos",)
    Params = DosParams

    def __init__(self, params: DosParams = DosParams()) -> None:
        self.p = params
        self._bin: int | None = None
        self._cur: Counter[str] = Counter()
        self._srcs: dict[str, Counter[str]] = {}  # sources per destination in the open bin
        self._ports: dict[str, set[int]] = {}  # destination ports per destination in the open bin
        self._state: dict[str, list[float]] = {}  # dst -> [mean, var, n_bins, cusum]
        self._episodes = EpisodeFilter(params.hold_s)
        self._allowed = frozenset(params.allowed_sources or ())

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        dst = msg.get("id.resp_h")
        if dst is None or msg.get("id.orig_h") in self._allowed:
            return []
        b = int(float(msg["t"]) // self.p.bin_s)
        out = []
        if self._bin is None:
            self._bin = b
        elif b > self._bin:
            for bb in range(self._bin, min(b, self._bin + 1000)):
                out += self._close(bb)
            self._bin = b
        self._cur[dst] += 1
        self._srcs.setdefault(dst, Counter())[msg.get("id.orig_h") or "?"] += 1
        port = msg.get("id.resp_p")
        self._ports.setdefault(dst, set()).add(-1 if port is None else int(port))
        return out

    def flush(self) -> list[dict[str, Any]]:
        return self._close(self._bin) if self._bin is not None else []

    def _close(self, b: int) -> list[dict[str, Any]]:
        p, out = self.p, []
        counts, self._cur = self._cur, Counter()
        bin_srcs, self._srcs = self._srcs, {}
        bin_ports, self._ports = self._ports, {}
        for dst in set(self._state) | set(counts):
            x = float(counts.get(dst, 0))
            st = self._state.setdefault(dst, [x, 0.0, 0, 0.0])
            mean, var, n, s = st
            sd = max(math.sqrt(var), math.sqrt(mean) + 1.0)
            if n >= p.warmup_bins:
                s = max(0.0, s + (x - mean) / sd - p.k)
            rate = x / p.bin_s
            spread = len(bin_ports.get(dst, ())) / x if x else 0.0
            if (
                s > p.h
                and rate >= p.min_rate
                and spread <= p.max_port_spread
                and self._episodes.admit(b * p.bin_s, dst)
            ):
                srcs = bin_srcs.get(dst, Counter())
                out.append(
                    make_alert(
                        (b + 1) * p.bin_s,
                        "dos",
                        p.conf,
                        source=[dst],
                        evidence={
                            "dst": dst,
                            "src": [a for a, _ in srcs.most_common(5)],
                            "distinct_src": len(srcs),
                            "rate_per_s": round(rate, 2),
                            "baseline_per_s": round(mean / p.bin_s, 3),
                            "cusum": round(s, 2),
                            "ports": sorted(bin_ports.get(dst, ()))[:5],
                            "window_s": p.bin_s,
                        },
                    )
                )
            if s == 0.0:  # learn the baseline only while not in alarm
                d = x - mean
                mean += p.alpha * d
                var = (1 - p.alpha) * (var + p.alpha * d * d)
            st[:] = [mean, var, n + 1, s]
        if len(self._state) > 10_000:  # forget hosts that have gone quiet
            self._state = {k: v for k, v in self._state.items() if v[0] > 1e-3 or v[3] > 0}
        return out
