"""The cyber range: the camera network's traffic, host logs and attack effects, served as a ``Sensor``.

Everything is generated at build time for the whole run (numpy, one ``Generator``); ``measure(world)`` then
hands out the records Zeek and the hosts would have reported since the previous call, in time order.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np

from agents.world import WorldView
from sensors.base import Sensor
from sensors.cyber.campaigns import (
    CAMPAIGNS,
    Campaign,
    CampaignContext,
    CampaignParams,
    Effects,
    attack_traffic,
    make_campaigns,
    status_code,
    technique,
)
from sensors.cyber.errors import CyberError
from sensors.cyber.flows import FlowTable
from sensors.cyber.streams import CameraLink, camera_streams
from sensors.cyber.syslog import SyslogWriter
from sensors.cyber.topology import NetIndex
from sensors.cyber.traffic import LogLines, TrafficParams, baseline, clip_to_run, unanswered
from sensors.cyber.zeek import ConnLogWriter

__all__ = ["CyberRange", "build_cyber"]

_STATUS_NAMES = ("ok", "degraded", "replayed", "offline")


class CyberRange(Sensor):
    """Network tap + host logs: ``net/conn`` (Zeek conn records) and ``host/syslog`` (``{host, line}``).

    Zeek reports a connection when it ends, so ``measure`` at time ``t`` returns records whose report time
    lies in (previous call, ``t``]; ``flush()`` returns what is left (records the run end flushes).
    """

    kind = "cyber"
    #: The files the network tap and the hosts' logs are exported to.
    exporters = (ConnLogWriter, SyslogWriter)

    def __init__(self, net: NetIndex, flows: FlowTable, logs: LogLines, truth: list[dict], effects: Effects,
                 attacks: list[Campaign], *, epoch0: float, duration_s: float, sensor_id: str = "cyber-range",
                 period_s: float = 1.0, bitrate_Bps: np.ndarray | None = None) -> None:
        super().__init__(sensor_id, period_s=period_s)
        self.net = net
        self.flows = flows
        self.epoch0 = float(epoch0)
        self.duration_s = float(duration_s)
        self.attacks = attacks
        o = np.argsort(np.asarray(logs.t, float), kind="stable")
        self._log_t = np.asarray(logs.t, float)[o]
        self._log_host = [logs.host[i] for i in o]
        self._log_line = [logs.line[i] for i in o]
        self._flow_end = flows.cols["end"]
        self._site = frozenset(net.public_ip.values())
        self._truth = truth                      # attack_phase + camera_status; attack_flow made on demand
        self._last = -np.inf
        w = _windows(effects.windows)
        self._w_cam, self._w_t0, self._w_t1, self._w_code, self._w_arg, _ = w
        self._b_cam, self._b_t0, self._b_t1, b_att = _breaks(effects.breaks)
        # which windows and session breaks an attack on the video server causes: a failover escapes them
        on_vms = np.array([net.kind.get(getattr(a, "target", None)) == "vms" for a in attacks] + [False])
        self._w_vms = on_vms[np.where(w[5] >= 0, w[5], len(attacks))]
        self._b_vms = on_vms[np.where(b_att >= 0, b_att, len(attacks))]
        self._bitrate_kbps = (np.full(len(net.cameras), np.nan) if bitrate_Bps is None
                              else np.asarray(bitrate_Bps, float) * 8.0 / 1e3)
        replay = self._w_code == status_code("replayed")
        self._keep_s = np.zeros(len(net.cameras))
        np.maximum.at(self._keep_s, self._w_cam[replay], np.nan_to_num(self._w_arg[replay]))
        #: isolations ordered by the response (``isolate``): (from t, the addresses cut, the cameras cut)
        self._cuts: list[tuple[float, frozenset[str], np.ndarray]] = []
        #: from when each camera streams to the backup recorder (``failover``); inf: never
        self._fail_t = np.full(len(net.cameras), np.inf)

    # -- the engine's side -------------------------------------------------------------------------------
    def measure(self, world: WorldView) -> Iterable[tuple[str, dict]]:
        """Conn records and syslog lines reported in (previous call, ``world.t``], in report-time order."""
        return self._between(self._last, float(world.t))

    def flush(self) -> list[tuple[str, dict]]:
        """Everything not yet handed out (call once when the run ends; Zeek flushes open connections then)."""
        return self._between(self._last, np.inf)

    def _between(self, lo: float, hi: float) -> list[tuple[str, dict]]:
        if hi < lo:
            raise CyberError(f"{self.id}: measure at t={hi} is before the previous call at t={lo}")
        self._last = hi
        a, b = np.searchsorted(self._flow_end, [lo, hi], side="right")
        c, d = np.searchsorted(self._log_t, [lo, hi], side="right")
        recs = self.flows.records(int(a), int(b), self.epoch0, self._site)
        ft = self._flow_end[a:b].tolist()
        if self._cuts:
            keep = self._not_cut(int(a), int(b))
            recs = [r for r, k in zip(recs, keep, strict=True) if k]
            ft = [x for x, k in zip(ft, keep, strict=True) if k]
        lt = self._log_t[c:d].tolist()
        out, i, j = [], 0, 0
        while i < len(recs) or j < len(lt):
            if j >= len(lt) or (i < len(recs) and ft[i] <= lt[j]):
                out.append(("net/conn", recs[i]))
                i += 1
            else:
                out.append(("host/syslog", {"host": self._log_host[c + j], "line": self._log_line[c + j]}))
                j += 1
        return out

    def isolate(self, t: float, node) -> list[str]:
        """Cut ``node`` (a host, or a switch with every camera behind it; a node name or an address) off the
        network from ``t``, as a response isolating a segment does: flows to or from those addresses that
        start from ``t`` on never happen, and the cameras behind it lose their sessions with the video server.
        Returns the addresses cut.

        Raises
        ------
        CyberError
            ``node`` is not a node or address of the network.
        """
        n = self.net.by_name.get(str(node), self.net.by_ip.get(str(node)))
        if n is None:
            raise CyberError(f"isolate: no network node or address {node!r}")
        cams = self.net.cameras_behind(n) if self.net.kind[n] != "camera" else np.array(
            [self.net.cam_index[n]], np.int64)
        ips = frozenset({self.net.ip[n], *(self.net.ip[self.net.cameras[i]] for i in cams.tolist())})
        self._cuts.append((float(t), ips, cams))
        self._truth.append({"t": float(t), "kind": "network_isolated", "id": str(n), "node": str(n),
                            "hosts": sorted(ips), "cameras": [self.net.camera_ids[i] for i in cams.tolist()]})
        return sorted(ips)

    def failover(self, t: float, cameras: Iterable[str]) -> list[str]:
        """From ``t`` the ``cameras`` (names or addresses) stream to the backup recorder, as a response
        failing the video over does: what an attack on the video server does to their streams (windows, broken
        sessions) stops there; attacks on a camera itself or on its switches still hit it. Returns the
        cameras failed over. The range's traffic keeps its stream sessions to the video server: the new
        sessions to the backup recorder are not added to the flows (a known simplification).

        Raises
        ------
        CyberError
            A name or address that is not a camera of the network, or a network without a backup server.
        """
        if "backup" not in self.net.kind.values():
            raise CyberError("failover: the network has no backup server")
        idx = []
        for c in cameras:
            n = self.net.by_name.get(str(c), self.net.by_ip.get(str(c)))
            if n is None or self.net.kind[n] != "camera":
                raise CyberError(f"failover: {c!r} is not a camera of the network")
            idx.append(self.net.cam_index[n])
        i = np.asarray(sorted(set(idx)), np.int64)
        self._fail_t[i] = np.minimum(self._fail_t[i], float(t))
        names = [self.net.camera_ids[k] for k in i.tolist()]
        self._truth.append({"t": float(t), "kind": "video_failover", "id": "backup", "to": "backup",
                            "cameras": names})
        return names

    def _windows_on(self, t: float) -> np.ndarray:
        """The attack windows in force at ``t`` (a video-server attack's end at a camera's failover)."""
        on = (self._w_t0 <= t) & (t < self._w_t1)
        return on & ~(self._w_vms & (self._fail_t[self._w_cam] <= t))

    def _not_cut(self, a: int, b: int) -> list[bool]:
        """Which flows of rows ``a:b`` an isolation does not stop (they started before it, or touch no
        address it cut)."""
        start = self.flows.cols["start"][a:b]
        orig, resp = self.flows.cols["orig_h"][a:b], self.flows.cols["resp_h"][a:b]
        keep = np.ones(b - a, dtype=bool)
        for t0, ips, _cams in self._cuts:
            hit = np.isin(orig, list(ips)) | np.isin(resp, list(ips))
            keep &= ~(hit & (start >= t0))
        return keep.tolist()

    def camera_status(self, t: float) -> dict[str, str]:
        """Every camera's state at ``t`` as the attacks leave it ("ok", "offline", "replayed", "degraded")."""
        codes = np.zeros(len(self.net.cameras), np.int8)
        on = self._windows_on(t)
        np.maximum.at(codes, self._w_cam[on], self._w_code[on])
        return {cid: _STATUS_NAMES[k] for cid, k in zip(self.net.camera_ids, codes.tolist(), strict=True)}

    def camera_links(self, t: float) -> dict[str, CameraLink]:
        """What the network does to every camera's stream at ``t`` (``CameraLink``): the attack state, whether
        the video server has a session, the share of frames a congested link lets through, the replay loop."""
        n = len(self.net.cameras)
        codes = np.zeros(n, np.int8)
        on = self._windows_on(t)
        np.maximum.at(codes, self._w_cam[on], self._w_code[on])
        share = np.full(n, np.inf)
        deg = on & (self._w_code == status_code("degraded")) & np.isfinite(self._w_arg)
        np.minimum.at(share, self._w_cam[deg], self._w_arg[deg])
        loop = np.zeros(n)
        rep = on & (self._w_code == status_code("replayed"))
        np.maximum.at(loop, self._w_cam[rep], np.nan_to_num(self._w_arg[rep]))
        cut = np.zeros(n, bool)
        broken = (self._b_t0 <= t) & (t < self._b_t1) & ~(self._b_vms & (self._fail_t[self._b_cam] <= t))
        cut[self._b_cam[broken]] = True
        for t0, _ips, cams in self._cuts:
            if t >= t0:
                cut[cams] = True
        share_l = [None if not np.isfinite(x) else min(max(x, 0.0), 1.0) for x in share.tolist()]
        rate_l = [None if not np.isfinite(x) else x for x in self._bitrate_kbps.tolist()]
        return {cid: CameraLink(_STATUS_NAMES[k], not c, sh, lp, kp, br) for cid, k, c, sh, lp, kp, br in zip(
            self.net.camera_ids, codes.tolist(), cut.tolist(), share_l, loop.tolist(), self._keep_s.tolist(),
            rate_l, strict=True)}

    def truth_events(self) -> list[dict]:
        """Ground truth in time order: ``attack_phase`` (technique, src, dst), ``attack_flow`` (per flow uid)
        and ``camera_status`` changes caused by attacks."""
        return sorted(self._truth + _flow_truth(self.flows, self.attacks), key=lambda r: r["t"])

    def all_records(self) -> list[dict]:
        """Every conn record of the run in report order (for exports and tests; does not move ``measure``)."""
        return self.flows.records(0, len(self.flows), self.epoch0, self._site)

    def all_syslog(self) -> list[dict]:
        """Every syslog payload ``{host, line}`` of the run in time order."""
        return [{"host": h, "line": ln} for h, ln in zip(self._log_host, self._log_line, strict=True)]


