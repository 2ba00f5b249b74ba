"""The city IT/OT network: grouping rule, IP plan, and ``attach_cameras`` for scenario-placed cameras."""

import ipaddress
from collections import Counter

import networkx as nx
import pytest

from twin import TwinError, TwinOptions, attach_cameras, synthetic_twin
from twin.network import core_network


def _switch_sizes(net):
    return sorted(sum(1 for m in net.neighbors(n) if net.nodes[m]["kind"] == "camera")
                  for n, d in net.nodes(data=True) if d["kind"] == "access_switch")


def test_fifty_cameras_in_one_cell_fill_switches_of_24():
    net = core_network()
    attach_cameras(net, {f"c{i:02d}": (10.0 + i, 20.0) for i in range(50)})
    assert _switch_sizes(net) == [2, 24, 24]
    assert net.nodes["c00"]["ip"] == "10.20.1.11" and net.nodes["c23"]["ip"] == "10.20.1.34"
    assert net.nodes["c24"]["ip"] == "10.20.2.11" and net.nodes["sw-0002"]["ip"] == "10.20.2.1"
    assert net.nodes["sw-0001"]["xy"] == pytest.approx((10.0 + 11.5, 20.0))   # mean of its cameras
    assert net.edges["sw-0001", "c00"]["bandwidth_mbps"] == 100
    assert net.edges["agg-001", "sw-0001"]["bandwidth_mbps"] == 1000
    assert net.nodes["agg-001"]["xy"] == pytest.approx((34.0, 20.0))   # mean of c00, c24, c48 (switch starts)


def test_cells_split_switches_and_aggregations():
    net = core_network(TwinOptions(switch_cell_m=100.0, agg_cell_m=1000.0))
    cams = {"a": (50, 50), "b": (60, 40), "c": (150, 50), "d": (5050, 50)}
    attach_cameras(net, cams)
    sw = {c: next(iter(net.neighbors(c))) for c in cams}
    assert sw["a"] == sw["b"] != sw["c"] != sw["d"]
    agg = {c: next(n for n in net.neighbors(sw[c]) if net.nodes[n]["kind"] == "aggregation") for c in cams}
    assert agg["a"] == agg["c"] != agg["d"]
    assert Counter(d["kind"] for _, d in net.nodes(data=True))["aggregation"] == 2


def test_order_does_not_matter_and_later_cameras_join_the_same_rules():
    cams = {f"cam-{i}": (i * 37.0 % 900, i * 53.0 % 700) for i in range(60)}
    a, b = core_network(), core_network()
    attach_cameras(a, cams)
    attach_cameras(b, dict(reversed(list(cams.items()))))
    assert nx.utils.graphs_equal(a, b)
    # a scenario adds two more: one joins an existing cell's switch, one opens a new cell
    t = synthetic_twin({"kind": "corridor", "length_m": 40, "width_m": 2})
    attach_cameras(t.network, {"s1": (385000.0, 6672000.0), "s2": (385010.0, 6672000.0)})
    attach_cameras(t.network, {"s3": (385020.0, 6672000.0), "s4": (395000.0, 6672000.0)})
    assert _switch_sizes(t.network) == [1, 3]
    ips = [ipaddress.ip_address(d["ip"]) for _, d in t.network.nodes(data=True)]
    assert len(set(ips)) == len(ips) and all(ip.is_private for ip in ips)
    assert all(nx.has_path(t.network, c, "soc") for c in ("s1", "s2", "s3", "s4"))


def test_bad_cameras_raise():
    net = core_network()
    attach_cameras(net, {"x": (0.0, 0.0)})
    with pytest.raises(TwinError, match="camera x: already in the network"):
        attach_cameras(net, {"x": (1.0, 1.0)})
    with pytest.raises(TwinError, match="camera y: position"):
        attach_cameras(net, {"y": (float("nan"), 1.0)})
