"""Cyber attack campaigns from the scenario's ``attacks:`` list: validation, effects, flows, syslog and truth.

Each entry is ``{kind, target, start_s=0, duration_s=300, src?, id?, ...}``; ``target`` is a network node
id (``vms``, ``soc``, a switch, a camera id) or one of the network's IPs; ``src`` is the attacker (a node
id or an IP; default: a deterministic external address). Per kind (MITRE ATT&CK technique per phase):

- ``cyber_scan`` (``ports``, ``rate_per_s`` = 100 probes/s): ICMP sweep of the target and every camera behind
  it (``host_discovery``, T1595) in the first tenth of the window, then a SYN scan of ``ports``
  (``service_discovery``, T1046): open ports answer ``RSTO``/``ShR``, closed ones ``REJ``/``Sr``.
- ``cyber_bruteforce`` (``rate_per_s`` = 1 connection/s, ``users``): SSH password guessing on the target
  (``brute_force``, T1110); 1–3 guesses per connection, each a sshd ``Failed password`` line in syslog.
- ``cyber_dos`` (``rate_per_s`` = 100 flows/s, ``mbps``, ``port``): ``network_dos`` (T1498). On a host
  without ``mbps``: a spoofed SYN flood that takes the host down (its connections go unanswered; ``vms`` or
  ``core`` down => every camera behind it offline). On a switch (or with ``mbps``): a UDP flood of ``mbps``
  (default 1.5x the uplink) toward the cameras behind it; cameras go offline if flood + their streams
  fill the uplink, degraded above 80 %.
- ``cyber_beacon`` (``interval_s`` = 60, ``jitter_s`` = 2, ``port`` = 443): the target is the compromised host
  calling its C2 server ``src`` over TLS at regular intervals (``c2_beacon``, T1071).
- ``stream_hijack``: the attacker seizes the RTSP sessions of the target camera (or of every camera behind a
  switch or ``vms``): the server's session is reset (``hijack_control``, T0813 Denial of Control) and the
  operators see a replayed, frozen picture for the window (``denial_of_view``, T0815 Denial of View).
Streams cut by an attack are re-established by ``vms`` at its next retry after the attack ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sensors.cyber.errors import CyberError
from sensors.cyber.flows import HDR, FlowTable, ephemeral_ports, make_uids
from sensors.cyber.syslog import format_syslog
from sensors.cyber.topology import HOST_KINDS, SWITCH_KINDS, NetIndex
from sensors.cyber.traffic import LogLines, TrafficParams, long_sessions, tcp_short

__all__ = ["ATTACK_KINDS", "DEFAULT_PORTS", "PHASES", "Attack", "Effects", "attack_traffic", "parse_attacks",
           "plan_effects", "status_code", "technique"]

#: kind -> ((phase, MITRE ATT&CK technique id), ...)
PHASES = {
    "cyber_scan": (("host_discovery", "T1595"), ("service_discovery", "T1046")),
    "cyber_bruteforce": (("brute_force", "T1110"),),
    "cyber_dos": (("network_dos", "T1498"),),
    "cyber_beacon": (("c2_beacon", "T1071"),),
    "stream_hijack": (("hijack_control", "T0813"), ("denial_of_view", "T0815")),
}
ATTACK_KINDS = tuple(PHASES)
#: nmap-like list of commonly scanned TCP ports.
DEFAULT_PORTS = (21, 22, 23, 25, 53, 80, 81, 88, 110, 111, 135, 139, 143, 161, 389, 443, 445, 502, 554,
                 993, 995, 1433, 1723, 1883, 3306, 3389, 5432, 5900, 8000, 8008, 8080, 8081, 8443, 8554, 8888,
                 9000, 9090, 37777)
#: TCP ports that answer per node kind.
OPEN_PORTS = {"camera": {80, 443, 554}, "vms": {22, 80, 443, 554}, "soc": {22, 443}, "ntp": {22},
              "dns": {22, 53}, "admin": {22, 3389}, "access_switch": {22, 80, 443}, "aggregation": {22, 443},
              "core": {22, 443}}
_COMMON = {"kind", "target", "start_s", "duration_s", "src", "id"}
_EXTRA = {"cyber_scan": {"ports", "rate_per_s"}, "cyber_bruteforce": {"rate_per_s", "users"},
          "cyber_dos": {"rate_per_s", "mbps", "port"}, "cyber_beacon": {"interval_s", "jitter_s", "port"},
          "stream_hijack": set()}
_USERS = ("root", "admin", "user", "test", "ubuntu", "oracle", "pi", "support", "guest", "operator",
          "ftpuser", "postgres", "git", "nagios", "service")
_VALID_USERS = {"root", "admin"}
_EXT_FIRST = (5, 31, 37, 45, 46, 62, 77, 80, 89, 91, 93, 103, 109, 141, 176, 178, 185, 188, 193, 194, 195,
              212)
_STATUS_CODE = {"ok": 0, "degraded": 1, "frozen": 2, "offline": 3}


def technique(kind: str, phase: str) -> str:
    """The ATT&CK technique id of ``phase`` of attack ``kind``."""
    return dict(PHASES[kind])[phase]


@dataclass
class Attack:
    """One validated cyber attack entry."""

    index: int                 # position in the scenario's attacks list
    id: str
    kind: str
    target: object             # network node id
    start: float
    end: float
    src_ip: str
    src_node: object = None    # network node id when ``src`` names one
    src_given: bool = False    # False: ``src_ip`` was chosen for the attacker (a DoS then spoofs its sources)
    params: dict = field(default_factory=dict)


@dataclass
class Effects:
    """What the attacks do to the network: unanswered windows, broken streams and camera states."""

    outages: list = field(default_factory=list)    # (t0, t1, down_ips array, attack index)
    breaks: list = field(default_factory=list)     # (cam_idx, t_break, state, t_resume, attack index)
    windows: list = field(default_factory=list)    # (cam_idx, t0, t1, status, attack index)


def _ext_ips(rng: np.random.Generator, n: int) -> list[str]:
    a = np.asarray(_EXT_FIRST)[rng.integers(0, len(_EXT_FIRST), n)]
    b = rng.integers(1, 255, (n, 3))
    return [f"{x}.{y}.{z}.{w}" for x, (y, z, w) in zip(a.tolist(), b.tolist(), strict=True)]


def _num(a: dict, key: str, where: str, default=None, *, lo: float = 0.0, strict: bool = False) -> float:
    v = a.get(key, default)
    if v is None:
        raise CyberError(f"{where}.{key}: required")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise CyberError(f"{where}.{key}: must be a number, got {v!r}")
    if v < lo or (strict and v == lo):
        raise CyberError(f"{where}.{key}: must be {'>' if strict else '>='} {lo:g}, got {v!r}")
    return float(v)


def parse_attacks(attacks: list[dict], net: NetIndex, rng: np.random.Generator,
                  run_end: float) -> list[Attack]:
    """Validate the cyber entries of ``attacks`` (other kinds skipped); ``CyberError`` on the first fault."""
    out = []
    for i, a in enumerate(attacks):
        where = f"attacks[{i}]"
        if not isinstance(a, dict):
            raise CyberError(f"{where}: must be a mapping, got {type(a).__name__}")
        kind = a.get("kind")
        if kind not in PHASES:
            continue
        a = {k: v for k, v in a.items() if v is not None}      # YAML ``key: null`` = not given
        bad = sorted(set(a) - _COMMON - _EXTRA[kind])
        if bad:
            raise CyberError(f"{where}.{bad[0]}: unknown key for {kind}; allowed: "
                             f"{', '.join(sorted(_COMMON | _EXTRA[kind]))}")
        if "target" not in a:
            raise CyberError(f"{where}.target: required (a network node: vms, soc, a switch or a camera id)")
        target = net.resolve(a["target"], f"{where}.target")
        start = _num(a, "start_s", where, 0.0)
        dur = _num(a, "duration_s", where, 300.0, strict=True)
        if start >= run_end:
            raise CyberError(f"{where}.start_s: {start:g} is not before the run end ({run_end:g} s)")
        tkind = net.kind[target]
        if kind == "cyber_bruteforce" and tkind not in HOST_KINDS + SWITCH_KINDS:
            raise CyberError(f"{where}.target: {target!r} ({tkind}) runs no sshd")
        if kind == "stream_hijack" and not (tkind in ("camera", "vms") or tkind in SWITCH_KINDS):
            raise CyberError(f"{where}.target: {target!r} ({tkind}) carries no camera stream; "
                             "use a camera, a switch or vms")
        params = {}
        for key in ("rate_per_s", "mbps", "interval_s"):
            if key in a:
                params[key] = _num(a, key, where, strict=True)
        if "jitter_s" in a:
            params["jitter_s"] = _num(a, "jitter_s", where)
        if "port" in a:
            params["port"] = int(_num(a, "port", where, lo=1))
            if params["port"] > 65535:
                raise CyberError(f"{where}.port: must be 1..65535, got {a['port']!r}")
        if "ports" in a:
            ports = a["ports"]
            ok = isinstance(ports, list) and ports and all(
                isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535 for p in ports)
            if not ok:
                raise CyberError(f"{where}.ports: must be a non-empty list of port numbers 1..65535")
            params["ports"] = list(dict.fromkeys(ports))
        if "users" in a:
            users = a["users"]
            if not isinstance(users, list) or not users or not all(isinstance(u, str) and u for u in users):
                raise CyberError(f"{where}.users: must be a non-empty list of user names")
            params["users"] = users
        src_node = None
        if "src" in a:
            try:
                src_node = net.resolve(a["src"], f"{where}.src")
                src_ip = net.ip[src_node]
            except CyberError:
                import ipaddress
                try:
                    src_ip = str(ipaddress.ip_address(str(a["src"])))
                except ValueError:
                    msg = f"{where}.src: {a['src']!r} is neither a network node nor an IP"
                    raise CyberError(msg) from None
        else:
            src_ip = _ext_ips(rng, 1)[0]
        aid = str(a.get("id", f"{kind}-{i}"))
        out.append(Attack(i, aid, kind, target, start, min(start + dur, run_end), src_ip, src_node,
                          "src" in a, params))
    return out


def plan_effects(attacks: list[Attack], net: NetIndex, rng: np.random.Generator, bitrate_Bps: np.ndarray,
                 params: TrafficParams) -> Effects:
    """Which hosts stop answering, which camera streams break and which cameras go offline/degraded/frozen."""
    eff = Effects()
    for k, a in enumerate(attacks):
        if a.kind == "cyber_dos":
            cams = net.cameras_behind(a.target)
            tkind = net.kind[a.target]
            volumetric = "mbps" in a.params or tkind in SWITCH_KINDS and a.target != "core"
            if volumetric:
                link = net.uplink_mbps(a.target)
                mbps = a.params.get("mbps", 1.5 * link)
                a.params["mbps"] = mbps
                load = float(bitrate_Bps[cams].sum() * 8 / 1e6)
                used = mbps + load
                status = "offline" if used >= link else ("degraded" if used > 0.8 * link else "ok")
            else:
                status = "offline"
            if status == "offline":
                down = [net.ip[a.target]] + [net.cam_ip[i] for i in cams]
                eff.outages.append((a.start, a.end, np.asarray(down, dtype=object), k))
                if len(cams):
                    tb = a.start + rng.uniform(0.5, 3.0, len(cams))
                    tr = np.maximum(a.end + rng.uniform(0.0, params.reconnect_s, len(cams)), tb + 1.0)
                    eff.breaks.append((cams, tb, "RSTO", tr, k))
                    eff.windows.append((cams, np.full(len(cams), a.start), tr, "offline", k))
            elif status == "degraded" and len(cams):
                eff.windows.append((cams, np.full(len(cams), a.start), np.full(len(cams), a.end), "degraded",
                                    k))
        elif a.kind == "stream_hijack":
            cams = net.cameras_behind(a.target)
            if len(cams):
                tb = a.start + rng.uniform(0.0, 0.5, len(cams))
                eff.breaks.append((cams, tb, "RSTR", tb + rng.uniform(1.0, 3.0, len(cams)), k))
                eff.windows.append((cams, np.full(len(cams), a.start), np.full(len(cams), a.end), "frozen",
                                    k))
    return eff


def _phase_truth(a: Attack, net: NetIndex, phase: str, t0: float, t1: float, cameras: list[str]) -> dict:
    """``src``/``dst`` are addresses as a network feed shows them (a DoS without ``src`` is "spoofed");
    ``target`` is the node id, ``cameras`` the camera ids the attack takes offline, degrades or freezes."""
    spoofed = a.kind == "cyber_dos" and not a.src_given
    rec = {"t": round(t0, 6), "kind": "attack_phase", "attack": a.kind, "phase": phase, "id": a.id,
           "technique": technique(a.kind, phase), "src": "spoofed" if spoofed else a.src_ip,
           "dst": net.ip[a.target], "target": str(a.target), "t_end": round(t1, 6)}
    if cameras:
        rec["cameras"] = cameras
    xy = net.xy(a.target)
    if xy is not None:
        rec["xy"] = [xy[0], xy[1]]
    return rec


def attack_traffic(attacks: list[Attack], net: NetIndex, rng: np.random.Generator, bitrate_Bps: np.ndarray,
                   run_end: float, epoch0: float, effects: Effects | None = None,
                   params: TrafficParams | None = None) -> tuple[FlowTable, LogLines, list[dict]]:
    """Every attack's flows (tagged with attack index and phase), syslog lines and ``attack_phase`` truth."""
    parts, logs, truth = [], LogLines.empty(), []
    hit: dict[int, list[str]] = {}
    for cams, _, _, _, k in (effects.windows if effects else []):
        hit.setdefault(k, []).extend(net.camera_ids[i] for i in np.asarray(cams).tolist())
    for k, a in enumerate(attacks):
        if a.kind == "cyber_scan":
            ft, tr = _scan(a, k, net, rng)
        elif a.kind == "cyber_bruteforce":
            ft, lines, tr = _bruteforce(a, k, net, rng, epoch0)
            logs.extend(lines)
        elif a.kind == "cyber_dos":
            ft, tr = _dos(a, k, net, rng)
        elif a.kind == "cyber_beacon":
            ft, tr = _beacon(a, k, net, rng)
        else:
            ft, tr = _hijack(a, k, net, rng, bitrate_Bps, run_end, (params or TrafficParams()).long_conn_s)
        parts.append(ft)
        truth += [_phase_truth(a, net, ph, t0, t1, sorted(set(hit.get(k, [])))) for ph, t0, t1 in tr]
    return FlowTable.concat(parts), logs, truth