def build_cyber(twin_or_network, attacks: list[tuple[int, str, CampaignParams]] | None, *,
                rng: np.random.Generator, epoch0: float, duration_s: float,
                params: TrafficParams | None = None, sensor_id: str = "cyber-range",
                report=None) -> CyberRange:
    """Build the cyber range for a run of ``duration_s`` seconds starting at Unix time ``epoch0``.

    ``twin_or_network`` is a ``Twin`` (its ``network`` is used) or the network Graph itself; ``attacks`` are
    the scenario's cyber entries as ``(index in attacks, kind, params)`` (``scenarios.schema.attack_specs``
    makes them from scenario entries). Problems that need the network (an unknown target or source) go to
    ``report`` if one is given (see ``make_campaigns``).

    Raises
    ------
    CyberError
        Without a ``report``: a cyber attack entry with an unknown target or source (names the attack index
        and key); always: a network without a ``vms`` node, a ``duration_s`` <= 0.
    """
    network = getattr(twin_or_network, "network", twin_or_network)
    if not isinstance(network, nx.Graph):
        raise CyberError(f"build_cyber: expected a Twin or a networkx Graph, got {type(network).__name__}")
    if not (duration_s > 0):
        raise CyberError(f"build_cyber: duration_s must be > 0, got {duration_s!r}")
    p = params or TrafficParams()
    T = float(duration_s)
    net = NetIndex(network)
    entries = [e for e in (attacks or []) if e[1] in CAMPAIGNS]
    parsed = make_campaigns(entries, net, rng, T, report)
    bitrate = rng.uniform(p.bitrate_mbps[0], p.bitrate_mbps[1], len(net.cameras)) * 1e6 / 8.0
    ctx = CampaignContext(net, rng, bitrate, T, float(epoch0), p)
    eff = Effects()
    for k, a in enumerate(parsed):
        a.effects(k, ctx, eff)
    base, logs = baseline(net, rng, p, T, epoch0)
    _cut_outages(base, eff, net)
    streams, rec_logs = camera_streams(net, rng, p, bitrate, eff.breaks, T, epoch0)
    atk, atk_logs, truth = attack_traffic(parsed, ctx, eff)
    logs.extend(rec_logs)
    logs.extend(atk_logs)
    keep = np.asarray(logs.t) < T
    logs = LogLines([x for x, k in zip(logs.t, keep, strict=True) if k],
                    [x for x, k in zip(logs.host, keep, strict=True) if k],
                    [x for x, k in zip(logs.line, keep, strict=True) if k])
    flows = clip_to_run(FlowTable.concat([base, streams, atk]), T).sorted()
    truth += _status_truth(net, _windows(eff.windows), parsed, T)
    return CyberRange(net, flows, logs, truth, eff, parsed, epoch0=epoch0, duration_s=T, sensor_id=sensor_id,
                      bitrate_Bps=bitrate)


