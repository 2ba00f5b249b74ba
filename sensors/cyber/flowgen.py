"""Building blocks of generated traffic: arrival times (periodic, Poisson), conn rows of common shapes
(UDP exchanges, short and long TCP connections, unanswered attempts), syslog line lists, and the run-end cut.

Every function draws only from the Generator it is given and returns numpy-built ``FlowTable`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.cyber.flows import HDR, FlowTable, ephemeral_ports, make_uids

__all__ = ["LONG_CONN_S", "LogLines", "clip_to_run", "long_sessions", "periodic", "pkts", "poisson",
           "probes", "public_addresses", "renewal", "tcp_short", "udp_flows", "unanswered", "OPEN", "CLOSED",
           "FILTERED"]

#: Zeek long-connections thresholds (s); after the last one it repeats every last interval.
LONG_CONN_S = (600.0, 1800.0, 3600.0, 43200.0, 86400.0, 259200.0)


@dataclass
class LogLines:
    """Syslog lines as parallel lists: simulated time, host node and the RFC 5424 line."""

    t: list
    host: list
    line: list

    @staticmethod
    def empty() -> LogLines:
        return LogLines([], [], [])

    def add(self, t: float, host: str, line: str) -> None:
        self.t.append(float(t))
        self.host.append(str(host))
        self.line.append(line)

    def extend(self, other: LogLines) -> None:
        self.t += other.t
        self.host += other.host
        self.line += other.line


def periodic(rng: np.random.Generator, n_src: int, period: float, t0: float, t1: float,
             jitter: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``n_src`` sources fires every ``period`` from a random phase: (source, time) by time."""
    if n_src == 0 or t1 <= t0:
        return np.zeros(0, np.int64), np.zeros(0)
    phase = t0 + rng.uniform(0, period, n_src)
    counts = np.where(phase < t1, np.floor((t1 - phase) / period).astype(np.int64) + 1, 0)
    counts = np.where(phase + (counts - 1) * period >= t1, counts - 1, counts).clip(0)
    src = np.repeat(np.arange(n_src), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    t = phase[src] + k * period
    if jitter > 0:
        t = t + rng.uniform(-jitter, jitter, len(t))
    keep = (t >= t0) & (t < t1)
    src, t = src[keep], t[keep]
    o = np.argsort(t, kind="stable")
    return src[o], t[o]


def poisson(rng: np.random.Generator, n_src: int, rate: float, t0: float,
            t1: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals at ``rate`` per second per source: (source index, time) sorted by time."""
    if n_src == 0 or t1 <= t0 or rate <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    counts = rng.poisson(rate * (t1 - t0), n_src)
    src = np.repeat(np.arange(n_src), counts)
    t = rng.uniform(t0, t1, len(src))
    o = np.argsort(t, kind="stable")
    return src[o], t[o]


def renewal(rng: np.random.Generator, n_src: int, period: float, t0: float, t1: float,
            stretch: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``n_src`` sources fires from a random phase, each interval ``period x (1 + U(0, stretch))``
    (a poll timer that randomises every wait, as ntpd does): (source, time) sorted by time."""
    if n_src == 0 or t1 <= t0 or period <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    m = int(np.ceil((t1 - t0) / period)) + 1
    gaps = period * (1.0 + rng.uniform(0.0, stretch, (n_src, m)))
    gaps[:, 0] = rng.uniform(0.0, period, n_src)          # the phase of each source's first poll
    t = t0 + np.cumsum(gaps, axis=1)
    src = np.repeat(np.arange(n_src), m)
    t = t.ravel()
    keep = t < t1
    src, t = src[keep], t[keep]
    o = np.argsort(t, kind="stable")
    return src[o], t[o]


#: First octets of public IPv4 unicast space, without 0, 10, 100 (100.64/10 shared), 127, 169 (link-local),
#: 172 (172.16/12), 192 (192.168/16, 192.0.2/24), 198 (198.18/15, 198.51.100/24), 203 (203.0.113/24) and
#: 224 and above (multicast, reserved): any address drawn below is public.
_PUBLIC_FIRST = np.array([o for o in range(1, 224) if o not in (10, 100, 127, 169, 172, 192, 198, 203)])


def public_addresses(rng: np.random.Generator, n: int, avoid: frozenset[str] = frozenset()) -> np.ndarray:
    """``n`` random public IPv4 addresses (Internet hosts), none of them in ``avoid`` (the site's own)."""
    if n == 0:
        return np.zeros(0, dtype=object)
    a = _PUBLIC_FIRST[rng.integers(0, len(_PUBLIC_FIRST), n)]
    b = rng.integers(0, 256, (n, 2))
    c = rng.integers(1, 255, n)
    out = np.array([f"{w}.{x}.{y}.{z}" for w, (x, y), z in zip(a.tolist(), b.tolist(), c.tolist(),
                                                               strict=True)], dtype=object)
    clash = np.isin(out.astype(str), list(avoid)) if avoid else np.zeros(n, bool)
    out[clash] = "1.0.0.1"
    return out


#: How a probed port answers: the port is open, closed (the host refuses: RST), or filtered (no answer).
OPEN, CLOSED, FILTERED = 0, 1, 2


def probes(rng: np.random.Generator, t: np.ndarray, orig_h, resp_h, resp_p, proto, outcome: np.ndarray,
           **tags) -> FlowTable:
    """Single-probe connection attempts as Zeek logs them, one row each.

    TCP SYN probes: an ``OPEN`` port answers SYN-ACK and the prober resets (``RSTO``, ``ShR``), a
    ``CLOSED`` one refuses (``REJ``, ``Sr``), a ``FILTERED`` one stays silent (``S0``, ``S``, reported 5 s
    later). UDP probes get no answer (``S0``, ``D``) unless ``OPEN``; ICMP echo (``resp_p`` 0) is ``OTH``
    with a reply when not ``FILTERED``. Not-answered UDP and ICMP are reported after Zeek's 60 s timeout.
    """
    n = len(t)
    proto = np.broadcast_to(np.asarray(proto, dtype=object), (n,))
    outcome = np.asarray(outcome)
    tcp, icmp = proto == "tcp", proto == "icmp"
    answered = outcome != FILTERED
    state = np.where(tcp, np.where(outcome == OPEN, "RSTO", np.where(outcome == CLOSED, "REJ", "S0")),
                     np.where(icmp, "OTH", np.where(outcome == OPEN, "SF", "S0"))).astype(object)
    hist = np.where(tcp, np.where(outcome == OPEN, "ShR", np.where(outcome == CLOSED, "Sr", "S")),
                    np.where(icmp, "", np.where(outcome == OPEN, "Dd", "D"))).astype(object)
    dur = np.where(answered, rng.uniform(2e-4, 3e-3, n), 0.0)
    size = np.where(tcp, 0, np.where(icmp, 56, 40))
    rb = np.where(answered & ~tcp, size, 0)
    hdr = np.where(tcp, 44, 28)
    op = np.where(tcp & (outcome == OPEN), 2, 1)
    end = t + np.where(tcp, np.where(answered, dur, 5.0), 60.0)
    return FlowTable.make(
        n, start=t, dur=dur, orig_h=orig_h, orig_p=np.where(icmp, 8, ephemeral_ports(rng, n)), resp_h=resp_h,
        resp_p=resp_p, proto=proto, state=state, history=hist, orig_bytes=size, resp_bytes=rb, orig_pkts=op,
        orig_ip_bytes=op * hdr + size, resp_pkts=answered.astype(np.int64), resp_ip_bytes=np.where(
            answered, np.where(tcp, 40, 28 + rb), 0), end=end, uid=make_uids(rng, n), **tags)


def pkts(nbytes: np.ndarray, extra: int) -> np.ndarray:
    """Packets of ``nbytes`` payload in 1448-byte segments plus ``extra`` (handshake, acks)."""
    return np.ceil(nbytes / 1448.0).astype(np.int64) + extra


def udp_flows(rng, t, orig_h, resp_h, resp_p, service, ob, rb, dur, **tags) -> FlowTable:
    """UDP request/answer pairs (``SF``, history ``Dd``); source port 123 for NTP, else ephemeral."""
    n = len(t)
    return FlowTable.make(
        n, start=t, dur=dur, orig_h=orig_h, orig_p=ephemeral_ports(rng, n) if resp_p != 123 else 123,
        resp_h=resp_h, resp_p=resp_p, proto="udp", service=service, orig_bytes=ob, resp_bytes=rb, state="SF",
        history="Dd", orig_pkts=1, orig_ip_bytes=ob + HDR["udp"], resp_pkts=1, resp_ip_bytes=rb + HDR["udp"],
        uid=make_uids(rng, n), **tags)


def tcp_short(rng: np.random.Generator, t: np.ndarray, orig_h, resp_h, resp_p: int, service: str,
              ob: np.ndarray, rb: np.ndarray, dur: np.ndarray, *, orig_p=None, **tags) -> FlowTable:
    """Complete TCP connections (``SF``, history ``ShADadFf``) with header bytes and packet counts."""
    n = len(t)
    op, rp = pkts(ob, 4), pkts(rb, 4)
    return FlowTable.make(
        n, start=t, dur=dur, orig_h=orig_h, orig_p=ephemeral_ports(rng, n) if orig_p is None else orig_p,
        resp_h=resp_h, resp_p=resp_p, proto="tcp", service=service, orig_bytes=ob, resp_bytes=rb, state="SF",
        history="ShADadFf", orig_pkts=op, orig_ip_bytes=ob + HDR["tcp"] * op, resp_pkts=rp,
        resp_ip_bytes=rb + HDR["tcp"] * rp, uid=make_uids(rng, n), **tags)


def long_sessions(rng: np.random.Generator, *, orig_h, resp_h, resp_p: int, service: str, start: np.ndarray,
                  end: np.ndarray, state, rate_Bps: np.ndarray, run_end: float, attack=-1,
                  phase="", thresholds: tuple[float, ...] = LONG_CONN_S) -> FlowTable:
    """Long TCP streams (responder sends ``rate_Bps``) as Zeek logs them: long-conn interim rows + end row.

    ``state`` is the final conn_state of a stream that ends before ``run_end`` (``SF``, ``RSTO``, ``RSTR``);
    streams reaching ``run_end`` are flushed there as ``S1``.
    """
    n = len(start)
    start = np.asarray(start, float)
    end = np.minimum(np.asarray(end, float), run_end)
    state = np.broadcast_to(np.asarray(state, dtype=object), (n,))
    orig_h = np.broadcast_to(np.asarray(orig_h, dtype=object), (n,))
    resp_h = np.broadcast_to(np.asarray(resp_h, dtype=object), (n,))
    attack = np.broadcast_to(np.asarray(attack), (n,))
    phase = np.broadcast_to(np.asarray(phase, dtype=object), (n,))
    rate = np.asarray(rate_Bps, float) * rng.uniform(0.92, 1.08, n)
    uids = make_uids(rng, n)
    oport = ephemeral_ports(rng, n)
    span = float(np.max(end - start)) if n else 0.0
    thr = sorted(float(x) for x in thresholds)
    step = thr[-1] - thr[-2] if len(thr) > 1 else thr[-1]
    while thr[-1] < span:
        thr.append(thr[-1] + step)
    thr = np.asarray(thr)
    s_i, t_i = np.nonzero(start[:, None] + thr[None, :] < end[:, None])
    row = np.concatenate([s_i, np.arange(n)])
    dur = np.concatenate([thr[t_i], end - start])
    final = np.concatenate([np.zeros(len(s_i), bool), np.ones(n, bool)])
    flushed = final & (end[row] >= run_end - 1e-9)
    st = np.where(final & ~flushed, state[row], "S1").astype(object)
    hist = np.full(len(row), "ShADad", dtype=object)
    hist[st == "SF"] = "ShADadFf"
    hist[st == "RSTO"] = "ShADadR"
    hist[st == "RSTR"] = "ShADadr"
    rb = np.floor(rate[row] * dur).astype(np.int64)
    ob = np.floor(60.0 * dur).astype(np.int64) + 420
    rp = pkts(rb, 3)
    op = rp // 2 + pkts(ob, 3)
    return FlowTable.make(
        len(row), start=start[row], dur=dur, orig_h=orig_h[row], orig_p=oport[row], resp_h=resp_h[row],
        resp_p=resp_p, proto="tcp", service=service, orig_bytes=ob, resp_bytes=rb, state=st, history=hist,
        orig_pkts=op, orig_ip_bytes=ob + HDR["tcp"] * op, resp_pkts=rp, resp_ip_bytes=rb + HDR["tcp"] * rp,
        end=start[row] + dur, attack=attack[row], phase=phase[row], uid=uids[row])


def unanswered(ft: FlowTable, mask: np.ndarray) -> None:
    """Turn the rows in ``mask`` into attempts nobody answered (in place).

    TCP: ``S0``, history ``S``, three SYNs over 3 s, reported 5 s later; UDP/ICMP: ``S0``/``OTH``, one packet,
    reported after Zeek's 60 s UDP inactivity timeout.
    """
    c = ft.cols
    tcp = mask & (c["proto"] == "tcp")
    other = mask & ~tcp
    c["state"][tcp] = "S0"
    c["history"][tcp] = "S"
    c["dur"][tcp] = 3.0
    c["orig_bytes"][tcp] = 0
    c["orig_pkts"][tcp] = 3
    c["orig_ip_bytes"][tcp] = 180
    c["end"][tcp] = c["start"][tcp] + 8.0
    c["state"][other] = np.where(c["proto"][other] == "icmp", "OTH", "S0")
    c["history"][other] = np.where(c["proto"][other] == "icmp", "", "D")
    c["dur"][other] = 0.0
    c["orig_pkts"][other] = 1
    c["orig_ip_bytes"][other] = c["orig_bytes"][other] + HDR["udp"]
    c["end"][other] = c["start"][other] + 60.0
    for k in ("resp_bytes", "resp_pkts", "resp_ip_bytes"):
        c[k][mask] = 0


def clip_to_run(ft: FlowTable, run_end: float) -> FlowTable:
    """Drop rows starting after the run; connections still open at the end are flushed there (``S1``)."""
    ft = ft.take(ft.cols["start"] < run_end)
    c = ft.cols
    late = c["end"] > run_end
    open_ = late & (c["start"] + c["dur"] > run_end) & (c["proto"] == "tcp") & (c["state"] == "SF")
    if open_.any():
        frac = (run_end - c["start"][open_]) / np.maximum(c["dur"][open_], 1e-9)
        for side in ("orig", "resp"):
            b, pk = c[f"{side}_bytes"], c[f"{side}_pkts"]
            b[open_] = np.floor(b[open_] * frac).astype(np.int64)
            pk[open_] = np.maximum(np.ceil(pk[open_] * frac), 1).astype(np.int64)
            c[f"{side}_ip_bytes"][open_] = b[open_] + HDR["tcp"] * pk[open_]
        c["dur"][open_] = run_end - c["start"][open_]
        c["state"][open_] = "S1"
        c["history"][open_] = "ShADad"
    c["end"][late] = run_end
    return ft
