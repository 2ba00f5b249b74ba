"""Loitering on fused ground tracks (analytics.ground_loitering): a scout circling through two overlapping
camera views is one ground track and raises one alert, where neither camera alone follows him long enough."""

from __future__ import annotations

import math

import numpy as np

from analytics.base import Detector
from analytics.ground_loitering import GroundLoiteringDetector
from analytics.ground_tracks import GroundTrackStage
from analytics.loitering import LoiteringDetector, LoiteringParams

FPS = 5.0


def box(x0: float, x1: float, y0: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


#: Two cameras south of a square; their views overlap for 26 <= x <= 34.
CAMS = {"cam-a": {"view": box(-5, 34, -15, 15), "xy": [15.0, -18.0]},
        "cam-b": {"view": box(26, 65, -15, 15), "xy": [45.0, -18.0]}}
SEEN = {"cam-a": (-5, 34), "cam-b": (26, 65)}


def circling(seconds: float, *, r: float = 9.0, speed: float = 1.0, centre=(30.0, 0.0)) -> np.ndarray:
    """A scout walking laps of radius ``r`` around ``centre`` (positions at FPS)."""
    k = np.arange(int(seconds * FPS))
    a = speed * k / FPS / r
    return np.column_stack([centre[0] + r * np.cos(a), centre[1] + r * np.sin(a)])


def camera_frames(path: np.ndarray, *, seed: int = 0) -> list[dict]:
    """Each camera's ``track/frame`` messages; a camera gives the scout a new id each time he re-enters its
    view (as a real tracker does after losing him)."""
    rng = np.random.default_rng(seed)
    out, visit, inside = [], dict.fromkeys(CAMS, 0), dict.fromkeys(CAMS, False)
    for k, (x, y) in enumerate(path.tolist()):
        for cam, (x0, x1) in SEEN.items():
            now = x0 <= x <= x1
            if now and not inside[cam]:
                visit[cam] += 1
            inside[cam] = now
            ids = [f"{cam}:{visit[cam]}"] if now else []
            xy = np.array([[x + rng.normal(0, 0.2), y + rng.normal(0, 0.3)]]) if now else np.zeros((0, 2))
            out.append({"t": k / FPS, "topic": "track/frame", "camera_id": cam, "frame": k + 1, "ids": ids,
                        "cls": ["person"] * len(ids), "bbox": None, "xy": xy,
                        "xy_sigma": np.full(len(ids), 0.35)})
    return out


def alerts_of(path: np.ndarray, params: LoiteringParams) -> tuple[list[dict], list[dict], list[dict]]:
    msgs = camera_frames(path)
    per_camera = LoiteringDetector(params)
    cam_alerts = [a for m in msgs for a in per_camera.update(m)]
    stage = GroundTrackStage(None, views=CAMS)
    ground = [g for m in msgs for g in stage.update(m)] + stage.flush()
    on_ground = GroundLoiteringDetector(params)
    return cam_alerts, [a for g in ground for a in on_ground.update(g)], ground


def test_circling_scout_is_one_ground_track_and_one_alert() -> None:
    p = LoiteringParams()
    path = circling(p.dwell_s + 120)
    # each camera loses him for ~20 s a lap (the arc outside its view), longer than its forget_s
    gap = (2 * math.acos(4 / 9)) * 9.0 / 1.0
    assert gap > p.forget_s
    cam_alerts, ground_alerts, ground = alerts_of(path, p)
    assert cam_alerts == []
    gids = {g for m in ground for g in m["ids"]}
    assert len(gids) <= 2, gids        # one person: one global id (a renumbering at most, bridged)
    assert len(ground_alerts) == 1
    a = ground_alerts[0]
    assert a["kind"] == "loitering" and set(a["source"]) <= {"cam-a", "cam-b"}
    assert p.dwell_s <= a["t"] <= p.dwell_s + 60 and a["evidence"]["dwell_s"] >= p.dwell_s
    assert a["evidence"]["track"].startswith("ground:g")
    cx, cy = a["evidence"]["centre_xy"]
    assert math.hypot(cx - 30.0, cy) < 3.0


def test_a_walker_through_both_views_raises_nothing() -> None:
    p = LoiteringParams()
    x = np.arange(0.0, 60.0, 1.4 / FPS)
    path = np.column_stack([x, np.zeros_like(x)])
    cam_alerts, ground_alerts, ground = alerts_of(path, p)
    assert cam_alerts == [] and ground_alerts == [] and ground


def test_short_circling_stays_below_the_dwell() -> None:
    p = LoiteringParams()
    _, ground_alerts, _ = alerts_of(circling(p.dwell_s - 30), p)
    assert ground_alerts == []


def test_registered_on_the_ground_topic() -> None:
    reg = Detector.registered()
    assert reg["ground_loitering"] is GroundLoiteringDetector
    assert GroundLoiteringDetector.topics == ("track/ground",)
    assert GroundLoiteringDetector().update({"t": 1.0, "topic": "track/ground", "ids": []}) == []


def test_a_scenario_turns_the_ground_stage_on(tmp_path) -> None:
    import json

    import yaml

    from scenarios.engine import run_scenario
    from scenarios.schema import ScenarioError, load_scenario

    src = yaml.safe_load(open("scenarios/library/helsinki/default.yaml", encoding="utf-8"))
    src["analytics"] = {"ground_tracks": {"enabled": True, "handover_s": 3.0}}
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(src), encoding="utf-8")
    sc = load_scenario(path)
    assert sc.ground_tracks().handover_s == 3.0
    res = run_scenario(sc, out=tmp_path / "run", duration_s=15.0, quiet=True)
    rep = json.loads((res.out_dir / "analytics.json").read_text())
    assert rep["errors_by_detector"]["ground_tracks"] == 0
    assert rep["errors_by_detector"]["ground_loitering"] == 0
    src["analytics"]["workers"] = 2
    path.write_text(yaml.safe_dump(src), encoding="utf-8")
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert any("analytics.ground_tracks.enabled: cannot be true with analytics.workers" in p
                   for p in exc.problems), exc.problems
    else:
        raise AssertionError("ground tracks with workers must be refused")
    src["analytics"] = {}
    path.write_text(yaml.safe_dump(src), encoding="utf-8")
    assert load_scenario(path).ground_tracks() is None
