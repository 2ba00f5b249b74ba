"""Twins from hand-written OSM XML (.osm, .osm.bz2, .osm.gz): every tag rule gives the numbers it promises."""

import ipaddress
from collections import Counter

import networkx as nx
import numpy as np
import pytest
import shapely
from twin_toytown import CAMERAS, HEIGHTS, WIDTHS, write_toytown

from twin import TwinOptions, load_twin
from twin.assets import CAPACITY, stop_modes
from twin.multipolygon import assemble, join_rings
from twin.summary import summary
from twin.zones import density_zones


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    return load_twin(write_toytown(tmp_path_factory.mktemp("osm")), use_cache=False)


@pytest.mark.parametrize("suffix", [".osm.bz2", ".osm.gz"])
def test_compressed_xml_gives_the_same_twin(town, tmp_path, suffix):
    other = load_twin(write_toytown(tmp_path, suffix), use_cache=False)
    a, b = summary(town), summary(other)
    for s in (a, b):
        s.pop("source"), s.pop("build_s")
    assert a == b


def test_walk_widths_come_from_tags_else_highway_default(town):
    g = town.walk
    assert g.graph["crs"] == "EPSG:32635" and town.crs == "EPSG:32635"
    seen = {}
    for _, _, d in g.edges(data=True):
        seen[d["osmid"]] = d["width_m"]
    assert seen == pytest.approx(WIDTHS)   # foot=no way 17 and motorway 15 are not walkable
    assert sorted(g.nodes) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert g.number_of_edges() == 16 and nx.is_strongly_connected(g)
    # a 0.001 deg (lat) footway is ~111.3 m; lengths are metres in UTM
    assert g.get_edge_data(4, 5)[0]["length"] == pytest.approx(111.0, abs=1.0)
    assert g.get_edge_data(2, 5)[0]["name"] == "Pohjoiskatu"
    assert g.get_edge_data(4, 5)[0]["highway"] == "footway"


def test_drive_graph_has_speeds_and_is_strongly_connected(town):
    d = town.drive
    assert nx.is_strongly_connected(d)
    assert {e["speed_kph"] for *_, e in d.edges(data=True)} >= {40.0}
    for *_, e in d.edges(data=True):
        assert e["travel_time"] == pytest.approx(e["length"] / (e["speed_kph"] / 3.6))
    assert not any(e["highway"] in ("footway", "path", "steps") for *_, e in d.edges(data=True))


def test_building_heights(town):
    b = town.buildings
    # height=12; building:levels=4 x 3 m; no tag: 9 m default; multipolygon relation height=20
    assert dict(zip(b.ids, b.heights_m, strict=True)) == HEIGHTS
    assert len(b.polygons) == 5 and all(p.area > 400 for p in b.polygons)
    hit = b.tree.query(town.assets[[a.id for a in town.assets].index("w23")].polygon.centroid)
    assert list(b.ids[hit]) == ["w23"]


def test_assets_types_capacities_and_nearest_node(town):
    by_id = {a.id: a for a in town.assets}
    # one of each of the 13 types, plus the market square (relation 31) and three stops of one name
    assert Counter(a.type for a in town.assets) == {**dict.fromkeys(CAPACITY, 1), "square": 2, "stop": 3}
    assert by_id["n102"].type == "police" and by_id["n102"].capacity == 30 and by_id["n102"].polygon is None
    hosp = by_id["w23"]
    assert hosp.type == "hospital" and hosp.name == "Toy Hospital"
    assert hosp.area_m2 == pytest.approx(55.6 * 55.7, rel=0.02) and hosp.capacity == round(hosp.area_m2 * 0.1)
    assert by_id["w25"].type == "square" and by_id["w25"].capacity == round(by_id["w25"].area_m2 * 2.0)
    assert by_id["n103"].name == "fire_station n103"
    assert by_id["n105"].node == 1 and by_id["n107"].node == 8   # nearest walk nodes
    lon, lat = by_id["n100"].lonlat
    assert (lon, lat) == pytest.approx((24.943, 60.1705))


def test_dependency_graph_edges_and_kinds(town):
    g = town.dependencies
    kinds = nx.get_edge_attributes(g, "kind")
    assert sum(1 for k in kinds.values() if k == "power") == 12     # everything but the substation and stops
    assert {v for (u, v), k in kinds.items() if k == "water"} == {"w23", "n103", "n106", "n107", "n109"}
    assert {v for (u, v), k in kinds.items() if k == "telecom"} == {"w23", "n103", "n102", "n105"}
    stops = {a.id for a in town.assets if a.type == "stop"}
    assert nx.descendants(g, "n100") == set(g.nodes) - {"n100"} - stops    # losing power takes all down
    assert stops == {"n112", "n113", "n114"} and all(g.degree(s) == 0 for s in stops)
    assert g.in_degree("n100") == 0 and g.edges["n101", "w23"]["kind"] == "water"


