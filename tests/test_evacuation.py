"""Evacuation routes leave the hazard, never re-enter it, and trade a crowd's delay against a detour."""

from __future__ import annotations

import json
from itertools import pairwise

import networkx as nx
import numpy as np
import pytest
import shapely

from analytics.crowdcost import WalkCostParams, density_field, density_penalty, edge_costs, speed_factor
from analytics.evacuation import (
    EvacuationParams,
    evacuation_routes,
    exit_routes,
    hazard_area,
    hazard_radius,
    safe_nodes,
)
from analytics.graphgeo import RecommendError, edge_table
from tests._recgraphs import grid

V0 = WalkCostParams().v0_mps
P150 = EvacuationParams(hazard_radius_m={"explosion": 150.0})
CENTRE = (300.0, 300.0)


def _outside(hazard, g, n) -> bool:
    return not shapely.contains_xy(hazard, g.nodes[n]["x"], g.nodes[n]["y"])


def test_hazard_radius_is_the_kind_radius_plus_the_location_sigma():
    assert hazard_radius("explosion", sigma_m=5.0) == 105.0
    assert hazard_radius("vehicle_attack", sigma_m=None) == 200.0
    disc = hazard_area("suspicious_object", xy=(0.0, 0.0), sigma_m=-3.0)
    assert disc.bounds == pytest.approx((-100.0, -100.0, 100.0, 100.0))
    with pytest.raises(RecommendError, match="incident.kind"):
        hazard_area("intrusion", xy=(0.0, 0.0))
    with pytest.raises(RecommendError, match="incident.xy"):
        hazard_area("explosion", xy=(0.0, float("nan")))
    with pytest.raises(RecommendError, match="sigma_m"):
        hazard_radius("explosion", sigma_m="far")


def test_default_safe_nodes_are_those_at_least_the_margin_outside_the_hazard():
    g = grid()
    hz = hazard_area("explosion", xy=CENTRE, params=P150)
    # nodes within 200 m (150 + 50) of the centre: the centre, its 4 neighbours, its 4 diagonal neighbours
    assert len(safe_nodes(g, hz, params=P150)) == 49 - 9
    assert 24 not in safe_nodes(g, hz, params=P150) and 10 in safe_nodes(g, hz, params=P150)
    # given zones: a point is its nearest node, a polygon the nodes inside it; none inside the hazard
    zones = [(610.0, 590.0), [[-10, -10], [110, -10], [110, 10], [-10, 10]], (300.0, 300.0)]
    assert safe_nodes(g, hz, safe_zones=zones, params=P150) == [0, 1, 48]


def test_every_start_leaves_and_the_centre_exits_by_the_lowest_node():
    g = grid()
    hz = hazard_area("explosion", xy=CENTRE, params=P150)
    plan = evacuation_routes(g, hz, origin=CENTRE, params=P150)
    assert plan["starts"] == [16, 17, 18, 23, 24, 25, 30, 31, 32] and plan["unreachable"] == []
    assert plan["safe_nodes"] == 40
    by_start = {r["start"]: r for r in plan["routes"]}
    centre = by_start[24]
    # four equal 200 m ways out: the tie goes to the lowest neighbour, 17 (north in node order)
    assert centre["nodes"] == [24, 17, 10] and centre["exit_edge"] == [17, 10, 0]
    assert centre["xy"] == [[300.0, 300.0], [300.0, 200.0], [300.0, 100.0]]
    assert centre["length_m"] == 200.0 and centre["time_s"] == round(200.0 / V0, 1)
    assert centre["hazard_m"] == pytest.approx(150.0, abs=0.1)
    for r in plan["routes"]:
        end = g.nodes[r["safe"]]
        assert np.hypot(end["x"] - 300, end["y"] - 300) >= 200.0
        assert all(g.has_edge(a, b) for a, b in pairwise(r["nodes"]))
    json.dumps(plan, allow_nan=False)


