"""The tracker's class vote: a track keeps the class its detections were given most often."""

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
    # counted; the tie at 2 bicycle ones stays person (lower class index); the third bicycle frame flips it
    assert voted[:4] == ["person"] * 4 and voted[4:] == ["bicycle"] * 4
