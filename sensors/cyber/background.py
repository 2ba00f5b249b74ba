"""The background every real network has besides its own service traffic, made for a whole run with numpy.

- Internet background radiation (``ibr``): unsolicited probes of every public-facing address all day, from
  many Internet hosts, most of them one port each (horizontal scans), a few several ports (vertical ones).
- The authorised vulnerability scanner (``vuln_scan``) on its schedule: a ping sweep of every internal
  address, a SYN scan of a port list, then service checks of every open port, with credentialed SSH logins
  on the servers (in their syslog).
- Admin bursts (``admin_bursts``): a patch rollout from the admin workstation touching every server (SSH,
  package downloads from a public mirror) and every camera (HTTPS configuration push).
- Backups (``backups``): the backup server pulls each server's data over SSH (rsync) at night, then copies
  it off site.
- SSH logins (``ssh_logins``): operators and the admin log in to the servers; some mistype their password
  once or more before they get in, which sshd logs as failures followed by success.

Every component's rate, size and schedule is a ``sensors.cyber.traffic.TrafficParams`` field (documented
there; a rate or period of 0 turns it off). Rows are tagged with their component in the ``phase`` column
(``attack`` stays -1): not exported, but it lets tests and benchmarks attribute false alarms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sensors.cyber.flowgen import (
    CLOSED,
    FILTERED,
    OPEN,
    LogLines,
    long_sessions,
    poisson,
    probes,
    public_addresses,
    tcp_short,
)
from sensors.cyber.flows import FlowTable, ephemeral_ports
from sensors.cyber.syslog import format_syslog
from sensors.cyber.topology import HOST_KINDS, OPEN_PORTS, PUBLIC_OPEN_PORTS, SERVER_KINDS, NetIndex

__all__ = ["IBR_TCP_PORTS", "IBR_UDP_PORTS", "MIRROR", "OFFSITE", "OPERATORS", "SCAN_PORTS", "admin_bursts",
           "backups", "daily", "ibr", "ssh_logins", "vuln_scan"]

#: TCP ports Internet scanners probe most, with relative weights (Telnet and SSH first: IoT botnets such as
#: Mirai; then web, SMB, RDP, databases, camera/RTSP and router management). An assumption after the
#: top-port lists that network telescopes publish; the order matters more than the exact weights.
IBR_TCP_PORTS = {23: 14, 22: 12, 80: 9, 443: 6, 8080: 6, 445: 6, 3389: 5, 2323: 4, 5555: 3, 81: 3, 8443: 3,
                 1433: 2, 3306: 2, 5900: 2, 6379: 2, 554: 2, 7547: 2, 8000: 2, 37215: 2, 52869: 1, 21: 2,
                 25: 1, 110: 1, 143: 1, 9200: 1, 11211: 1, 27017: 1, 8888: 1, 9000: 1, 5060: 1}
#: UDP ports of Internet scans (DNS, NTP, SNMP, SSDP, SIP, memcached: amplification and discovery).
IBR_UDP_PORTS = (53, 123, 161, 1900, 5060, 11211, 137, 500)
#: Shares of IBR probes that are UDP and ICMP echo (the rest TCP SYN).
_IBR_UDP, _IBR_ICMP = 0.10, 0.05
#: Ports the vulnerability scanner checks on every host by default (a short list of common services and the
#: camera, OT and management ports of this network; Nessus' default discovery scans about 4,800).
SCAN_PORTS = (21, 22, 23, 25, 53, 80, 81, 88, 110, 111, 135, 139, 143, 161, 389, 443, 445, 502, 554, 993,
              995, 1433, 1723, 1883, 3306, 3389, 5432, 5900, 8000, 8008, 8080, 8081, 8443, 8554, 8834, 8888,
              9000, 9090, 37777)
#: A public package mirror the servers download updates from, and the off-site backup store.
MIRROR = "151.101.2.132"
OFFSITE = "52.95.170.20"
_SERVICE = {22: "ssh", 53: "dns", 80: "http", 443: "ssl", 554: "rtsp", 3389: ""}
#: User names of the operators who log in to the servers.
OPERATORS = ("anna", "mikko", "laura", "jussi", "ops")


def daily(epoch0: float, run_end: float, at_s: float, every_s: float) -> np.ndarray:
    """Run times (s) of a schedule that fires at ``at_s`` seconds after midnight UTC, every ``every_s``."""
    if every_s <= 0:
        return np.zeros(0)
    midnight = np.floor(epoch0 / 86400.0) * 86400.0 - epoch0          # run time of the day's 00:00 UTC
    first = midnight + at_s
    first += np.ceil(max(0.0, -first) / every_s) * every_s
    return np.arange(first, run_end, every_s)


def ibr(net: NetIndex, rng: np.random.Generator, p: Any, run_end: float) -> FlowTable:
    """Unsolicited probes of every public address: ``p.ibr_per_s`` probes per second per address.

    Sources arrive as a Poisson process; each probes one address: one port (a horizontal scan: TCP SYN to a
    port drawn from ``IBR_TCP_PORTS``, or UDP, or ICMP echo) or, with probability ``p.ibr_multiport_share``,
    ``2 + Geometric`` TCP ports (mean ``p.ibr_multiport_mean`` beyond two; a vertical scan: a popular port,
    then ports drawn from 1-10000) at exponential gaps of mean ``p.ibr_gap_s``. The edge forwards only
    ``PUBLIC_OPEN_PORTS``; it answers ping itself, the NAT-published portal does not.
    """
    nodes = sorted(net.public_ip, key=str)
    if not nodes or p.ibr_per_s <= 0:
        return FlowTable.concat([])
    extra = max(p.ibr_multiport_mean, 0.0)
    per_src = 1.0 + p.ibr_multiport_share * (1.0 + extra)             # mean probes per source
    src_i, t0 = poisson(rng, len(nodes), p.ibr_per_s / per_src, 0.0, run_end)
    n = len(t0)
    multi = rng.random(n) < p.ibr_multiport_share
    k = np.where(multi, 2 + rng.geometric(1.0 / (1.0 + extra), n) - 1, 1).clip(1, 1000)
    row_src = np.repeat(np.arange(n), k)
    first = np.cumsum(k) - k
    step = np.arange(k.sum()) - np.repeat(first, k)
    gaps = np.where(step > 0, rng.exponential(p.ibr_gap_s, len(row_src)), 0.0)
    t = np.repeat(t0, k) + (np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first], k))
    keep = t < run_end
    row_src, t = row_src[keep], t[keep]
    m = len(t)
    who = public_addresses(rng, n, frozenset(net.public_ip.values()))[row_src]
    u = rng.random(m)
    vertical = multi[row_src]           # a vertical scan: TCP SYN to one port after another
    proto = np.where(vertical | (u >= _IBR_ICMP + _IBR_UDP), "tcp", np.where(u < _IBR_ICMP, "icmp", "udp"))
    proto = proto.astype(object)
    tcp_ports = np.fromiter(IBR_TCP_PORTS, np.int64)
    w = np.fromiter(IBR_TCP_PORTS.values(), float)
    udp_ports = np.asarray(IBR_UDP_PORTS)[rng.integers(0, len(IBR_UDP_PORTS), m)]
    port = np.where(proto == "tcp", tcp_ports[rng.choice(len(tcp_ports), m, p=w / w.sum())],
                    np.where(proto == "udp", udp_ports, 0))
    later = vertical & (step[keep] > 0)  # after a popular port, a vertical scan walks a wide port range
    port[later] = rng.integers(1, 10001, int(later.sum()))
    node_i = src_i[row_src]
    served = [(i, pt) for i, nd in enumerate(nodes) for pt in PUBLIC_OPEN_PORTS.get(net.kind[nd], ())]
    key = node_i * 65536 + port
    is_open = np.isin(key, [i * 65536 + pt for i, pt in served]) & (proto == "tcp")
    edge = np.array([net.kind[nd] == "edge" for nd in nodes], dtype=bool)
    outcome = np.where(is_open | ((proto == "icmp") & edge[node_i]), OPEN, FILTERED)
    dst = np.array([net.public_ip[nd] for nd in nodes], dtype=object)[node_i]
    return probes(rng, t, who, dst, port, proto, outcome, phase="ibr")


def vuln_scan(net: NetIndex, rng: np.random.Generator, p: Any, run_end: float,
              epoch0: float) -> tuple[FlowTable, LogLines]:
    """The authorised scanner's scheduled scans of every internal address (see the module docstring)."""
    scanners = [nd for nd in net.nodes if net.kind[nd] == "scanner"]
    starts = daily(epoch0, run_end, p.scan_at_s, p.scan_every_s)
    if not scanners or p.scan_rate_per_s <= 0 or not len(starts):
        return FlowTable.concat([]), LogLines.empty()
    me = scanners[0]
    targets = [nd for nd in net.nodes if nd != me]
    parts, logs = [], LogLines.empty()
    for t0 in starts.tolist():
        ft, lines = _one_scan(net, rng, p, me, targets, float(t0), epoch0)
        parts.append(ft)
        logs.extend(lines)
    return FlowTable.concat(parts), logs


