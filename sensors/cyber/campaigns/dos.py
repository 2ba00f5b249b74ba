"""``cyber_dos``: a network flood (``network_dos``, T1498).

On a host without ``mbps``: a spoofed SYN flood that takes the host down (its connections go unanswered;
``vms`` or ``core`` down => every camera behind it offline). On a switch (or with ``mbps``): a UDP flood of
``mbps`` (default 1.5x the uplink) toward the cameras behind it; cameras go offline if flood + their streams
fill the uplink, degraded above ``CONGESTION_ONSET`` (80 %) of it. Streams cut by the flood are
re-established by ``vms`` at its next retry after the attack ends.

What a degraded stream delivers: the flood does not back off, so the share of the cameras' frames that still
reaches the video server falls from all of them at the congestion onset to none at saturation, linearly in
the link's utilisation ``u`` (``share = (1 - u) / (1 - CONGESTION_ONSET)``). A model choice, not a
measurement: a drop-tail queue loses little below about 80 % utilisation and most of an unresponsive
flood's excess near saturation, and a frame with one lost packet is lost to the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensors.cyber.campaigns.base import Campaign, CampaignContext, CampaignParams, Effects, external_ips
from sensors.cyber.flows import HDR, FlowTable, make_uids
from sensors.cyber.topology import SWITCH_KINDS
from sensors.cyber.traffic import LogLines

__all__ = ["CONGESTION_ONSET", "Dos"]

#: Utilisation of a link above which the streams over it lose frames (the range's long-standing 80 % rule).
CONGESTION_ONSET = 0.8


class Dos(Campaign):
    """A SYN flood on a host, or a volumetric UDP flood through a switch's uplink."""

    kind = "cyber_dos"
    phases = (("network_dos", "T1498"),)
    detected_by = frozenset({"dos", "stream_loss"})
    spoofs_source = True

    @dataclass(frozen=True)
    class Params(CampaignParams):
        rate_per_s: float = field(default=100.0, metadata={"gt": 0, "doc": "flows per second"})
        mbps: float | None = field(default=None, metadata={
            "gt": 0, "doc": "a volumetric flood of this many Mbit/s; default 1.5x the uplink on a switch"})
        port: int | None = field(default=None, metadata={
            "ge": 1, "le": 65535, "doc": "target port; default 554 on vms and cameras, else 443"})

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mbps = self.params.mbps      # set by ``effects`` for a volumetric flood

    def effects(self, k: int, ctx: CampaignContext, eff: Effects) -> None:
        net, rng = ctx.net, ctx.rng
        cams = net.cameras_behind(self.target)
        tkind = net.kind[self.target]
        volumetric = self.mbps is not None or tkind in SWITCH_KINDS and self.target != "core"
        if volumetric:
            link = net.uplink_mbps(self.target)
            self.mbps = mbps = self.mbps if self.mbps is not None else 1.5 * link
            load = float(ctx.bitrate_Bps[cams].sum() * 8 / 1e6)
            u = (mbps + load) / link
            status = "offline" if u >= 1.0 else ("degraded" if u > CONGESTION_ONSET else "ok")
            share = (1.0 - u) / (1.0 - CONGESTION_ONSET)
        else:
            status, share = "offline", 0.0
        if status == "offline":
            down = [net.ip[self.target]] + [net.cam_ip[i] for i in cams]
            eff.outages.append((self.start, self.end, np.asarray(down, dtype=object), k))
            if len(cams):
                tb = self.start + rng.uniform(0.5, 3.0, len(cams))
                tr = np.maximum(self.end + rng.uniform(0.0, ctx.traffic.reconnect_s, len(cams)), tb + 1.0)
                eff.breaks.append((cams, tb, "RSTO", tr, k))
                eff.windows.append((cams, np.full(len(cams), self.start), tr, "offline", k))
        elif status == "degraded" and len(cams):
            eff.windows.append((cams, np.full(len(cams), self.start), np.full(len(cams), self.end),
                                "degraded", k, share))

    def traffic(self, k: int, ctx: CampaignContext):
        rng = ctx.rng
        rate = self.params.rate_per_s
        n = int((self.end - self.start) * rate)
        t = np.sort(rng.uniform(self.start, self.end, n))
        if self.src_given:
            src = np.full(n, self.src_ip, dtype=object)
        else:
            pool = np.asarray(external_ips(rng, min(max(n, 1), 4096)), dtype=object)
            src = pool[rng.integers(0, len(pool), n)]
        ft = self._udp(k, ctx, t, src) if self.mbps is not None else self._syn(k, ctx, t, src)
        return ft, LogLines.empty(), [("network_dos", self.start, self.end)]

    def _udp(self, k: int, ctx: CampaignContext, t: np.ndarray, src: np.ndarray) -> FlowTable:
        net, rng, n, rate = ctx.net, ctx.rng, len(t), self.params.rate_per_s
        cams = net.cameras_behind(self.target)
        dst = (net.cam_ip[cams[rng.integers(0, len(cams), n)]]
               if len(cams) and net.kind[self.target] != "camera"
               else np.full(n, net.ip[self.target], dtype=object))
        d = rng.uniform(0.5, 1.5, n)
        ob = np.floor(self.mbps * 1e6 / 8.0 / rate * d).astype(np.int64)
        op = np.ceil(ob / 1400.0).astype(np.int64)
        return FlowTable.make(n, start=t, dur=d, orig_h=src, orig_p=rng.integers(1024, 65536, n), resp_h=dst,
                              resp_p=self.params.port or rng.integers(1, 65536, n), proto="udp", state="S0",
                              history="D", orig_bytes=ob, orig_pkts=op, orig_ip_bytes=ob + HDR["udp"] * op,
                              end=t + d + 60.0, attack=k, phase="network_dos", uid=make_uids(rng, n))

    def _syn(self, k: int, ctx: CampaignContext, t: np.ndarray, src: np.ndarray) -> FlowTable:
        net, rng, n = ctx.net, ctx.rng, len(t)
        port = self.params.port
        if port is None:
            port = 554 if net.kind[self.target] in ("vms", "camera") else 443
        return FlowTable.make(n, start=t, dur=0.0, orig_h=src, orig_p=rng.integers(1024, 65536, n),
                              resp_h=net.ip[self.target], resp_p=port, proto="tcp", state="S0", history="S",
                              orig_pkts=1, orig_ip_bytes=40, end=t + 5.0, attack=k, phase="network_dos",
                              uid=make_uids(rng, n))
