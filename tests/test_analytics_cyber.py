"""Cyber detectors: synthetic exact cases (CUSUM step, beacon vs Poisson, scan, brute force, stream loss)
and real Zeek captures (TSV and JSON) parsed whole: firing on the exploit-kit capture, quiet on the benign."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.base import AnalyticsInputError, ReadStats
from analytics.cyber import (
    BeaconingDetector,
    BruteForceDetector,
    DosDetector,
    PortScanDetector,
    StreamLossDetector,
)
from analytics.pipeline import AnalyticsPipeline
from analytics.zeek import iter_conn_chunks, iter_conn_messages
from twin.datapath import data_dir

ZEEK = data_dir() / "datasets" / "zeek"


def conn(
    t: float,
    src: str,
    dst: str,
    port: int,
    *,
    state: str = "SF",
    dur: float = 1.0,
    proto: str = "tcp",
    service: str | None = None,
) -> dict:
    return {
        "t": t,
        "topic": "net/conn",
        "ts": t,
        "id.orig_h": src,
        "id.orig_p": 40000,
        "id.resp_h": dst,
        "id.resp_p": port,
        "proto": proto,
        "service": service,
        "duration": dur,
        "orig_bytes": 100,
        "resp_bytes": 100,
        "conn_state": state,
    }


def test_dos_cusum_fires_on_rate_step_and_not_before() -> None:
    """Poisson 2 flows/s to a host for 10 min, then 40 flows/s: one DoS alert within 15 s of the step."""
    rng = np.random.default_rng(3)
    det = DosDetector()
    t0_step = 600.0
    times = np.sort(
        np.concatenate(
            [
                rng.uniform(0, t0_step, rng.poisson(2 * t0_step)),
                rng.uniform(t0_step, 900, rng.poisson(40 * 300)),
            ]
        )
    )
    alerts = []
    for i, t in enumerate(times):
        alerts += det.update(conn(float(t), f"10.0.{i % 200}.{i % 7}", "10.1.0.5", 554))
    alerts += det.flush()
    assert len(alerts) == 1
    a = alerts[0]
    assert a["kind"] == "dos" and a["evidence"]["dst"] == "10.1.0.5"
    assert t0_step < a["t"] <= t0_step + 15
    assert a["evidence"]["baseline_per_s"] == pytest.approx(2.0, abs=0.5) and a["evidence"]["rate_per_s"] > 20
    assert len(a["evidence"]["src"]) == 5
    # a port scan is a burst of flows too, but to many ports: not a flood
    det = DosDetector()
    scan = [conn(float(t), "10.0.0.9", "10.1.0.5", 22) for t in np.arange(0, 300, 2.0)]
    scan += [conn(300 + i * 0.01, "198.51.100.7", "10.1.0.5", 1 + i, state="REJ") for i in range(400)]
    assert [a for m in scan for a in det.update(m)] + det.flush() == []


def test_beaconing_regular_vs_poisson() -> None:
    """60 s ± 1 s callbacks alert once; Poisson traffic with the same mean never does."""
    rng = np.random.default_rng(7)
    det = BeaconingDetector()
    beacon = np.cumsum(60 + rng.uniform(-1, 1, 40))
    poisson = np.cumsum(rng.exponential(60, 200))
    alerts = []
    for t in np.sort(np.concatenate([beacon, poisson])):
        is_beacon = t in beacon
        alerts += det.update(conn(float(t), "10.0.0.7" if is_beacon else "10.0.0.8", "203.0.113.9", 443))
    assert [a["evidence"]["src"] for a in alerts] == ["10.0.0.7"]
    internal = BeaconingDetector()  # the same callbacks to an internal server are polling, not C2
    assert [a for t in beacon for a in internal.update(conn(float(t), "10.0.0.7", "10.0.0.30", 443))] == []
    ev = alerts[0]["evidence"]
    assert ev["period_s"] == pytest.approx(60, abs=1) and ev["cv"] < 0.02 and ev["dst"] == "203.0.113.9"


def test_port_scan_per_message_and_batch_agree() -> None:
    """A SYN sweep of 30 ports alerts once naming src/dst; 30 successful web fetches do not."""
    msgs = [conn(100 + i * 0.5, "10.0.0.66", "10.1.0.9", 1000 + i, state="S0") for i in range(30)]
    msgs += [conn(100 + i, "10.0.0.5", f"93.184.{i}.1", 443) for i in range(30)]
    msgs.sort(key=lambda m: m["t"])
    det = PortScanDetector()
    alerts = [a for m in msgs for a in det.update(m)]
    assert len(alerts) == 1 and alerts[0]["evidence"]["src"] == "10.0.0.66"
    assert alerts[0]["evidence"]["dst"] == ["10.1.0.9"] and alerts[0]["evidence"]["distinct_ports"] == 20
    import pandas as pd

    batch = PortScanDetector().update_batch(pd.DataFrame(msgs))
    assert len(batch) == 1 and batch[0]["evidence"]["distinct_ports"] == 30


def test_port_scan_ignores_failures_to_known_peers() -> None:
    """A video server that streamed from 13 cameras on 2 ports (26 pairs) and then fails on all of them
    (an outage: S0 retries) is no scan; a new source failing on the same 26 pairs is, per message and per
    chunk (the known peers learnt in an earlier chunk and earlier in the same chunk)."""
    import pandas as pd

    cams = [f"10.20.{i // 4}.{10 + i % 4}" for i in range(13)]
    pairs = [(c, p) for c in cams for p in (554, 443)]
    ok = [conn(10 + i, "10.10.0.10", c, p) for i, (c, p) in enumerate(pairs)]
    retry = [conn(200 + i, "10.10.0.10", c, p, state="S0") for i, (c, p) in enumerate(pairs)]
    scan = [conn(400 + i, "10.66.0.1", c, p, state="S0") for i, (c, p) in enumerate(pairs)]
    det = PortScanDetector()
    alerts = [a for m in ok + retry + scan for a in det.update(m)]
    assert [a["evidence"]["src"] for a in alerts] == ["10.66.0.1"]
    for chunks in ([ok, retry + scan], [ok + retry + scan]):
        det = PortScanDetector()
        batch = [a for c in chunks for a in det.update_batch(pd.DataFrame(c))]
        assert [a["evidence"]["src"] for a in batch] == ["10.66.0.1"]
        assert batch[0]["evidence"]["distinct_targets"] == 20  # the pairs in the 360-420 s window


def test_brute_force_on_short_ssh_connections() -> None:
    det = BruteForceDetector()
    alerts = []
    for i in range(30):
        alerts += det.update(conn(10.0 * i, "198.51.100.4", "10.1.0.2", 22, dur=0.8))
        alerts += det.update(conn(10.0 * i + 1, "10.0.0.3", "10.1.0.2", 22, dur=600.0))  # admin session
    assert len(alerts) == 1
    ev = alerts[0]["evidence"]
    assert (
        ev["src"] == "198.51.100.4"
        and ev["dst"] == ["10.1.0.2"]
        and ev["count"] == 10
        and ev["via"] == "conn"
    )
    assert det.totals["198.51.100.4"] == 30 and "10.0.0.3" not in det.totals


def test_stream_loss_on_broken_rtsp_silence_and_health() -> None:
    """Zeek long-connection logging (one S1 record at 10 min) is no loss; a reset stream followed by
    unanswered reconnects is one loss; a regularly reporting stream that falls silent is one loss."""
    det = StreamLossDetector()
    alerts = det.update(conn(600.0, "10.9.0.1", "10.2.0.11", 554, state="S1", dur=600.0, service="rtsp"))
    alerts += det.update(conn(650.0, "10.9.0.1", "10.2.0.12", 554, state="RSTO", dur=650.0, service="rtsp"))
    for k in range(20):  # reconnect attempts every 5 s while the camera is unreachable
        alerts += det.update(conn(655.0 + 5 * k, "10.9.0.1", "10.2.0.12", 554, state="S0", dur=0.0))
    for k in range(20):  # a feed reporting every 10 s; it stops after 900 s
        alerts += det.update(conn(800.0 + 10 * k, "10.9.0.2", "10.2.0.13", 8554, dur=10.0))
    for k in range(10):
        alerts += det.update(conn(1000.0 + 10 * k, "10.9.0.1", "10.2.0.11", 80))  # other traffic goes on
    alerts += det.update(conn(1001.0, "198.51.100.7", "10.2.0.14", 554, state="REJ", dur=0.0))  # a scan probe
    got = [(a["evidence"]["dst"], a["evidence"]["via"], a["t"]) for a in alerts]
    # last report of 10.2.0.13 at 990 s: silent 40 s > max(30 s, 3 x 10 s) at the 1030 s message
    assert got == [("10.2.0.12", "rtsp_flows", 650.0), ("10.2.0.13", "rtsp_silence", 1030.0)]
    assert alerts[0]["evidence"]["conn_state"] == "RSTO" and alerts[0]["source"] == ["10.2.0.12"]
    up = {"topic": "camera/health", "camera_id": "cam7", "fps": 5.0, "bitrate_kbps": 5000.0, "reconnects": 0}
    down = {**up, "stream": "down", "fps": 0.0, "bitrate_kbps": 0.0}
    alerts = det.update({**up, "t": 1190.0, "stream": "up"})
    alerts += det.update({**down, "t": 1200.0})
    alerts += det.update({**down, "t": 1201.0})
    assert [a["source"] for a in alerts] == [["cam7"]] and alerts[0]["evidence"]["via"] == "health"


@pytest.mark.parametrize(
    "path,rows",
    [
        ("zat-exploitkit-2013/conn.log", 360),
        ("zat-json-2019/conn.log", 50),
        ("zat-exploitkit-2013/dns.log", 54),
    ],
)
def test_real_zeek_files_parse_whole(path: str, rows: int) -> None:
    """Every data row of the TSV and JSON captures is read; other Zeek logs read too (conn fields absent)."""
    st = ReadStats(path)
    n = sum(len(df) for df in iter_conn_chunks(ZEEK / path, st, chunk_bytes=4096))
    assert n == rows == st.records and st.malformed == 0


def test_detectors_on_real_captures() -> None:
    """Exploit-kit capture: the infected host's post-infection sweep (udp/16464, S0) is a scan, nothing else
    fires; the benign Kerberos/DNS capture raises nothing."""

    def run(path):
        pipe = AnalyticsPipeline()
        out = [a for df in iter_conn_chunks(ZEEK / path) for a in pipe.push_conn_chunk(df)]
        return out + pipe.flush()

    ek = run("zat-exploitkit-2013/conn.log")
    assert [(a["kind"], a["evidence"]["src"]) for a in ek] == [("port_scan", "192.168.33.10")]
    # 64 hosts probed in the window, 38 of them unanswered: the scan is counted on the failed ones
    assert ek[0]["evidence"]["distinct_hosts"] == 38 and ek[0]["evidence"]["failed"] == 38
    assert run("zat-json-2019/conn.log") == []
    pipe = AnalyticsPipeline()  # the per-message path finds the same
    per_msg = [a for m in iter_conn_messages(ZEEK / "zat-exploitkit-2013/conn.log") for a in pipe.push(m)]
    assert [(a["kind"], a["evidence"]["src"]) for a in per_msg] == [("port_scan", "192.168.33.10")]


def test_malformed_lines_counted_and_bad_files_rejected(tmp_path) -> None:
    src = (ZEEK / "zat-exploitkit-2013/conn.log").read_text().splitlines(keepends=True)
    src.insert(12, "garbage line\n")
    src.insert(20, "notanumber\t" + src[20].split("\t", 1)[1])  # a copy of a row with a bad ts
    p = tmp_path / "conn.log"
    p.write_text("".join(src))
    st = ReadStats(str(p))
    assert sum(len(d) for d in iter_conn_chunks(p, st)) == 360
    assert st.malformed == 2 and st.first_bad == [13, 21]
    js = tmp_path / "c.json"
    js.write_text('{"ts": 1.0, "id.orig_h": "a", "id.resp_h": "b"}\n{broken\n')
    st = ReadStats(str(js))
    assert sum(len(d) for d in iter_conn_chunks(js, st)) == 1 and st.first_bad == [2]
    for text in ("hello\n", "[1, 2]\n"):
        (tmp_path / "bad.log").write_text(text)
        with pytest.raises(AnalyticsInputError, match="line 1"):
            list(iter_conn_chunks(tmp_path / "bad.log"))