def test_cameras_direction_and_height(town):
    got = {c.id: (c.direction_deg, c.height_m) for c in town.cameras}
    assert got == CAMERAS


def test_network_ips_unique_and_every_camera_reaches_soc(town):
    net = town.network
    ips = [d["ip"] for _, d in net.nodes(data=True)]
    # 5 cameras, 1 access and 1 aggregation switch, core + vms, soc, ntp, dns, admin, scanner, backup, edge
    assert len(ips) == len(set(ips)) == net.number_of_nodes() == 5 + 1 + 1 + 9
    public = {n: d["public_ip"] for n, d in net.nodes(data=True) if "public_ip" in d}
    assert public == {"edge": "88.113.16.1", "vms": "88.113.16.2"}
    assert all(ipaddress.ip_address(ip).is_global for ip in public.values())
    cams = [n for n, d in net.nodes(data=True) if d["kind"] == "camera"]
    assert sorted(cams) == sorted(CAMERAS)
    for c in cams:
        path = nx.shortest_path(net, c, "soc")
        kinds = [net.nodes[n]["kind"] for n in path]
        assert kinds == ["camera", "access_switch", "aggregation", "core", "vms", "soc"]
        assert net.nodes[c]["camera_id"] == c and net.nodes[c]["ip"].startswith("10.20.1.")
    assert net.nodes["vms"]["ip"] == "10.10.0.10" and net.edges["core", "vms"]["bandwidth_mbps"] == 10000


def test_bbox_clips_the_town(tmp_path):
    path = write_toytown(tmp_path)
    box = "24.9395,60.1695,24.9425,60.1715"     # the west half, two rows: ways are cut at the edge
    t = load_twin(path, bbox=box, use_cache=False)
    assert sorted(t.walk.nodes) == [1, 4]          # 1-2-5-4 simplified into one street
    assert t.walk.get_edge_data(1, 4)[0]["length"] == pytest.approx(3 * 111.3, rel=0.01)
    raw = load_twin(path, bbox=box, options=TwinOptions(simplify=False), use_cache=False)
    assert sorted(raw.walk.nodes) == [1, 2, 4, 5]
    assert t.bbox_wgs84 == (24.9395, 60.1695, 24.9425, 60.1715)
    assert {c.id for c in t.cameras} == {"cam-200", "cam-202"}
    assert {a.id for a in t.assets} == {"n102", "n105", "n106", "n108", "w25"}   # square: centre on the edge


def test_a_way_with_a_node_missing_from_the_file_is_cut_there(tmp_path):
    path = tmp_path / "clipped.osm"
    nodes = "".join(f'<node id="{i}" lat="{60.1 + 0.0005 * i}" lon="24.9"/>' for i in (1, 2, 4, 5))
    nds = "".join(f'<nd ref="{i}"/>' for i in (1, 2, 3, 4, 5))      # node 3 is outside the extract
    path.write_text(f'<osm version="0.6">{nodes}<way id="9">{nds}<tag k="highway" v="footway"/></way></osm>')
    t = load_twin(path, options=TwinOptions(largest_component=False), use_cache=False)
    assert sorted(t.walk.nodes) == [1, 2, 4, 5] and not t.walk.has_edge(2, 4)
    assert t.walk.number_of_edges() == 4
    assert t.walk.get_edge_data(1, 2)[0]["length"] == pytest.approx(55.6, rel=0.01)


def test_a_building_cut_by_the_extract_edge_keeps_its_present_part(tmp_path):
    path = tmp_path / "edge.osm"
    corners = {1: (60.1, 24.9), 2: (60.1, 24.9004), 3: (60.1002, 24.9004), 4: (60.1002, 24.9)}
    nodes = "".join(f'<node id="{i}" lat="{la}" lon="{lo}"/>' for i, (la, lo) in corners.items())
    road = '<way id="7"><nd ref="1"/><nd ref="4"/><tag k="highway" v="footway"/></way>'
    house = ('<way id="8">' + "".join(f'<nd ref="{i}"/>' for i in (1, 2, 3, 9, 4, 1))   # node 9 is missing
             + '<tag k="building" v="yes"/><tag k="height" v="6"/><tag k="amenity" v="school"/></way>')
    path.write_text(f'<osm version="0.6">{nodes}{road}{house}</osm>')
    t = load_twin(path, use_cache=False)
    assert list(t.buildings.ids) == ["w8"] and list(t.buildings.heights_m) == [6.0]
    assert t.buildings.polygons[0].area == pytest.approx(22.2 * 22.2, rel=0.02)   # the four present corners
    (school,) = t.assets
    assert school.type == "school" and school.tags["twin:clipped"] == "yes" and school.area_m2 > 400