def _scan(a: Attack, k: int, net: NetIndex, rng: np.random.Generator):
    hosts = net.hosts_under(a.target)
    ips = np.array([net.ip[h] for h in hosts], dtype=object)
    kinds = [net.kind[h] for h in hosts]
    t_split = a.start + 0.1 * (a.end - a.start)
    n = len(hosts)
    t = np.sort(rng.uniform(a.start, t_split, n))
    d = rng.uniform(2e-4, 3e-3, n)
    icmp = FlowTable.make(n, start=t, dur=d, orig_h=a.src_ip, orig_p=8, resp_h=ips[rng.permutation(n)],
                          resp_p=0, proto="icmp", state="OTH", orig_bytes=56, resp_bytes=56, orig_pkts=1,
                          orig_ip_bytes=84, resp_pkts=1, resp_ip_bytes=84, end=t + d + 60.0, attack=k,
                          phase="host_discovery", uid=make_uids(rng, n))
    ports = np.asarray(a.params.get("ports", DEFAULT_PORTS), dtype=np.int64)
    rate = a.params.get("rate_per_s", 100.0)
    hi, pi = np.divmod(rng.permutation(n * len(ports)), len(ports))
    m = min(len(hi), int((a.end - t_split) * rate))
    hi, pi = hi[:m], pi[:m]
    t = t_split + np.arange(m) / rate + rng.uniform(0, 0.5 / rate, m)
    openp = np.array([ports[p] in OPEN_PORTS.get(kinds[h], ()) for h, p in zip(hi.tolist(), pi.tolist(),
                                                                            strict=True)], dtype=bool)
    d = np.where(openp, rng.uniform(2e-4, 2e-3, m), rng.uniform(1e-4, 1e-3, m))
    syn = FlowTable.make(m, start=t, dur=d, orig_h=a.src_ip, orig_p=int(rng.integers(32768, 61000)),
                         resp_h=ips[hi], resp_p=ports[pi], proto="tcp", state=np.where(openp, "RSTO", "REJ"),
                         history=np.where(openp, "ShR", "Sr"), orig_pkts=np.where(openp, 2, 1),
                         orig_ip_bytes=np.where(openp, 84, 44), resp_pkts=1,
                         resp_ip_bytes=np.where(openp, 44, 40), attack=k, phase="service_discovery",
                         uid=make_uids(rng, m))
    return FlowTable.concat([icmp, syn]), [("host_discovery", a.start, t_split),
                                           ("service_discovery", t_split, a.end)]