def _cut_outages(base: FlowTable, eff: Effects, net: NetIndex) -> None:
    """Normal connections to or from a host that an attack took down go unanswered (at its public address
    too)."""
    public = {net.ip[n]: ip for n, ip in net.public_ip.items()}
    for t0, t1, down, _ in eff.outages:
        c = base.cols
        win = np.nonzero((c["start"] >= t0) & (c["start"] < t1))[0]
        down = [*down, *(public[d] for d in down if d in public)]
        d = np.asarray(down, dtype=str)            # unicode arrays: np.isin sorts instead of comparing pairs
        hit = np.isin(c["resp_h"][win].astype(str), d) | np.isin(c["orig_h"][win].astype(str), d)
        mask = np.zeros(len(base), bool)
        mask[win[hit]] = True
        unanswered(base, mask)


def _flow_truth(flows: FlowTable, attacks: list[Campaign]) -> list[dict]:
    """One ``attack_flow`` record per attack conn record (``src``/``dst`` = its originator/responder)."""
    c = flows.cols
    idx = np.nonzero(c["attack"] >= 0)[0]
    idx = idx[np.argsort(c["start"][idx], kind="stable")]
    out = []
    for i, a_i, ph, uid, src, dst, dp, proto, t in zip(
            idx.tolist(), c["attack"][idx].tolist(), c["phase"][idx].tolist(), c["uid"][idx].tolist(),
            c["orig_h"][idx].tolist(), c["resp_h"][idx].tolist(), c["resp_p"][idx].tolist(),
            c["proto"][idx].tolist(), np.round(c["start"][idx], 6).tolist(), strict=True):
        a = attacks[a_i]
        out.append({"t": t, "kind": "attack_flow", "attack": a.kind, "phase": ph, "id": a.id,
                    "technique": technique(a.kind, ph), "uid": uid, "src": src, "dst": dst, "dst_port": dp,
                    "proto": proto, "state": str(c["state"][i])})
    return out


