"""Twins from hand-written OSM XML (.osm, .osm.bz2, .osm.gz): every tag rule gives the numbers it promises."""

import ipaddress

import networkx as nx
import pytest
from twin_toytown import CAMERAS, HEIGHTS, WIDTHS, write_toytown

from twin import TwinOptions, load_twin
from twin.assets import CAPACITY
from twin.summary import summary


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
    assert sorted(a.type for a in town.assets) == sorted(CAPACITY)  # one of each of the 12 types
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
    assert sum(1 for k in kinds.values() if k == "power") == 11            # everything but the substation
    assert {v for (u, v), k in kinds.items() if k == "water"} == {"w23", "n103", "n106", "n107", "n109"}
    assert {v for (u, v), k in kinds.items() if k == "telecom"} == {"w23", "n103", "n102", "n105"}
    assert nx.descendants(g, "n100") == set(g.nodes) - {"n100"}             # losing power takes all down
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
