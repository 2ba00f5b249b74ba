"""``cyber_scan``: an ICMP sweep of the target and every camera behind it, then a SYN port scan.

Phases: ``host_discovery`` (T1595, the first tenth of the window), ``service_discovery`` (T1046). Open ports
answer ``RSTO``/``ShR``, closed ones ``REJ``/``Sr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensors.cyber.campaigns.base import OPEN_PORTS, Campaign, CampaignContext, CampaignParams
from sensors.cyber.flows import FlowTable, make_uids
from sensors.cyber.traffic import LogLines

__all__ = ["DEFAULT_PORTS", "Scan"]

#: nmap-like list of commonly scanned TCP ports.
DEFAULT_PORTS = (21, 22, 23, 25, 53, 80, 81, 88, 110, 111, 135, 139, 143, 161, 389, 443, 445, 502, 554,
                 993, 995, 1433, 1723, 1883, 3306, 3389, 5432, 5900, 8000, 8008, 8080, 8081, 8443, 8554, 8888,
                 9000, 9090, 37777)


class Scan(Campaign):
    """Host discovery, then ``rate_per_s`` SYN probes of ``ports`` on every host found."""

    kind = "cyber_scan"
    phases = (("host_discovery", "T1595"), ("service_discovery", "T1046"))
    detected_by = frozenset({"port_scan"})

    @dataclass(frozen=True)
    class Params(CampaignParams):
        rate_per_s: float = field(default=100.0, metadata={"gt": 0, "doc": "probes per second"})
        ports: tuple[int, ...] | None = field(default=None, metadata={
            "min_len": 1, "item": {"ge": 1, "le": 65535}, "doc": "ports to probe; default DEFAULT_PORTS"})

    def traffic(self, k: int, ctx: CampaignContext):
        net, rng = ctx.net, ctx.rng
        hosts = net.hosts_under(self.target)
        ips = np.array([net.ip[h] for h in hosts], dtype=object)
        kinds = [net.kind[h] for h in hosts]
        t_split = self.start + 0.1 * (self.end - self.start)
        n = len(hosts)
        t = np.sort(rng.uniform(self.start, t_split, n))
        d = rng.uniform(2e-4, 3e-3, n)
        icmp = FlowTable.make(n, start=t, dur=d, orig_h=self.src_ip, orig_p=8, resp_h=ips[rng.permutation(n)],
                              resp_p=0, proto="icmp", state="OTH", orig_bytes=56, resp_bytes=56, orig_pkts=1,
                              orig_ip_bytes=84, resp_pkts=1, resp_ip_bytes=84, end=t + d + 60.0, attack=k,
                              phase="host_discovery", uid=make_uids(rng, n))
        listed = self.params.ports if self.params.ports is not None else DEFAULT_PORTS
        ports = np.asarray(list(dict.fromkeys(listed)), dtype=np.int64)
        rate = self.params.rate_per_s
        hi, pi = np.divmod(rng.permutation(n * len(ports)), len(ports))
        m = min(len(hi), int((self.end - t_split) * rate))
        hi, pi = hi[:m], pi[:m]
        t = t_split + np.arange(m) / rate + rng.uniform(0, 0.5 / rate, m)
        openp = np.array([ports[p] in OPEN_PORTS.get(kinds[h], ()) for h, p in zip(hi.tolist(), pi.tolist(),
                                                                                strict=True)], dtype=bool)
        d = np.where(openp, rng.uniform(2e-4, 2e-3, m), rng.uniform(1e-4, 1e-3, m))
        syn = FlowTable.make(m, start=t, dur=d, orig_h=self.src_ip, orig_p=int(rng.integers(32768, 61000)),
                             resp_h=ips[hi], resp_p=ports[pi], proto="tcp",
                             state=np.where(openp, "RSTO", "REJ"), history=np.where(openp, "ShR", "Sr"),
                             orig_pkts=np.where(openp, 2, 1), orig_ip_bytes=np.where(openp, 84, 44),
                             resp_pkts=1, resp_ip_bytes=np.where(openp, 44, 40), attack=k,
                             phase="service_discovery", uid=make_uids(rng, m))
        return (FlowTable.concat([icmp, syn]), LogLines.empty(),
                [("host_discovery", self.start, t_split), ("service_discovery", t_split, self.end)])
