"""Responders start at their stations and reach the scene exactly after the drive graph's travel time."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from agents.model import CityModel
from agents.responders import Responder, create_responders
from agents.world import VEHICLE
from twin import load_twin

DT = 0.5


@pytest.fixture(scope="module")
def helsinki():
    return load_twin("helsinki")


def run_until(model, t0: float, t1: float) -> list[dict]:
    out, t = [], t0
    while t < t1:
        model.advance(t, DT)
        t += DT
        out += model.drain_truth()
    return out


def test_units_at_osm_stations_and_documented_fallbacks(helsinki):
    model = CityModel(helsinki, rng=np.random.default_rng(0))
    units = create_responders(model)
    fire = [u for u in units if u.kind == "fire"]
    stations = [a for a in helsinki.assets if a.type == "fire_station"]
    assert len(fire) == len(stations) >= 1 and fire[0].station == stations[0].id
    assert fire[0].station_node == model.drive.nearest(stations[0].xy)
    # this extract has no police station or hospital: one fallback unit each, at the same fixed node
    for kind in ("police", "ambulance"):
        (u,) = [u for u in units if u.kind == kind]
        assert u.station == "fallback"
    assert len(model.responders) == len(units)
    assert model.individual_targets().ids.size == 0            # idle units are in their garages


def test_eta_is_the_drive_graph_travel_time(helsinki):
    model = CityModel(helsinki, rng=np.random.default_rng(0))
    create_responders(model)
    dest_xy = np.array(next(a.xy for a in helsinki.assets if a.name == "Senaatintori"))
    run_until(model, 0.0, 3.0)
    unit = model.dispatch("fire", dest_xy, 3.0, reason="test")
    assert unit is not None and unit.kind == "fire"
    dest = model.drive.nearest(dest_xy)
    eta = nx.shortest_path_length(helsinki.drive, unit.station_node, dest, weight="travel_time")
    truth = model.drain_truth()
    (sent,) = [r for r in truth if r["kind"] == "dispatched"]
    assert sent["t"] == 3.0 and sent["eta_s"] == pytest.approx(eta, abs=1e-3) and eta > 10
    assert sent["unit"] == "fire" and sent["reason"] == "test"
    # a vehicle on the road while driving
    truth = run_until(model, 3.0, 3.0 + eta / 2)
    tg = model.individual_targets()
    mine = tg.ids == unit.tid
    assert mine.sum() == 1 and tg.cls[mine][0] == VEHICLE and tg.speed[mine][0] > 0
    truth += run_until(model, 3.0 + eta / 2, 3.0 + eta + 2)
    (there,) = [r for r in truth if r["kind"] == "on_scene"]
    assert there["t"] == pytest.approx(3.0 + eta, abs=1e-9)
    assert np.allclose(there["xy"], model.drive.node_xy(dest))
    assert unit.status == "on_scene"
    # the only fire unit is busy now
    assert model.dispatch("fire", dest_xy, 10.0) is None
    with pytest.raises(ValueError, match="one of police, fire, ambulance"):
        model.dispatch("navy", dest_xy, 10.0)


def test_the_nearest_idle_unit_goes(helsinki):
    model = CityModel(helsinki, rng=np.random.default_rng(0))
    drive = helsinki.drive
    nodes = sorted(drive.nodes, key=str)
    far, near_dest = nodes[0], nodes[len(nodes) // 2]
    dest_xy = model.drive.node_xy(near_dest)
    a = Responder(model, "police", station_node=far, station="far")
    b = Responder(model, "police", station_node=near_dest, station="near")
    unit = model.dispatch("police", dest_xy, 0.0)
    assert unit is b and a.status == "idle"
    truth = model.drain_truth()
    assert [r["eta_s"] for r in truth if r["kind"] == "dispatched"] == [0.0]
    assert [r["kind"] for r in run_until(model, 0.0, 1.0)] == ["on_scene"]
    assert model.dispatch("police", dest_xy, 1.0) is a
