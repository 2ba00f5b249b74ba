"""``cyber_beacon``: the target is a compromised host calling its C2 server ``src`` over TLS at regular
intervals (``c2_beacon``, T1071)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sensors.cyber.campaigns.base import Campaign, CampaignContext, CampaignParams
from sensors.cyber.traffic import LogLines, tcp_short

__all__ = ["Beacon"]


class Beacon(Campaign):
    """A short TLS connection from the target to ``src`` every ``interval_s`` +- ``jitter_s``."""

    kind = "cyber_beacon"
    phases = (("c2_beacon", "T1071"),)
    detected_by = frozenset({"beaconing"})

    @dataclass(frozen=True)
    class Params(CampaignParams):
        interval_s: float = field(default=60.0, metadata={"gt": 0, "doc": "time between call-backs"})
        jitter_s: float = field(default=2.0, metadata={"ge": 0, "doc": "uniform jitter of each call-back"})
        port: int = field(default=443, metadata={"ge": 1, "le": 65535, "doc": "the C2 server's port"})

    def traffic(self, k: int, ctx: CampaignContext):
        net, rng = ctx.net, ctx.rng
        iv, jit = self.params.interval_s, self.params.jitter_s
        m = int(math.ceil((self.end - self.start) / iv))
        t = self.start + np.arange(m) * iv + rng.uniform(-jit, jit, m)
        t = np.clip(t, self.start, None)
        t = t[t < self.end]
        n = len(t)
        ft = tcp_short(rng, t, net.ip[self.target], self.src_ip, self.params.port, "ssl",
                       rng.integers(250, 700, n), rng.integers(150, 1200, n), rng.uniform(0.08, 0.6, n),
                       attack=k, phase="c2_beacon")
        return ft, LogLines.empty(), [("c2_beacon", self.start, self.end)]
