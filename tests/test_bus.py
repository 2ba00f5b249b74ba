"""The bus delivers by topic in time order; the recorder streams it to a file that appears on close."""

from __future__ import annotations

import json

import pytest

from sensors.export import Bus, BusError, Deferred, Recorder, dumps


def test_topic_patterns_and_order():
    bus, log = Bus(), []
    bus.subscribe("camera/frame", lambda m: log.append(("exact", m.t)))
    bus.subscribe("camera/*", lambda m: log.append(("prefix", m.t)))
    bus.subscribe("*", lambda m: log.append(("all", m.t)))
    bus.publish(0.0, "camera/frame", {})
    bus.publish(0.5, "camera/health", {})
    bus.publish(0.5, "net/conn", {})
    assert log == [("exact", 0.0), ("all", 0.0), ("prefix", 0.0), ("all", 0.5), ("prefix", 0.5), ("all", 0.5)]
    assert bus.count == 3


def test_publishing_into_the_past_is_refused():
    bus = Bus()
    bus.publish(2.0, "a/b", {})
    with pytest.raises(BusError, match="older than the last one"):
        bus.publish(1.0, "a/b", {})
    with pytest.raises(BusError, match="bad topic"):
        bus.publish(3.0, "/a", {})


def test_recorder_lines_are_in_bus_time_and_keep_a_payload_time_as_t_event(tmp_path):
    bus = Bus()
    rec = Recorder(tmp_path / "events.jsonl", bus)
    bus.publish(1.0, "camera/frame", {"t": 1.0, "frame": 3})
    bus.publish(4.0, "analytics/alert", {"t": 2.5, "kind": "loitering"})
    assert not (tmp_path / "events.jsonl").exists()      # nothing in place until closed
    rec.close()
    lines = [json.loads(s) for s in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [x["t"] for x in lines] == [1.0, 4.0]
    assert lines[1]["t_event"] == 2.5 and "t_event" not in lines[0]
    assert rec.lines == 2


def test_aborted_recording_leaves_no_file(tmp_path):
    bus = Bus()
    rec = Recorder(tmp_path / "events.jsonl", bus)
    bus.publish(0.0, "x/y", {"v": 1})
    rec.abort()
    assert list(tmp_path.iterdir()) == []


def test_dumps_is_canonical_and_handles_numpy():
    import numpy as np

    assert dumps({"b": np.int64(2), "a": np.float32(0.5), "c": np.arange(2)}) == '{"a":0.5,"b":2,"c":[0,1]}'
    with pytest.raises(ValueError):
        dumps({"x": float("nan")})


class _Lazy(Deferred):
    """A compact payload value; counts how often it is materialized."""

    made = 0

    def materialize(self):
        _Lazy.made += 1
        return [{"bbox": [1.0, 2.0, 3.0, 4.0]}]


def test_deferred_values_are_built_once_and_only_for_subscribers_that_are_not_raw():
    bus, seen = Bus(), []
    bus.subscribe("camera/frame", lambda m: seen.append(("raw", type(m.payload["detections"]))), raw=True)
    bus.publish(0.0, "camera/frame", {"detections": _Lazy()})
    assert seen == [("raw", _Lazy)] and _Lazy.made == 0      # nobody needed the dicts: never built
    bus.subscribe("*", lambda m: seen.append(("plain", m.payload["detections"])))
    bus.subscribe("camera/*", lambda m: seen.append(("plain2", m.payload["detections"])))
    bus.publish(1.0, "camera/frame", {"detections": _Lazy()})
    assert seen[1] == ("raw", _Lazy)                         # topic subscribers first: still compact
    assert seen[2][1] == seen[3][1] == [{"bbox": [1.0, 2.0, 3.0, 4.0]}] and _Lazy.made == 1


def test_recorder_writes_deferred_values_in_their_contract_form(tmp_path):
    bus = Bus()
    rec = Recorder(tmp_path / "events.jsonl", bus)
    bus.publish(0.0, "x/y", {"detections": _Lazy()})
    rec.close()
    line = json.loads((tmp_path / "events.jsonl").read_text())
    assert line["detections"] == [{"bbox": [1.0, 2.0, 3.0, 4.0]}]