def _one_scan(net: NetIndex, rng: np.random.Generator, p: Any, me, targets: list,
              t0: float, epoch0: float) -> tuple[FlowTable, LogLines]:
    """Ping sweep, SYN scan of ``p.scan_ports`` (hosts interleaved) and service checks of the open ports."""
    rate, sip = float(p.scan_rate_per_s), net.ip[me]
    ips = np.array([net.ip[nd] for nd in targets], dtype=object)
    n = len(targets)
    t = t0 + np.arange(n) / rate
    sweep = probes(rng, t, sip, ips[rng.permutation(n)], 0, "icmp", np.full(n, OPEN), phase="vuln_scan")
    ports = np.asarray(list(dict.fromkeys(p.scan_ports)), dtype=np.int64)
    hi, pi = np.divmod(rng.permutation(n * len(ports)), len(ports))
    t_syn = t[-1] + 1.0 + np.arange(len(hi)) / rate
    kinds = [net.kind[nd] for nd in targets]
    kind_of, kind_i = np.unique(np.array(kinds, dtype=str), return_inverse=True)
    served = np.array([[int(pt) in OPEN_PORTS.get(str(k), ()) for pt in ports] for k in kind_of], dtype=bool)
    openp = served[kind_i[hi], pi]
    syn = probes(rng, t_syn, sip, ips[hi], ports[pi], "tcp", np.where(openp, OPEN, CLOSED), phase="vuln_scan")
    # service checks: p.scan_checks_per_port connections per open port, host after host, at rate / 5
    found = sorted(zip(hi[openp].tolist(), ports[pi][openp].tolist(), strict=True))
    reps = max(int(p.scan_checks_per_port), 0)
    host = np.repeat([h for h, _ in found], reps).astype(np.int64)
    port = np.repeat([pt for _, pt in found], reps).astype(np.int64)
    m = len(host)
    t_chk = (t_syn[-1] if len(t_syn) else t[-1]) + 2.0 + np.cumsum(rng.exponential(5.0 / rate, m))
    ssh = (port == 22) & np.array([kinds[h] in HOST_KINDS and kinds[h] != "camera" for h in host.tolist()],
                                  dtype=bool)
    dur = np.where(ssh, rng.uniform(1.0, 4.0, m), rng.uniform(0.05, 1.5, m))
    svc = np.array([_SERVICE.get(int(pt), "") for pt in port.tolist()], dtype=object)
    chk = tcp_short(rng, t_chk, sip, ips[host], port, "", rng.integers(300, 4000, m),
                    rng.integers(300, 20000, m), dur, phase="vuln_scan")
    chk.cols["service"][:] = svc
    logs = LogLines.empty()
    for i in np.flatnonzero(ssh).tolist():
        a = float(t_chk[i])
        pid = int(rng.integers(1200, 30000))
        _sshd_session(logs, epoch0, str(targets[host[i]]), pid, a, a + float(dur[i]), "nessus", sip,
                      int(chk.cols["orig_p"][i]), fails=0, key=False, rng=rng)
    return FlowTable.concat([sweep, syn, chk]), logs


