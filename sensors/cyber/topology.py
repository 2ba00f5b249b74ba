"""An index over the twin's IT/OT network: node IPs, cameras as arrays, and what sits behind each node.

"Behind" a node means on the path from the video management server (``vms``) to a camera through that node:
a DoS on ``vms`` or ``core`` cuts every camera, one on an access switch only the cameras hanging off it.
"""

from __future__ import annotations

import difflib
import ipaddress

import networkx as nx
import numpy as np

from sensors.cyber.errors import CyberError

__all__ = ["HOST_KINDS", "SWITCH_KINDS", "NetIndex"]

#: Node kinds that run an operating system with services (ssh, syslog).
HOST_KINDS = ("vms", "soc", "ntp", "dns", "admin", "camera")
SWITCH_KINDS = ("core", "aggregation", "access_switch")


class NetIndex:
    """Read-only lookups over ``network`` (a networkx Graph whose nodes carry ``kind`` and ``ip``)."""

    def __init__(self, network: nx.Graph) -> None:
        if "vms" not in network:
            raise CyberError("network: no 'vms' (video management server) node")
        self.g = network
        self.nodes = sorted(network.nodes, key=str)
        for n in self.nodes:
            d = network.nodes[n]
            if "ip" not in d or "kind" not in d:
                raise CyberError(f"network: node {n!r} lacks 'ip' or 'kind'")
        self.ip = {n: str(network.nodes[n]["ip"]) for n in self.nodes}
        self.kind = {n: str(network.nodes[n]["kind"]) for n in self.nodes}
        self.by_ip = {ip: n for n, ip in self.ip.items()}
        self.by_name = {str(n): n for n in self.nodes}
        self.cameras = [n for n in self.nodes if self.kind[n] == "camera"]
        self.camera_ids = [str(network.nodes[n].get("camera_id", n)) for n in self.cameras]
        self.cam_ip = np.array([self.ip[n] for n in self.cameras], dtype=object)
        self.cam_index = {n: i for i, n in enumerate(self.cameras)}
        paths = nx.single_source_shortest_path(network, "vms")
        self._paths = paths
        behind: dict = {}
        for i, cam in enumerate(self.cameras):
            for n in paths.get(cam, [cam]):
                behind.setdefault(n, []).append(i)
        self._behind = {n: np.asarray(v, dtype=np.int64) for n, v in behind.items()}

    def xy(self, node) -> tuple[float, float] | None:
        """Projected position of a node if the twin gave it one."""
        v = self.g.nodes[node].get("xy")
        return None if v is None else (float(v[0]), float(v[1]))

    def cameras_behind(self, node) -> np.ndarray:
        """Indices (into ``cameras``) of cameras whose stream to ``vms`` passes through ``node``."""
        return self._behind.get(node, np.zeros(0, np.int64))

    def hosts_under(self, node) -> list:
        """``node`` itself plus, for a switch, every camera behind it (the targets of a subnet scan)."""
        if self.kind[node] in SWITCH_KINDS:
            return [node] + [self.cameras[i] for i in self.cameras_behind(node)]
        return [node]

    def uplink_mbps(self, node) -> float:
        """Bandwidth of the link from ``node`` toward ``vms`` (its own link for ``vms``)."""
        if node == "vms":
            nb = sorted(self.g.neighbors("vms"), key=lambda n: self.kind.get(n) != "core")
            return float(self.g.edges["vms", nb[0]].get("bandwidth_mbps", 1000.0)) if nb else 1000.0
        path = self._paths.get(node)
        if not path or len(path) < 2:
            return 1000.0
        return float(self.g.edges[path[-2], path[-1]].get("bandwidth_mbps", 1000.0))

    def resolve(self, value, where: str):
        """A node id from a node name or one of the network's IPs; ``CyberError`` naming close matches."""
        if value in self.g:
            return value
        key = str(value)
        if key in self.by_name:
            return self.by_name[key]
        if key in self.by_ip:
            return self.by_ip[key]
        names = list(self.by_name)
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
        if not close:
            close = [n for n in ("vms", "soc", "core") if n in self.by_name] + self.camera_ids[:1]
        raise CyberError(f"{where}: unknown network node {key!r}; closest: {', '.join(close)}")

    def is_local(self, ip: str) -> bool:
        """True for addresses inside the city's private network (Zeek ``Site::local_nets`` = RFC 1918)."""
        try:
            return ipaddress.ip_address(ip).is_private
        except ValueError:
            return False
