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
from sensors.cyber.streams import camera_streams
from sensors.cyber.syslog import SyslogWriter
from sensors.cyber.topology import NetIndex
from sensors.cyber.traffic import LogLines, TrafficParams, baseline, clip_to_run, unanswered
from sensors.cyber.zeek import ConnLogWriter

__all__ = ["CyberRange", "build_cyber"]

_STATUS_NAMES = ("ok", "degraded", "frozen", "offline")


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
                 period_s: float = 1.0) -> None:
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
        cams, t0, t1, code = [], [], [], []
        for c, a, b, status, _ in effects.windows:
            cams.append(np.asarray(c, np.int64))
            t0.append(np.broadcast_to(np.asarray(a, float), (len(c),)))
            t1.append(np.broadcast_to(np.asarray(b, float), (len(c),)))
            code.append(np.full(len(c), status_code(status), np.int8))

        def cat(xs, dt):
            return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)

        self._w_cam, self._w_t0, self._w_t1 = cat(cams, np.int64), cat(t0, float), cat(t1, float)
        self._w_code = cat(code, np.int8)

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

    def camera_status(self, t: float) -> dict[str, str]:
        """Every camera's state at ``t`` as the attacks leave it ("ok", "offline", "frozen", "degraded")."""
        codes = np.zeros(len(self.net.cameras), np.int8)
        on = (self._w_t0 <= t) & (t < self._w_t1)
        np.maximum.at(codes, self._w_cam[on], self._w_code[on])
        return {cid: _STATUS_NAMES[k] for cid, k in zip(self.net.camera_ids, codes.tolist(), strict=True)}

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
    truth += _status_truth(net, eff, parsed, T)
    return CyberRange(net, flows, logs, truth, eff, parsed, epoch0=epoch0, duration_s=T, sensor_id=sensor_id)


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


def _status_truth(net: NetIndex, eff: Effects, attacks: list[Campaign], run_end: float) -> list[dict]:
    """``camera_status`` records when an attack changes a camera's state and when it returns to ``ok``."""
    out = []
    for cams, t0, t1, status, k in eff.windows:
        t0 = np.broadcast_to(np.asarray(t0, float), (len(cams),))
        t1 = np.broadcast_to(np.asarray(t1, float), (len(cams),))
        for c, a, b in zip(np.asarray(cams).tolist(), t0.tolist(), t1.tolist(), strict=True):
            base = {"kind": "camera_status", "camera_id": net.camera_ids[c], "id": attacks[k].id,
                    "attack": attacks[k].kind}
            xy = net.xy(net.cameras[c])
            if xy is not None:
                base["xy"] = [xy[0], xy[1]]
            out.append({"t": round(a, 6), **base, "status": status})
            if b < run_end:
                out.append({"t": round(b, 6), **base, "status": "ok"})
    return out
