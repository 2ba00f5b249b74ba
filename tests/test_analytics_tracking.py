"""The tracker's class vote: a track keeps the class its recent detections were given most often."""

from __future__ import annotations

import numpy as np

from analytics.tracking import CLASSES, CameraTracker, TrackerParams


def _walk(tracker: CameraTracker, classes: list[str]) -> list[str]:
    """One box walking right, one frame per class name; the track's class after each frame."""
    out = []
    for k, name in enumerate(classes):
        box = np.array([[100.0 + 4 * k, 200.0, 40.0, 100.0]])
        ids, _, cls, _ = tracker.update(box, np.array([0.95]), np.array([CLASSES.index(name)]), t=k * 0.2)
        out += [CLASSES[int(c)] for c in cls]
    return out


def test_one_confused_frame_does_not_change_a_tracks_class():
    frames = ["person"] * 8 + ["vehicle"] + ["person"] * 3
    voted = _walk(CameraTracker("c", fps=5.0), frames)
    raw = _walk(CameraTracker("c", fps=5.0, params=TrackerParams(class_vote=False)), frames)
    assert set(voted) == {"person"} and "vehicle" in raw and len(voted) == len(raw) >= 10


def test_a_track_changes_class_once_most_of_its_detections_say_so():
    voted = _walk(CameraTracker("c", fps=5.0), ["person"] * 3 + ["bicycle"] * 6)
    # the first frame only starts the track (it needs 2 frames for an id), so 2 person detections are
    # counted (0.9 + 1 = 1.9 votes); after one bicycle frame person has 1.71 against 1, after the second
    # 1.54 against 1.9: the second bicycle frame flips it
    assert voted[:3] == ["person"] * 3 and voted[3:] == ["bicycle"] * 5


def test_a_long_followed_walker_switched_onto_a_car_becomes_a_car_within_7_frames():
    """The votes decay (half in 1.3 s: 0.9 per frame at 5 fps): 200 frames of a walker weigh about 10
    votes, so the car's own detections take the track over in 7 frames; counted without decay, the old
    votes would keep the car a "person" for 200 frames (the running detector would then call it a person
    running). At 2 fps the same switch takes 3 frames (1.5 s)."""
    frames = ["person"] * 200 + ["vehicle"] * 20
    decayed = _walk(CameraTracker("c", fps=5.0), frames)
    forever = TrackerParams(class_vote_half_life_s=float("inf"))
    kept = _walk(CameraTracker("c", fps=5.0, params=forever), frames)
    flip = decayed.index("vehicle")
    assert len(decayed) == 219 and decayed[flip:] == ["vehicle"] * (219 - flip)
    assert 199 + 5 <= flip <= 199 + 7 and set(kept) == {"person"}
    slow = _walk(CameraTracker("c", fps=2.0), frames)
    assert 199 + 2 <= slow.index("vehicle") <= 199 + 3


def test_a_cyclist_reported_as_a_person_one_frame_in_five_stays_a_cyclist():
    rng = np.random.default_rng(3)
    frames = ["person" if r < 0.2 else "bicycle" for r in rng.random(300)]
    voted = _walk(CameraTracker("c", fps=5.0), frames)
    assert frames.count("person") >= 45 and voted[20:].count("person") == 0
    slow = _walk(CameraTracker("c", fps=2.0), frames)  # at 2 fps 3 "person" frames in a row flip it
    runs = "".join("p" if c == "person" else "." for c in slow[20:]).split(".")
    # 4 of 280 frames, never 8 in a row (4 s at 2 fps: the running detector's minimum)
    assert slow[20:].count("person") <= 6 and max(len(r) for r in runs) < 8


# --- the batched entry points: MultiCameraTracker and TrackStage.update_batch ---------------------------

K = [[1000.0, 0.0, 960.0], [0.0, 1000.0, 540.0], [0.0, 0.0, 1.0]]


