"""An index over the twin's IT/OT network: node IPs, public addresses, cameras as arrays, which ports answer,
and what sits behind each node.

"Behind" a node means on the path from the video management server (``vms``) to a camera through that node:
a DoS on ``vms`` or ``core`` cuts every camera, one on an access switch only the cameras hanging off it.
"""

from __future__ import annotations

import difflib
import ipaddress

import networkx as nx
import numpy as np

from sensors.cyber.errors import CyberError

__all__ = ["HOST_KINDS", "OPEN_PORTS", "PUBLIC_OPEN_PORTS", "SERVER_KINDS", "SWITCH_KINDS", "NetIndex"]

#: Node kinds that run an operating system with services (ssh, syslog).
HOST_KINDS = ("vms", "soc", "ntp", "dns", "admin", "scanner", "backup", "camera")
#: Hosts that are servers (patched by the admin, backed up at night, logged in to by operators).
SERVER_KINDS = ("vms", "soc", "ntp", "dns", "scanner", "backup")
SWITCH_KINDS = ("core", "aggregation", "access_switch", "edge")
#: TCP ports that answer per node kind, inside the network.
OPEN_PORTS = {"camera": {80, 443, 554}, "vms": {22, 80, 443, 554}, "soc": {22, 443}, "ntp": {22},
              "dns": {22, 53}, "admin": {22, 3389}, "scanner": {22, 443}, "backup": {22},
              "access_switch": {22, 80, 443}, "aggregation": {22, 443}, "core": {22, 443}, "edge": {22, 443}}
#: TCP ports that answer from the Internet at a node's public address (the edge forwards only these);
#: everything else is dropped by the edge firewall (no reply).
PUBLIC_OPEN_PORTS = {"vms": {443}, "edge": set()}


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
        #: Public addresses of the nodes the Internet reaches (the edge router, the NAT-published portal).
        self.public_ip = {n: str(network.nodes[n]["public_ip"]) for n in self.nodes
                          if network.nodes[n].get("public_ip")}
        self.by_ip = {ip: n for n, ip in self.ip.items()}
        self.by_ip.update((ip, n) for n, ip in self.public_ip.items())
        #: Addresses of the scanners the site's security configuration allows (``authorised`` nodes).
        self.authorised_scanners = [self.ip[n] for n in self.nodes
                                    if network.nodes[n].get("authorised") and self.kind[n] == "scanner"]
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
        """True for the site's own addresses (Zeek ``Site::local_nets``): RFC 1918 and its public ones."""
        if ip in self.public_ip.values():
            return True
        try:
            return ipaddress.ip_address(ip).is_private
        except ValueError:
            return False
