"""Attack campaigns leave the traces analysts look for, reach the cameras, and are tagged with ATT&CK ids."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import numpy as np
import pytest
from cyber_net import EPOCH0, campaigns, run, small_network

from scenarios._fields import Report
from scenarios.schema import ScenarioError, attack_specs
from sensors.cyber import DEFAULT_PORTS, CyberError, build_cyber

VMS = "10.10.0.10"


def _ts(r):
    return r["ts"] - EPOCH0


def test_dos_on_vms_floods_it_and_blinds_every_camera_during_the_window_only():
    g = small_network(30)
    cr = run(g, [{"kind": "cyber_dos", "target": "vms", "start_s": 300, "duration_s": 200}], duration_s=900.0)
    recs = cr.all_records()
    to_vms = np.array([_ts(r) for r in recs if r["id.resp_h"] == VMS])
    base = ((to_vms < 300).sum() + (to_vms >= 500).sum()) / 700.0 * 60.0      # flows/min outside the attack
    during = ((to_vms >= 300) & (to_vms < 500)).sum() / 200.0 * 60.0
    ratio = during / base
    # measured: ~6000 flows/min during the flood vs ~2.7/min baseline (ratio ~2260)
    assert base > 0 and ratio > 100, f"DoS/baseline flows per minute {ratio:.0f} ({during:.0f}/{base:.1f})"
    flood = [r for r in recs if r["id.resp_h"] == VMS and 300 <= _ts(r) < 500 and r["conn_state"] == "S0"]
    assert len({r["id.orig_h"] for r in flood}) > 1000                       # spoofed sources
    cams = [n for n, d in g.nodes(data=True) if d["kind"] == "camera"]
    assert set(cr.camera_status(250.0).values()) == {"ok"}
    assert cr.camera_status(301.0) == dict.fromkeys(cams, "offline")
    assert set(cr.camera_status(499.0).values()) == {"offline"}
    assert set(cr.camera_status(515.0).values()) == {"ok"}                    # reconnected (retry every 10 s)
    # the server's streams break (RSTO) and its retries go unanswered until the flood ends
    rtsp = [r for r in recs if r["id.resp_p"] == 554 and r["id.orig_h"] == VMS]
    broken = [r for r in rtsp if r["conn_state"] == "RSTO"]
    assert len(broken) == 30 and all(300 < _ts(r) + r["duration"] < 304 for r in broken)
    retries = [r for r in rtsp if r["conn_state"] == "S0"]
    assert retries and all(300 <= _ts(r) < 510 for r in retries)
    # management polls to cameras during the outage are unanswered, normal before
    lost = [p["line"] for p in cr.all_syslog() if "stream lost" in p["line"]]
    back = [p["line"] for p in cr.all_syslog() if "stream restored" in p["line"]]
    assert len(lost) == len(back) == 30 and all(" vms vmsd " in ln for ln in lost + back)
    polls = [r for r in recs if r["id.orig_h"] == VMS and r["id.resp_p"] == 443]
    assert {r["conn_state"] for r in polls if 310 <= _ts(r) < 490} == {"S0"}
    assert {r["conn_state"] for r in polls if _ts(r) < 290} == {"SF"}


def test_dos_on_an_access_switch_takes_down_only_its_cameras():
    g = small_network(30)
    behind = sorted(n for n in g.neighbors("sw-0002") if g.nodes[n]["kind"] == "camera")
    dos = {"kind": "cyber_dos", "target": "sw-0002", "start_s": 100, "duration_s": 100}
    cr = run(g, [dos], duration_s=400.0)
    st = cr.camera_status(150.0)
    assert sorted(c for c, s in st.items() if s == "offline") == behind
    assert Counter(st.values())["ok"] == 30 - len(behind)
    ips = {g.nodes[c]["ip"] for c in behind}
    attack = {r["uid"] for r in cr.truth_events() if r["kind"] == "attack_flow"}   # not background probes
    flood = [r for r in cr.all_records() if r["proto"] == "udp" and r["conn_state"] == "S0"
             and 100 <= _ts(r) < 200 and r["uid"] in attack]
    assert flood and {r["id.resp_h"] for r in flood} <= ips
    mbps = sum(r["orig_bytes"] for r in flood) * 8 / 1e6 / 100.0
    assert 1200 < mbps < 1800                                   # 1.5 x the 1 Gb/s uplink by default
    weak = run(g, [{"kind": "cyber_dos", "target": "sw-0002", "start_s": 100, "duration_s": 100, "mbps": 10}],
               duration_s=400.0)
    assert set(weak.camera_status(150.0).values()) == {"ok"}    # 10 Mb/s does not fill a 1 Gb/s uplink
    # 850 Mb/s + the streams (5-8 cameras x 2-8 Mb/s) fill 80-100 % of the uplink: degraded, not offline
    mid = run(g, [{**dos, "mbps": 850}], duration_s=400.0)
    st = mid.camera_status(150.0)
    assert sorted(c for c, s in st.items() if s == "degraded") == behind and "offline" not in st.values()
    assert not [r for r in mid.all_records() if r.get("service") == "rtsp" and r["conn_state"] == "RSTO"]


def test_scan_touches_many_ports_and_hosts_from_one_source():
    g = small_network(30)
    hosts = ["sw-0001"] + [n for n in g.neighbors("sw-0001") if g.nodes[n]["kind"] == "camera"]
    scan = {"kind": "cyber_scan", "target": "sw-0001", "start_s": 60, "duration_s": 300, "src": "admin"}
    cr = run(g, [scan], duration_s=600.0)
    src = g.nodes["admin"]["ip"]
    scan = [r for r in cr.all_records() if r["id.orig_h"] == src and r["proto"] in ("tcp", "icmp")
            and r.get("service") is None]
    tcp = [r for r in scan if r["proto"] == "tcp"]
    assert {r["id.resp_p"] for r in tcp} == set(DEFAULT_PORTS)
    assert {r["id.resp_h"] for r in tcp} == {g.nodes[h]["ip"] for h in hosts}
    assert len({(r["id.resp_h"], r["id.resp_p"]) for r in tcp}) == len(hosts) * len(DEFAULT_PORTS)
    st = Counter(r["conn_state"] for r in tcp)
    assert st["REJ"] > 10 * st["RSTO"] > 0          # most ports closed; 80/443/554 open on cameras
    assert {r["history"] for r in tcp if r["conn_state"] == "RSTO"} == {"ShR"}
    assert len({r["id.resp_h"] for r in scan if r["proto"] == "icmp"}) == len(hosts)


def test_bruteforce_fills_syslog_with_sshd_failures_from_one_source():
    bf = {"kind": "cyber_bruteforce", "target": "vms", "start_s": 100, "duration_s": 200,
          "src": "203.0.113.9", "rate_per_s": 2}
    cr = run(small_network(6), [bf], duration_s=600.0)
    lines = [p for p in cr.all_syslog() if "Failed password" in p["line"]]
    srcs = Counter(p["line"].split(" from ")[1].split(" ")[0] for p in lines)
    (top, n), *others = srcs.most_common()
    assert top == "203.0.113.9" and n >= 400               # 2 conn/s x 200 s x 1-3 guesses
    assert all(c <= 2 for _, c in others)                   # an admin's occasional typo, nothing more
    assert {p["host"] for p in lines if "203.0.113.9" in p["line"]} == {"vms"}
    ssh = [r for r in cr.all_records() if r["id.orig_h"] == "203.0.113.9"]
    assert len(ssh) >= 390
    assert {(r["id.resp_h"], r["id.resp_p"], r["service"]) for r in ssh} == {(VMS, 22, "ssh")}


def test_beacon_intervals_are_regular():
    cr = run(small_network(6), [{"kind": "cyber_beacon", "target": "cam-002", "src": "198.51.100.7",
                                 "start_s": 0, "duration_s": 1800, "interval_s": 45, "jitter_s": 1.5}],
             duration_s=1800.0)
    t = np.sort([_ts(r) for r in cr.all_records() if r["id.resp_h"] == "198.51.100.7"])
    gaps = np.diff(t)
    assert len(t) == 40
    assert abs(np.median(gaps) - 45.0) < 1.0 and gaps.min() > 45 - 3.01 and gaps.max() < 45 + 3.01
    assert gaps.std() / gaps.mean() < 0.05


def test_stream_hijack_replays_the_target_camera_only_during_the_window():
    g = small_network(10)
    cr = run(g, [{"kind": "stream_hijack", "target": "cam-004", "start_s": 200, "duration_s": 120}],
             duration_s=600.0)
    assert cr.camera_status(199.0)["cam-004"] == "ok"
    assert cr.camera_status(200.0)["cam-004"] == "replayed"
    assert cr.camera_status(319.0)["cam-004"] == "replayed"
    assert cr.camera_status(320.0)["cam-004"] == "ok"
    assert Counter(cr.camera_status(250.0).values()) == {"ok": 9, "replayed": 1}
    ip = g.nodes["cam-004"]["ip"]
    rtsp = [r for r in cr.all_records() if r["id.resp_h"] == ip and r["id.resp_p"] == 554]
    assert [r["conn_state"] for r in rtsp if r["id.orig_h"] == VMS and r["conn_state"] != "S1"] == ["RSTR"]
    thief = [r for r in rtsp if r["id.orig_h"] != VMS]
    assert len(thief) == 1 and thief[0]["conn_state"] == "SF" and 119 < thief[0]["duration"] < 120.5


def test_truth_events_carry_the_attack_technique_ids():
    attacks = [{"kind": "bag_leaver", "at": "square", "start_s": 5},
               {"kind": "cyber_scan", "target": "vms", "start_s": 10, "duration_s": 30},
               {"kind": "cyber_bruteforce", "target": "vms", "start_s": 50, "duration_s": 30},
               {"kind": "cyber_dos", "target": "soc", "start_s": 100, "duration_s": 20},
               {"kind": "cyber_beacon", "target": "cam-001", "start_s": 0, "duration_s": 300, "id": "c2"},
               {"kind": "stream_hijack", "target": "sw-0001", "start_s": 150, "duration_s": 30}]
    cr = run(small_network(10), attacks, duration_s=300.0)
    truth = cr.truth_events()
    phases = [e for e in truth if e["kind"] == "attack_phase"]
    got = {(e["attack"], e["phase"], e["technique"]) for e in phases}
    assert got == {("cyber_scan", "host_discovery", "T1595"), ("cyber_scan", "service_discovery", "T1046"),
                   ("cyber_bruteforce", "brute_force", "T1110"), ("cyber_dos", "network_dos", "T1498"),
                   ("cyber_beacon", "c2_beacon", "T1071"), ("stream_hijack", "hijack_control", "T0813"),
                   ("stream_hijack", "denial_of_view", "T0815")}
    assert {e["id"] for e in phases} == {"cyber_scan-1", "cyber_bruteforce-2", "cyber_dos-3", "c2",
                                         "stream_hijack-5"}
    assert all(e["src"] and e["dst"] and e["t_end"] >= e["t"] for e in phases)
    assert {e["src"] for e in phases if e["attack"] == "cyber_dos"} == {"spoofed"}
    assert [e["dst"] for e in phases if e["attack"] == "cyber_bruteforce"] == [VMS]
    hij = [e for e in phases if e["attack"] == "stream_hijack"]
    assert all(e["target"] == "sw-0001" and len(e["cameras"]) >= 1 for e in hij)
    assert [e["t"] for e in truth] == sorted(e["t"] for e in truth)
    flows = [e for e in truth if e["kind"] == "attack_flow"]
    uids = {r["uid"] for r in cr.all_records()}
    assert flows and all(e["uid"] in uids and e["technique"].startswith("T") for e in flows)
    assert {e["technique"] for e in flows} == {t for _, _, t in got} - {"T0813"}
    replayed = [e for e in truth if e["kind"] == "camera_status" and e["status"] == "replayed"]
    assert replayed and all(e["id"] == "stream_hijack-5" and "xy" in e for e in replayed)


def test_bad_attack_entries_are_scenario_errors_naming_index_and_key():
    """The schema checks every field of an entry (types, bounds, unknown keys), all problems at once."""
    cases = [({"kind": "cyber_dos", "start_s": 3}, r"attacks\[1\]\.target: is required"),
             ({"kind": "cyber_dos", "target": "vms", "start_s": -1}, r"attacks\[1\]\.start_s: must be >= 0"),
             ({"kind": "cyber_dos", "target": "vms", "start_s": 1, "rate": 3}, r"\[1\]\.rate: unknown"),
             ({"kind": "cyber_dos", "target": "vms", "start_s": 1, "duration_s": 0}, r"duration_s: must"),
             ({"kind": "cyber_scan", "target": "vms", "start_s": 1, "ports": [80, "x"]}, r"\.ports\[1\]:"),
             ({"kind": "cyber_dos", "target": "vms", "start_s": 1, "mbps": True}, r"mbps: must be a number")]
    for bad, pattern in cases:
        with pytest.raises(ScenarioError, match=pattern) as exc:
            attack_specs([{"kind": "loiterer", "at": "x"}, bad])
        assert exc.value.exit_code == 2 and "\n" not in str(exc.value)
    with pytest.raises(ScenarioError) as exc:
        attack_specs([{"kind": "cyber_dos", "start_s": -1, "rate": 3}])
    assert len(exc.value.problems) == 3


def test_what_the_network_cannot_satisfy_raises_one_line_cyber_errors():
    g = small_network(5)
    rng = np.random.default_rng(0)
    cases = [({"kind": "cyber_dos", "target": "vmz", "start_s": 1}, r"attacks\[1\]\.target: .*'vmz'.*vms"),
             ({"kind": "cyber_scan", "target": "vms", "start_s": 1, "src": "nowhere"}, r"\.src: 'nowhere'"),
             ({"kind": "stream_hijack", "target": "soc", "start_s": 1}, r"\.target: 'soc' \(soc\)"),
             ({"kind": "cyber_beacon", "target": "cam-001", "start_s": 9999}, r"start_s: .*run end")]
    for bad, pattern in cases:
        with pytest.raises(CyberError, match=pattern) as exc:
            build_cyber(g, campaigns([{"kind": "loiterer", "at": "x"}, bad]), rng=rng, epoch0=EPOCH0,
                        duration_s=600.0)
        assert exc.value.exit_code == 2 and "\n" not in str(exc.value)
        assert isinstance(exc.value, ValueError)
    with pytest.raises(CyberError, match="no 'vms'"):
        build_cyber(nx.Graph(), [], rng=rng, epoch0=EPOCH0, duration_s=60.0)
    # with a report, every problem goes there and the rest is built
    rep = Report("s.yaml", {})
    entries = [{"kind": "cyber_dos", "target": "vmz"},
               {"kind": "cyber_scan", "target": "vms", "src": "nowhere"},
               {"kind": "cyber_dos", "target": "vms", "duration_s": 5}]
    cr = build_cyber(g, campaigns(entries), rng=rng, epoch0=EPOCH0, duration_s=60.0, report=rep)
    assert [p for _, p, _ in rep.problems] == ["attacks[0].target", "attacks[1].src"]
    assert [a.id for a in cr.attacks] == ["cyber_dos-2"]
    # an IP of the network is a valid target, and a node name that differs only in case gets a hint
    cr = build_cyber(g, campaigns([{"kind": "cyber_dos", "target": VMS, "start_s": 1, "duration_s": 5}]),
                     rng=rng, epoch0=EPOCH0, duration_s=60.0)
    phases = [e for e in cr.truth_events() if e["kind"] == "attack_phase"]
    assert [(e["target"], e["dst"]) for e in phases] == [("vms", VMS)]
    with pytest.raises(CyberError, match=r"closest: .*cam-001"):
        build_cyber(g, campaigns([{"kind": "stream_hijack", "target": "CAM-001", "start_s": 1}]), rng=rng,
                    epoch0=EPOCH0, duration_s=60.0)


def test_camera_links_degraded_share_and_hijack_replay():
    """A flood that fills 88 % of a 1 Gbit/s switch uplink (with the streams over it) lets through the
    share of frames the congestion model gives; a hijack cuts the session for 1-3 s, then replays its 20 s
    loop; only the hijacked camera keeps its recent picture."""
    g = small_network(10)
    cam = "cam-004"
    sw = next(n for n in g.neighbors(cam) if g.nodes[n]["kind"] == "access_switch")
    behind = sorted(c for c in g.neighbors(sw) if g.nodes[c]["kind"] == "camera")
    flood = {"kind": "cyber_dos", "target": sw, "start_s": 100, "duration_s": 60, "mbps": 850.0}
    hijack = {"kind": "stream_hijack", "target": cam, "start_s": 300, "duration_s": 60, "loop_s": 20}
    cr = run(g, [flood, hijack], duration_s=600.0)
    links = cr.camera_links(130.0)
    u = (850.0 + sum(links[c].bitrate_kbps for c in behind) / 1e3) / 1000.0
    assert 0.85 < u < 0.95
    for c in behind:
        assert links[c].status == "degraded" and links[c].connected
        assert links[c].share == pytest.approx((1.0 - u) / (1.0 - 0.8))
    after = cr.camera_links(170.0)[behind[0]]
    assert (after.status, after.connected, after.share, after.loop_s) == ("ok", True, None, 0.0)
    cut = [cr.camera_links(300.0 + dt / 10)[cam].connected for dt in range(40)]
    assert not cut[6] and cut[-1]            # reset 0-0.5 s in, back 1-3 s later
    later = cr.camera_links(340.0)[cam]
    assert later.status == "replayed" and later.connected and later.loop_s == 20.0 and later.keep_s == 20.0
    assert cr.camera_links(340.0)["cam-001"].keep_s == 0.0
