"""Connection records as a structure of arrays: build batches with numpy, concatenate, sort by report time.

A row is one Zeek conn record. ``start`` is the connection's first packet (Zeek ``ts``) and ``end`` the
simulated time Zeek reports it (when the connection ends, times out, or crosses a long-connection threshold).
``dur == 0`` means a single-packet connection: Zeek then leaves ``duration``, ``orig_bytes`` and
``resp_bytes`` unset.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np

__all__ = ["COLUMNS", "FlowTable", "ephemeral_ports", "make_uids"]

_F, _I, _O = np.float64, np.int64, object
#: Column name -> dtype.
COLUMNS = {
    "start": _F, "dur": _F, "orig_h": _O, "orig_p": _I, "resp_h": _O, "resp_p": _I, "proto": _O,
    "service": _O, "orig_bytes": _I, "resp_bytes": _I, "state": _O, "history": _O, "orig_pkts": _I,
    "orig_ip_bytes": _I, "resp_pkts": _I, "resp_ip_bytes": _I, "end": _F, "attack": _I, "phase": _O,
    "uid": _O,
}
_DEFAULTS = {"service": "", "history": "", "attack": -1, "phase": "", "orig_bytes": 0, "resp_bytes": 0,
             "orig_pkts": 0, "orig_ip_bytes": 0, "resp_pkts": 0, "resp_ip_bytes": 0, "dur": 0.0}
_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
#: Header bytes per packet: IPv4 20 + TCP 20 + options 12 (timestamps); IPv4 20 + UDP 8 or ICMP 8.
HDR = {"tcp": 52, "udp": 28, "icmp": 28}


def make_uids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` Zeek-style connection uids: ``C`` + 17 base62 characters (about 101 random bits)."""
    if n == 0:
        return np.zeros(0, dtype=object)
    digits = _B62[rng.integers(0, 62, size=(n, 17))]
    raw = np.concatenate([np.full((n, 1), ord("C"), np.uint8), digits], axis=1)
    return raw.view("S18").ravel().astype("U18").astype(object)


def ephemeral_ports(rng: np.random.Generator, n: int) -> np.ndarray:
    """Source ports from the Linux ephemeral range 32768–60999."""
    return rng.integers(32768, 61000, size=n)


@dataclass
class FlowTable:
    """Columns of equal length (see ``COLUMNS``)."""

    cols: dict

    def __len__(self) -> int:
        return len(self.cols["start"])

    @staticmethod
    def make(n: int, **cols) -> FlowTable:
        """A batch of ``n`` rows; each column is an array of length ``n`` or a scalar broadcast to it."""
        out = {}
        for name, dt in COLUMNS.items():
            if name == "end" and "end" not in cols:
                continue
            v = cols.pop(name, _DEFAULTS.get(name))
            if v is None:
                raise KeyError(f"flow column {name!r} missing")
            if np.ndim(v) == 0:
                arr = np.empty(n, dtype=dt)
                arr[...] = v
            else:
                arr = np.asarray(v).astype(dt, copy=True)
                if len(arr) != n:
                    raise ValueError(f"flow column {name!r} has {len(arr)} rows, expected {n}")
            out[name] = arr
        if cols:
            raise KeyError(f"unknown flow columns {sorted(cols)}")
        if "end" not in out:
            out["end"] = out["start"] + out["dur"]
        return FlowTable({k: out[k] for k in COLUMNS})

    @staticmethod
    def concat(parts: list[FlowTable]) -> FlowTable:
        parts = [p for p in parts if len(p)]
        if not parts:
            return FlowTable.make(0, start=np.zeros(0), orig_h="", orig_p=0, resp_h="", resp_p=0, proto="",
                                  state="", end=np.zeros(0), uid="")
        return FlowTable({k: np.concatenate([p.cols[k] for p in parts]) for k in COLUMNS})

    def take(self, idx) -> FlowTable:
        return FlowTable({k: v[idx] for k, v in self.cols.items()})

    def sorted(self) -> FlowTable:
        """Rows in report order: by ``end``, then ``start`` (stable, so equal seeds give equal order)."""
        return self.take(np.lexsort((self.cols["start"], self.cols["end"])))

    def records(self, lo: int, hi: int, epoch0: float, site: frozenset[str] = frozenset()) -> list[dict]:
        """Rows ``lo:hi`` as Zeek JSON-style dicts (unset fields absent) with ``ts = epoch0 + start``.

        ``local_orig``/``local_resp`` are Zeek's ``Site::local_nets``: private addresses and ``site`` (the
        site's public addresses).
        """
        c = {k: v[lo:hi] for k, v in self.cols.items()}
        n = hi - lo
        if n <= 0:
            return []
        ts = np.round(epoch0 + c["start"], 6).tolist()
        dur = np.round(c["dur"], 6).tolist()
        lo_o = _local(c["orig_h"], site)
        lo_r = _local(c["resp_h"], site)
        lists = {k: c[k].tolist() for k in ("uid", "orig_h", "orig_p", "resp_h", "resp_p", "proto", "service",
                                            "orig_bytes", "resp_bytes", "state", "history", "orig_pkts",
                                            "orig_ip_bytes", "resp_pkts", "resp_ip_bytes")}
        out = []
        for i in range(n):
            r = {"ts": ts[i], "uid": lists["uid"][i], "id.orig_h": lists["orig_h"][i],
                 "id.orig_p": lists["orig_p"][i], "id.resp_h": lists["resp_h"][i],
                 "id.resp_p": lists["resp_p"][i], "proto": lists["proto"][i]}
            if lists["service"][i]:
                r["service"] = lists["service"][i]
            if dur[i] > 0:
                r["duration"] = dur[i]
                r["orig_bytes"] = lists["orig_bytes"][i]
                r["resp_bytes"] = lists["resp_bytes"][i]
            r["conn_state"] = lists["state"][i]
            r["local_orig"] = lo_o[i]
            r["local_resp"] = lo_r[i]
            r["missed_bytes"] = 0
            if lists["history"][i]:
                r["history"] = lists["history"][i]
            for k in ("orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"):
                r[k] = lists[k][i]
            out.append(r)
        return out


def _local(ips: np.ndarray, site: frozenset[str] = frozenset()) -> list[bool]:
    uniq, inv = np.unique(ips.astype(str), return_inverse=True)
    flags = np.array([u in site or ipaddress.ip_address(u).is_private for u in uniq], dtype=bool)
    return flags[inv].tolist()
