"""The background a real network has (sensors.cyber.background, TrafficParams): what each component puts in
conn.log and syslog, and what the cyber detectors make of a day of it (numbers in docs/performance.md)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from cyber_net import EPOCH0, campaigns, small_network

from analytics.params import AnalyticsParams
from analytics.pipeline import AnalyticsPipeline
from scenarios.engine import run_scenario
from scenarios.specs import map_of, spec_of
from sensors.cyber import TrafficParams, build_cyber
from twin.network import PUBLIC_IPS

DAY = 86400.0
SCANNER, ADMIN, SOC, BACKUP = "10.10.0.50", "10.10.0.40", "10.10.0.20", "10.10.0.60"
#: The site's configuration as the engine fills it: the authorised scanner is allowed.
SITE = {name: {"allowed_sources": [SCANNER]} for name in ("port_scan", "brute_force", "dos")}


def _day(seed: int = 3, *, attacks=(), duration_s: float = DAY, n_cameras: int = 30, **params):
    return build_cyber(small_network(n_cameras), campaigns(list(attacks)), rng=np.random.default_rng(seed),
                       epoch0=EPOCH0, duration_s=duration_s, params=TrafficParams(**params))


def _t(rec: dict) -> float:
    return rec["ts"] - EPOCH0


def _utc_hour(t: float) -> float:
    return ((EPOCH0 + t) % DAY) / 3600.0


def _replay(cr, mapping=None) -> list[dict]:
    """Every record and syslog line of a fresh range through a pipeline, in report order."""
    pipe = AnalyticsPipeline(params=AnalyticsParams.from_mapping(mapping or {}))
    out = []
    for topic, p in cr.flush():
        if topic == "net/conn":
            t = _t(p) + p.get("duration", 0.0)
        else:
            t = datetime.fromisoformat(p["line"].split(" ")[1].replace("Z", "+00:00")).timestamp() - EPOCH0
        out += pipe.push({"t": t, "topic": topic, **p})
    out += pipe.flush()
    assert pipe.error_report()["errors"] == 0
    return out


def _named(alert: dict) -> set[str]:
    """The addresses an alert's evidence names (``src``, ``dst``: one or a list)."""
    out = set()
    for k in ("src", "dst"):
        v = alert["evidence"].get(k)
        out.update(v if isinstance(v, list) else [v] if v else [])
    return out


def test_traffic_params_are_a_documented_scenario_block():
    """Every field has a doc; the scenario block derived from the declarations gives back the defaults."""
    fields = dataclasses.fields(TrafficParams)
    assert len(fields) > 30 and all(len(f.metadata.get("doc", "")) > 10 for f in fields)
    block = map_of(TrafficParams)
    probs = []

    class Rep:
        def error(self, path, msg):
            probs.append(f"{path}: {msg}")

    data = block.check({}, "traffic", Rep())
    assert probs == [] and spec_of(TrafficParams, data) == TrafficParams()
    block.check({"bitrate_mbps": [8, 2], "ibr_per_s": -1, "scan_at_s": 90000}, "traffic", Rep())
    assert len(probs) == 3 and any("bitrate_mbps" in p for p in probs)


