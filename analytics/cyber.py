"""Cyber detectors on Zeek conn records (``net/conn``), syslog (``host/syslog``) and camera health:
port scan, SSH brute force, denial of service (CUSUM on flow rate), beaconing, video stream loss.

Each reads one message at a time (``update``); ``update_batch`` takes a conn.log chunk (a DataFrame from
``analytics.zeek``) and, for the port scan, runs vectorised. Alerts name ``src`` and ``dst`` in evidence.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter, deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from analytics.base import Detector, EpisodeFilter, make_alert
from analytics.syslog import auth_failure, parse_syslog_line
from analytics.zeek import chunk_messages

__all__ = [
    "BeaconParams",
    "BeaconingDetector",
    "BruteForceDetector",
    "BruteForceParams",
    "ConnDetector",
    "DosDetector",
    "DosParams",
    "PortScanDetector",
    "PortScanParams",
    "StreamLossDetector",
    "StreamLossParams",
]

#: Zeek conn_state values of an attempt that never became a working connection.
FAILED_STATES = frozenset({"S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"})


class ConnDetector(Detector):
    """A detector of conn records; ``update_batch`` defaults to ``update`` per row of a chunk."""

    topics = ("net/conn",)

    def update_batch(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """Take a chunk of conn records (``analytics.zeek.CONN_COLUMNS``) in file order."""
        out = []
        for msg in chunk_messages(df):
            out += self.update(msg)
        return out


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


def _ts(msg: dict[str, Any]) -> float:
    ts = msg.get("ts")
    return float(ts) if ts is not None else float(msg["t"])


@dataclass(frozen=True, slots=True)
class PortScanParams:
    """Port scan: many distinct (destination, port) pairs from one source in a window, mostly failing.

    Only failed attempts to pairs the source has never reached before count (as Zeek's scan policy counts
    unsuccessful attempts): a scan finds most ports closed or filtered, while a server re-connecting to
    the peers it serves (a video management server retrying its cameras during an outage) fails on pairs
    it has talked to, which are no reconnaissance.

    Parameters
    ----------
    window_s : tumbling window length (default 60 s).
    min_targets : distinct failed (dst, port) pairs in one window that make a scan (default 20).
    min_fail_frac : fraction of the source's attempts in the window that failed (conn_state S0, REJ, ...),
        which tells a scan from busy browsing (default 0.5).
    hold_s : further alerts for the same source within this time are one episode (default 300 s).
    max_known : (src, dst, port) triples with a successful connection remembered as known peers; beyond
        this the older half is forgotten, keeping memory flat (default 1,000,000).
    conf : confidence given to the alert.
    """

    window_s: float = 60.0
    min_targets: int = 20
    min_fail_frac: float = 0.5
    hold_s: float = 300.0
    max_known: int = 1_000_000
    conf: float = 0.8


class PortScanDetector(ConnDetector):
    """Distinct targets per source per window, fed per record or vectorised per chunk."""

    def __init__(self, params: PortScanParams = PortScanParams()) -> None:
        self.p = params
        self._targets: dict[tuple[str, int], set[tuple[str, int]]] = {}
        self._counts: dict[tuple[str, int], list[int]] = {}  # (src, bin) -> [attempts, failed]
        self._episodes = EpisodeFilter(params.hold_s)
        self._bin = -(2**62)
        self._known: dict[tuple[str, str, int], None] = {}  # (src, dst, port) reached before (ordered)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        src, dst = msg.get("id.orig_h"), msg.get("id.resp_h")
        if src is None or dst is None:
            return []
        b = int(_ts(msg) // self.p.window_s)
        port = -1 if msg.get("id.resp_p") is None else int(msg["id.resp_p"])
        failed = msg.get("conn_state") in FAILED_STATES
        if not failed:
            self._remember([(src, dst, port)])
        elif (src, dst, port) in self._known:
            failed = False
        target = [(dst, port)] if failed else []
        return self._add(b, src, target, 1, int(failed), float(msg["t"]))

    def _remember(self, triples) -> None:
        known = self._known
        for k in triples:
            known[k] = None
        if len(known) > self.p.max_known:
            for k in list(known)[: len(known) // 2]:
                del known[k]

    def update_batch(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """Vectorised: distinct targets, attempts and failures per (window, source) with numpy; only windows
        that may still grow (the chunk's first and last) or that cross the thresholds go through ``_add``."""
        src_s, dst_s = df["id.orig_h"].to_numpy(), df["id.resp_h"].to_numpy()
        ok = pd.notna(src_s) & pd.notna(dst_s)
        if not ok.any():
            return []
        src_code, src_names = pd.factorize(src_s[ok])
        dst_code, dst_names = pd.factorize(dst_s[ok])
        b = (df["ts"].to_numpy()[ok] // self.p.window_s).astype(np.int64)
        port = np.nan_to_num(df["id.resp_p"].to_numpy()[ok], nan=-1).astype(np.int64)
        fail = df["conn_state"].isin(FAILED_STATES).to_numpy()[ok]
        fail = self._unknown_failures(src_code, src_names, dst_code, dst_names, port, fail)
        b0, nsrc = b.min(), len(src_names)
        group = (b - b0) * nsrc + src_code
        target = np.where(fail, dst_code.astype(np.int64) * 65537 + port + 1, -1)  # failed pairs only
        order = np.lexsort((target, group))
        g_sorted, t_sorted = group[order], target[order]
        first = t_sorted >= 0
        first[1:] &= (g_sorted[1:] != g_sorted[:-1]) | (t_sorted[1:] != t_sorted[:-1])
        groups, start = np.unique(g_sorted, return_index=True)
        distinct = np.add.reduceat(first.astype(np.int64), start)
        attempts = np.add.reduceat(np.ones(len(order), np.int64), start)
        failed = np.add.reduceat(fail[order].astype(np.int64), start)
        gb = groups // nsrc + b0
        edge = (gb <= b.min()) | (gb >= b.max())
        hot = edge | ((distinct >= self.p.min_targets) & (failed >= self.p.min_fail_frac * attempts))
        ends = np.append(start[1:], len(order))
        out = []
        for k in np.flatnonzero(hot)[np.argsort(gb[np.flatnonzero(hot)], kind="stable")]:
            sel = order[start[k] : ends[k]][first[start[k] : ends[k]]]
            targets = list(zip(dst_names[dst_code[sel]].tolist(), port[sel].tolist(), strict=True))
            out += self._add(
                int(gb[k]),
                str(src_names[groups[k] % nsrc]),
                targets,
                int(attempts[k]),
                int(failed[k]),
                (int(gb[k]) + 1) * self.p.window_s,
            )
        return out

    def _unknown_failures(self, src_code, src_names, dst_code, dst_names, port, fail) -> np.ndarray:
        """``fail`` without the failures to (src, dst, port) triples reached before: in an earlier chunk,
        or by an earlier row of this one. Remembers this chunk's successful triples."""
        triple = (src_code.astype(np.int64) * len(dst_names) + dst_code) * 65537 + port + 1
        ok_tr, ok_first = np.unique(triple[~fail], return_index=True)
        ok_first = np.flatnonzero(~fail)[ok_first]  # row of each successful triple's first success
        out = fail.copy()
        rows = np.flatnonzero(fail)
        if len(rows) and len(ok_tr):
            j = np.minimum(np.searchsorted(ok_tr, triple[rows]), len(ok_tr) - 1)
            out[rows[(ok_tr[j] == triple[rows]) & (ok_first[j] < rows)]] = False
        if self._known and len(rows):
            f_tr, f_first = np.unique(triple[rows], return_index=True)
            r = rows[f_first]
            known = np.array([(src_names[src_code[i]], dst_names[dst_code[i]], int(port[i])) in self._known
                              for i in r], dtype=bool)
            out[np.isin(triple, f_tr[known]) & fail] = False
        if len(ok_tr):
            r = ok_first
            self._remember((src_names[src_code[i]], dst_names[dst_code[i]], int(port[i])) for i in r)
        return out

    def _add(
        self, b: int, src: str, targets: list[tuple[str, int]], n: int, failed: int, t: float
    ) -> list[dict[str, Any]]:
        """Add a source's attempts in window ``b``; ``t`` is the alert time (message time, or window end)."""
        if b > self._bin:
            self._bin = b
            stale = [k for k in self._counts if k[1] < b - 1]
            for k in stale:
                del self._counts[k], self._targets[k]
        key = (src, b)
        tg = self._targets.setdefault(key, set())
        tg.update(targets)
        c = self._counts.setdefault(key, [0, 0])
        c[0] += n
        c[1] += failed
        if len(tg) < self.p.min_targets or c[1] < self.p.min_fail_frac * c[0]:
            return []
        if not self._episodes.admit(b * self.p.window_s, src):
            return []
        hosts = Counter(d for d, _ in tg)
        ports = Counter(p for _, p in tg)
        return [
            make_alert(
                t,
                "port_scan",
                self.p.conf,
                source=[src],
                evidence={
                    "src": src,
                    "dst": [h for h, _ in hosts.most_common(5)],
                    "distinct_targets": len(tg),
                    "distinct_hosts": len(hosts),
                    "distinct_ports": len(ports),
                    "attempts": c[0],
                    "failed": c[1],
                    "window_s": self.p.window_s,
                    "window_start": b * self.p.window_s,
                },
            )
        ]


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
    conf : confidence given to the alert.
    """

    window_s: float = 300.0
    min_attempts: int = 10
    ports: tuple[int, ...] = (22,)
    short_s: float = 5.0
    hold_s: float = 900.0
    conf: float = 0.8


class BruteForceDetector(ConnDetector):
    """Counts attempts per source over a sliding window, from conn records and from syslog lines.

    Times are message times ``t`` (a record's arrival); windows of the other detectors that need the flow
    start use Zeek's ``ts``.

    ``totals`` keeps every source's attempt count over the whole stream (for reports).
    """

    topics = ("net/conn", "host/syslog")

    def __init__(self, params: BruteForceParams = BruteForceParams()) -> None:
        self.p = params
        self._times: dict[tuple[str, str], deque[float]] = {}
        self._targets: dict[str, Counter[str]] = {}
        self._users: dict[str, Counter[str]] = {}
        self._episodes = EpisodeFilter(params.hold_s)
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
    conf: float = 0.8


class DosDetector(ConnDetector):
    """CUSUM change detection of flows per bin to each destination, baseline by EWMA (frozen in alarm).

    The standard deviation has a Poisson floor ``sqrt(mean) + 1`` so a quiet host's first flows do not alarm.
    """

    def __init__(self, params: DosParams = DosParams()) -> None:
        self.p = params
        self._bin: int | None = None
        self._cur: Counter[str] = Counter()
        self._srcs: dict[str, Counter[str]] = {}  # sources per destination in the open bin
        self._ports: dict[str, set[int]] = {}  # destination ports per destination in the open bin
        self._state: dict[str, list[float]] = {}  # dst -> [mean, var, n_bins, cusum]
        self._episodes = EpisodeFilter(params.hold_s)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        dst = msg.get("id.resp_h")
        if dst is None:
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
    external_only : only destinations outside the private ranges (RFC 1918, RFC 4193, loopback, link-local)
        count (default True): a C2 server is outside; inside, regular polling (NTP, API pulls) is normal.
    conf : confidence given to the alert.
    """

    min_events: int = 5
    max_events: int = 30
    max_cv: float = 0.1
    min_period_s: float = 2.0
    hold_s: float = 3600.0
    forget_s: float = 7200.0
    external_only: bool = True
    conf: float = 0.7


class BeaconingDetector(ConnDetector):
    """Regular inter-arrival times per (src, dst, port)."""

    def __init__(self, params: BeaconParams = BeaconParams()) -> None:
        self.p = params
        self._starts: dict[tuple[str, str, int], deque[float]] = {}
        self._episodes = EpisodeFilter(params.hold_s)
        self._last_prune = -math.inf

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        src, dst, port = msg.get("id.orig_h"), msg.get("id.resp_h"), msg.get("id.resp_p")
        if src is None or dst is None:
            return []
        if self.p.external_only and _private(dst):
            return []
        key = (src, dst, -1 if port is None else int(port))
        dq = self._starts.get(key)
        if dq is None:
            dq = self._starts[key] = deque(maxlen=self.p.max_events)
        ts = _ts(msg)
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


#: RTSP conn_state values of a stream that broke or could not be opened (reset, unanswered, refused).
BROKEN_STATES = frozenset({"RSTO", "RSTR", "RSTOS0", "RSTRH", "S0", "REJ", "SH", "SHR", "OTH"})


@dataclass(frozen=True, slots=True)
class StreamLossParams:
    """Video stream loss: an RTSP connection that breaks, a feed that falls silent, or a camera whose health
    reports it down.

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
    statuses : camera health statuses that mean the stream is lost (default offline, frozen).
    conf : confidence given to the alert.
    """

    ports: tuple[int, ...] = (554, 8554)
    rearm_s: float = 120.0
    timeout_s: float = 30.0
    min_reports: int = 3
    min_session_s: float = 5.0
    statuses: tuple[str, ...] = ("offline", "frozen")
    conf: float = 0.8


class StreamLossDetector(ConnDetector):
    """Broken or silent RTSP flows per (server, camera) and camera health outages; one alert per outage."""

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
            cam, status = str(msg["camera_id"]), msg.get("status")
            if status in self.p.statuses:
                out += self._lost(t, cam, {"camera_id": cam, "status": status, "via": "health"})
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
