"""Functionality, cascades along the dependency graph and resilience loss (analytics.resilience)."""

import csv
import math
import os

import networkx as nx
import numpy as np
import pytest

from analytics.resilience import CASCADE, RESTORE_S, Resilience, ResilienceError, ResilienceParams

ASSETS = [
    {"id": "sub", "type": "substation", "name": "Sörnäinen substation"},
    {"id": "sub2", "type": "substation", "name": "Other substation"},
    {"id": "st", "type": "station", "name": "Central, main hall"},
    {"id": "hosp", "type": "hospital", "name": "Hospital"},
    {"id": "ww", "type": "water_works", "name": "Water works"},
    {"id": "sq", "type": "square", "name": "Square fed elsewhere"},
    {"id": "tel", "type": "telecom", "name": "Exchange"},
    {"id": "pol", "type": "police", "name": "Police"},
]


def graph():
    """sub powers st, hosp, ww and tel; ww gives hosp water; tel serves pol; sub2 powers sq and pol."""
    g = nx.DiGraph()
    g.add_nodes_from(a["id"] for a in ASSETS)
    for dep in ("st", "hosp", "ww", "tel"):
        g.add_edge("sub", dep, kind="power", distance_m=500.0)
    g.add_edge("ww", "hosp", kind="water", distance_m=900.0)
    g.add_edge("tel", "pol", kind="telecom", distance_m=300.0)
    g.add_edge("sub2", "sq", kind="power", distance_m=200.0)
    g.add_edge("sub2", "pol", kind="power", distance_m=200.0)
    return g


def at(res, t, asset):
    return float(res.q(t)[res.index[asset]])


def test_a_lost_substation_degrades_what_it_feeds_each_restored_in_its_own_time():
    """The substation is lost at t = 100 and restored linearly over 1800 s: it supplies again at half
    functionality (t_up = 100 + 900 = 1000). Its station falls to 0.1, its hospital (generator) to 0.6 and
    each comes back over its own restore time after t_up; a square fed by another substation is untouched."""
    res = Resilience(ASSETS, graph())
    res.impact(100.0, "sub", 0.0, 1800.0, cause="INC-0001")
    keep_st, keep_h = CASCADE["power"]["*"][1], CASCADE["power"]["hospital"][1]
    assert at(res, 99.0, "st") == 1.0
    assert at(res, 100.0, "st") == pytest.approx(keep_st)
    assert at(res, 500.0, "hosp") == pytest.approx(keep_h)
    assert at(res, 500.0, "sub") == pytest.approx(400 / 1800)
    t_up = 1000.0
    # half-way through each dependent's own restore time it is half-way back
    r_st, r_h = RESTORE_S["station"], RESTORE_S["hospital"]
    assert at(res, t_up + r_st / 2, "st") == pytest.approx(keep_st + (1 - keep_st) / 2)
    assert at(res, t_up + r_st, "st") == 1.0
    assert at(res, t_up + r_st, "hosp") == pytest.approx(keep_h + (1 - keep_h) * r_st / r_h)
    assert at(res, t_up + r_h, "hosp") == 1.0
    # not downstream: untouched at every time
    qs = res.q_many(np.linspace(0.0, 5000.0, 501))
    assert (qs[:, res.index["sq"]] == 1.0).all() and (qs[:, res.index["sub2"]] == 1.0).all()
    # every cascade went along an edge of the graph, from the impact's cause
    g = graph()
    for ev in res.events[1:]:
        prov, dep, kind = ev["via"]
        assert g.edges[prov, dep]["kind"] == kind and ev["cause"] == "INC-0001"
    assert res.affected() == ["sub", "st", "hosp", "ww"]


def test_a_delayed_cascade_needs_a_long_outage():
    """The exchange runs 4 h on batteries and the hospital's water lasts a day: a 1-h outage of the substation
    costs them nothing, a 6-h one takes the exchange down after 4 h and its police after it."""
    short = Resilience(ASSETS, graph(), params=ResilienceParams(recovery="step"))
    short.impact(0.0, "sub", 0.0, 3600.0)
    assert "tel" not in short.affected() and "pol" not in short.affected()
    long = Resilience(ASSETS, graph(), params=ResilienceParams(recovery="step"))
    long.impact(0.0, "sub", 0.0, 6 * 3600.0)
    delay = CASCADE["power"]["telecom"][0]
    assert at(long, delay - 1.0, "tel") == 1.0
    assert at(long, delay, "tel") == 0.0
    assert at(long, delay, "pol") == pytest.approx(CASCADE["telecom"]["*"][1])
    assert at(long, 6 * 3600.0, "tel") == 0.0  # provider back; the exchange restores stepwise over 30 min
    assert at(long, 6 * 3600.0 + RESTORE_S["telecom"], "tel") == 1.0
    # the water works (0.2) is down for 6 h; the hospital's water lasts 24 h: no water cascade
    assert [e["via"][2] for e in long.events if e["asset"] == "hosp"] == ["power"]


def test_loss_is_the_analytic_triangle_area():
    """Linear restoration from q over T loses (1 - q) T / 2 seconds; stepwise (1 - q) T; a hold adds a
    rectangle (1 - q) * hold."""
    res = Resilience(ASSETS)
    res.impact(10.0, "sq", 0.2, 1000.0)
    res.impact(10.0, "st", 0.2, 1000.0, mode="step")
    res.impact(10.0, "pol", 0.5, 600.0, hold_s=300.0)
    loss = res.loss(5000.0)
    assert loss["sq"]["loss_s"] == pytest.approx(0.8 * 1000 / 2)
    assert loss["sq"]["outage_h"] == pytest.approx(400 / 3600)
    assert loss["st"]["loss_s"] == pytest.approx(0.8 * 1000)
    assert loss["pol"]["loss_s"] == pytest.approx(0.5 * 300 + 0.5 * 600 / 2)
    assert loss["sq"]["min_q"] == pytest.approx(0.2) and loss["sq"]["t_min"] == 10.0
    # cut short at t_end: the trapezoid up to it
    assert res.loss(510.0)["sq"]["loss_s"] == pytest.approx((0.8 + 0.4) / 2 * 500)


