"""Network actions: isolate a compromised host's segment, fail cameras over to a backup recording path.

The network is a ``networkx.Graph`` whose nodes carry ``kind`` and ``ip`` (cameras ``camera_id``, public
nodes ``public_ip``): cameras hang off access switches, those off aggregation switches, those off the core;
the video management server (kind ``vms``) records every stream and a ``backup`` server hangs off the core.
A host is named by its node name, ``ip``, ``public_ip`` or ``camera_id``; other names are external.

**Isolation** (``ISOLATE_BY_KIND``). A camera is isolated by its access switch (its segment: the switch and
every camera on it, the unit a switch port or VLAN shut-down cuts); an access switch or a server (vms, soc,
ntp, dns, admin, scanner, backup, edge) by itself. The core and aggregation switches are never isolated (they
carry every segment below them); they are reported as not isolated, and so are external hosts (to block at
the edge router).

**Failover.** A camera's primary path is its path to the ``vms`` in the graph (a tree: one path). The
cameras a set of attacked nodes affects are those whose primary path holds one of them (the camera itself
included). A camera's backup path is the shortest path (fewest hops, ties by node name) from it to the
``backup`` server that avoids the ``vms`` and every attacked node: the stream recorded elsewhere. A camera
with no such path (the attacked node is its own switch or uplink, or the camera itself is attacked, or the
network has no backup server) fails over to ``edge_storage``: the camera's own recording, kept until the
link is restored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Hashable, Iterable
from typing import Any

import networkx as nx

from analytics.graphgeo import node_key

__all__ = ["ISOLATE_BY_KIND", "NOT_ISOLATED", "affected_cameras", "failover_paths", "isolation_targets",
           "resolve_hosts"]

#: Node kind -> what isolating a host of that kind cuts off: its "access_switch" or the node "self".
ISOLATE_BY_KIND = {
    "camera": "access_switch", "access_switch": "self", "vms": "self", "soc": "self", "ntp": "self",
    "dns": "self", "admin": "self", "scanner": "self", "backup": "self", "edge": "self",
}
#: Node kinds never isolated: they carry every segment below them.
NOT_ISOLATED = ("core", "aggregation")


def _index(network: nx.Graph) -> dict[str, Hashable]:
    idx: dict[str, Hashable] = {}
    for n in sorted(network.nodes, key=node_key):
        d = network.nodes[n]
        for name in (d.get("ip"), d.get("public_ip"), d.get("camera_id"), n):
            if name is not None:
                idx.setdefault(str(name), n)
    return idx


def resolve_hosts(network: nx.Graph, hosts: Iterable[str]) -> tuple[dict[str, Hashable], list[str]]:
    """``{host: node}`` for the hosts the network knows, and the others (external), each sorted."""
    idx = _index(network)
    found, external = {}, set()
    for h in hosts:
        h = str(h)
        if h in idx:
            found[h] = idx[h]
        else:
            external.add(h)
    return dict(sorted(found.items())), sorted(external)


def _kind(network: nx.Graph, n: Hashable) -> str:
    return str(network.nodes[n].get("kind", ""))


def _cameras_under(network: nx.Graph, switch: Hashable) -> list:
    return sorted((m for m in network.neighbors(switch) if _kind(network, m) == "camera"), key=node_key)


def isolation_targets(network: nx.Graph, hosts: Iterable[str]) -> dict[str, Any]:
    """What to isolate for compromised ``hosts`` (module docstring).

    Returns
    -------
    dict
        ``{"targets": [{"target", "target_kind", "switch", "hosts", "cameras"}], "not_isolated": [{"host",
        "node", "kind"}], "external": [hosts]}``; targets sorted by node, ``cameras`` those the isolation
        cuts off.
    """
    found, external = resolve_hosts(network, hosts)
    targets: dict[Hashable, dict[str, Any]] = {}
    kept = []
    for host, node in found.items():
        kind = _kind(network, node)
        how = ISOLATE_BY_KIND.get(kind)
        target = node
        if how == "access_switch":
            target = next((m for m in sorted(network.neighbors(node), key=node_key)
                           if _kind(network, m) == "access_switch"), None)
        if how is None or target is None:
            kept.append({"host": host, "node": str(node), "kind": kind})
            continue
        t = targets.setdefault(target, {"target": str(target), "target_kind": _kind(network, target),
                                        "switch": None, "hosts": [], "cameras": []})
        t["hosts"].append(host)
        if t["target_kind"] == "access_switch":
            t["switch"] = str(target)
            t["cameras"] = [str(c) for c in _cameras_under(network, target)]
    return {"targets": [targets[k] for k in sorted(targets, key=node_key)], "not_isolated": kept,
            "external": external}


def _first_of_kind(network: nx.Graph, kind: str) -> Hashable | None:
    return next((n for n in sorted(network.nodes, key=node_key) if _kind(network, n) == kind), None)


def _bfs_parents(network: nx.Graph, root: Hashable, blocked: Collection = ()) -> dict:
    """Breadth-first tree from ``root`` avoiding ``blocked``, neighbours in node order: node -> parent."""
    parent = {root: None}
    queue = deque([root])
    while queue:
        n = queue.popleft()
        for m in sorted(network.neighbors(n), key=node_key):
            if m not in parent and m not in blocked:
                parent[m] = n
                queue.append(m)
    return parent


def _path_to_root(parent: dict, n: Hashable) -> list:
    path = [n]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])
    return path


def affected_cameras(network: nx.Graph, attacked: Iterable[Hashable]) -> list[str]:
    """The cameras whose primary path to the ``vms`` holds an attacked node (themselves included)."""
    attacked = set(attacked)
    cams = [n for n in sorted(network.nodes, key=node_key) if _kind(network, n) == "camera"]
    vms = _first_of_kind(network, "vms")
    parent = _bfs_parents(network, vms) if vms is not None else {}
    out = []
    for c in cams:
        path = _path_to_root(parent, c) if c in parent else [c]
        if attacked.intersection(path):
            out.append(str(c))
    return out


def failover_paths(network: nx.Graph, cameras: Iterable[str], *, attacked: Iterable[str] = (),
                   ) -> list[dict[str, Any]]:
    """Each camera's failover: ``{"camera", "to": "backup" | "edge_storage", "path": nodes to the backup
    server | None}``, by camera (module docstring). ``cameras`` and ``attacked`` are hosts (any name)."""
    cams, _ext = resolve_hosts(network, cameras)
    hit, _ = resolve_hosts(network, attacked)
    attacked_nodes = set(hit.values())
    backup = _first_of_kind(network, "backup")
    vms = _first_of_kind(network, "vms")
    blocked = attacked_nodes | ({vms} if vms is not None else set())
    parent = {}
    if backup is not None and backup not in blocked:
        parent = _bfs_parents(network, backup, blocked)
    out = []
    for c in sorted(set(cams.values()), key=node_key):
        if _kind(network, c) != "camera":
            continue
        if c in parent and c not in attacked_nodes:
            out.append({"camera": str(c), "to": "backup", "path": [str(n) for n in _path_to_root(parent, c)]})
        else:
            out.append({"camera": str(c), "to": "edge_storage", "path": None})
    return out
