"""Normal traffic on the city's camera network, generated for a whole run at once with numpy.

What flows (all addresses from the twin's network):
- RTSP: the video management server (``vms``) pulls each camera's stream over one long TCP connection
  to port 554 (RTP interleaved), 2–8 Mbit/s per camera. Zeek reports a connection when it ends; for streams
  that run for hours we follow Zeek's ``policy/protocols/conn/long-connections`` script: the same uid is
  logged with its running totals (state ``S1``) when its age crosses 10 min, 30 min, 1 h, 12 h, 24 h, then
  every 3 days, and streams still open at the end of the run are flushed at the run end with state ``S1``
  (as Zeek does at shutdown). A stream cut by an attack ends with ``RSTO``/``RSTR``; the server retries
  every ``reconnect_s`` (``S0`` attempts) until the camera is reachable again.
- NTP (udp/123) from every camera and server to ``ntp`` every ``ntp_poll_s``; ``ntp`` polls two public
  servers.
- DNS (udp/53) from ``vms``, ``soc`` and ``admin`` to ``dns`` (Poisson), a share forwarded upstream.
- HTTPS management (tcp/443, ``ssl``): ``vms`` polls each camera's device API every ``https_poll_s``; ``soc``
  pulls ``vms``'s event API every ``soc_api_s``; the admin opens the ``vms`` web client now and then.
- SSH (tcp/22): the admin workstation logs in to the servers with a key (now and then by password after
  one mistyped try); sshd logs the session to syslog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.cyber.flows import HDR, FlowTable, ephemeral_ports, make_uids
from sensors.cyber.syslog import format_syslog
from sensors.cyber.topology import NetIndex

__all__ = ["LONG_CONN_S", "LogLines", "TrafficParams", "baseline", "clip_to_run", "long_sessions",
           "periodic", "poisson", "unanswered"]

#: Zeek long-connections thresholds (s); after the last one it repeats every last interval.
LONG_CONN_S = (600.0, 1800.0, 3600.0, 43200.0, 86400.0, 259200.0)
#: Public NTP/DNS upstreams the city's servers use.
NTP_UPSTREAM = ("194.100.49.151", "194.100.49.152")
DNS_UPSTREAM = ("1.1.1.1", "9.9.9.9")


@dataclass(frozen=True)
class TrafficParams:
    """Rates and sizes of normal traffic; every field has its default here."""

    bitrate_mbps: tuple[float, float] = (2.0, 8.0)   # per camera stream, uniform
    startup_s: float = 10.0                          # streams start at U(0, startup_s)
    reconnect_s: float = 10.0                        # vms retry period for a lost stream
    ntp_poll_s: float = 256.0
    https_poll_s: float = 60.0
    soc_api_s: float = 30.0
    admin_web_per_h: float = 12.0
    dns_per_s: float = 0.05                          # per querying server
    dns_forward_share: float = 0.3
    admin_ssh_per_h: float = 4.0
    admin_ssh_median_s: float = 240.0
    admin_typo_share: float = 0.1                    # admin logins by password after one mistyped try
    long_conn_s: tuple[float, ...] = LONG_CONN_S     # Zeek LongConnection::default_durations


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


def _pkts(nbytes: np.ndarray, extra: int) -> np.ndarray:
    return np.ceil(nbytes / 1448.0).astype(np.int64) + extra


def _udp(rng, t, orig_h, resp_h, resp_p, service, ob, rb, dur, **tags) -> FlowTable:
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
    op, rp = _pkts(ob, 4), _pkts(rb, 4)
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
    rp = _pkts(rb, 3)
    op = rp // 2 + _pkts(ob, 3)
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


def baseline(net: NetIndex, rng: np.random.Generator, params: TrafficParams, run_end: float,
             epoch0: float) -> tuple[FlowTable, LogLines]:
    """NTP, DNS, HTTPS management and admin SSH for the whole run (RTSP streams: ``long_sessions``)."""
    p = params
    T = float(run_end)
    ip = net.ip
    servers = [s for s in ("vms", "soc", "dns", "admin") if s in ip]
    parts = []
    logs = LogLines.empty()
    # NTP: cameras and servers -> ntp; ntp -> public pool
    if "ntp" in ip:
        clients = np.concatenate([net.cam_ip, np.array([ip[s] for s in servers], dtype=object)])
        src, t = periodic(rng, len(clients), p.ntp_poll_s, 0.0, T)
        d = rng.uniform(3e-4, 3e-3, len(t))
        parts.append(_udp(rng, t, clients[src], ip["ntp"], 123, "ntp", 48, 48, d))
        up = np.array(NTP_UPSTREAM, dtype=object)
        src, t = periodic(rng, len(up), 1024.0, 0.0, T)
        parts.append(_udp(rng, t, ip["ntp"], up[src], 123, "ntp", 48, 48, rng.uniform(0.004, 0.03, len(t))))
    # DNS: servers -> dns, some forwarded upstream
    if "dns" in ip:
        qs = np.array([ip[s] for s in ("vms", "soc", "admin") if s in ip], dtype=object)
        src, t = poisson(rng, len(qs), p.dns_per_s, 0.0, T)
        n = len(t)
        fwd = rng.random(n) < p.dns_forward_share
        ob = rng.integers(28, 64, n)
        rb = ob + rng.integers(16, 240, n)
        dur = np.where(fwd, rng.uniform(0.01, 0.06, n), rng.uniform(2e-4, 2e-3, n))
        parts.append(_udp(rng, t, qs[src], ip["dns"], 53, "dns", ob, rb, dur))
        up = np.array(DNS_UPSTREAM, dtype=object)[rng.integers(0, 2, int(fwd.sum()))]
        parts.append(_udp(rng, t[fwd] + 2e-4, ip["dns"], up, 53, "dns", ob[fwd], rb[fwd], dur[fwd] - 4e-4))
    # HTTPS management
    src, t = periodic(rng, len(net.cam_ip), p.https_poll_s, 0.0, T)
    n = len(t)
    parts.append(tcp_short(rng, t, ip["vms"], net.cam_ip[src], 443, "ssl", rng.integers(700, 1600, n),
                           rng.integers(2500, 9000, n), rng.uniform(0.05, 0.4, n)))
    if "soc" in ip:
        _, t = periodic(rng, 1, p.soc_api_s, 0.0, T)
        n = len(t)
        parts.append(tcp_short(rng, t, ip["soc"], ip["vms"], 443, "ssl", rng.integers(900, 1400, n),
                               rng.integers(1500, 40000, n), rng.uniform(0.05, 0.5, n)))
    if "admin" in ip:
        _, t = poisson(rng, 1, p.admin_web_per_h / 3600.0, 0.0, T)
        n = len(t)
        parts.append(tcp_short(rng, t, ip["admin"], ip["vms"], 443, "ssl", rng.integers(2000, 20000, n),
                               rng.integers(50_000, 2_000_000, n), rng.uniform(2.0, 120.0, n)))
        ssh, lines = _admin_ssh(net, rng, p, T, epoch0)
        parts.append(ssh)
        logs.extend(lines)
    return FlowTable.concat(parts), logs


def _admin_ssh(net: NetIndex, rng: np.random.Generator, p: TrafficParams, T: float,
               epoch0: float) -> tuple[FlowTable, LogLines]:
    """Key-based admin logins to the servers, with the sshd lines each one leaves in syslog."""
    hosts = [s for s in ("vms", "soc", "ntp", "dns") if s in net.ip]
    _, t = poisson(rng, 1, p.admin_ssh_per_h / 3600.0, 0.0, T)
    n = len(t)
    dst = np.array(hosts, dtype=object)[rng.integers(0, len(hosts), n)]
    dur = np.maximum(8.0, p.admin_ssh_median_s * np.exp(rng.normal(0.0, 1.0, n)))
    ob = (2500 + 40.0 * dur * rng.uniform(0.5, 2.0, n)).astype(np.int64)
    rb = (3500 + 300.0 * dur * rng.uniform(0.5, 2.0, n)).astype(np.int64)
    port = ephemeral_ports(rng, n)
    ft = tcp_short(rng, t, net.ip["admin"], np.array([net.ip[h] for h in dst], dtype=object), 22, "ssh",
                   ob, rb, dur, orig_p=port)
    ft.cols["history"][:] = "ShAdDaFf"
    pids = rng.integers(1200, 30000, n)
    typo = rng.random(n) < p.admin_typo_share
    fps = rng.integers(0, 62, (n, 43))
    alphabet = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    logs = LogLines.empty()
    aip = net.ip["admin"]
    for i in range(n):
        h, pid, pt, t0, t1 = str(dst[i]), int(pids[i]), int(port[i]), float(t[i]), float(t[i] + dur[i])
        fp = "".join(alphabet[fps[i]])
        if typo[i]:
            logs.add(t0 + 0.3, h, format_syslog(epoch0 + t0 + 0.3, h, "sshd", pid,
                     "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
                     f"rhost={aip}  user=admin", facility="authpriv", severity="notice"))
            logs.add(t0 + 2.1, h, format_syslog(epoch0 + t0 + 2.1, h, "sshd", pid,
                     f"Failed password for admin from {aip} port {pt} ssh2"))
            logs.add(t0 + 5.3, h, format_syslog(epoch0 + t0 + 5.3, h, "sshd", pid,
                     f"Accepted password for admin from {aip} port {pt} ssh2"))
        else:
            logs.add(t0 + 0.21, h, format_syslog(epoch0 + t0 + 0.21, h, "sshd", pid,
                     f"Accepted publickey for admin from {aip} port {pt} ssh2: ED25519 SHA256:{fp}"))
        ts = t0 + (5.31 if typo[i] else 0.22)
        logs.add(ts, h, format_syslog(epoch0 + ts, h, "sshd", pid,
                 "pam_unix(sshd:session): session opened for user admin(uid=1000) by (uid=0)",
                 facility="authpriv"))
        if t1 < T:
            logs.add(t1, h, format_syslog(epoch0 + t1, h, "sshd", pid,
                     f"Received disconnect from {aip} port {pt}:11: disconnected by user"))
            logs.add(t1, h, format_syslog(epoch0 + t1, h, "sshd", pid,
                     f"Disconnected from user admin {aip} port {pt}"))
            logs.add(t1, h, format_syslog(epoch0 + t1, h, "sshd", pid,
                     "pam_unix(sshd:session): session closed for user admin", facility="authpriv"))
    return ft, logs
