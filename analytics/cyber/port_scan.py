"""Port scan: many distinct failed (destination, port) pairs from one source in a window, fed per record or
vectorised per conn.log chunk."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.base import EpisodeFilter, make_alert
from analytics.cyber.conn import FAILED_STATES, ConnDetector, flow_start

__all__ = ["PortScanDetector", "PortScanParams"]


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
    allowed_sources : addresses the site authorises to scan (its vulnerability scanner), whose attempts are
        not counted. Default None: none given; the simulator's engine then fills in the network's
        authorised scanners, as the site's security configuration would list them.
    conf : confidence given to the alert.
    """

    window_s: float = 60.0
    min_targets: int = 20
    min_fail_frac: float = 0.5
    hold_s: float = 300.0
    max_known: int = 1_000_000
    allowed_sources: tuple[str, ...] | None = None
    conf: float = 0.8


class PortScanDetector(ConnDetector):
    """Distinct targets per source per window, fed per record or vectorised per chunk."""

    name = "port_scan"
    alert_kinds = ("port_scan",)
    Params = PortScanParams

    def __init__(self, params: PortScanParams = PortScanParams()) -> None:
        self.p = params
        self._targets: dict[tuple[str, int], set[tuple[str, int]]] = {}
        self._counts: dict[tuple[str, int], list[int]] = {}  # (src, bin) -> [attempts, failed]
        self._episodes = EpisodeFilter(params.hold_s)
        self._bin = -(2**62)
        self._known: dict[tuple[str, str, int], None] = {}  # (src, dst, port) reached before (ordered)
        self._allowed = frozenset(params.allowed_sources or ())

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        src, dst = msg.get("id.orig_h"), msg.get("id.resp_h")
        if src is None or dst is None or src in self._allowed:
            return []
        b = int(flow_start(msg) // self.p.window_s)
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
        if self._allowed:
            ok &= ~df["id.orig_h"].isin(self._allowed).to_numpy()
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
