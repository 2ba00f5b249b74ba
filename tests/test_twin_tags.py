"""Tag parsers and small rules: lengths, directions, asset types, capacities, heights, UTM zone, bbox."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin import TwinError, TwinOptions
from twin.assets import asset_type, capacity
from twin.build import utm_crs
from twin.buildings import building_height
from twin.cameras import COMPASS, parse_direction
from twin.cities import parse_bbox
from twin.graphs import parse_metres, way_filter


@pytest.mark.parametrize("text, metres", [
    ("3", 3.0), ("3.5 m", 3.5), ("2,5", 2.5), ("10'", 3.048), ("12 ft", 3.6576), ("6'6\"", 1.9812),
    ("4;5", 4.0), ("0.2km", 200.0), ("wide", None), ("-2", None), ("", None), (None, None),
])
def test_parse_metres(text, metres):
    got = parse_metres(text)
    assert got == (pytest.approx(metres) if metres is not None else None)


@given(st.floats(min_value=0.01, max_value=500, allow_nan=False).map(lambda v: round(v, 2)))
def test_parse_metres_round_trip(v):
    assert parse_metres(f"{v} m") == pytest.approx(v)


@given(st.integers(min_value=-720, max_value=720))
def test_direction_degrees_wrap_to_0_360(d):
    assert parse_direction(str(d)) == d % 360


@pytest.mark.parametrize("text, deg", [
    ("N", 0.0), ("ne", 45.0), ("ENE", 67.5), ("SSW", 202.5), ("NNW", 337.5), ("90°", 90.0), ("300-60", 0.0),
    ("W-N", 315.0), ("90;180", 90.0), ("up", None), ("", None),
])
def test_parse_direction(text, deg):
    assert parse_direction(text) == deg
    assert len(COMPASS) == 16


@pytest.mark.parametrize("tags, kind", [
    ({"railway": "station"}, "station"), ({"amenity": "bus_station"}, "station"),
    ({"highway": "pedestrian", "area": "yes"}, "square"), ({"place": "square"}, "square"),
    ({"leisure": "stadium"}, "stadium"), ({"amenity": "university"}, "school"),
    ({"healthcare": "hospital"}, "hospital"), ({"amenity": "police"}, "police"),
    ({"amenity": "fire_station"}, "fire_station"), ({"amenity": "place_of_worship"}, "place_of_worship"),
    ({"shop": "mall"}, "shopping"), ({"power": "substation"}, "substation"),
    ({"telecom": "exchange"}, "telecom"), ({"man_made": "water_tower"}, "water_works"),
    ({"amenity": "bench"}, None), ({"shop": "bakery"}, None), ({}, None),
    ({"railway": "tram_stop"}, "stop"), ({"highway": "bus_stop"}, "stop"),
    ({"public_transport": "platform"}, "stop"), ({"public_transport": "stop_position"}, None),
    ({"railway": "halt", "public_transport": "platform"}, "station"),
])
def test_asset_type(tags, kind):
    assert asset_type(tags) == kind


def test_a_stop_is_a_node_and_a_platform_area_a_feature():
    from twin.features import feature_kind

    platform = {"public_transport": "platform", "railway": "platform", "name": "Rautatientori"}
    assert asset_type(platform) == "stop" and asset_type(platform, area=True) is None
    assert feature_kind(platform) == "public_transport=platform"
    assert asset_type({"highway": "pedestrian", "public_transport": "platform"}, area=True) == "square"


def test_capacity_is_area_times_density_with_a_floor():
    assert capacity("square", 1000.0) == 2000 and capacity("square", 0.0) == 200
    assert capacity("stadium", 30000.0) == 30000 and capacity("police", 0.0) == 30


def test_building_height_rules():
    o = TwinOptions()
    assert building_height({"height": "12"}, o) == 12.0
    assert building_height({"building:levels": "4"}, o) == 12.0
    assert building_height({"height": "7 m", "building:levels": "9"}, o) == 7.0
    assert building_height({"building:levels": "x"}, o) == 9.0
    assert building_height({}, TwinOptions(default_height_m=5.0)) == 5.0
    assert building_height({"building:levels": "2"}, TwinOptions(level_height_m=3.5)) == 7.0


def test_osmnx_walk_and_drive_filters():
    assert way_filter({"highway": "footway"}, "walk") and not way_filter({"highway": "footway"}, "drive")
    assert way_filter({"highway": "primary"}, "drive") and way_filter({"highway": "primary"}, "walk")
    assert not way_filter({"highway": "motorway"}, "walk") and way_filter({"highway": "motorway"}, "drive")
    assert not way_filter({"highway": "footway", "access": "private"}, "walk")
    assert not way_filter({"highway": "residential", "sidewalk": "separate"}, "walk")
    assert not way_filter({"highway": "service", "service": "parking_aisle"}, "drive")
    assert not way_filter({"highway": "pedestrian", "area": "yes"}, "walk")
    assert not way_filter({"building": "yes"}, "walk")


def test_utm_zone():
    assert utm_crs(24.94, 60.17) == "EPSG:32635"      # Helsinki
    assert utm_crs(-2.93, 43.26) == "EPSG:32630"      # Bilbao
    assert utm_crs(21.77, 39.55) == "EPSG:32634"      # Trikala
    assert utm_crs(13.38, 49.75) == "EPSG:32633"      # Pilsen
    assert utm_crs(151.2, -33.9) == "EPSG:32756"      # Sydney, south


def test_parse_bbox():
    assert parse_bbox("24.9, 60.1,25.0,60.2") == (24.9, 60.1, 25.0, 60.2)
    assert parse_bbox([1, 2, 3, 4]) == (1.0, 2.0, 3.0, 4.0) and parse_bbox(None) is None
    for bad in ("1,2,3", "1,2,3,nan", "a,b,c,d", "3,2,1,4", "1,2,3,2", "-200,0,1,1", "0,-91,1,1"):
        with pytest.raises(TwinError, match="bbox"):
            parse_bbox(bad)
