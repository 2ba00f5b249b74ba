"""The pipeline end to end on camera messages (ByteTrack -> homography -> detectors) and the analyze CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_analytics_geometry import camera_homography

import run_sim
from analytics.geometry import apply_homography
from analytics.pipeline import AnalyticsPipeline, run_pipeline
from twin.datapath import data_dir

G2I = camera_homography(height=8.0, pitch_deg=35.0, x0=0.0, y0=0.0)
CALIB = {
    "t": 0.0,
    "topic": "camera/calibration",
    "camera_id": "cam9",
    "image_to_ground": np.linalg.inv(G2I).tolist(),
    "ground_to_image": G2I.tolist(),
    "resolution": [1280, 720],
    "fps": 5,
    "xy": [0, 0],
    "height_m": 8.0,
    "yaw_deg": 0,
    "pitch_deg": 35,
    "hfov_deg": 77,
}
RESTRICTED = [[[-3, 20], [3, 20], [3, 26], [-3, 26]]]


def camera_messages(n_frames: int = 150):
    """Person A walks north along x=0 from y=10 into the restricted box at y=20 (t=8 s); person B walks
    along x=-8 and never enters. Boxes are 1.7 m x 0.5 m people seen through the camera homography."""
    for k in range(n_frames):
        t = k / 5
        ground = np.array([[0.0, 10 + 1.25 * t], [-8.0, 30 - 1.0 * t]])
        feet = apply_homography(G2I, ground)
        scale = 800 / np.hypot(*ground.T) * 0.9  # about f / distance pixels per metre
        w, h = 0.5 * scale, 1.7 * scale
        dets = [
            {
                "bbox": [float(feet[i, 0] - w[i] / 2), float(feet[i, 1] - h[i]), float(w[i]), float(h[i])],
                "cls": "person",
                "conf": 0.9,
            }
            for i in range(2)
        ]
        yield {"t": t, "topic": "camera/frame", "camera_id": "cam9", "frame": k + 1, "detections": dets}


def test_camera_to_zone_intrusion_with_lonlat() -> None:
    pipe = AnalyticsPipeline(restricted=RESTRICTED, crs="EPSG:32635")
    alerts = list(run_pipeline([CALIB, *camera_messages()], pipe))
    assert [a["kind"] for a in alerts] == ["zone_intrusion"]
    a = alerts[0]
    assert 8.8 <= a["t"] <= 9.6 and a["source"] == ["cam9"]  # enters at 8 s, alerts after 1 s inside
    assert abs(a["xy"][0]) < 0.5 and 20 <= a["xy"][1] <= 22  # ground position through the homography
    assert a["lonlat"] is not None and -180 <= a["lonlat"][0] <= 180
    assert pipe.tracks.detections == 300 and pipe.messages == 151


def test_cli_events_replay_out_file_and_exit_codes(tmp_path, capsys) -> None:
    ev = tmp_path / "events.jsonl"
    lines = [json.dumps(CALIB)] + [json.dumps(m) for m in camera_messages()]
    lines.insert(40, "{not json")
    ev.write_text("\n".join(lines) + "\n")
    (tmp_path / "restricted.json").write_text(json.dumps(RESTRICTED))
    out = tmp_path / "alerts.jsonl"
    rc = run_sim.main(
        ["analyze", "--events", str(ev), "--restricted", str(tmp_path / "restricted.json"), "--out", str(out)]
    )
    cap = capsys.readouterr()
    assert rc == 0
    assert [json.loads(x)["kind"] for x in cap.out.splitlines()] == ["zone_intrusion"]
    assert out.read_text() == cap.out
    assert "1 malformed (lines 41)" in cap.err
    ssh = data_dir() / "datasets" / "syslog" / "OpenSSH_2k.log"
    assert run_sim.main(["analyze", "--zeek", str(ssh)]) == 2
    assert "line 1: not a Zeek conn.log" in capsys.readouterr().err
    assert run_sim.main(["analyze", "--events", str(tmp_path / "none.jsonl")]) == 2
    assert run_sim.main(["analyze", "--mot", str(ev)]) == 2
    (tmp_path / "calib.json").write_text('{"camera_id": "c",\n "image_to_ground": 3}')
    mot = data_dir() / "datasets" / "mot" / "TUD-Campus" / "test.txt"
    assert run_sim.main(["analyze", "--mot", str(mot), "--calib", str(tmp_path / "calib.json")]) == 2
    assert "calib.json: line 1: record 0 has no 3x3" in capsys.readouterr().err.splitlines()[-1]
    bad_lens = {"camera_id": "c", "image_to_ground": CALIB["image_to_ground"], "dist_coeffs": [-0.2, "x"]}
    (tmp_path / "calib3.json").write_text(json.dumps(bad_lens))
    assert run_sim.main(["analyze", "--mot", str(mot), "--calib", str(tmp_path / "calib3.json")]) == 2
    assert "record 0: 'dist_coeffs' must be [k1, k2]" in capsys.readouterr().err.splitlines()[-1]
    (tmp_path / "calib3.json").write_text(json.dumps({**bad_lens, "dist_coeffs": [-0.2, 0.01]}))
    assert run_sim.main(["analyze", "--mot", str(mot), "--calib", str(tmp_path / "calib3.json")]) == 2
    assert "needs a 3x3 'camera_matrix'" in capsys.readouterr().err.splitlines()[-1]
    (tmp_path / "calib2.json").write_text(
        json.dumps([{k: v for k, v in CALIB.items() if k not in ("t", "topic")}])
    )
    argv = ["analyze", "--mot", str(mot), "--calib", str(tmp_path / "calib2.json")]
    assert run_sim.main([*argv, "--camera-id", "other"]) == 2
    assert "no calibration record for camera 'other'" in capsys.readouterr().err
    assert run_sim.main(argv) == 0  # people walking in TUD-Campus pixels, projected through cam9: no alert
    assert capsys.readouterr().out == ""
    assert run_sim.main(["analyze"]) == 2
    (tmp_path / "roads.json").write_text(json.dumps([[[0, 0], [1, 0], [1, 1]], [[0, 0], [1, "x"], [2, 2]]]))
    assert run_sim.main(["analyze", "--events", str(ev), "--roads", str(tmp_path / "roads.json")]) == 2
    assert capsys.readouterr().err.strip().endswith("roads.json: line 1: polygon 1: not a list of >= 3 "
                                                    "finite [x, y] points")


def test_cli_mot_tracks_and_score(tmp_path, capsys) -> None:
    mot = data_dir() / "datasets" / "mot" / "TUD-Campus"
    rc = run_sim.main(
        [
            "analyze",
            "--mot",
            str(mot / "test.txt"),
            "--fps",
            "25",
            "--gt",
            str(mot / "gt.txt"),
            "--tracks-out",
            str(tmp_path / "tracks.txt"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0 and "MOTA 0.535 IDF1 0.499 ID switches 4" in err
    assert len((tmp_path / "tracks.txt").read_text().splitlines()) > 150


def test_injected_detectors_only() -> None:
    from analytics.cyber import PortScanDetector

    pipe = AnalyticsPipeline(detectors=[PortScanDetector()])
    msgs = [
        {
            "t": float(i),
            "topic": "net/conn",
            "ts": float(i),
            "id.orig_h": "10.0.0.1",
            "id.resp_h": "10.0.0.2",
            "id.resp_p": 1000 + i,
            "conn_state": "REJ",
        }
        for i in range(25)
    ]
    msgs.append(
        {
            "t": 30.0,
            "topic": "acoustic/detection",
            "sensor_id": "m",
            "t_arrival": 30.0,
            "cls": "gunshot",
            "conf": 1.0,
            "level_db": 130,
            "xy": [0, 0],
        }
    )
    assert [a["kind"] for a in run_pipeline(msgs, pipe)] == ["port_scan"]
    with pytest.raises(ValueError, match="unknown alert kind"):
        from analytics.base import make_alert

        make_alert(0, "nope", 1)


def test_track_stage_pull_form() -> None:
    """``TrackStage.run`` pulls camera messages and yields one ``track/frame`` per frame, in metres."""
    from analytics.tracking import TrackStage

    out = list(TrackStage().run([CALIB, *camera_messages(10)]))
    assert [m["frame"] for m in out] == list(range(1, 11))
    assert out[-1]["ids"] == ["cam9:0", "cam9:1"] and out[0]["ids"] == []  # ids after 2 matched frames
    assert np.allclose(out[-1]["xy"][0], [0.0, 10 + 1.25 * 9 / 5], atol=0.3)
    assert (out[-1]["xy_sigma"] < 0.5).all()
