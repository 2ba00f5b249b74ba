"""Carriageways of a drive graph: widths from OSM lanes, one polygon per street, clipped to an area."""

from __future__ import annotations

import networkx as nx
import pytest
import shapely

from twin.roads import carriageways, osm_number


def _graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for n, (x, y) in {1: (0, 0), 2: (100, 0), 3: (100, 100), 4: (500, 500), 5: (600, 500)}.items():
        g.add_node(n, x=float(x), y=float(y))
    g.add_edge(1, 2, 0, oneway=False, lanes=["2", "4"])  # two-way, 4 lanes at most: 12 m wide
    g.add_edge(2, 1, 0, oneway=False, lanes=["2", "4"])
    g.add_edge(2, 3, 0, oneway=True)  # one-way, no lanes tag: one lane, 3 m
    g.add_edge(4, 5, 0, oneway=False, geometry=shapely.LineString([(500, 500), (550, 520), (600, 500)]))
    return g


def test_widths_and_one_polygon_per_street() -> None:
    polys = [shapely.Polygon(p) for p in carriageways(_graph())]
    assert len(polys) == 3
    wide, narrow, bent = polys
    assert wide.contains(shapely.Point(50, 5.9)) and not wide.contains(shapely.Point(50, 6.1))
    assert narrow.contains(shapely.Point(101.4, 50)) and not narrow.contains(shapely.Point(101.6, 50))
    # the edge geometry is followed, not the straight line between its nodes (two lanes: 3 m each side)
    assert bent.contains(shapely.Point(550, 518)) and not bent.contains(shapely.Point(550, 500))


def test_within_keeps_only_streets_touching_the_area() -> None:
    area = shapely.Point(90, 60).buffer(15)
    polys = carriageways(_graph(), within=area)
    assert len(polys) == 1 and shapely.Polygon(polys[0]).contains(shapely.Point(100, 60))


@pytest.mark.parametrize(("tag", "want"),
                         [("2", 2.0), (["2", "3"], 3.0), ("2;4", 4.0), ("x", 0.0), (None, 0.0)])
def test_osm_number(tag, want) -> None:
    assert osm_number(tag) == want