def test_a_relation_with_members_missing_is_built_from_the_members_present(town):
    """Relation 31: outline way 27 and hole way 29 are not in the file, way 28 lacks a node; pyosmium drops
    such a relation, the twin builds it from ways 26 and 28 (the gaps bridged straight): the full square."""
    market = {a.id: a for a in town.assets}["r31"]
    assert market.type == "square" and market.name == "Market Place" and market.tags["twin:clipped"] == "yes"
    assert market.area_m2 == pytest.approx(55.6 * 55.7, rel=0.02) and not market.polygon.interiors
    assert market.polygon.contains(shapely.Point(market.xy))
    assert market.capacity == round(market.area_m2 * 2.0)


def test_join_rings_reverses_ways_and_assemble_subtracts_present_holes():
    # a square outline in three ways, one reversed, in shuffled member order; a hole as one closed way
    ways = {
        1: (np.array([10, 11, 12]), np.array([[0, 0], [4, 0], [4, 4]], float)),
        2: (np.array([13, 10]), np.array([[0, 4], [0, 0]], float)),
        3: (np.array([13, 12]), np.array([[0, 4], [4, 4]], float)),           # drawn the other way round
        4: (np.array([20, 21, 22, 20]), np.array([[1, 1], [2, 1], [2, 2], [1, 1]], float)),
    }
    (ring,) = join_rings([ways[1], ways[3], ways[2]])
    assert ring.tolist() == [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    geom = shapely.from_wkb(assemble([(1, "outer"), (3, "outer"), (2, "outer"), (4, "inner")], ways))
    assert geom.area == pytest.approx(16 - 0.5)
    # way 3 missing: the gap is closed straight (the same square); a node without location is left out
    assert shapely.from_wkb(assemble([(1, "outer"), (2, "outer"), (3, "outer")], {1: ways[1], 2: ways[2]})
                            ).area == pytest.approx(16)
    cut = {1: (ways[1][0], np.array([[0, 0], [np.nan, np.nan], [4, 4]])), 2: ways[2], 3: ways[3]}
    triangle = shapely.from_wkb(assemble([(1, "outer"), (2, "outer"), (3, "outer")], cut))
    assert triangle.area == pytest.approx(8)
    # nothing polygonal present: None
    assert assemble([(1, "outer"), (9, "outer")], {1: (ways[1][0][:2], ways[1][1][:2])}) is None
    assert assemble([(4, "inner")], ways) is None


def test_stops_are_point_assets_without_a_density_zone(town):
    stops = sorted((a for a in town.assets if a.type == "stop"), key=lambda a: a.id)
    assert [(a.id, a.name, stop_modes(a.tags)) for a in stops] == [
        ("n112", "Toriasema", ("tram",)), ("n113", "Toriasema", ("tram",)), ("n114", "Toriasema", ("bus",))]
    assert all(a.polygon is None and a.node == 3 and a.capacity == CAPACITY["stop"][1] for a in stops)
    zones = density_zones(town)
    assert not set(zones) & {a.id for a in stops} and "r31" in zones and "n102" in zones


def test_named_features_are_kept_apart_from_the_assets(town):
    got = {f.id: (f.name, f.kind) for f in town.features}
    assert got == {"n110": ("Cafe Toy", "amenity=cafe"), "n111": ("Main Square", "shop=bakery"),
                   "n115": ("Toriasema", "public_transport=stop_position"),
                   "w15": ("Moottoritie", "highway=motorway"),        # a street missing from the walk graph
                   "w40": ("Toy Park", "leisure=park")}
    park = next(f for f in town.features if f.id == "w40")
    corner = np.array(town.to_xy([[24.942, 60.1691]]))[0]               # the park's south-west corner
    assert 0 < park.xy[0] - corner[0] < 44.6 and 0 < park.xy[1] - corner[1] < 44.6   # inside the 0.4 square
    assert not {f.id for f in town.features} & {a.id for a in town.assets}