def _bruteforce(a: Attack, k: int, net: NetIndex, rng: np.random.Generator, epoch0: float):
    rate = a.params.get("rate_per_s", 1.0)
    n = max(1, int((a.end - a.start) * rate))
    t = a.start + np.arange(n) / rate + rng.uniform(0, 0.5 / rate, n)
    t = t[t < a.end]
    n = len(t)
    tries = rng.integers(1, 4, n)
    dur = 0.6 + 2.0 * tries + rng.uniform(0.0, 0.4, n)
    port = ephemeral_ports(rng, n)
    ob = 1300 + 520 * tries + rng.integers(0, 200, n)
    rb = 2100 + 310 * tries + rng.integers(0, 200, n)
    ft = tcp_short(rng, t, a.src_ip, net.ip[a.target], 22, "ssh", ob, rb, dur, orig_p=port, attack=k,
                   phase="brute_force")
    ft.cols["history"][:] = "ShAdDaFf"
    users = np.asarray(a.params.get("users", _USERS), dtype=object)
    user = users[rng.integers(0, len(users), n)]
    pids = 20000 + np.cumsum(rng.integers(1, 9, n))
    host, ip = str(a.target), a.src_ip
    logs = LogLines.empty()

    def log(tt: float, pid: int, msg: str, facility: str = "auth", severity: str = "info") -> None:
        logs.add(tt, host, format_syslog(epoch0 + tt, host, "sshd", pid, msg, facility=facility,
                                         severity=severity))

    for i in range(n):
        t0, u, pid, pt, nt = float(t[i]), str(user[i]), int(pids[i]), int(port[i]), int(tries[i])
        valid = u in _VALID_USERS
        if not valid:
            log(t0 + 0.3, pid, f"Invalid user {u} from {ip} port {pt}")
        for j in range(nt):
            tj = t0 + 0.4 + 2.0 * j
            if valid:
                log(tj, pid, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
                    f"ruser= rhost={ip}  user={u}", facility="authpriv", severity="notice")
            else:
                log(tj, pid, "pam_unix(sshd:auth): check pass; user unknown", facility="authpriv",
                    severity="notice")
            who = u if valid else f"invalid user {u}"
            log(tj + 1.8, pid, f"Failed password for {who} from {ip} port {pt} ssh2")
        who = f"authenticating user {u}" if valid else f"invalid user {u}"
        log(float(t[i] + dur[i]), pid, f"Connection closed by {who} {ip} port {pt} [preauth]")
    return ft, logs, [("brute_force", a.start, a.end)]