def test_a_route_never_re_enters_the_hazard_on_its_way_round_it():
    g = grid()
    hz = hazard_area("explosion", xy=CENTRE, params=P150)
    # the only safe place is straight across the hazard from start 17 (north edge): it must go round
    plan = evacuation_routes(g, hz, origin=(300.0, 210.0), safe_zones=[(300.0, 600.0)], params=P150)
    r = {r["start"]: r for r in plan["routes"]}[17]
    # out west by the shallower node 16 (the tie with 18 in the east goes to the lower id), then round
    assert r["nodes"] == [17, 16, 15, 22, 29, 36, 37, 38, 45] and r["length_m"] == 800.0
    out_from = next(i for i, n in enumerate(r["nodes"]) if _outside(hz, g, n))
    assert all(_outside(hz, g, n) for n in r["nodes"][out_from:])
    table = edge_table(g)
    for a, b in pairwise(r["nodes"][out_from:]):
        line = table.lines[table.edges.index((a, b, 0))]
        assert shapely.intersection(line, hz).length == 0.0
    # the straight way through the hazard is shorter (400 m): only the hazard rule keeps the route out of it
    assert nx.shortest_path_length(g, 17, 45, weight="length") == 400.0


def test_a_start_inside_with_no_way_outward_still_gets_out():
    g = nx.MultiDiGraph()
    for n, xy in {1: (0.0, 0.0), 2: (20.0, 0.0), 3: (-150.0, 0.0), 4: (-300.0, 0.0)}.items():
        g.add_node(n, x=xy[0], y=xy[1])
    for a, b in ((2, 1), (1, 3), (3, 4)):
        length = abs(g.nodes[a]["x"] - g.nodes[b]["x"])
        g.add_edge(a, b, length=length)
        g.add_edge(b, a, length=length)
    hz = hazard_area("explosion", xy=(30.0, 0.0))   # node 2 (dead end) is deeper than node 1 is
    plan = evacuation_routes(g, hz, origin=(20.0, 0.0))
    assert plan["starts"] == [1, 2] and plan["unreachable"] == []
    r = {r["start"]: r for r in plan["routes"]}[2]
    assert r["nodes"] == [2, 1, 3] and r["length_m"] == 170.0     # node 3: 180 m from the centre, safe
    assert r["time_s"] == round(170.0 / V0, 1)          # the inside penalty steers, it is not walking time


def _two_streets() -> nx.MultiDiGraph:
    """Start 0 at (0, 0), safe 2 at (300, 0): a 300 m street through 1, or a 400 m one by 3 and 4."""
    g = nx.MultiDiGraph()
    for n, xy in {0: (0, 0), 1: (150, 0), 2: (300, 0), 3: (0, 50), 4: (300, 50)}.items():
        g.add_node(n, x=float(xy[0]), y=float(xy[1]))
    for a, b, length in ((0, 1, 150.0), (1, 2, 150.0), (0, 3, 50.0), (3, 4, 300.0), (4, 2, 50.0)):
        g.add_edge(a, b, length=length)
        g.add_edge(b, a, length=length)
    return g


CROWD = {"square": [[50, -10], [250, -10], [250, 10], [50, 10]]}   # 200 m of the short street
SMALL = EvacuationParams(hazard_radius_m={"explosion": 10.0})


@pytest.mark.parametrize(("rho", "nodes"), [(2.0, [0, 3, 4, 2]), (0.8, [0, 1, 2])])
def test_a_crowd_sends_the_route_down_the_empty_street_only_when_it_costs_more_than_the_detour(rho, nodes):
    # short street: (300 + 200 (penalty - 1)) / v0, long street: 400 / v0: the crowd wins above penalty 1.5
    assert density_penalty(2.0) > 1.5 > density_penalty(0.8)
    g = _two_streets()
    hz = hazard_area("explosion", xy=(0.0, 0.0), params=SMALL)
    field = density_field({"square": rho}, CROWD)
    plan = evacuation_routes(g, hz, origin=(0.0, 0.0), safe_zones=[(300.0, 0.0)], density=field, params=SMALL)
    (r,) = plan["routes"]
    assert r["nodes"] == nodes
    expected = 400.0 / V0 if rho == 2.0 else (300.0 + 200.0 * (float(density_penalty(rho)) - 1.0)) / V0
    assert r["time_s"] == round(expected, 1)


def test_per_edge_densities_apply_to_the_whole_edge_and_its_reverse():
    g = _two_streets()
    hz = hazard_area("explosion", xy=(0.0, 0.0), params=SMALL)
    field = density_field({(1, 0): 2.0, (1, 2, 0): 2.0})
    plan = evacuation_routes(g, hz, origin=(0.0, 0.0), safe_zones=[(300.0, 0.0)], density=field, params=SMALL)
    assert plan["routes"][0]["nodes"] == [0, 3, 4, 2]
    cost, rho = edge_costs(edge_table(g), field)
    table = edge_table(g)
    i = table.edges.index((0, 1, 0))
    assert rho[i] == 2.0 and cost[i] == pytest.approx(150.0 / V0 / float(speed_factor(2.0)))


