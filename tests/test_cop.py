"""analytics/cop.py: the common operational picture is valid RFC 7946 GeoJSON in lon/lat order, cop.jsonl
holds only the changes, and the final cop.geojson equals the last state."""

import json
import math

import pytest

from analytics.cop import CopError, CopWriter, cop_geojson, validate_geojson
from analytics.geometry import LonLatProjector

TO_LONLAT = LonLatProjector("EPSG:32635")  # Helsinki's UTM zone 35N, as the twin's alerts
HELSINKI = (24.5, 60.0, 25.3, 60.4)  # lon_min, lat_min, lon_max, lat_max
SENATE_XY = [385652.56, 6672226.42]  # a real alert's xy; its lonlat was [24.939082, 60.170881]


def incidents(state="new", priority=2):
    return [
        {"id": "INC-0001", "kind": "armed_attack", "state": state, "priority": priority, "confidence": 0.8,
         "xy": SENATE_XY, "lonlat": None, "sigma_m": 8.0, "zone": "senate", "hosts": [], "hybrid": True,
         "hybrid_reason": "cam-1 lost", "alerts": [{"kind": "gunshot"}, {"kind": "stream_loss"}],
         "assets": ["w1"], "cameras": ["cam-1"], "t_updated": 12.0,
         "risk": {"T": 0.8, "V": 0.5, "C": 0.9, "R": 0.36, "dependents": ["w2"]}},
        {"id": "INC-0002", "kind": "dos", "state": "new", "priority": 3, "confidence": 0.6, "xy": None,
         "lonlat": None, "sigma_m": 0.0, "zone": None, "hosts": ["10.20.2.14"], "hybrid": False,
         "alerts": [{"kind": "dos"}], "assets": [], "cameras": [], "risk": None},
    ]


ASSETS = [
    # drawn clockwise in metres: the COP must turn it counter-clockwise
    {"id": "w1", "type": "square", "name": "Senate Square", "xy": [385700.0, 6672300.0], "lonlat": None,
     "capacity": 5000, "polygon": [[385690.0, 6672290.0], [385690.0, 6672310.0], [385710.0, 6672310.0],
                                   [385710.0, 6672290.0]], "Q": 0.4, "risk": 0.36},
    {"id": "w2", "type": "hospital", "name": "Hospital", "xy": [386000.0, 6672500.0],
     "lonlat": [24.944, 60.1735], "capacity": 300, "polygon": None},
    {"id": "w3", "type": "school", "name": "Unaffected", "xy": [387000.0, 6673000.0], "lonlat": None,
     "capacity": 800, "polygon": None},
    {"id": "w4", "type": "substation", "name": "Degraded", "xy": [386500.0, 6671500.0], "lonlat": None,
     "capacity": 0, "polygon": None, "Q": 0.7},
]
SENSORS = [{"id": "cam-1", "kind": "camera", "xy": [385660.0, 6672240.0], "state": "lost"},
           {"id": "mic-1", "kind": "microphone", "xy": [385600.0, 6672200.0], "state": "up"}]
RESPONDERS = [{"id": "P-3", "kind": "police", "xy": [385200.0, 6671900.0], "state": "en_route",
               "eta_s": 95.0, "incident": "INC-0001"}]
ROUTES = [{"id": "R-1", "incident": "INC-0001", "kind": "evacuation", "why": "away from the square",
           "xy": [[385652.0, 6672226.0], [385652.0, 6672226.0], [385700.0, 6672150.0],
                  [385800.0, 6672100.0]]}]


def picture(**over):
    layers = {"incidents": incidents(), "assets": ASSETS, "sensors": SENSORS, "responders": RESPONDERS,
              "routes": ROUTES, **over}
    return cop_geojson(**layers, to_lonlat=TO_LONLAT)


def by_id(obj):
    return {f["id"]: f for f in obj["features"]}


def coords(geom):
    """Every position of a geometry, flattened."""
    def walk(c):
        return [c] if not isinstance(c[0], list) else [p for part in c for p in walk(part)]
    return walk(geom["coordinates"])


def test_picture_is_valid_rfc7946_in_lonlat_order():
    obj = picture()
    assert validate_geojson(obj, bbox=HELSINKI) == []
    assert obj["type"] == "FeatureCollection" and "crs" not in obj
    json.dumps(obj, allow_nan=False)
    f = by_id(obj)
    # the real alert's point: lon first (~24.94), lat second (~60.17)
    lon, lat = f["incident:INC-0001"]["geometry"]["coordinates"]
    assert lon == pytest.approx(24.939082, abs=2e-6) and lat == pytest.approx(60.170881, abs=2e-6)
    for feat in obj["features"]:
        if feat["geometry"] is None:
            continue
        for lon, lat in coords(feat["geometry"]):
            assert 24.8 < lon < 25.1 and 60.1 < lat < 60.3
            assert round(lon, 7) == lon and round(lat, 7) == lat  # 7 decimals at most