def _city(seed: int = 1, cameras: int = 8, instants: int = 40) -> list[dict]:
    """Bus messages of a small synthetic city in the recorded run's format: calibration records first (a
    homography, some with lens coefficients, one camera at 2.5 fps, one without a record), then each
    instant's camera/frame messages (xywh boxes, classes, confidences around the thresholds): crowds
    walking in step (overlapping boxes), missed and empty frames, cameras starting late, a camera/health
    message between frames."""
    rng = np.random.default_rng(seed)
    msgs: list[dict] = []
    for c in range(cameras - 1):
        h = [[0.02, 0.001 * c, 100.0 + c], [0.0, 0.05, 200.0], [0.0, 0.0002 * (c + 1), 1.0]]
        rec = {"t": 0.0, "topic": "camera/calibration", "camera_id": f"cam-{c}", "image_to_ground": h,
               "fps": 2.5 if c == 3 else 5.0}
        if c % 2:
            rec.update(camera_matrix=K, dist_coeffs=[-0.08, 0.06])
        msgs.append(rec)
    walkers = []
    for _ in range(cameras):
        n = int(rng.integers(0, 30))
        group = rng.uniform([100, 300], [1700, 900], (max(1, n // 4), 2))
        pos = group[rng.integers(0, len(group), n)] + rng.normal(0, 15, (n, 2))  # walking in groups
        walkers.append([pos, np.repeat(rng.normal(0, 8, (1, 2)), n, axis=0) + rng.normal(0, 1, (n, 2))])
    start = rng.integers(0, instants // 2, cameras)
    classes = ["person", "vehicle", "object", "bicycle", "dog"]
    for f in range(instants):
        for c in range(cameras):
            if f < start[c] or rng.random() < 0.05:
                continue
            pos, vel = walkers[c]
            pos += vel
            keep = rng.random(len(pos)) > 0.1
            dets = [
                {"bbox": [float(x), float(y), 40.0 + float(w), 100.0 + float(w)],
                 "conf": float(rng.choice([0.3, 0.55, 0.6, 0.62, 0.9, 0.99])),
                 "cls": str(rng.choice(classes, p=[0.75, 0.1, 0.05, 0.05, 0.05]))}
                for (x, y), w in zip(pos[keep] + rng.normal(0, 2, (keep.sum(), 2)),
                                     rng.normal(0, 2, keep.sum()), strict=True)
            ]
            msg = {"t": f * 0.2, "topic": "camera/frame", "camera_id": f"cam-{c}", "frame": f + 1,
                   "detections": dets}
            if not dets and f % 2:
                del msg["detections"]
            msgs.append(msg)
        if f == 7:
            msgs.append({"t": f * 0.2, "topic": "camera/health", "camera_id": "cam-0", "status": "ok"})
    return msgs


def _instants(msgs: list[dict]) -> list[list[dict]]:
    import itertools

    return [list(g) for _, g in itertools.groupby(msgs, key=lambda m: (m["topic"] == "camera/frame", m["t"]))]


def _same(a, b) -> bool:
    """Equal update results: the same exception, or the same track/frame messages (arrays bit for bit)."""
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.keys() != y.keys():
            return False
        for k in x:
            if isinstance(x[k], np.ndarray) or isinstance(y[k], np.ndarray):
                if not np.array_equal(x[k], y[k], equal_nan=True):
                    return False
            elif x[k] != y[k]:
                return False
    return True


def _per_message(stage, msgs: list[dict]) -> list:
    out = []
    for m in msgs:
        try:
            out.append(stage.update(m))
        except Exception as exc:  # noqa: BLE001 - compared with what update_batch returns
            out.append(exc)
    return out


def test_update_batch_gives_updates_messages_and_rows(tmp_path) -> None:
    from analytics.tracking import TrackStage, write_track_files

    msgs = _city()
    one, many = TrackStage(), TrackStage()
    expected = _per_message(one, msgs)
    got = [r for group in _instants(msgs) for r in many.update_batch(group)]
    assert len(got) == len(msgs)
    assert all(_same(a, b) for a, b in zip(expected, got, strict=True))
    frames = [r[0] for r in expected if r]
    ids = [i for fr in frames for i in fr["ids"]]
    assert len(frames) > 200 and len(ids) > 2500 and len(set(ids)) > 100  # tracked, with ground points
    assert sum(fr["xy"] is not None and len(fr["xy"]) > 0 for fr in frames) > 150
    assert {c for fr in frames for c in fr["cls"]} >= {"person", "vehicle"}
    assert many.detections == one.detections and many.camera_ids == one.camera_ids
    assert many.trackers == {} and len(many.batch_projectors) == 8  # all on the batched tracker
    for cam in one.camera_ids:
        np.testing.assert_array_equal(many.mot_rows(cam), one.mot_rows(cam))
    paths = write_track_files(many, tmp_path / "many")
    ref = write_track_files(one, tmp_path / "one")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in ref] and len(paths) == 8


def test_update_batch_keeps_order_within_a_batch() -> None:
    """One call with everything: a camera's second frame and a calibration record close the batch so far;
    a bad frame fails alone; a camera update met first stays on its own tracker."""
    from analytics.tracking import TrackStage

    msgs = _city(seed=2, cameras=5, instants=12)
    bad = {"t": 0.4, "topic": "camera/frame", "camera_id": "cam-1", "frame": 99,
           "detections": [{"bbox": [float("nan"), 1.0, 2.0, 3.0], "conf": 0.9, "cls": "person"}]}
    late_cal = {"t": 1.0, "topic": "camera/calibration", "camera_id": "cam-4", "fps": 5.0,
                "image_to_ground": [[0.01, 0.0, 5.0], [0.0, 0.01, 7.0], [0.0, 0.0, 1.0]]}
    msgs = msgs[:12] + [bad] + msgs[12:30] + [late_cal] + msgs[30:]
    one, many = TrackStage(), TrackStage()
    expected = _per_message(one, msgs)
    first = next(i for i, m in enumerate(msgs) if m["topic"] == "camera/frame")
    got = many.update_batch(msgs[:first])  # the calibration records
    got += _per_message(many, msgs[first : first + 1])  # through update: this camera stays on its own
    got += many.update_batch(msgs[first + 1 :])  # all the rest in one call
    assert all(_same(a, b) for a, b in zip(expected, got, strict=True))
    errors = [r for r in got if isinstance(r, Exception)]
    assert len(errors) == 1 and "finite" in str(errors[0])
    assert list(many.trackers) == [msgs[first]["camera_id"]] and len(many.batch_projectors) == 4
    assert sum(len(r[0]["ids"]) for r in got if r and not isinstance(r, Exception)) > 200
    # update on a camera update_batch met first goes through the batched tracker
    nxt = {"t": 99.0, "topic": "camera/frame", "camera_id": "cam-1", "frame": 500,
           "detections": [{"bbox": [500.0, 500.0, 40.0, 100.0], "conf": 0.9, "cls": "person"}]}
    assert _same(one.update(nxt), many.update(nxt))


def test_multi_camera_tracker_gives_camera_trackers_ids_boxes_and_voted_classes() -> None:
    from analytics.tracking import MultiCameraTracker

    for params in (TrackerParams(), TrackerParams(class_vote=False)):
        rng = np.random.default_rng(9)
        singles = {c: CameraTracker(c, fps=5.0, params=params) for c in "abc"}
        multi = MultiCameraTracker(params)
        for c in "abc":
            multi.add_camera(c, 5.0)
        changed = 0
        for f in range(30):
            frames = []
            for i, c in enumerate("abc"):
                n = 6 + i
                box = np.column_stack([np.arange(n) * 60.0 + 3 * f, np.full(n, 100.0), np.full((n, 2), 40.0)])
                box += rng.normal(0, 1, box.shape)
                cls = np.where(rng.random(n) < 0.3, rng.integers(0, 4, n), 0)  # a noisy detector
                frames.append((c, box, rng.uniform(0.4, 1.0, n), cls, f * 0.2))
            for fr, res in zip(frames, multi.track(frames), strict=True):
                ids, xywh, cls_out = singles[fr[0]].track(fr[1], fr[2], fr[3], t=fr[4])
                np.testing.assert_array_equal(res[0], ids)
                np.testing.assert_array_equal(res[1], xywh)
                np.testing.assert_array_equal(res[2], cls_out)
                changed += int((cls_out != fr[3][: len(cls_out)]).sum()) if len(ids) == len(fr[1]) else 0
        assert changed > 0 if params.class_vote else True