def _dos(a: Attack, k: int, net: NetIndex, rng: np.random.Generator):
    rate = a.params.get("rate_per_s", 100.0)
    n = int((a.end - a.start) * rate)
    t = np.sort(rng.uniform(a.start, a.end, n))
    if a.src_given:
        src = np.full(n, a.src_ip, dtype=object)
    else:
        pool = np.asarray(_ext_ips(rng, min(max(n, 1), 4096)), dtype=object)
        src = pool[rng.integers(0, len(pool), n)]
    if "mbps" in a.params:
        cams = net.cameras_behind(a.target)
        dst = (net.cam_ip[cams[rng.integers(0, len(cams), n)]] if len(cams) and net.kind[a.target] != "camera"
               else np.full(n, net.ip[a.target], dtype=object))
        d = rng.uniform(0.5, 1.5, n)
        ob = np.floor(a.params["mbps"] * 1e6 / 8.0 / rate * d).astype(np.int64)
        op = np.ceil(ob / 1400.0).astype(np.int64)
        ft = FlowTable.make(n, start=t, dur=d, orig_h=src, orig_p=rng.integers(1024, 65536, n), resp_h=dst,
                            resp_p=a.params.get("port", 0) or rng.integers(1, 65536, n), proto="udp",
                            state="S0",
                            history="D", orig_bytes=ob, orig_pkts=op, orig_ip_bytes=ob + HDR["udp"] * op,
                            end=t + d + 60.0, attack=k, phase="network_dos", uid=make_uids(rng, n))
    else:
        port = a.params.get("port", 554 if net.kind[a.target] in ("vms", "camera") else 443)
        ft = FlowTable.make(n, start=t, dur=0.0, orig_h=src, orig_p=rng.integers(1024, 65536, n),
                            resp_h=net.ip[a.target], resp_p=port, proto="tcp", state="S0", history="S",
                            orig_pkts=1, orig_ip_bytes=40, end=t + 5.0, attack=k, phase="network_dos",
                            uid=make_uids(rng, n))
    return ft, [("network_dos", a.start, a.end)]