def test_coordinates_rounded_to_7_decimals():
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    raw = lambda xy: tr.transform(xy[0], xy[1])  # noqa: E731 (full float precision)
    assert raw(SENATE_XY)[0] != round(raw(SENATE_XY)[0], 7)
    obj = cop_geojson(incidents=incidents(), assets=ASSETS, sensors=SENSORS, routes=ROUTES, to_lonlat=raw)
    positions = [p for f in obj["features"] if f["geometry"] for p in coords(f["geometry"])]
    assert len(positions) == 1 + 5 + 1 + 1 + 2 + 3
    assert all(round(v, 7) == v for p in positions for v in p)
    assert validate_geojson(obj, bbox=HELSINKI) == []


def test_layers_and_their_properties():
    f = by_id(picture())
    assert list(f) == ["incident:INC-0001", "incident:INC-0002", "asset:w1", "asset:w2", "asset:w4",
                       "sensor:cam-1", "sensor:mic-1", "responder:P-3", "route:R-1"]
    inc = f["incident:INC-0001"]["properties"]
    assert {k: inc[k] for k in ("layer", "id", "kind", "priority", "state", "R", "confidence", "hybrid")} == {
        "layer": "incident", "id": "INC-0001", "kind": "armed_attack", "priority": 2, "state": "new",
        "R": 0.36, "confidence": 0.8, "hybrid": True}
    assert inc["n_alerts"] == 2
    # a network incident has no location: null geometry (RFC 7946 §3.2), still in the picture
    assert f["incident:INC-0002"]["geometry"] is None and f["incident:INC-0002"]["properties"]["R"] is None
    # affected assets only (w3 is not), with Q and risk when given; w4 is in because a cascade degraded it
    assert f["asset:w1"]["properties"]["Q"] == 0.4 and f["asset:w1"]["properties"]["risk"] == 0.36
    assert f["asset:w1"]["properties"]["incidents"] == ["INC-0001"]
    assert f["asset:w2"]["properties"]["incidents"] == ["INC-0001"] and "Q" not in f["asset:w2"]["properties"]
    assert f["asset:w2"]["geometry"] == {"type": "Point", "coordinates": [24.944, 60.1735]}
    assert f["asset:w4"]["properties"]["incidents"] == []
    assert f["sensor:cam-1"]["properties"] == {"layer": "sensor", "id": "cam-1", "kind": "camera",
                                               "state": "lost"}
    assert f["responder:P-3"]["properties"]["eta_s"] == 95.0
    assert f["responder:P-3"]["properties"]["incident"] == "INC-0001"
    route = f["route:R-1"]
    assert route["geometry"]["type"] == "LineString" and len(route["geometry"]["coordinates"]) == 3
    assert route["properties"]["why"] == "away from the square"


def test_polygon_ring_closed_and_counter_clockwise():
    ring = by_id(picture())["asset:w1"]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    area2 = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring[:-1], ring[1:], strict=True))
    assert area2 > 0  # counter-clockwise in lon/lat (the input ran clockwise in metres)


def test_nan_becomes_null_and_no_crs_needed():
    obj = picture(responders=[{**RESPONDERS[0], "eta_s": float("nan")}],
                  sensors=[{"id": "cam-x", "kind": "camera", "xy": [float("nan"), 1.0], "state": "down"}])
    text = json.dumps(obj, allow_nan=False)
    f = by_id(json.loads(text))
    assert f["responder:P-3"]["properties"]["eta_s"] is None
    assert f["sensor:cam-x"]["geometry"] is None


def test_wrong_projection_and_duplicate_ids_are_errors():
    with pytest.raises(CopError, match="sensor cam-1 xy"):
        cop_geojson(sensors=SENSORS, to_lonlat=lambda xy: xy)  # metres are not degrees
    with pytest.raises(CopError, match="sensor:cam-1"):
        cop_geojson(sensors=[SENSORS[0], SENSORS[0]], to_lonlat=TO_LONLAT)


