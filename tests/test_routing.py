"""Shared next-hop routing: CSR conversion, cached trees per destination set, reweighting."""

import networkx as nx
import numpy as np
import pytest

from agents.routing import Router, RoutingError, WalkNetwork


def _grid(n=6, sp=10.0) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for i in range(n):
        for j in range(n):
            g.add_node(f"{i},{j}", x=i * sp, y=j * sp)
    for i in range(n):
        for j in range(n):
            for a, b in (((i, j), (i + 1, j)), ((i, j), (i, j + 1))):
                if b[0] < n and b[1] < n:
                    u, v = f"{a[0]},{a[1]}", f"{b[0]},{b[1]}"
                    ln = sp * (1.0 + 0.1 * ((i * 7 + j * 3) % 5))  # uneven lengths: unique shortest paths
                    g.add_edge(u, v, length=ln, width_m=2.0)
                    g.add_edge(v, u, length=ln, width_m=2.0)
    return g


def _walk(router: Router, s: int, start: int, limit: int = 1000) -> tuple[list[int], float]:
    net = router.net
    node, path, dist = start, [start], 0.0
    for _ in range(limit):
        e = int(router.next_edges(np.array([s]), np.array([node]))[0])
        if e < 0:
            break
        assert net.eu[e] == node
        dist += net.length[e]
        node = int(net.ev[e])
        path.append(node)
    return path, dist


def test_network_arrays_reverse_edges_and_core():
    g = _grid(4)
    g.add_node("island", x=100.0, y=100.0)
    g.add_edge("island", "0,0", length=200.0)  # one-way: reaches the grid but cannot be reached
    net = WalkNetwork.from_graph(g)
    assert net.n_edges == g.number_of_edges()
    two_way = net.rev >= 0
    assert two_way.sum() == net.n_edges - 1
    assert np.all(net.eu[net.rev[two_way]] == net.ev[two_way])
    assert np.all(net.rev[net.rev[two_way]] == np.flatnonzero(two_way))
    assert net.core.sum() == 16 and not net.core[net.index["island"]]
    island = net.keys.index(("island", "0,0", 0))
    assert net.width[island] == 2.0 and net.rev[island] == -1  # default width; no way back
    assert WalkNetwork.from_graph(g, default_width_m=3.5).width[island] == 3.5


def test_trees_match_networkx_shortest_paths_and_are_shared():
    g = _grid(6)
    net = WalkNetwork.from_graph(g)
    r = Router(net)
    dest = net.index["5,5"]
    s = r.slot([dest])
    assert r.slot([dest]) == s
    for start in ("0,0", "2,4", "4,1"):
        path, dist = _walk(r, s, net.index[start])
        assert path[-1] == dest
        assert dist == pytest.approx(nx.shortest_path_length(g, start, "5,5", weight="length"))
    assert r.n_trees == 1  # one tree, every query reused it
    # everybody in one call
    ne = r.next_edges(np.full(net.n_nodes, s), np.arange(net.n_nodes))
    assert ne[dest] == -1 and np.all(ne[np.arange(net.n_nodes) != dest] >= 0)
    assert r.n_trees == 1


def test_destination_set_goes_to_nearest():
    g = _grid(6)
    net = WalkNetwork.from_graph(g)
    r = Router(net)
    a, b = net.index["0,0"], net.index["5,5"]
    s = r.slot([b, a])
    near = r.nearest_dest(s, np.array([net.index["1,0"], net.index["5,4"]]))
    assert near.tolist() == [a, b]
    path, _ = _walk(r, s, net.index["1,1"])
    assert path[-1] == a


def test_closure_reroutes_only_after_weights_change():
    g = _grid(6)
    net = WalkNetwork.from_graph(g)
    r = Router(net)
    s = r.slot([net.index["5,0"]])
    path, d0 = _walk(r, s, net.index["0,0"])
    assert r.n_trees == 1
    w = r.weights.copy()
    first = int(r.next_edges(np.array([s]), np.array([net.index["0,0"]]))[0])
    w[first] = np.inf
    w[net.rev[first]] = np.inf
    r.set_weights(w)
    path2, d1 = _walk(r, s, net.index["0,0"])
    assert r.n_trees == 2
    assert path2[-1] == net.index["5,0"] and d1 > d0
    assert int(r.next_edges(np.array([s]), np.array([net.index["0,0"]]))[0]) != first


def test_cut_off_nodes_get_minus_one_and_errors():
    g = _grid(3)
    g.add_node("far", x=500.0, y=500.0)
    g.add_edge("far", "0,0", length=5.0)
    net = WalkNetwork.from_graph(g)
    r = Router(net)
    s = r.slot([net.index["far"]])
    assert np.all(r.next_edges(np.full(9, s), np.array([net.index[f"{i},{j}"] for i in range(3)
                                                         for j in range(3)])) == -1)
    assert r.nearest_dest(s, np.array([net.index["0,0"]])).tolist() == [-1]
    with pytest.raises(RoutingError, match="unknown node"):
        net.node_index("nope")
    with pytest.raises(RoutingError, match="no nodes"):
        WalkNetwork.from_graph(nx.MultiDiGraph())
    with pytest.raises(RoutingError, match="empty"):
        r.slot([])
    with pytest.raises(RoutingError, match="weights"):
        r.set_weights(np.ones(3))
    assert RoutingError.exit_code == 2 and issubclass(RoutingError, ValueError)
