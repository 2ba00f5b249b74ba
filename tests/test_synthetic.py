"""Synthetic twins: corridor and bottleneck geometry, the same Twin object, spec validation."""

import networkx as nx
import numpy as np
import pytest
import shapely

from twin import TwinError, load_twin, synthetic_twin
from twin.synthetic import ORIGIN_XY


def test_corridor_is_40_m_long_both_ways():
    t = synthetic_twin({"kind": "corridor", "length_m": 40, "width_m": 2.5})
    assert set(t.walk.nodes) == {"start", "end"}
    assert nx.shortest_path_length(t.walk, "start", "end", weight="length") == 40.0
    assert nx.shortest_path_length(t.walk, "end", "start", weight="length") == 40.0
    assert [d["width_m"] for *_, d in t.walk.edges(data=True)] == [2.5, 2.5]
    assert t.walk.nodes["end"]["x"] - t.walk.nodes["start"]["x"] == 40.0
    assert t.crs == "EPSG:32635"
    assert t.drive.number_of_edges() == 2 and t.drive is not t.walk
    lon, lat = t.to_lonlat([ORIGIN_XY])[0]
    assert 24.9 < lon < 25.0 and 60.1 < lat < 60.2
    assert t.bbox_wgs84[0] < lon < t.bbox_wgs84[2] and t.bbox_wgs84[1] < lat < t.bbox_wgs84[3]
    assert len(t.buildings.polygons) == 0 and t.buildings.tree.query(shapely.Point(ORIGIN_XY)).size == 0
    assert t.assets == [] and t.cameras == [] and t.dependencies.number_of_nodes() == 0
    kinds = sorted(d["kind"] for _, d in t.network.nodes(data=True))
    assert kinds == ["admin", "backup", "core", "dns", "edge", "ntp", "scanner", "soc", "vms"]


def test_bottleneck_edges_and_widths():
    spec = {"kind": "bottleneck", "room_m": [10, 8], "door_width_m": 1.2, "corridor_m": 5}
    t = load_twin({"synthetic": spec})
    e = t.walk.get_edge_data("room", "door")[0]
    assert (e["length"], e["width_m"]) == (8.0, 10.0)
    e = t.walk.get_edge_data("exit", "door")[0]
    assert (e["length"], e["width_m"]) == (5.0, 1.2)
    assert nx.shortest_path(t.walk, "room", "exit") == ["room", "door", "exit"]
    exit_xy = [[t.walk.nodes["exit"]["x"], t.walk.nodes["exit"]["y"]]]
    assert np.allclose(t.to_xy(t.to_lonlat(exit_xy)), [[ORIGIN_XY[0] + 13, ORIGIN_XY[1]]])


@pytest.mark.parametrize("spec, field", [
    ({"kind": "tunnel"}, "kind"),
    ({"kind": "corridor", "width_m": 2}, "length_m"),
    ({"kind": "corridor", "length_m": 0, "width_m": 2}, "length_m"),
    ({"kind": "corridor", "length_m": 40, "width_m": "wide"}, "width_m"),
    ({"kind": "corridor", "length_m": 40, "width_m": 2, "lenght": 3}, "lenght"),
    ({"kind": "bottleneck", "room_m": [10], "door_width_m": 1, "corridor_m": 5}, "room_m"),
    ({"kind": "bottleneck", "room_m": [10, -8], "door_width_m": 1, "corridor_m": 5}, "room_m"),
    ({"kind": "bottleneck", "room_m": [10, 8], "corridor_m": 5}, "door_width_m"),
])
def test_bad_specs_name_the_field(spec, field):
    with pytest.raises(TwinError, match=field) as exc:
        synthetic_twin(spec)
    assert "\n" not in str(exc.value) and exc.value.exit_code == 2


def test_all_problems_reported_on_one_line():
    with pytest.raises(TwinError) as exc:
        synthetic_twin({"kind": "bottleneck", "room_m": [10, 0], "corridor_m": -1, "doors": 2})
    msg = str(exc.value)
    assert msg == ("synthetic twin (bottleneck): unknown field 'doors'; room_m must be [width, depth] with "
                   "numbers > 0, got [10, 0]; missing field 'door_width_m'; corridor_m must be a number > 0, "
                   "got -1")