def test_validator_finds_each_problem():
    good = picture()
    assert validate_geojson(good) == []
    cases = {
        "crs": {**good, "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}},
        "outside bbox": {"type": "Point", "coordinates": [60.170881, 24.939082]},  # lat, lon swapped
        "out of range": {"type": "Point", "coordinates": [24.9, 91.0]},
        "not closed": {"type": "Polygon", "coordinates": [[[24.9, 60.1], [25.0, 60.1], [25.0, 60.2],
                                                           [24.9, 60.2]]]},
        "clockwise": {"type": "Polygon", "coordinates": [[[24.9, 60.1], [24.9, 60.2], [25.0, 60.2],
                                                          [24.9, 60.1]]]},
        ">= 4 positions": {"type": "Polygon", "coordinates": [[[24.9, 60.1], [25.0, 60.1], [24.9, 60.1]]]},
        ">= 2 positions": {"type": "LineString", "coordinates": [[24.9, 60.1]]},
        "not a GeoJSON type": {"type": "Circle", "coordinates": [24.9, 60.1]},
        "geometry: missing": {"type": "Feature", "properties": {}},
        "finite": {"type": "Point", "coordinates": [math.nan, 60.1]},
        "hole is counter-clockwise": {"type": "Polygon", "coordinates": [
            [[24.9, 60.1], [25.0, 60.1], [25.0, 60.2], [24.9, 60.2], [24.9, 60.1]],
            [[24.92, 60.12], [24.98, 60.12], [24.98, 60.18], [24.92, 60.12]]]},
    }
    for needle, obj in cases.items():
        problems = validate_geojson(obj, bbox=HELSINKI)
        assert any(needle in p for p in problems), (needle, problems)
    # a hole the right way round is fine
    ok = {"type": "Polygon", "coordinates": [
        [[24.9, 60.1], [25.0, 60.1], [25.0, 60.2], [24.9, 60.2], [24.9, 60.1]],
        [[24.92, 60.12], [24.98, 60.18], [24.98, 60.12], [24.92, 60.12]]]}
    assert validate_geojson(ok, bbox=HELSINKI) == []


def replay(path):
    """The picture rebuilt from cop.jsonl's lines, and the lines."""
    state, lines = {}, []
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            line = json.loads(raw)
            lines.append(line)
            for fid in line["removed"]:
                del state[fid]
            for f in line["changed"]:
                state[f["id"]] = f
    return state, lines


def test_writer_jsonl_holds_only_changes_and_final_equals_last_state(tmp_path):
    gj, jl = tmp_path / "cop.geojson", tmp_path / "cop.jsonl"
    w = CopWriter(gj, jl, TO_LONLAT)
    first = w.update(0.0, incidents=incidents(), assets=ASSETS, sensors=SENSORS, responders=RESPONDERS,
                     routes=ROUTES)
    assert len(first["changed"]) == 9 and first["removed"] == []
    moved = [{**RESPONDERS[0], "xy": [385400.0, 6672000.0], "eta_s": 40.0}]
    second = w.update(1.0, responders=moved)  # the other layers keep their last value
    assert [f["id"] for f in second["changed"]] == ["responder:P-3"] and second["removed"] == []
    assert w.update(2.0, responders=moved, sensors=SENSORS) is None  # nothing changed: no line
    third = w.update(3.0, incidents=incidents(state="resolved"), routes=[])
    assert [f["id"] for f in third["changed"]] == ["incident:INC-0001"]
    assert third["removed"] == ["route:R-1"]
    final = w.close()
    state, lines = replay(jl)
    assert [line["t"] for line in lines] == [0.0, 1.0, 3.0]
    on_disk = json.loads(gj.read_text(encoding="utf-8"))
    assert on_disk == final
    assert {f["id"]: f for f in on_disk["features"]} == state
    assert on_disk == picture(responders=moved, incidents=incidents(state="resolved"), routes=[])
    assert validate_geojson(on_disk, bbox=HELSINKI) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cop.geojson", "cop.jsonl"]  # no temp file left
    with pytest.raises(CopError, match="closed"):
        w.update(4.0, incidents=[])


def test_writer_rejects_unknown_layers_and_bad_time(tmp_path):
    with CopWriter(tmp_path / "cop.geojson", tmp_path / "cop.jsonl", TO_LONLAT) as w:
        with pytest.raises(CopError, match="unknown layers"):
            w.update(0.0, vehicles=[])
        with pytest.raises(CopError, match="t:"):
            w.update(float("inf"), incidents=[])
    # leaving the block wrote the (empty) picture
    assert json.loads((tmp_path / "cop.geojson").read_text()) == {"type": "FeatureCollection", "features": []}


def test_writer_assets_follow_the_incidents(tmp_path):
    w = CopWriter(tmp_path / "cop.geojson", tmp_path / "cop.jsonl", TO_LONLAT)
    w.update(0.0, incidents=incidents(), assets=ASSETS)
    # the incidents go: w2, only affected by one, leaves the picture; w1 and w4 stay (Q below 1), w1 now
    # affected by no incident
    line = w.update(1.0, incidents=[])
    assert [(f["id"], f["properties"]["incidents"]) for f in line["changed"]] == [("asset:w1", [])]
    assert line["removed"] == ["incident:INC-0001", "incident:INC-0002", "asset:w2"]
    assert [f["id"] for f in w.close()["features"]] == ["asset:w1", "asset:w4"]