def test_internet_background_radiation_reaches_every_public_address_all_day():
    cr = _day()
    recs = cr.all_records()
    public = set(PUBLIC_IPS.values())
    ibr = [r for r in recs if r["id.resp_h"] in public]
    for ip in public:
        mine = [r for r in ibr if r["id.resp_h"] == ip]
        assert abs(len(mine) / DAY - 0.087) < 0.087 * 0.15            # Merit ORION: 0.087 probes/s/address
        hours = {int(_t(r) // 3600) for r in mine}
        assert hours == set(range(24))                                 # unsolicited probes all day
    assert all(not r["local_orig"] and r["local_resp"] for r in ibr)    # inbound to the site's own space
    srcs = Counter(r["id.orig_h"] for r in ibr)
    assert len(srcs) > 0.5 * len(ibr) and max(srcs.values()) < 200      # many sources, most one probe
    states = Counter(r["conn_state"] for r in ibr)
    assert states["S0"] > 0.7 * len(ibr) and states["RSTO"] > 0        # filtered, bar the portal's 443
    assert {r["id.resp_p"] for r in ibr if r["conn_state"] == "RSTO"} == {443}
    assert not [r for r in ibr if r["id.orig_h"].startswith(("10.", "192.168.", "172."))]
    assert _day(ibr_per_s=0.0).all_records() and not [
        r for r in _day(ibr_per_s=0.0, duration_s=3600.0).all_records() if r["id.resp_h"] in public]


def test_the_authorised_scanner_runs_nightly_over_every_internal_address():
    cr = _day()
    scan = [r for r in cr.all_records() if r["id.orig_h"] == SCANNER and r["id.resp_h"].startswith("10.")]
    hours = sorted(_utc_hour(_t(r)) for r in scan)
    assert 1.0 <= hours[0] and hours[-1] < 1.2                         # 01:00 UTC, a few minutes
    nodes = {d["ip"] for _, d in small_network(30).nodes(data=True)} - {SCANNER}
    assert {r["id.resp_h"] for r in scan} == nodes                      # every internal address
    states = Counter(r["conn_state"] for r in scan)
    assert states["REJ"] > states["RSTO"] > 0 and states["SF"] > 0 and states["OTH"] == len(nodes)
    logins = [x for x in cr.all_syslog() if f"Accepted password for nessus from {SCANNER}" in x["line"]]
    assert len(logins) >= 6 * 4                                        # credentialed checks on the servers
    off = _day(scan_every_s=0.0).all_records()
    assert not [r for r in off if r["id.orig_h"] == SCANNER and r["id.resp_h"].startswith("10.")]


def test_admin_bursts_touch_every_server_and_camera():
    cr = _day(admin_bursts_per_day=12.0, duration_s=DAY / 2)
    admin = sorted((_t(r), r["id.resp_h"]) for r in cr.all_records() if r["id.orig_h"] == ADMIN
                   and r["id.resp_p"] in (22, 443) and r["id.resp_h"] != "10.10.0.10")
    clusters, last = [], -1e9                                          # bursts: flows closer than 20 min
    for t, host in admin:
        if t - last > 1200:
            clusters.append(set())
        clusters[-1].add(host)
        last = t
    assert len(clusters) >= 2 and max(map(len, clusters)) >= 30 + 5   # 30 cameras and the servers
    mirror = [r for r in cr.all_records() if r["id.resp_h"] == "151.101.2.132"]
    assert mirror and sum(r["resp_bytes"] for r in mirror) > 50e6        # package downloads


def test_the_nightly_backup_moves_gigabytes_over_ssh_and_off_site():
    cr = _day()
    pulls = [r for r in cr.all_records() if r["id.orig_h"] == BACKUP and r["id.resp_p"] == 22]
    finals = {}
    for r in pulls:
        finals[r["uid"]] = max(finals.get(r["uid"], 0), r["resp_bytes"])
    assert len(finals) == 6 and 10e9 < sum(finals.values()) < 40e9     # vms ~20 GB, five others ~0.5 GB
    assert 1.5 <= _utc_hour(min(_t(r) for r in pulls)) < 1.6
    up = [r for r in cr.all_records() if r["id.orig_h"] == BACKUP and r["id.resp_p"] == 443]
    assert up and max(r["orig_bytes"] for r in up) > 10e9 and not up[0]["local_resp"]
    lines = [x for x in cr.all_syslog() if f"Accepted publickey for backup from {BACKUP}" in x["line"]]
    assert len(lines) == 6


def test_users_mistype_passwords_and_then_get_in():
    cr = _day(user_ssh_per_h=30.0)
    lines = [x["line"] for x in cr.all_syslog()]
    pat = re.compile(r"(Failed|Accepted) password for (\w+) from " + re.escape(SOC) + r" port (\d+)")
    per_conn = defaultdict(list)
    for ln in lines:
        m = pat.search(ln)
        if m:
            per_conn[m.group(3)].append(m.group(1))
    ok = [v for v in per_conn.values() if "Accepted" in v]
    typo = [v for v in ok if v[0] == "Failed"]
    assert len(ok) > 500 and 0.07 < len(typo) / len(ok) < 0.13          # 10 % mistype first
    assert all(v[-1] == "Accepted" and v.count("Failed") <= 2 for v in typo)
    gave_up = [v for v in per_conn.values() if "Accepted" not in v]
    assert gave_up and all(v == ["Failed"] * 3 for v in gave_up)        # three failures, then a new try


def test_ntp_is_periodic_with_the_poll_timer_jitter():
    cr = _day()
    up = defaultdict(list)
    for r in cr.all_records():
        if r["id.resp_p"] == 123 and not r["local_resp"]:
            up[(r["id.orig_h"], r["id.resp_h"])].append(_t(r))
    assert len(up) == 2
    for ts in up.values():
        iv = np.diff(sorted(ts))
        assert abs(iv.mean() - 1024 * 1.03125) < 15
        assert 0.01 < iv.std() / iv.mean() < 0.025                     # periodic: CV well under 0.1


@pytest.mark.parametrize("seed", [3, 4])
def test_a_day_of_background_against_the_cyber_detectors(seed):
    """With the site's configuration (the scanner allowed) the detectors stay quiet on the scanner, the
    admin's and operators' logins, the backups and NTP; vertical scans of the public addresses from the
    Internet are real port scans and alert (about two a day, docs/performance.md). Without the
    configuration the scanner is a port scan and a brute force, and NTP a beacon."""
    cr = _day(seed)
    alerts = _replay(cr, SITE)
    mine = [a for a in alerts if a["kind"] != "stream_loss"]            # stream_loss: not these detectors'
    kinds = Counter(a["kind"] for a in mine)
    assert set(kinds) <= {"port_scan", "brute_force"}, kinds
    public = set(PUBLIC_IPS.values())
    for a in mine:
        if a["kind"] == "port_scan":                                   # an Internet host's vertical scan
            assert a["evidence"]["dst"][0] in public and not a["evidence"]["src"].startswith("10.")
        else:                                                          # the admin's patch burst (conn path)
            assert a["evidence"]["src"] == ADMIN and a["evidence"]["via"] == "conn"
    assert kinds["port_scan"] <= 6 and kinds["brute_force"] <= 1
    naive = Counter((a["kind"], a["evidence"].get("src")) for a in _replay(
        _day(seed), {"beacon": {"ignore_services": []}}))
    assert naive["port_scan", SCANNER] == 1 and naive["brute_force", SCANNER] == 1
    assert naive["beaconing", "10.10.0.30"] == 2                       # ntp -> its two public upstreams


def test_campaigns_are_still_detected_through_the_background():
    """Each campaign during the night's scan and backup (00:55-02:25 UTC), with the site's configuration."""
    t0 = (DAY - (EPOCH0 % DAY)) + 55 * 60                               # 00:55 UTC after the epoch
    attacks = [{"kind": "cyber_scan", "target": "vms", "start_s": t0 + 400, "duration_s": 60},
               {"kind": "cyber_bruteforce", "target": "soc", "start_s": t0 + 900, "duration_s": 60},
               {"kind": "cyber_dos", "target": "dns", "start_s": t0 + 2400, "duration_s": 60},
               {"kind": "cyber_beacon", "target": "admin", "start_s": t0 + 3000, "duration_s": 2000}]
    cr = _day(5, attacks=attacks, duration_s=t0 + 5400)
    alerts = _replay(cr, SITE)
    truth = {r["attack"]: r for r in cr.truth_events() if r["kind"] == "attack_phase"}
    want = {"cyber_scan": "port_scan", "cyber_bruteforce": "brute_force", "cyber_dos": "dos",
            "cyber_beacon": "beaconing"}
    for attack, kind in want.items():
        ph = truth[attack]
        hits = [a for a in alerts if a["kind"] == kind and ph["t"] - 5 <= a["t"] <= ph["t_end"] + 300
                and {ph["src"], ph["dst"]} & _named(a)]
        assert hits, (attack, [a for a in alerts if a["kind"] == kind])


def test_the_engine_allows_the_networks_authorised_scanner_unless_the_scenario_says_otherwise(tmp_path):
    """A library scenario moved to 00:59:30 UTC, when the nightly scan runs: the engine fills the detectors'
    ``allowed_sources`` with the network's authorised scanner; a scenario that lists none gets the alerts."""
    lib = Path(__file__).resolve().parent.parent / "scenarios" / "library" / "helsinki"
    data = yaml.safe_load((lib / "detect-cyber_scan.yaml").read_text(encoding="utf-8"))
    data.update(attacks=[], criteria=[], start_time="2026-06-01T00:59:30Z", duration_s=150)
    runs = {}
    for name, analytics in (("site", None), ("none", {"port_scan": {"allowed_sources": []},
                                                      "brute_force": {"allowed_sources": []}})):
        if analytics:
            data["analytics"] = analytics
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        out = run_scenario(path, out=tmp_path / name, quiet=True).out_dir
        runs[name] = [json.loads(x) for x in (out / "alerts.jsonl").read_text().splitlines() if x.strip()]
        conn = (out / "sensors" / "conn.log").read_text()
        assert conn.count(f"\t{SCANNER}\t") > 500                         # the scan is in the run
    by = {k: Counter((a["kind"], a["evidence"].get("src")) for a in v) for k, v in runs.items()}
    assert by["site"]["port_scan", SCANNER] == 0 and by["site"]["brute_force", SCANNER] == 0
    assert by["none"]["port_scan", SCANNER] == 1
