"""Network actions: a camera is isolated by its access switch, a server by itself; cameras fail over to the
backup recorder around the attacked node, else to their own storage."""

from __future__ import annotations

from analytics.netresponse import affected_cameras, failover_paths, isolation_targets, resolve_hosts
from tests._recgraphs import camera_network

ALL = ["cam-a1", "cam-a2", "cam-b1"]


def test_hosts_resolve_by_ip_camera_id_node_name_or_public_ip():
    hosts = ["10.20.1.11", "cam-b1", "dns", "88.113.16.2", "203.0.113.9"]
    found, external = resolve_hosts(camera_network(), hosts)
    assert found == {"10.20.1.11": "cam-a1", "88.113.16.2": "vms", "cam-b1": "cam-b1", "dns": "dns"}
    assert external == ["203.0.113.9"]


def test_isolating_a_camera_host_isolates_its_access_switch_segment():
    plan = isolation_targets(camera_network(), ["10.20.1.12"])
    assert plan["targets"] == [{"target": "sw-0001", "target_kind": "access_switch", "switch": "sw-0001",
                                "hosts": ["10.20.1.12"], "cameras": ["cam-a1", "cam-a2"]}]
    # two cameras of one switch: one target holding both hosts
    plan = isolation_targets(camera_network(), ["10.20.1.11", "10.20.1.12"])
    assert [t["target"] for t in plan["targets"]] == ["sw-0001"] and plan["targets"][0]["hosts"] == [
        "10.20.1.11", "10.20.1.12"]


def test_a_server_is_isolated_by_itself_the_core_never_and_external_hosts_are_listed():
    plan = isolation_targets(camera_network(), ["10.10.0.40", "10.10.0.1", "agg-001", "198.51.100.7"])
    assert plan["targets"] == [{"target": "admin", "target_kind": "admin", "switch": None,
                                "hosts": ["10.10.0.40"], "cameras": []}]
    assert plan["not_isolated"] == [{"host": "10.10.0.1", "node": "core", "kind": "core"},
                                    {"host": "agg-001", "node": "agg-001", "kind": "aggregation"}]
    assert plan["external"] == ["198.51.100.7"]


def test_the_cameras_an_attack_affects_are_those_recording_through_the_attacked_node():
    net = camera_network()
    assert affected_cameras(net, ["vms"]) == ALL
    assert affected_cameras(net, ["sw-0002"]) == ["cam-b1"]
    assert affected_cameras(net, ["cam-a2"]) == ["cam-a2"]
    assert affected_cameras(net, ["dns", "soc"]) == []


def test_a_dos_on_the_video_server_fails_every_camera_over_to_the_backup_server():
    paths = failover_paths(camera_network(), ALL, attacked=["10.10.0.10"])
    assert paths == [
        {"camera": "cam-a1", "to": "backup", "path": ["cam-a1", "sw-0001", "agg-001", "core", "backup"]},
        {"camera": "cam-a2", "to": "backup", "path": ["cam-a2", "sw-0001", "agg-001", "core", "backup"]},
        {"camera": "cam-b1", "to": "backup", "path": ["cam-b1", "sw-0002", "agg-001", "core", "backup"]},
    ]


def test_with_no_path_around_the_attacked_node_a_camera_keeps_its_own_recording():
    net = camera_network()
    paths = failover_paths(net, ["cam-a1", "cam-b1"], attacked=["sw-0001", "cam-b1"])
    assert paths == [{"camera": "cam-a1", "to": "edge_storage", "path": None},
                     {"camera": "cam-b1", "to": "edge_storage", "path": None}]
    net.remove_node("backup")
    assert failover_paths(net, ["cam-a2"], attacked=["vms"])[0]["to"] == "edge_storage"


def test_a_redundant_uplink_is_the_backup_path_around_an_attacked_aggregation_switch():
    net = camera_network()
    net.add_node("agg-002", kind="aggregation", ip="10.10.1.2")
    net.add_edges_from([("core", "agg-002"), ("agg-002", "sw-0002")])
    paths = {p["camera"]: p for p in failover_paths(net, ALL, attacked=["agg-001"])}
    assert paths["cam-b1"]["path"] == ["cam-b1", "sw-0002", "agg-002", "core", "backup"]
    assert paths["cam-a1"]["to"] == paths["cam-a2"]["to"] == "edge_storage"