def admin_bursts(net: NetIndex, rng: np.random.Generator, p: Any, run_end: float,
                 epoch0: float) -> tuple[FlowTable, LogLines]:
    """Patch rollouts from ``admin``: per server a short check, the upgrade session and a check again over
    SSH, with its package downloads from ``MIRROR``; per camera two HTTPS configuration calls."""
    if "admin" not in net.ip or p.admin_bursts_per_day <= 0:
        return FlowTable.concat([]), LogLines.empty()
    _, starts = poisson(rng, 1, p.admin_bursts_per_day / 86400.0, 0.0, run_end)
    servers = [nd for nd in net.nodes if net.kind[nd] in SERVER_KINDS]
    parts, logs, aip = [], LogLines.empty(), net.ip["admin"]
    for b0 in starts.tolist():
        t = b0 + np.sort(rng.uniform(0.0, p.admin_burst_s, len(servers)))
        upg = np.exp(rng.normal(np.log(120.0), 0.8, len(servers)))
        for j, (when, d_up) in enumerate(zip(t.tolist(), upg.tolist(), strict=True)):
            host = str(servers[j])
            spans = [(when, rng.uniform(0.8, 3.0)), (when + 4.0, d_up),
                     (when + 6.0 + d_up, rng.uniform(0.8, 3.0))]
            for s0, d in spans:
                port = int(ephemeral_ports(rng, 1)[0])
                parts.append(tcp_short(rng, np.array([s0]), aip, net.ip[servers[j]], 22, "ssh",
                                       np.array([3000 + int(400 * d)]), np.array([4000 + int(3000 * d)]),
                                       np.array([d]), orig_p=port, phase="admin_burst"))
                _sshd_session(logs, epoch0, host, int(rng.integers(1200, 30000)), s0, s0 + d, "admin", aip,
                              port, fails=0, key=True, rng=rng)
            k = int(rng.integers(1, 4))
            size = np.exp(rng.normal(np.log(8e6), 1.0, k)).astype(np.int64)
            t_dl = when + 5.0 + np.sort(rng.uniform(0, d_up * 0.5, k))
            parts.append(tcp_short(rng, t_dl, net.ip[servers[j]], MIRROR, 80, "http",
                                   rng.integers(300, 900, k), size, size / 4e6, phase="admin_burst"))
        cams = net.cam_ip
        if len(cams):
            tc = np.repeat(b0 + rng.uniform(0.0, p.admin_burst_s, len(cams)), 2)
            tc = tc + np.tile([0.0, 2.0], len(cams))
            nc = len(tc)
            parts.append(tcp_short(rng, tc, aip, np.repeat(cams, 2), 443, "ssl",
                                   rng.integers(1500, 60000, nc), rng.integers(2000, 30000, nc),
                                   rng.uniform(0.2, 2.0, nc), phase="admin_burst"))
    return FlowTable.concat(parts), logs


