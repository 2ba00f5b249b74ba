"""Closing the inflow to a gathering: exactly the walk edges that cross its boundary inward."""

from __future__ import annotations

import pytest
import shapely

from analytics.crowdcontrol import inflow_edges
from analytics.crowdcost import density_field, specific_flow
from analytics.evacuation import EvacuationParams, hazard_area
from tests._recgraphs import grid

BOX = shapely.box(250, 250, 350, 350)    # round node 24 at (300, 300) of the 7x7 grid


def _uvk(edges):
    return [(e["u"], e["v"], e["key"]) for e in edges]


def test_the_inflow_edges_are_the_four_streets_into_the_zone_and_not_the_ways_out():
    edges = inflow_edges(grid(), BOX)
    assert _uvk(edges) == [(17, 24, 0), (23, 24, 0), (25, 24, 0), (31, 24, 0)]
    assert edges[0]["xy"] == [[300.0, 200.0], [300.0, 300.0]] and edges[0]["width_m"] == 3.0
    assert edges[0]["density_p_m2"] is None and edges[0]["inflow_pps"] is None


def test_a_street_running_through_the_zone_is_an_inflow_edge_both_ways():
    strip = shapely.box(240, 250, 260, 350)   # across the street 23-24 only, no node inside
    assert _uvk(inflow_edges(grid(), strip)) == [(23, 24, 0), (24, 23, 0)]
    # a zone that only touches the streets at a node carries nothing in
    touching = shapely.Polygon([(300, 300), (350, 320), (350, 380)])
    assert inflow_edges(grid(), touching) == []
    # one whose corner is that node but that spans the street 24-31 is entered from both ends
    spanning = shapely.Polygon([(300, 300), (350, 350), (250, 350)])
    assert _uvk(inflow_edges(grid(), spanning)) == [(24, 31, 0), (31, 24, 0)]


def test_the_hazard_disc_closes_the_streets_into_it():
    params = EvacuationParams(hazard_radius_m={"explosion": 150})
    hz = hazard_area("explosion", xy=(300.0, 300.0), params=params)
    edges = inflow_edges(grid(), hz)
    # every edge from an outside node to one of the 9 inside nodes: 12 streets cross the 150 m circle
    assert len(edges) == 12
    inside = {16, 17, 18, 23, 24, 25, 30, 31, 32}
    assert all(e["u"] not in inside and e["v"] in inside for e in edges)


def test_densities_give_each_edge_the_flow_its_outside_part_carries():
    zones = {"gathering": BOX, "approach": shapely.box(290, 150, 310, 260)}
    field = density_field({"gathering": 3.0, "approach": 1.0}, zones)
    edges = {(e["u"], e["v"]): e for e in inflow_edges(grid(), BOX, density=field)}
    # 17 -> 24: its 50 m outside the gathering are all in the approach at 1 P/m², over 3 m of width
    assert edges[(17, 24)]["density_p_m2"] == 1.0
    assert edges[(17, 24)]["inflow_pps"] == pytest.approx(float(specific_flow(1.0)) * 3.0, abs=1e-3)
    assert edges[(23, 24)]["density_p_m2"] == 0.0 and edges[(23, 24)]["inflow_pps"] == 0.0
    per_edge = density_field({(17, 24): 2.0})
    e = inflow_edges(grid(), BOX, density=per_edge)[0]
    assert e["density_p_m2"] == 2.0
    assert e["inflow_pps"] == pytest.approx(float(specific_flow(2.0)) * 3.0, abs=1e-3)