def test_cascade_loss_is_the_hold_rectangle_plus_the_restore_triangle():
    res = Resilience(ASSETS, graph())
    res.impact(0.0, "sub", 0.0, 600.0, mode="step")  # down until 600 exactly
    keep = CASCADE["power"]["*"][1]
    expected = (1 - keep) * 600 + (1 - keep) * RESTORE_S["station"] / 2
    assert res.loss(10_000.0)["st"]["loss_s"] == pytest.approx(expected)


def test_overlapping_impacts_combine_as_the_worst_and_integrate_exactly():
    res = Resilience(ASSETS)
    res.impact(0.0, "sq", 0.0, 100.0)
    res.impact(10.0, "sq", 0.5, 1000.0)
    res.impact(50.0, "sq", 0.2, 200.0, mode="step", hold_s=30.0)
    ts = np.linspace(0.0, 2000.0, 400_001)
    q = res.q_many(ts)[:, res.index["sq"]]
    numeric = float(np.sum((ts[1:] - ts[:-1]) * (2 - q[1:] - q[:-1]) / 2))
    assert res.loss(2000.0)["sq"]["loss_s"] == pytest.approx(numeric, rel=1e-4)
    assert at(res, 60.0, "sq") == pytest.approx(0.2)  # the step impact is the worst then


def test_a_cycle_in_the_graph_ends_and_an_instant_restore_is_no_nan():
    assets = [{"id": "a", "type": "telecom", "name": "A"}, {"id": "b", "type": "telecom", "name": "B"}]
    g = nx.DiGraph([("a", "b", {"kind": "telecom"}), ("b", "a", {"kind": "telecom"})])
    params = ResilienceParams(cascade={"telecom": {"*": (0.0, 0.0)}})
    res = Resilience(assets, g, params=params)
    assert res.impact(0.0, "a", 0.0, 100.0) == 2  # a, then b; b does not cascade back into a
    res.impact(5.0, "b", 0.0, 0.0)
    qs = res.q_many([0.0, 5.0, 50.0, 1e6])
    assert np.isfinite(qs).all() and ((qs >= 0) & (qs <= 1)).all()
    assert all(math.isfinite(v) for d in res.loss(1e6).values() for v in d.values())


def test_sample_and_resilience_csv_parse_back(tmp_path):
    res = Resilience(ASSETS, graph())
    res.impact(0.0, "sub", 0.0, 600.0, cause="INC-0002")
    rows = res.sample([0.0, 300.0, 4000.0])
    assert {a for _, a, _ in rows} == {"sub", "st", "hosp", "ww"}
    assert len(res.sample([0.0], every_asset=True)) == len(ASSETS)
    path = tmp_path / "run" / "resilience.csv"
    res.write_csv(path, rows)
    with open(path, newline="", encoding="utf-8") as fh:
        back = list(csv.DictReader(fh))
    assert list(back[0]) == ["t", "asset", "name", "type", "q"]
    assert len(back) == len(rows)
    st = [r for r in back if r["asset"] == "st"]
    assert [r["name"] for r in st] == ["Central, main hall"] * 3  # a comma in a name is quoted
    assert [float(r["q"]) for r in st] == [pytest.approx(0.1), pytest.approx(0.1), 1.0]
    assert [float(r["t"]) for r in st] == [0.0, 300.0, 4000.0]
    assert os.listdir(path.parent) == ["resilience.csv"]  # no temp file left behind


def test_csv_write_is_atomic_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    res = Resilience(ASSETS)
    res.impact(0.0, "sq", 0.5, 60.0)
    path = tmp_path / "resilience.csv"
    res.write_csv(path, res.sample([0.0]))
    before = path.read_text(encoding="utf-8")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        res.write_csv(path, res.sample([0.0, 30.0]))
    assert path.read_text(encoding="utf-8") == before
    assert os.listdir(tmp_path) == ["resilience.csv"]


def test_bad_inputs_raise_resilience_error():
    res = Resilience(ASSETS, graph())
    with pytest.raises(ResilienceError, match="asset_id"):
        res.impact(0.0, "nowhere", 0.0, 10.0)
    with pytest.raises(ResilienceError, match="q"):
        res.impact(0.0, "st", 1.5, 10.0)
    with pytest.raises(ResilienceError, match="restore_s"):
        res.impact(0.0, "st", 0.5, float("inf"))
    with pytest.raises(ResilienceError, match="mode"):
        res.impact(0.0, "st", 0.5, 10.0, mode="gradual")
    assert res.impact(0.0, "st", 1.0, 10.0) == 0 and res.loss(100.0) == {}
    with pytest.raises(ResilienceError, match="kind"):
        Resilience(ASSETS, nx.DiGraph([("sub", "st", {"kind": "gas"})]))
    with pytest.raises(ResilienceError, match="not in the assets table"):
        Resilience(ASSETS, nx.DiGraph([("sub", "ghost", {"kind": "power"})]))
    with pytest.raises(ResilienceError, match="recovery"):
        Resilience(ASSETS, params=ResilienceParams(recovery="exponential"))
