"""Normal traffic on the city's camera network and the background every real network has, generated for a
whole run at once with numpy.

What flows (all addresses from the twin's network):
- RTSP: the video management server (``vms``) pulls each camera's stream over one long TCP connection
  to port 554 (RTP interleaved), 2–8 Mbit/s per camera. Zeek reports a connection when it ends; for streams
  that run for hours we follow Zeek's ``policy/protocols/conn/long-connections`` script: the same uid is
  logged with its running totals (state ``S1``) when its age crosses 10 min, 30 min, 1 h, 12 h, 24 h, then
  every 3 days, and streams still open at the end of the run are flushed at the run end with state ``S1``
  (as Zeek does at shutdown). A stream cut by an attack ends with ``RSTO``/``RSTR``; the server retries
  every ``reconnect_s`` (``S0`` attempts) until the camera is reachable again.
- NTP (udp/123) from every camera and server to ``ntp`` every ``ntp_poll_s``; ``ntp`` polls two public
  servers every ``ntp_upstream_poll_s``. Each wait is stretched by up to ``ntp_jitter_share`` as ntpd's
  poll timer does, so NTP is periodic and looks like beaconing to a detector that does not know it.
- DNS (udp/53) from ``vms``, ``soc`` and ``admin`` to ``dns`` (Poisson), a share forwarded upstream.
- HTTPS management (tcp/443, ``ssl``): ``vms`` polls each camera's device API every ``https_poll_s``; ``soc``
  pulls ``vms``'s event API every ``soc_api_s``; the admin opens the ``vms`` web client now and then.
- SSH (tcp/22): the admin workstation logs in to the servers with a key (now and then by password after
  one mistyped try), operators at the ``soc`` by password, some mistyping it first; sshd logs every
  session to syslog.
- The background of ``sensors.cyber.background``: Internet background radiation on every public address,
  the authorised vulnerability scanner's nightly scan, admin patch bursts, nightly backups.

Every rate, size and schedule is a ``TrafficParams`` field, documented where it is declared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensors.cyber.background import OPERATORS, SCAN_PORTS, admin_bursts, backups, ibr, ssh_logins, vuln_scan
from sensors.cyber.flowgen import (
    LONG_CONN_S,
    LogLines,
    clip_to_run,
    long_sessions,
    periodic,
    poisson,
    renewal,
    tcp_short,
    udp_flows,
    unanswered,
)
from sensors.cyber.flows import FlowTable
from sensors.cyber.topology import NetIndex

__all__ = ["LONG_CONN_S", "LogLines", "TrafficParams", "baseline", "clip_to_run", "long_sessions",
           "periodic", "poisson", "tcp_short", "unanswered"]

#: Public NTP/DNS upstreams the city's servers use.
NTP_UPSTREAM = ("194.100.49.151", "194.100.49.152")
DNS_UPSTREAM = ("1.1.1.1", "9.9.9.9")


def _bitrate_range(d: dict, path: str, rep) -> None:
    v = d.get("bitrate_mbps")
    if isinstance(v, list) and (len(v) != 2 or not v[0] <= v[1]):
        where = f"{path}.bitrate_mbps" if path else "bitrate_mbps"
        rep.error(where, f"must be [low, high] Mbit/s, got {v!r}")


def _f(default, doc: str, **meta):
    """A documented field (``doc`` and bounds in its metadata, as ``scenarios.specs`` reads them)."""
    return field(default=default, metadata={"doc": doc, **meta})


@dataclass(frozen=True)
class TrafficParams:
    """Rates, sizes and schedules of the network's normal traffic and background (see the module docstring).

    Every field is documented in its metadata (``doc``), with its source or marked as an assumption; a rate,
    period or size of 0 turns that component off. A scenario block is derived from these declarations
    (``scenarios.specs.map_of``).
    """

    RULES = (_bitrate_range,)

    bitrate_mbps: tuple[float, ...] = _f((2.0, 8.0), "per camera stream, uniform in [low, high] Mbit/s "
                                         "(assumption: 1080p H.264 at 15-30 fps)", min_len=2, item={"gt": 0})
    startup_s: float = _f(10.0, "streams start at U(0, startup_s) s", ge=0)
    reconnect_s: float = _f(10.0, "vms retry period for a lost stream, s (assumption)", gt=0)
    ntp_poll_s: float = _f(256.0, "NTP poll of every camera and server to ntp, s (assumption: an SNTP client "
                           "at ntpd's default 2^8 poll)", gt=0)
    ntp_upstream_poll_s: float = _f(1024.0, "the ntp server's poll of each public upstream, s (ntpd's "
                                    "default maxpoll 2^10 once synchronised)", gt=0)
    ntp_jitter_share: float = _f(0.0625, "each NTP wait is poll x (1 + U(0, share)): ntpd 4.2's poll timer "
                                 "(ntp_proto.c poll_update) adds up to 255/4096 of the interval", ge=0, le=1)
    https_poll_s: float = _f(60.0, "vms polls each camera's device API every this many s (assumption)", gt=0)
    soc_api_s: float = _f(30.0, "soc pulls the vms event API every this many s (assumption)", gt=0)
    admin_web_per_h: float = _f(12.0, "admin's vms web-client sessions per hour (assumption)", ge=0)
    dns_per_s: float = _f(0.05, "DNS queries per second per querying server (assumption)", ge=0)
    dns_forward_share: float = _f(0.3, "share of DNS queries forwarded upstream (cache misses; assumption)",
                                  ge=0, le=1)
    admin_ssh_per_h: float = _f(4.0, "admin SSH logins to the servers per hour (assumption)", ge=0)
    admin_ssh_median_s: float = _f(240.0, "median admin SSH session, s (log-normal, sigma 1)", gt=0)
    admin_typo_share: float = _f(0.1, "share of admin logins by password after one or two mistyped tries "
                                 "(the rest by key; assumption)", ge=0, le=1)
    long_conn_s: tuple[float, ...] = _f(LONG_CONN_S, "Zeek LongConnection::default_durations, s",
                                        min_len=1, item={"gt": 0})
    ibr_per_s: float = _f(0.087, "Internet background radiation: unsolicited probes per second per public "
                          "address (Merit's ORION network telescope: about 41,500 packets/s on about 475,000 "
                          "unused addresses on an average day)", ge=0)
    ibr_multiport_share: float = _f(0.1, "share of Internet scanners that probe several ports of an address "
                                    "(assumption: most Internet-wide scans target one port, Durumeric et "
                                    "al., USENIX Security 2014)", ge=0, le=1)
    ibr_multiport_mean: float = _f(3.0, "mean number of ports beyond two such a scanner probes (geometric; "
                                   "assumption)", ge=0)
    ibr_gap_s: float = _f(2.0, "mean gap between one scanner's probes, s (exponential; assumption)", gt=0)
    scan_every_s: float = _f(86400.0, "the authorised vulnerability scanner runs every this many s (0: "
                             "never; assumption: nightly, as many sites run them; CIS Controls v8 7.5-7.6 "
                             "ask for at least quarterly)", ge=0)
    scan_at_s: float = _f(3600.0, "seconds after midnight UTC of the scan (01:00 UTC)", ge=0, le=86400)
    scan_rate_per_s: float = _f(50.0, "the scanner's probes per second (rate-limited to spare fragile camera "
                                "and OT stacks; assumption)", ge=0)
    scan_ports: tuple[int, ...] = _f(SCAN_PORTS, "TCP ports the scanner probes on every address",
                                     min_len=1, item={"ge": 1, "le": 65535})
    scan_checks_per_port: int = _f(4, "service-check connections per open port found (plugins that talk to "
                                   "the service; SSH ones log in with the scan account; assumption)", ge=0)
    admin_bursts_per_day: float = _f(1.0, "patch rollouts per day from the admin workstation, each touching "
                                     "every server and camera (Poisson; assumption)", ge=0)
    admin_burst_s: float = _f(900.0, "how long a rollout takes, s (assumption)", gt=0)
    backup_every_s: float = _f(86400.0, "the backup runs every this many s (0: never; nightly)", ge=0)
    backup_at_s: float = _f(5400.0, "seconds after midnight UTC the backup starts (01:30 UTC)", ge=0,
                            le=86400)
    backup_gb_vms: float = _f(20.0, "median size of the vms backup (configuration, event clips), GB "
                              "(log-normal, sigma 0.3; assumption)", ge=0)
    backup_gb_other: float = _f(0.5, "median size of another host's backup, GB (assumption)", ge=0)
    backup_mbps: float = _f(400.0, "backup throughput, Mbit/s (rsync over SSH on a 1 Gbit/s link; "
                            "assumption)", ge=0)
    backup_offsite: bool = _f(True, "after the local backup, the backup server uploads it off site (HTTPS)")
    user_ssh_per_h: float = _f(6.0, "operators' SSH logins (by password) from the soc to the servers per "
                               "hour (assumption)", ge=0)
    user_typo_share: float = _f(0.1, "share of password logins that start with a mistyped password "
                                "(assumption, the order of published login-failure rates)", ge=0, le=1)
    user_ssh_median_s: float = _f(600.0, "median operator SSH session, s (log-normal, sigma 1)", gt=0)


def baseline(net: NetIndex, rng: np.random.Generator, params: TrafficParams, run_end: float,
             epoch0: float) -> tuple[FlowTable, LogLines]:
    """Normal traffic and background for the whole run: NTP, DNS, HTTPS management, SSH logins and
    ``sensors.cyber.background`` (the RTSP streams are ``sensors.cyber.streams``)."""
    p = params
    T = float(run_end)
    ip = net.ip
    servers = [s for s in ("vms", "soc", "dns", "admin") if s in ip]
    parts = []
    logs = LogLines.empty()
    # NTP: cameras and servers -> ntp; ntp -> public pool
    if "ntp" in ip:
        clients = np.concatenate([net.cam_ip, np.array([ip[s] for s in servers], dtype=object)])
        src, t = renewal(rng, len(clients), p.ntp_poll_s, 0.0, T, p.ntp_jitter_share)
        d = rng.uniform(3e-4, 3e-3, len(t))
        parts.append(udp_flows(rng, t, clients[src], ip["ntp"], 123, "ntp", 48, 48, d, phase="ntp"))
        up = np.array(NTP_UPSTREAM, dtype=object)
        src, t = renewal(rng, len(up), p.ntp_upstream_poll_s, 0.0, T, p.ntp_jitter_share)
        d = rng.uniform(0.004, 0.03, len(t))
        parts.append(udp_flows(rng, t, ip["ntp"], up[src], 123, "ntp", 48, 48, d, phase="ntp"))
    # DNS: servers -> dns, some forwarded upstream
    if "dns" in ip:
        qs = np.array([ip[s] for s in ("vms", "soc", "admin") if s in ip], dtype=object)
        src, t = poisson(rng, len(qs), p.dns_per_s, 0.0, T)
        n = len(t)
        fwd = rng.random(n) < p.dns_forward_share
        ob = rng.integers(28, 64, n)
        rb = ob + rng.integers(16, 240, n)
        dur = np.where(fwd, rng.uniform(0.01, 0.06, n), rng.uniform(2e-4, 2e-3, n))
        parts.append(udp_flows(rng, t, qs[src], ip["dns"], 53, "dns", ob, rb, dur))
        up = np.array(DNS_UPSTREAM, dtype=object)[rng.integers(0, 2, int(fwd.sum()))]
        parts.append(udp_flows(rng, t[fwd] + 2e-4, ip["dns"], up, 53, "dns", ob[fwd], rb[fwd],
                               dur[fwd] - 4e-4))
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
    for ft, lines in _background(net, rng, p, T, epoch0):
        parts.append(ft)
        logs.extend(lines)
    return FlowTable.concat(parts), logs


def _background(net: NetIndex, rng: np.random.Generator, p: TrafficParams, T: float, epoch0: float) -> list:
    """SSH logins and the components of ``sensors.cyber.background``, each as (flows, syslog lines)."""
    return [
        ssh_logins(net, rng, src="admin", users=("admin",), per_h=p.admin_ssh_per_h, typo_share=1.0,
                      key_share=1.0 - p.admin_typo_share, median_s=p.admin_ssh_median_s, run_end=T,
                      epoch0=epoch0, phase="admin_ssh"),
        ssh_logins(net, rng, src="soc", users=OPERATORS, per_h=p.user_ssh_per_h,
                      typo_share=p.user_typo_share, key_share=0.0, median_s=p.user_ssh_median_s, run_end=T,
                      epoch0=epoch0, phase="user_ssh"),
        (ibr(net, rng, p, T), LogLines.empty()),
        vuln_scan(net, rng, p, T, epoch0),
        admin_bursts(net, rng, p, T, epoch0),
        backups(net, rng, p, T, epoch0),
    ]


