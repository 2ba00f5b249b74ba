"""CameraGroup: one batch per instant, same detections as cameras alone, status rule, shadow rasters."""

from __future__ import annotations

import numpy as np
import shapely
from _physical_sensors import X0, Y0, build, buildings, lonlat, people, small_twin

from agents.world import WorldView
from sensors.camera import Camera, CameraConfig, CameraGroup
from sensors.camera.config import PERFECT_DETECTOR
from sensors.camera.occlusion import shadow

CLEAN = dict(PERFECT_DETECTOR, h50_px=-1e6)
YAWS = (0.0, 90.0, 200.0)


def _cams(group: CameraGroup | None, seed: int = 0, bld=None, **kw) -> list[Camera]:
    out = []
    for i, yaw in enumerate(YAWS):
        cfg = CameraConfig(xy=(X0 + 3 * i, Y0), height_m=6.0, yaw_deg=yaw, pitch_deg=10.0, **kw)
        out.append(Camera(f"c{i}", cfg, rng=np.random.default_rng(seed + i), buildings=bld, group=group))
    return out


def _crowd(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(seed)
    return people(np.column_stack([X0 + rng.uniform(-90, 90, n), Y0 + rng.uniform(-90, 90, n)]))


def _frames(cams: list[Camera], tg, t: float) -> dict[str, dict]:
    world = WorldView(t, tg)
    return {c.id: p for c in cams for topic, p in c.measure(world) if topic == "camera/frame"}


def _boxes(frames: dict[str, dict]) -> dict[str, list]:
    """Boxes and classes per camera (``conf`` always carries N(0, 0.05) noise)."""
    return {cid: [(d["bbox"], d["cls"]) for d in f["detections"]] for cid, f in frames.items()}


def test_grouped_cameras_see_exactly_what_lone_cameras_see_without_noise():
    """Noise-free, a group of three cameras returns the same boxes and truth as each camera alone,
    behind buildings too, and runs one batch per instant."""
    bld = buildings([(X0 + 20, Y0 + 20, X0 + 40, Y0 + 30), (X0 - 50, Y0 - 30, X0 - 40, Y0 + 10)], [15.0, 4.0])
    g = CameraGroup()
    grouped, alone = _cams(g, bld=bld, **CLEAN), _cams(None, bld=bld, **CLEAN)
    tg = _crowd()
    for k in range(3):
        a, b = _boxes(_frames(grouped, tg, 0.2 * k)), _boxes(_frames(alone, tg, 0.2 * k))
        assert a == b and sum(len(v) for v in a.values()) > 100
        for cg, ca in zip(grouped, alone, strict=True):
            assert cg.last_truth.ids.tolist() == ca.last_truth.ids.tolist()
            assert np.allclose(cg.last_truth.visibility, ca.last_truth.visibility)
    assert g.batches == 3
    assert any((c.last_truth.visibility == 0).any() for c in grouped)   # some people hidden by buildings


def test_offline_member_is_skipped_and_status_changes_at_the_same_instant_rerun_the_batch():
    g = CameraGroup()
    a, b, c = _cams(g, **CLEAN)
    tg = _crowd(1)
    b.set_status("offline")
    got = _frames([a, b, c], tg, 0.0)
    assert set(got) == {"c0", "c2"} and g.batches == 1
    b.set_status("ok")
    list(a.measure(WorldView(0.2, tg)))
    assert g.batches == 2
    c.set_status("degraded")          # after the batch at t = 0.2, before c measures at t = 0.2
    list(c.measure(WorldView(0.2, tg)))
    assert g.batches == 3
    assert c.params()["h50_px"] == 2 * -1e6
    list(b.measure(WorldView(0.2, tg)))
    assert g.batches == 3              # b's slice of the last batch is still fresh


def test_asking_twice_at_one_instant_draws_a_new_frame():
    g = CameraGroup()
    a, *_ = _cams(g, fp_per_frame=5.0)
    tg = _crowd(2)
    w = WorldView(0.0, tg)
    list(a.measure(w))
    list(a.measure(w))
    assert g.batches == 2


def test_groups_are_deterministic_for_the_seed_and_differ_between_seeds():
    tg = _crowd(3)
    runs = []
    for seed in (7, 7, 8):
        cams = _cams(CameraGroup(), seed=seed, fp_per_frame=1.0)
        runs.append([_frames(cams, tg, 0.2 * k) for k in range(5)])
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_group_detection_rate_matches_the_curve():
    """Grouped cameras keep the documented detection curve: measured rate within 4 sigma of mean p(h) (no
    false detection; people do not hide each other here, tests/test_camera_crowd.py covers that)."""
    from sensors.camera import detection_probability

    g = CameraGroup()
    cams = _cams(g, resolution=(640, 480), fp_per_frame=0.0, bbox_noise=0.0, near_fp_scale=0.0,
                 persistent_fp_static=0.0, persistent_fp_per_hour=0.0, target_occlusion=False)
    tg = _crowd(4, 600)
    n_det, p_sum = 0, 0.0
    for k in range(40):
        fr = _frames(cams, tg, 0.2 * k)
        n_det += sum(len(f["detections"]) for f in fr.values())
        for c in cams:
            p_sum += float(detection_probability(c.last_truth.boxes[:, 3], h50_px=30.0, h_scale_px=6.0,
                                                 miss_rate=0.02)[c.last_truth.visibility >= 0.3].sum())
    assert abs(n_det - p_sum) < 4 * np.sqrt(p_sum) + 5 and n_det > 1000


def test_shadow_raster_answers_exactly_like_the_polygon():
    rng = np.random.default_rng(5)
    boxes = []
    for _ in range(30):
        cx, cy = rng.uniform(-100, 100, 2)
        if abs(cx) < 20 and abs(cy) < 20:
            continue
        w, h = rng.uniform(4, 25, 2)
        boxes.append((X0 + cx - w / 2, Y0 + cy - h / 2, X0 + cx + w / 2, Y0 + cy + h / 2))
    bld = buildings(boxes, list(rng.choice([3.0, 8.0, 20.0], len(boxes))))
    sh = shadow(bld, (X0, Y0), 6.0, 0.85, range_m=150.0)
    pts = np.column_stack([X0 + rng.uniform(-170, 170, 40000), Y0 + rng.uniform(-170, 170, 40000)])
    exact = shapely.contains_xy(sh.geometry, pts[:, 0], pts[:, 1])
    assert exact.mean() > 0.1 and (sh.hides(pts) == exact).all()
    codes = sh.raster().codes_at(pts)
    off = np.abs(pts - (X0, Y0)).max(axis=1)     # the raster covers the 150 m range (+ a 3 m margin) only
    assert (codes[off < 150] == 2).mean() < 0.15 and (codes[off > 153] == 2).all()


def test_placement_groups_cameras_by_frame_rate():
    twin = small_twin()
    spec = {"cameras": {"fps": 5, "list": [
        {"id": "a", "at": lonlat(twin, X0 + 10, Y0 + 10)}, {"id": "b", "at": lonlat(twin, X0 + 60, Y0 + 10)},
        {"id": "c", "at": lonlat(twin, X0 + 110, Y0 + 10), "fps": 2}]}}
    s = {c.id: c for c in build(twin, spec)}
    assert s["a"].group is s["b"].group and s["c"].group is not s["a"].group
    assert s["a"].group.rng is s["a"].rng


def test_deferred_frames_carry_the_arrays_of_the_same_detections():
    """With ``defer_detections`` a camera publishes ``FrameArrays``; materialized they are the dicts the same
    camera (same seed) publishes without it, and the arrays hold the same numbers."""
    from sensors.camera.detections import Detections, FrameArrays

    tg = _crowd()
    plain, lazy = _cams(CameraGroup(), seed=3), _cams(CameraGroup(), seed=3)
    for c in lazy:
        c.defer_detections = True
    for k in range(3):
        a, b = _frames(plain, tg, 0.2 * k), _frames(lazy, tg, 0.2 * k)
        for cid in a:
            got = b[cid]["detections"]
            if not a[cid]["detections"]:
                assert len(got) == 0
                continue
            assert isinstance(got, FrameArrays) and not isinstance(a[cid]["detections"], FrameArrays)
            made = got.materialize()
            assert isinstance(made, Detections) and list(made) == list(a[cid]["detections"])
            assert made[0]["bbox"] == got.boxes[0].tolist() and made[0]["conf"] == float(got.conf[0])
    assert sum(len(f["detections"]) for f in a.values()) > 50
