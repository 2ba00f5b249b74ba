"""CyberRange as a Sensor: what measure() hands out and when, on small, synthetic and Helsinki twins."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

import networkx as nx
import numpy as np
import pytest
from cyber_net import EPOCH0, campaigns, run, small_network

from agents.world import Targets, WorldView
from sensors.base import STATUSES, Sensor
from sensors.cyber import CyberError, build_cyber
from twin.network import attach_cameras, core_network

ATTACKS = [{"kind": "cyber_bruteforce", "target": "vms", "start_s": 20, "duration_s": 60},
           {"kind": "cyber_dos", "target": "sw-0001", "start_s": 100, "duration_s": 50},
           {"kind": "stream_hijack", "target": "cam-002", "start_s": 200, "duration_s": 30}]


def _syslog_epoch(line: str) -> float:
    return datetime.fromisoformat(line.split(" ")[1].replace("Z", "+00:00")).timestamp()


def test_measure_hands_out_each_record_once_when_it_is_reported():
    cr = run(small_network(12), ATTACKS, duration_s=300.0)
    assert isinstance(cr, Sensor) and cr.period_s == 1.0
    conns, logs = [], []
    for t in np.arange(1.0, 301.0):
        msgs = cr.measure(WorldView(float(t), Targets.empty()))
        times = []
        for topic, p in msgs:
            if topic == "net/conn":
                end = p["ts"] - EPOCH0 + p.get("duration", 0.0)
                assert end <= t + 1e-6                       # nothing is reported before it happened
                conns.append(p)
            else:
                assert topic == "host/syslog" and set(p) == {"host", "line"}
                tt = _syslog_epoch(p["line"]) - EPOCH0
                assert t - 1.0 - 1e-6 < tt <= t + 1e-6
                times.append(tt)
                logs.append(p)
        assert times == sorted(times)
    assert cr.flush() == []
    assert conns == cr.all_records() and logs == cr.all_syslog()
    assert len(conns) > 1000 and len(logs) > 100
    with pytest.raises(CyberError, match="before the previous call"):
        cr.measure(WorldView(10.0, Targets.empty()))


def test_flush_returns_what_measure_has_not_reached():
    cr = run(small_network(4), [], duration_s=120.0)
    first = cr.measure(WorldView(60.0, Targets.empty()))
    rest = cr.flush()
    assert first and rest
    assert [p for _, p in first + rest if _ == "net/conn"] == cr.all_records()


def test_same_seed_same_everything_other_seed_differs():
    a, b = run(small_network(10), ATTACKS, seed=5), run(small_network(10), ATTACKS, seed=5)
    c = run(small_network(10), ATTACKS, seed=6)
    assert a.all_records() == b.all_records() and a.all_syslog() == b.all_syslog()
    assert a.truth_events() == b.truth_events()
    assert a.all_records() != c.all_records()


def test_long_connection_thresholds_are_configurable():
    """With LongConnection durations redefined to every 60 s, each stream is logged once a minute."""
    from sensors.cyber import TrafficParams

    p = TrafficParams(long_conn_s=(60.0, 120.0))
    cr = build_cyber(small_network(3), [], rng=np.random.default_rng(0), epoch0=EPOCH0, duration_s=600.0,
                     params=p)
    rtsp = [r for r in cr.all_records() if r.get("service") == "rtsp"]
    by_uid = defaultdict(list)
    for r in rtsp:
        by_uid[r["uid"]].append(r["duration"])
    assert len(by_uid) == 3
    for durs in by_uid.values():
        assert durs[:9] == [60.0 * k for k in range(1, 10)] and len(durs) == 10 and 590 < durs[-1] < 600


def test_camera_status_values_and_network_without_cameras():
    cr = run(small_network(12), ATTACKS, duration_s=300.0)
    for t in (0.0, 120.0, 210.0, 299.0):
        st = cr.camera_status(t)
        assert len(st) == 12 and set(st.values()) <= set(STATUSES)
    assert cr.camera_status(210.0)["cam-002"] == "replayed"
    dos = {"kind": "cyber_dos", "target": "vms", "start_s": 5, "duration_s": 10}
    bare = build_cyber(core_network(), campaigns([dos]), rng=np.random.default_rng(1), epoch0=EPOCH0,
                       duration_s=60.0)
    assert bare.camera_status(8.0) == {}
    assert {r["conn_state"] for r in bare.all_records() if r["id.resp_h"] == "10.10.0.10"} == {"S0", "SF"}


def test_synthetic_twin_with_scenario_cameras():
    from twin import load_twin

    tw = load_twin({"synthetic": {"kind": "corridor", "length_m": 40, "width_m": 2}})
    attach_cameras(tw.network, {f"syn-{i}": (10.0 * i, 1.0) for i in range(4)})
    hijack = {"kind": "stream_hijack", "target": "syn-1", "start_s": 10, "duration_s": 20}
    cr = build_cyber(tw, campaigns([hijack]), rng=np.random.default_rng(2), epoch0=EPOCH0, duration_s=60.0)
    assert cr.camera_status(15.0) == {"syn-0": "ok", "syn-1": "replayed", "syn-2": "ok", "syn-3": "ok"}
    rtsp = [r for r in cr.all_records() if r.get("service") == "rtsp" and r["id.orig_h"] == "10.10.0.10"]
    assert len({r["id.resp_h"] for r in rtsp}) == 4


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory):
    from twin import load_twin

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_CACHE", str(tmp_path_factory.mktemp("twin-cache")))
        tw = load_twin("helsinki")
    attacks = [{"kind": "cyber_dos", "target": "vms", "start_s": 1200, "duration_s": 300},
               {"kind": "cyber_scan", "target": "agg-001", "start_s": 100, "duration_s": 600}]
    return tw, build_cyber(tw, campaigns(attacks), rng=np.random.default_rng(11), epoch0=EPOCH0,
                           duration_s=3600.0)


def test_helsinki_network_hour_streams_and_long_connection_records(helsinki):
    tw, cr = helsinki
    cams = [n for n, d in tw.network.nodes(data=True) if d["kind"] == "camera"]
    assert len(cams) == 221 and set(cr.camera_status(0.0)) == set(cams)
    recs = cr.all_records()
    assert {"rtsp", "dns", "ntp", "ssl", "ssh"} <= {r.get("service") for r in recs}
    rtsp = [r for r in recs if r.get("service") == "rtsp" and r["id.orig_h"] == "10.10.0.10"
            and r["conn_state"] != "S0"]
    assert len({r["id.resp_h"] for r in rtsp}) == 221
    mbit = np.array([r["resp_bytes"] * 8 / r["duration"] / 1e6 for r in rtsp if r["duration"] > 5])
    assert mbit.min() > 1.8 and mbit.max() < 8.7 and 4.0 < mbit.mean() < 6.0
    by_uid = defaultdict(list)
    for r in rtsp:
        by_uid[r["uid"]].append(r)
    # first sessions (started at t < 10 s) cross the 10-min long-connection threshold, then break at the DoS
    first = [rows for rows in by_uid.values() if rows[0]["ts"] - EPOCH0 < 10.0]
    assert len(first) == 221
    for rows in first:
        assert [r["conn_state"] for r in rows] == ["S1", "RSTO"]
        assert rows[0]["duration"] == 600.0 and rows[1]["resp_bytes"] > rows[0]["resp_bytes"]
    # second sessions run from after the DoS to the end of the run, flushed there as S1
    second = [rows for rows in by_uid.values() if rows[0]["ts"] - EPOCH0 > 1500.0]
    assert len(second) == 221
    assert Counter(len(rows) for rows in second) == {3: 221}             # 10 min, 30 min, end of run
    assert all(rows[-1]["conn_state"] == "S1" for rows in second)
    assert set(cr.camera_status(1300.0).values()) == {"offline"}
    assert set(cr.camera_status(1520.0).values()) == {"ok"}
    scan = [e for e in cr.truth_events() if e["kind"] == "attack_flow" and e["phase"] == "service_discovery"]
    paths = nx.single_source_shortest_path(tw.network, "vms")
    under = {tw.network.nodes[c]["ip"] for c in cams if "agg-001" in paths[c]} | {"10.10.1.1"}
    assert len(under) > 20 and {e["dst"] for e in scan} == under


def test_isolating_a_switch_stops_its_flows_and_cuts_its_cameras():
    net = small_network(6)
    cr = build_cyber(net, [], rng=np.random.default_rng(0), epoch0=EPOCH0, duration_s=300.0)
    cam = next(n for n, d in net.nodes(data=True) if d["kind"] == "camera")
    switch = next(n for n in net.neighbors(cam) if net.nodes[n]["kind"] == "access_switch")
    behind = {net.nodes[n]["ip"] for n in net.neighbors(switch) if net.nodes[n]["kind"] == "camera"}
    before = cr.all_records()
    cut = cr.isolate(100.0, switch)
    assert set(cut) == behind | {net.nodes[switch]["ip"]}
    msgs = [p for topic, p in cr.measure(WorldView(300.0, Targets.empty())) if topic == "net/conn"]
    late = [r for r in msgs if r["ts"] - EPOCH0 >= 100.0 and ({r["id.orig_h"], r["id.resp_h"]} & set(cut))]
    assert not late and len(msgs) < len(before)
    assert any(r["ts"] - EPOCH0 < 100.0 and {r["id.orig_h"], r["id.resp_h"]} & set(cut) for r in msgs)
    links = cr.camera_links(150.0)
    cams_cut = {c for c, link in links.items() if not link.connected}
    assert cams_cut == {net.nodes[n]["camera_id"] for n in net.neighbors(switch)
                        if net.nodes[n]["kind"] == "camera"}
    assert all(link.connected for link in cr.camera_links(99.0).values())
    assert [r["kind"] for r in cr.truth_events()].count("network_isolated") == 1
    with pytest.raises(CyberError, match="no network node"):
        cr.isolate(120.0, "no-such-host")


def test_failover_escapes_a_video_server_attack_but_not_an_attack_on_the_camera():
    net = small_network(6)
    cams = sorted(d["camera_id"] for _, d in net.nodes(data=True) if d["kind"] == "camera")
    hijacked = cams[0]
    cr = run(net, [{"kind": "cyber_dos", "target": "vms", "start_s": 50, "duration_s": 200},
                   {"kind": "stream_hijack", "target": hijacked, "start_s": 60, "duration_s": 200}],
             duration_s=300.0)
    links = cr.camera_links(100.0)
    assert all(link.status == "offline" for link in links.values())
    moved = cr.failover(120.0, cams[:4])
    assert moved == cams[:4]
    before, after = cr.camera_links(119.0), cr.camera_links(121.0)
    assert all(not before[c].connected or before[c].status == "offline" for c in cams)
    for c in cams[1:4]:                     # the server's outage no longer reaches them
        assert after[c].status == "ok" and after[c].connected
    assert after[hijacked].status == "replayed"   # the hijack sits on the camera's own stream
    for c in cams[4:]:                      # not failed over: still blind
        assert after[c].status == "offline"
    assert cr.camera_status(121.0)[cams[1]] == "ok" and cr.camera_status(121.0)[cams[5]] == "offline"
    rec = [r for r in cr.truth_events() if r["kind"] == "video_failover"]
    assert len(rec) == 1 and rec[0]["t"] == 120.0 and rec[0]["cameras"] == cams[:4]
    with pytest.raises(CyberError, match="not a camera"):
        cr.failover(130.0, ["vms"])
    plain = core_network()
    plain.remove_node("backup")
    attach_cameras(plain, {"cam-x": (10.0, 10.0)})
    with pytest.raises(CyberError, match="no backup server"):
        build_cyber(plain, [], rng=np.random.default_rng(0), epoch0=EPOCH0, duration_s=60.0).failover(
            1.0, ["cam-x"])