def _beacon(a: Attack, k: int, net: NetIndex, rng: np.random.Generator):
    iv = a.params.get("interval_s", 60.0)
    jit = a.params.get("jitter_s", 2.0)
    m = int(math.ceil((a.end - a.start) / iv))
    t = a.start + np.arange(m) * iv + rng.uniform(-jit, jit, m)
    t = np.clip(t, a.start, None)
    t = t[t < a.end]
    n = len(t)
    ft = tcp_short(rng, t, net.ip[a.target], a.src_ip, a.params.get("port", 443), "ssl",
                   rng.integers(250, 700, n), rng.integers(150, 1200, n), rng.uniform(0.08, 0.6, n),
                   attack=k, phase="c2_beacon")
    return ft, [("c2_beacon", a.start, a.end)]


def _hijack(a: Attack, k: int, net: NetIndex, rng: np.random.Generator, bitrate_Bps: np.ndarray,
            run_end: float, thresholds: tuple[float, ...]):
    cams = net.cameras_behind(a.target)
    n = len(cams)
    start = a.start + rng.uniform(0.0, 0.3, n)
    ft = long_sessions(rng, orig_h=a.src_ip, resp_h=net.cam_ip[cams], resp_p=554, service="rtsp",
                       start=start, end=np.full(n, a.end), state="SF", rate_Bps=bitrate_Bps[cams],
                       run_end=run_end, attack=k, phase="denial_of_view", thresholds=thresholds)
    return ft, [("hijack_control", a.start, a.start), ("denial_of_view", a.start, a.end)]


def status_code(status: str) -> int:
    """Priority of a camera status when several attacks overlap (offline > frozen > degraded > ok)."""
    return _STATUS_CODE[status]