def _windows(windows: list) -> tuple[np.ndarray, ...]:
    """``Effects.windows`` as flat arrays: camera, t0, t1, status code, argument (NaN: none), attack index."""
    cams, t0, t1, code, arg, att = [], [], [], [], [], []
    for w in windows:
        c, a, b, status, k = w[:5]
        c = np.asarray(c, np.int64)
        cams.append(c)
        t0.append(np.broadcast_to(np.asarray(a, float), (len(c),)))
        t1.append(np.broadcast_to(np.asarray(b, float), (len(c),)))
        code.append(np.full(len(c), status_code(status), np.int8))
        x = w[5] if len(w) > 5 and w[5] is not None else np.nan
        arg.append(np.broadcast_to(np.asarray(x, float), (len(c),)))
        att.append(np.full(len(c), k, np.int64))

    def cat(xs, dt):
        return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)

    return (cat(cams, np.int64), cat(t0, float), cat(t1, float), cat(code, np.int8), cat(arg, float),
            cat(att, np.int64))


def _breaks(breaks: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``Effects.breaks`` as flat arrays: camera, session end, next session start, attack index."""
    cams, t0, t1, att = [], [], [], []
    for c, tb, _, tr, k in breaks:
        c = np.asarray(c, np.int64)
        cams.append(c)
        t0.append(np.broadcast_to(np.asarray(tb, float), (len(c),)))
        t1.append(np.broadcast_to(np.asarray(tr, float), (len(c),)))
        att.append(np.full(len(c), k, np.int64))
    if not cams:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
    return (np.concatenate(cams), np.concatenate(t0).astype(float), np.concatenate(t1).astype(float),
            np.concatenate(att))


def _status_truth(net: NetIndex, w: tuple[np.ndarray, ...], attacks: list[Campaign],
                  run_end: float) -> list[dict]:
    """``camera_status`` records each time the attacks change a camera's state (the highest-priority window
    on it, ``status_code``), back to ``ok`` included; ``id``/``attack`` name the attack whose window sets
    the new state (for ``ok``, the one that ended)."""
    cams, t0, t1, code, _, att = w
    out = []
    for c in np.unique(cams).tolist():        # only cameras an attack touches: a handful
        m = cams == c
        a, b, cd, k = t0[m], t1[m], code[m], att[m]
        base = {"kind": "camera_status", "camera_id": net.camera_ids[c]}
        xy = net.xy(net.cameras[c])
        if xy is not None:
            base["xy"] = [xy[0], xy[1]]
        state, owner = "ok", -1
        for e in np.unique(np.concatenate([a, b])).tolist():
            if e >= run_end:
                break
            on = np.nonzero((a <= e) & (e < b))[0]
            j = on[np.argmax(cd[on])] if len(on) else -1
            new, who = (_STATUS_NAMES[cd[j]], int(k[j])) if j >= 0 else ("ok", owner)
            if (new, who) != (state, owner):
                out.append({"t": round(e, 6), **base, "id": attacks[who].id, "attack": attacks[who].kind,
                            "status": new})
                state, owner = new, who
    return out