def test_overlapping_zones_charge_the_densest_once():
    g = nx.MultiDiGraph()
    g.add_node("a", x=0.0, y=0.0)
    g.add_node("b", x=200.0, y=0.0)
    g.add_edge("a", "b", length=200.0)
    zones = {"dense": [[0, -5], [100, -5], [100, 5], [0, 5]],
             "light": [[50, -5], [150, -5], [150, 5], [50, 5]]}
    cost, rho = edge_costs(edge_table(g), density_field({"dense": 2.0, "light": 1.0}, zones))
    p2, p1 = float(density_penalty(2.0)), float(density_penalty(1.0))
    assert cost[0] == pytest.approx((200.0 + 100.0 * (p2 - 1) + 50.0 * (p1 - 1)) / V0)
    assert rho[0] == pytest.approx((100 * 2.0 + 50 * 1.0) / 200.0)


def test_density_inputs_are_checked():
    with pytest.raises(RecommendError, match="no polygon"):
        density_field({"nowhere": 1.0}, CROWD)
    with pytest.raises(RecommendError, match=">= 0"):
        density_field({"square": -1.0}, CROWD)
    with pytest.raises(RecommendError, match="all zone names"):
        density_field({"square": 1.0, (0, 1): 1.0}, CROWD)


def test_exit_routes_keep_one_route_per_exit_from_the_start_nearest_the_incident():
    g = grid()
    hz = hazard_area("explosion", xy=CENTRE, params=P150)
    plan = evacuation_routes(g, hz, origin=CENTRE, params=P150)
    exits = exit_routes(plan, origin=CENTRE, max_routes=3)
    assert len(exits) == 3
    assert exits[0]["exit_edge"] == [17, 10, 0] and exits[0]["starts"] == [17, 24] and exits[0]["start"] == 24
    assert all(len(e["starts"]) == 1 for e in exits[1:])
    all_exits = exit_routes(plan, origin=CENTRE, max_routes=20)
    assert sorted(s for e in all_exits for s in e["starts"]) == plan["starts"]


def test_a_graph_with_a_non_finite_length_is_refused():
    g = grid(2)
    g.add_edge(0, 3, length=float("nan"))
    with pytest.raises(RecommendError, match=r"edge \(0, 3, 0\)"):
        evacuation_routes(g, hazard_area("explosion", xy=(0.0, 0.0)))


def _line_of_three() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for n, x in ((0, 0.0), (1, 100.0), (2, 400.0)):
        g.add_node(n, x=x, y=0.0)
    for a, b in ((0, 1), (1, 2)):
        g.add_edge(a, b, length=g.nodes[b]["x"] - g.nodes[a]["x"])
        g.add_edge(b, a, length=g.nodes[b]["x"] - g.nodes[a]["x"])
    return g


def test_a_start_outside_the_hazard_never_walks_into_it_but_may_touch_it():
    g = _line_of_three()
    # the street 0-1 runs through a disc round (50, 0): the start 0 nearest the incident has no way out
    disc = shapely.Point(50.0, 0.0).buffer(20.0)
    plan = evacuation_routes(g, disc, origin=(0.0, 10.0))
    assert plan["starts"] == [0] and plan["routes"] == [] and plan["unreachable"] == [0]
    # a hazard touching the street at one point only does not close it
    corner = shapely.Polygon([(50.0, 0.0), (40.0, 20.0), (60.0, 20.0)])
    plan = evacuation_routes(g, corner, origin=(0.0, 10.0))
    assert plan["routes"][0]["nodes"] == [0, 1, 2] and plan["routes"][0]["hazard_m"] == 0.0


def test_a_hazard_covering_the_whole_graph_leaves_every_start_unreachable():
    g = grid()
    hz = shapely.Point(*CENTRE).buffer(10_000.0)        # no node is far enough outside
    plan = evacuation_routes(g, hz, origin=CENTRE)
    assert plan["safe_nodes"] == 0 and plan["routes"] == []
    assert len(plan["unreachable"]) == len(plan["starts"]) == g.number_of_nodes()
