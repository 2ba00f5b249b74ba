"""``resolve_place``: synthetic node names, asset names and ids, camera ids, streets; unknown -> hints."""

import pytest
from twin_toytown import write_toytown

from twin import TwinError, load_twin, synthetic_twin
from twin.places import resolve_place


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
