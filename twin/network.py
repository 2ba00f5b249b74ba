"""The city's IT/OT network for its cameras, as a networkx Graph.

Topology: camera -> access switch -> aggregation switch -> core -> ``vms`` (video management server)
-> ``soc`` (security operations centre); ``ntp``, ``dns``, the ``admin`` workstation, the authorised
vulnerability ``scanner``, the ``backup`` server and the ``edge`` router (the Internet uplink, firewall and
NAT) hang off the core.

Nodes carry ``kind`` (camera, access_switch, aggregation, core, vms, soc, ntp, dns, admin, scanner, backup,
edge) and ``ip``;
cameras carry ``xy`` (projected metres), access switches the mean ``xy`` of their cameras, aggregation
switches the mean of their switches' first positions; camera nodes are named by and carry ``camera_id``.
Public-facing nodes also carry ``public_ip``, the address the Internet reaches them at: the ``edge``
router's own outside address and the ``vms`` web portal published through it (NAT). The ``scanner``
carries ``authorised=True``: the site's security configuration lists it as an allowed scanner.
Edges carry ``bandwidth_mbps``: camera link 100, access uplink 1000, aggregation uplink 10000,
core-vms 10000, vms-soc 1000, core-ntp/dns/admin/scanner/backup/edge 1000.

Grouping rule (deterministic, the same for OSM cameras and for cameras a scenario adds later with
``attach_cameras``): a camera goes to an access switch of its ``switch_cell_m`` grid cell that has fewer than
``max_cameras_per_switch`` cameras, else a new switch in that cell; a new switch goes to an aggregation switch
of its ``agg_cell_m`` cell with room, else a new one. Cameras are attached in order of (cell, camera id).

IP plan (private): servers 10.10.0.x (core .1, edge .2, vms .10, soc .20, ntp .30, dns .31, admin .40,
scanner .50, backup .60); aggregation switch k is 10.10.1.k; access switch s (1-based) is
10.<20 + (s-1)//254>.<(s-1)%254 + 1>.1 and its n-th camera (1-based) is the same /24 with host 10 + n.
Public (``PUBLIC_NET``, a /29 of the city's provider): edge .1, the vms portal .2. The block is illustrative;
it only has to be outside every private and special-purpose range, so that Zeek's ``local_nets`` and the
analytics treat it as the site's own public space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx

from twin.model import TwinError
from twin.options import TwinOptions

__all__ = ["PUBLIC_IPS", "PUBLIC_NET", "SERVERS", "attach_cameras", "core_network"]

#: Server nodes on the core: name -> (ip, bandwidth of its link in Mb/s, node it hangs off).
SERVERS = {
    "vms": ("10.10.0.10", 10000, "core"),
    "soc": ("10.10.0.20", 1000, "vms"),
    "ntp": ("10.10.0.30", 1000, "core"),
    "dns": ("10.10.0.31", 1000, "core"),
    "admin": ("10.10.0.40", 1000, "core"),
    "scanner": ("10.10.0.50", 1000, "core"),
    "backup": ("10.10.0.60", 1000, "core"),
    "edge": ("10.10.0.2", 1000, "core"),
}
#: The site's public address block and the nodes reachable from the Internet at one of its addresses.
PUBLIC_NET = "88.113.16.0/29"
PUBLIC_IPS = {"edge": "88.113.16.1", "vms": "88.113.16.2"}

_CAM_MBPS, _ACCESS_MBPS, _AGG_MBPS = 100, 1000, 10000


def core_network(options: TwinOptions | None = None) -> nx.Graph:
    """The network with no cameras: the core and the ``SERVERS``. Grouping rules are kept in ``graph``."""
    opt = options or TwinOptions()
    g = nx.Graph(
        switch_cell_m=float(opt.switch_cell_m), max_cameras_per_switch=int(opt.max_cameras_per_switch),
        agg_cell_m=float(opt.agg_cell_m), max_switches_per_agg=int(opt.max_switches_per_agg),
        public_net=PUBLIC_NET,
    )
    g.add_node("core", kind="core", ip="10.10.0.1")
    for name, (ip, mbps, parent) in SERVERS.items():
        g.add_node(name, kind=name, ip=ip)
        g.add_edge(parent, name, bandwidth_mbps=mbps)
    for name, ip in PUBLIC_IPS.items():
        g.nodes[name]["public_ip"] = ip
    g.nodes["scanner"]["authorised"] = True
    return g


def _cell(xy: tuple[float, float], size: float) -> tuple[int, int]:
    return (math.floor(xy[0] / size), math.floor(xy[1] / size))


def _switch_ip(s: int) -> tuple[int, int]:
    return 20 + (s - 1) // 254, (s - 1) % 254 + 1


def _new_agg(g: nx.Graph, cell: tuple[int, int]) -> str:
    k = g.graph["n_aggregation"] = g.graph.get("n_aggregation", 0) + 1
    if k > 254:
        raise TwinError(f"network: more than 254 aggregation switches needed (cell {cell})")
    name = f"agg-{k:03d}"
    g.add_node(name, kind="aggregation", ip=f"10.10.1.{k}", cell=cell, n_switches=0, xy=None,
               xy_sum=(0.0, 0.0))
    g.add_edge("core", name, bandwidth_mbps=_AGG_MBPS)
    g.graph.setdefault("open_agg", {})[cell] = name
    return name


def _new_switch(g: nx.Graph, cell: tuple[int, int], xy: tuple[float, float]) -> str:
    s = g.graph["n_access"] = g.graph.get("n_access", 0) + 1
    if s > 254 * 10:
        raise TwinError("network: more than 2540 access switches needed")
    o2, o3 = _switch_ip(s)
    name = f"sw-{s:04d}"
    acell = _cell(xy, g.graph["agg_cell_m"])
    agg = g.graph.setdefault("open_agg", {}).get(acell)
    if agg is None or g.nodes[agg]["n_switches"] >= g.graph["max_switches_per_agg"]:
        agg = _new_agg(g, acell)
    ad = g.nodes[agg]
    ad["n_switches"] += 1
    ad["xy_sum"] = (ad["xy_sum"][0] + xy[0], ad["xy_sum"][1] + xy[1])
    ad["xy"] = (ad["xy_sum"][0] / ad["n_switches"], ad["xy_sum"][1] / ad["n_switches"])
    g.add_node(name, kind="access_switch", ip=f"10.{o2}.{o3}.1", cell=cell, xy=tuple(xy), n_cameras=0,
               index=s, xy_sum=(0.0, 0.0))
    g.add_edge(agg, name, bandwidth_mbps=_ACCESS_MBPS)
    g.graph.setdefault("open_switch", {})[cell] = name
    return name


def attach_cameras(network: nx.Graph, cams: Mapping[str, tuple[float, float]]) -> None:
    """Add cameras ``{camera_id: (x, y)}`` to ``network`` with the module's grouping rule and IP plan.

    Raises
    ------
    TwinError
        A camera id already in the network, or a non-finite position.
    """
    size = network.graph.get("switch_cell_m", TwinOptions.switch_cell_m)
    network.graph.setdefault("switch_cell_m", size)
    network.graph.setdefault("max_cameras_per_switch", TwinOptions.max_cameras_per_switch)
    network.graph.setdefault("agg_cell_m", TwinOptions.agg_cell_m)
    network.graph.setdefault("max_switches_per_agg", TwinOptions.max_switches_per_agg)
    cap = network.graph["max_cameras_per_switch"]
    if not 1 <= cap <= 240:
        raise TwinError(f"network: max_cameras_per_switch must be 1..240, got {cap}")
    items = []
    for cid, xy in cams.items():
        x, y = float(xy[0]), float(xy[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise TwinError(f"camera {cid}: position {xy!r} is not finite")
        if cid in network:
            raise TwinError(f"camera {cid}: already in the network")
        items.append((_cell((x, y), size), str(cid), (x, y)))
    items.sort()
    for cell, cid, xy in items:
        sw = network.graph.setdefault("open_switch", {}).get(cell)
        if sw is None or network.nodes[sw]["n_cameras"] >= cap:
            sw = _new_switch(network, cell, xy)
        sd = network.nodes[sw]
        sd["n_cameras"] += 1
        sx, sy = sd["xy_sum"]
        sd["xy_sum"] = (sx + xy[0], sy + xy[1])
        sd["xy"] = (sd["xy_sum"][0] / sd["n_cameras"], sd["xy_sum"][1] / sd["n_cameras"])
        o2, o3 = _switch_ip(sd["index"])
        network.add_node(cid, kind="camera", camera_id=cid, ip=f"10.{o2}.{o3}.{10 + sd['n_cameras']}", xy=xy)
        network.add_edge(sw, cid, bandwidth_mbps=_CAM_MBPS)
