"""One bad message never stops the analytics: a detector that raises is logged, counted and skipped, an alert
with a non-finite number is dropped and counted, and the other detectors' alerts still come out."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pandas as pd
import pytest

from analytics.base import Detector, make_alert
from analytics.cyber import PortScanDetector
from analytics.pipeline import TRACKER, AnalyticsPipeline, build_detectors, finite
from scenarios.evaluation import write_metrics


@dataclass(frozen=True, slots=True)
class _NoParams:
    conf: float = 0.5


class _Boom(Detector):
    """Raises on a ``net/conn`` record from ``bad``, alerts ``port_scan`` with a NaN on one from ``nan``."""

    alert_kinds = ("port_scan",)
    Params = _NoParams
    topics = ("net/conn",)

    def __init__(self) -> None:
        self.seen = 0

    def update(self, msg):
        self.seen += 1
        if msg.get("id.orig_h") == "bad":
            raise KeyError("no such field")
        if msg.get("id.orig_h") == "nan":
            return [make_alert(msg["t"], "port_scan", 0.5, evidence={"score": float("nan")})]
        return []

    def flush(self):
        raise RuntimeError("flush failed")


_Boom.name = "boom"  # set after the class body: a test detector that is not registered


def _scan(t0: float, src: str = "198.51.7.7") -> list[dict]:
    """30 refused probes of distinct ports in 3 s: a port scan."""
    return [{"t": t0 + 0.1 * k, "topic": "net/conn", "ts": t0 + 0.1 * k, "id.orig_h": src, "id.orig_p": 40000,
             "id.resp_h": "10.10.0.10", "id.resp_p": 1000 + k, "proto": "tcp", "conn_state": "REJ"}
            for k in range(30)]


def test_a_raising_detector_is_counted_and_the_others_still_alert(caplog) -> None:
    boom = _Boom()
    pipe = AnalyticsPipeline(detectors=[boom, *build_detectors()])
    bad = {"t": 1.0, "topic": "net/conn", "ts": 1.0, "id.orig_h": "bad", "id.resp_h": "10.10.0.10",
           "id.resp_p": 22, "proto": "tcp", "conn_state": "S0"}
    with caplog.at_level(logging.WARNING, logger="analytics.pipeline"):
        alerts = [a for m in [bad, *_scan(2.0), bad] for a in pipe.push(m)] + pipe.flush()
    assert [a["kind"] for a in alerts] == ["port_scan"] and alerts[0]["evidence"]["src"] == "198.51.7.7"
    assert boom.seen == 32                               # it kept getting messages after failing
    rep = pipe.error_report()
    assert rep["errors_by_detector"]["boom"] == 3 and rep["errors"] == 3    # two records + its flush
    assert rep["errors_by_detector"]["port_scan"] == 0 and rep["errors_by_detector"][TRACKER] == 0
    assert "KeyError" in rep["first_errors"]["boom"][0] and "t=1.0" in rep["first_errors"]["boom"][0]
    assert "boom failed" in caplog.text
    json.dumps(rep, allow_nan=False)


def test_an_alert_with_a_non_finite_number_is_dropped_and_counted() -> None:
    pipe = AnalyticsPipeline(detectors=[_Boom()])
    out = pipe.push({"t": 3.0, "topic": "net/conn", "id.orig_h": "nan", "id.resp_h": "x"})
    assert out == [] and pipe.error_report()["errors_by_detector"]["boom"] == 1
    assert finite({"a": [1.0, {"b": 2}], "c": "text", "d": None}) and not finite([1.0, float("-inf")])


def test_a_failing_chunk_is_retried_record_by_record() -> None:
    class Fragile(PortScanDetector):
        def update_batch(self, df):
            raise ValueError("bad chunk")

    det = Fragile()
    pipe = AnalyticsPipeline(detectors=[det])
    rows = _scan(10.0)
    df = pd.DataFrame([{k: v for k, v in r.items() if k not in ("t", "topic")} for r in rows])
    alerts = pipe.push_conn_chunk(df)
    assert [a["kind"] for a in alerts] == ["port_scan"] and pipe.error_report()["errors"] == 0


def test_a_bad_camera_frame_is_counted_against_the_tracker() -> None:
    pipe = AnalyticsPipeline()
    frame = {"t": 0.0, "topic": "camera/frame", "camera_id": "c", "frame": 1, "detections": [{"bbox": "x"}]}
    assert pipe.push(frame) == []
    assert pipe.error_report()["errors_by_detector"][TRACKER] == 1


def test_metrics_json_carries_the_error_counts(tmp_path) -> None:
    (tmp_path / "ground_truth.jsonl").write_text("")
    rep = AnalyticsPipeline(detectors=[_Boom()])
    rep.push({"t": 1.0, "topic": "net/conn", "id.orig_h": "bad", "id.resp_h": "x"})
    (tmp_path / "analytics.json").write_text(json.dumps(rep.error_report()))
    write_metrics(tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["analytics"]["errors"] == 1 and m["analytics"]["errors_by_detector"] == {TRACKER: 0, "boom": 1}


@pytest.mark.parametrize("detector", sorted(Detector.registered()))
def test_every_registered_detector_survives_an_empty_message(detector: str) -> None:
    """A message with nothing but a time and a topic the detector reads may fail it (counted), but the stream
    goes on: a port scan after it is still reported."""
    pipe = AnalyticsPipeline()
    det = next(d for d in pipe.detectors if d.name == detector)
    for topic in det.topics:
        pipe.push({"t": 5.0, "topic": "net/conn" if topic == "*" else topic})
    alerts = [a for m in _scan(6.0) for a in pipe.push(m)] + pipe.flush()
    assert "port_scan" in [a["kind"] for a in alerts]
    rep = pipe.error_report()
    assert rep["errors"] <= len(det.topics) + 1 and set(rep["errors_by_detector"]) >= {TRACKER, detector}