def backups(net: NetIndex, rng: np.random.Generator, p: Any, run_end: float,
            epoch0: float) -> tuple[FlowTable, LogLines]:
    """The nightly backup: ``backup`` pulls each server's and the admin workstation's data over SSH (rsync),
    one after the other at ``p.backup_mbps``, then sends the night's total off site (HTTPS)."""
    starts = daily(epoch0, run_end, p.backup_at_s, p.backup_every_s)
    if "backup" not in net.ip or not len(starts) or p.backup_mbps <= 0:
        return FlowTable.concat([]), LogLines.empty()
    hosts = [nd for nd in net.nodes if net.kind[nd] in SERVER_KINDS + ("admin",) and nd != "backup"]
    rate = p.backup_mbps * 1e6 / 8.0
    parts, logs, bip = [], LogLines.empty(), net.ip["backup"]
    for s0 in starts.tolist():
        gb = np.array([p.backup_gb_vms if net.kind[h] == "vms" else p.backup_gb_other for h in hosts], float)
        size = gb * 1e9 * np.exp(rng.normal(0.0, 0.3, len(hosts)))
        dur = np.maximum(size / rate, 1.0)
        begin = s0 + np.concatenate([[0.0], np.cumsum(dur[:-1] + rng.uniform(2.0, 10.0, len(hosts) - 1))])
        ft = long_sessions(rng, orig_h=bip, resp_h=np.array([net.ip[h] for h in hosts], dtype=object),
                           resp_p=22, service="ssh", start=begin, end=begin + dur, state="SF",
                           rate_Bps=np.full(len(hosts), rate), run_end=run_end, phase="backup",
                           thresholds=p.long_conn_s)
        parts.append(ft)
        for h, a, d in zip(hosts, begin.tolist(), dur.tolist(), strict=True):
            _sshd_session(logs, epoch0, str(h), int(rng.integers(1200, 30000)), a, a + d, "backup", bip,
                          int(rng.integers(32768, 61000)), fails=0, key=True, rng=rng)
        if p.backup_offsite:
            off0 = float(begin[-1] + dur[-1] + 30.0)
            parts.append(long_sessions(rng, orig_h=bip, resp_h=OFFSITE, resp_p=443, service="ssl",
                                       start=np.array([off0]), end=np.array([off0 + size.sum() / rate]),
                                       state="SF", rate_Bps=np.array([rate]), run_end=run_end, phase="backup",
                                       thresholds=p.long_conn_s))
            _flip(parts[-1])
    return FlowTable.concat(parts), logs


def _flip(ft: FlowTable) -> None:
    """Swap originator and responder byte and packet counts, in place: ``long_sessions`` makes downloads
    (the responder sends); this turns them into uploads."""
    c = ft.cols
    for side in ("bytes", "pkts", "ip_bytes"):
        a, b = f"orig_{side}", f"resp_{side}"
        c[a], c[b] = c[b].copy(), c[a].copy()


def ssh_logins(net: NetIndex, rng: np.random.Generator, *, src: str, users: tuple[str, ...], per_h: float,
               typo_share: float, key_share: float, median_s: float, run_end: float, epoch0: float,
               phase: str) -> tuple[FlowTable, LogLines]:
    """Interactive SSH logins from node ``src`` to the servers at ``per_h`` per hour (Poisson).

    A ``key_share`` of them use a key; the others type a password, and a ``typo_share`` of those mistype it
    first: one failure (two with probability 0.2) before ``Accepted password``, all in one connection. One
    in ten such users gives up after three failures, disconnects and connects again at once (a short failed
    connection, then the session). Session lengths are log-normal with median ``median_s``.
    """
    hosts = [nd for nd in net.nodes if net.kind[nd] in SERVER_KINDS and nd != src]
    if src not in net.ip or per_h <= 0 or not hosts:
        return FlowTable.concat([]), LogLines.empty()
    _, t = poisson(rng, 1, per_h / 3600.0, 0.0, run_end)
    n = len(t)
    dst = np.array(hosts, dtype=object)[rng.integers(0, len(hosts), n)]
    user = np.array(users, dtype=object)[rng.integers(0, len(users), n)]
    key = rng.random(n) < key_share
    fails = np.where(~key & (rng.random(n) < typo_share), 1 + (rng.random(n) < 0.2), 0)
    retry = (fails > 0) & (rng.random(n) < 0.1)
    fails = np.where(retry, 3, fails)
    dur = np.maximum(8.0, median_s * np.exp(rng.normal(0.0, 1.0, n)))
    ip, parts, logs = net.ip[src], [], LogLines.empty()
    for i in range(n):
        t0 = float(t[i])
        if retry[i]:
            port = int(ephemeral_ports(rng, 1)[0])
            parts.append(tcp_short(rng, np.array([t0]), ip, net.ip[dst[i]], 22, "ssh", np.array([2600]),
                                   np.array([3300]), np.array([8.2]), orig_p=port, phase=phase))
            _sshd_session(logs, epoch0, str(dst[i]), int(rng.integers(1200, 30000)), t0, t0 + 8.2,
                          str(user[i]), ip, port, fails=3, key=False, rng=rng)
            t0 += 12.0
        port = int(ephemeral_ports(rng, 1)[0])
        nf = 0 if retry[i] else int(fails[i])
        d = float(dur[i]) + 2.5 * nf
        parts.append(tcp_short(rng, np.array([t0]), ip, net.ip[dst[i]], 22, "ssh",
                               np.array([2500 + int(40 * d)]), np.array([3500 + int(300 * d)]), np.array([d]),
                               orig_p=port, phase=phase))
        _sshd_session(logs, epoch0, str(dst[i]), int(rng.integers(1200, 30000)), t0, t0 + d, str(user[i]), ip,
                      port, fails=nf, key=bool(key[i]), rng=rng)
    return FlowTable.concat(parts), logs


_B62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))


def _sshd_session(logs: LogLines, epoch0: float, host: str, pid: int, t0: float, t1: float, user: str,
                  ip: str, port: int, *, fails: int, key: bool, rng: np.random.Generator) -> None:
    """The sshd lines of one connection: ``fails`` failed passwords, then (unless it gave up after three)
    the accepted login (a key's fingerprint drawn from ``rng``), the session, and the disconnect at ``t1``."""

    def log(t: float, msg: str, facility: str = "auth", severity: str = "info") -> None:
        line = format_syslog(epoch0 + t, host, "sshd", pid, msg, facility=facility, severity=severity)
        logs.add(t, host, line)

    for j in range(fails):
        log(t0 + 0.3 + 2.5 * j, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
            f"ruser= rhost={ip}  user={user}", facility="authpriv", severity="notice")
        log(t0 + 2.1 + 2.5 * j, f"Failed password for {user} from {ip} port {port} ssh2")
    if fails >= 3:
        log(t1, f"Connection closed by authenticating user {user} {ip} port {port} [preauth]")
        return
    ta = t0 + 2.5 * fails + (0.21 if key else 0.3)
    how = "publickey" if key else "password"
    tail = f": ED25519 SHA256:{''.join(_B62[rng.integers(0, 62, 43)])}" if key else ""
    log(ta, f"Accepted {how} for {user} from {ip} port {port} ssh2{tail}")
    log(ta + 0.01, f"pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)",
        facility="authpriv")
    log(t1, f"Received disconnect from {ip} port {port}:11: disconnected by user")
    log(t1, f"Disconnected from user {user} {ip} port {port}")
    log(t1, f"pam_unix(sshd:session): session closed for user {user}", facility="authpriv")
