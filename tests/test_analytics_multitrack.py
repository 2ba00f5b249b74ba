"""The multi-camera tracker returns, camera by camera and frame by frame, what each camera's own pooled
ByteTrack (``PooledByteTrackTracker``) returns: same detections in the same order, same ids, same states."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import supervision as sv

from analytics.bytetrack_pool import PooledByteTrackTracker
from analytics.multitrack import MultiByteTrack, box_iou_pairs, overlap_candidates, ranges

KW = dict(
    lost_track_buffer=60,
    track_activation_threshold=0.5,
    minimum_consecutive_frames=2,
    minimum_iou_threshold=0.1,
    high_conf_det_threshold=0.6,
)
# spawning above the high threshold, one-frame confirmation, 0.23 s lost-track grace, IoU 0 pairs matchable
ODD = dict(
    lost_track_buffer=7,
    track_activation_threshold=0.7,
    minimum_consecutive_frames=1,
    minimum_iou_threshold=0.0,
    high_conf_det_threshold=0.6,
)
STEEP = dict(KW, minimum_consecutive_frames=3, lost_track_buffer=9)
NO_GRACE = dict(KW, lost_track_buffer=0)  # with timestamps every lost track dies at once
CONFS = np.array([0.3, 0.5, 0.55, 0.59999, 0.6, 0.65, 0.7, 0.9])  # around both thresholds


class Pair:
    """The multi-camera tracker and one reference tracker per camera, fed the same frames."""

    def __init__(self, kw: dict) -> None:
        self.kw = kw
        self.multi = MultiByteTrack(**kw)
        self.ref: dict[int, PooledByteTrackTracker] = {}
        self.index: dict[int, int] = {}
        self.frames = self.returned = self.tracked = 0

    def step(self, batch: list[tuple[int, float, float | None, np.ndarray, np.ndarray]]) -> None:
        """One instant: ``(camera, fps, timestamp, boxes xyxy, conf)`` per camera; asserts equal outputs."""
        expected = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for cam, fps, t, boxes, conf in batch:
                if cam not in self.ref:
                    self.ref[cam] = PooledByteTrackTracker(frame_rate=fps, **self.kw)
                    self.index[cam] = self.multi.add_camera(fps)
                det = sv.Detections(xyxy=boxes, confidence=conf, class_id=np.arange(len(boxes)))
                expected.append(self.ref[cam].update(det, timestamp=t))
            off = np.cumsum([0] + [len(b) for *_, b, _ in batch])
            res = self.multi.update(
                [self.index[c] for c, *_ in batch],
                [t for _, _, t, _, _ in batch],
                np.concatenate([np.empty((0, 4))] + [b for *_, b, _ in batch]),
                np.concatenate([np.empty(0)] + [c for *_, c in batch]),
                off,
            )
        assert res.errors == {}
        assert self.multi.pool.used.sum() == len(self.multi.cam)  # one filter row per live track
        for p, ((cam, *_), exp) in enumerate(zip(batch, expected, strict=True)):
            rows = slice(res.offsets[p], res.offsets[p + 1])
            np.testing.assert_array_equal(res.det[rows], exp.class_id)  # which boxes, in which order
            np.testing.assert_array_equal(res.tracker_id[rows], exp.tracker_id)
            self.assert_same_tracks(cam)
            self.frames += 1
            self.returned += len(exp)
            self.tracked += int((exp.tracker_id >= 0).sum())

    def assert_same_tracks(self, cam: int) -> None:
        ref, m = self.ref[cam], self.multi
        rows = m.tracks_of(self.index[cam])
        slots = [t.slot for t in ref.tracks]
        np.testing.assert_array_equal(m.pool.x[m.slot[rows]], ref.pool.x[slots].reshape(-1, 8))
        np.testing.assert_array_equal(m.pool.P[m.slot[rows]], ref.pool.P[slots].reshape(-1, 8, 8))
        np.testing.assert_array_equal(m.tid[rows], [t.tracker_id for t in ref.tracks])
        nsc = [t.number_of_successful_consecutive_updates for t in ref.tracks]
        np.testing.assert_array_equal(m.nsc[rows], nsc)
        np.testing.assert_array_equal(m.tsu[rows], [t.time_since_update for t in ref.tracks])
        np.testing.assert_array_equal(m.tsu_s[rows], [t.time_since_update_seconds for t in ref.tracks])


def _stream(seed: int, cameras: int, instants: int, timestamps: bool):
    """Random instants of many cameras: people walking (some in step: overlapping boxes, ties), duplicate
    boxes, missed and empty frames, cameras starting late and skipping instants, frame rates 2.5-10 fps,
    timestamps with jitter, a gap for odd cameras, and now and then a repeated, earlier or NaN time."""
    rng = np.random.default_rng(seed)
    fps = rng.choice([5.0, 2.5, 10.0, 3.0], cameras)
    start = rng.integers(0, instants // 3, cameras)
    people = []
    for _ in range(cameras):
        n = int(rng.integers(0, 25))
        people.append([rng.uniform([0, 0], [400, 300], (n, 2)), rng.normal(0, 6, (n, 2))])
    last: dict[int, float] = {}
    for f in range(instants):
        cams = [c for c in range(cameras) if f >= start[c] and rng.random() > 0.1]
        rng.shuffle(cams)
        batch = []
        for c in cams:
            pos, vel = people[c]
            pos += vel
            keep = (rng.random(len(pos)) > 0.15) & (rng.random() > 0.05)
            xy = pos[keep] + rng.normal(0, 2, (keep.sum(), 2))
            boxes = np.hstack([xy, xy + np.array([30.0, 60.0]) + rng.normal(0, 2, (keep.sum(), 2))])
            if len(boxes) > 2 and rng.random() < 0.3:  # a duplicate and a near duplicate
                boxes = np.vstack([boxes, boxes[:2] + np.array([[0.0], [0.5]])])
            conf = rng.choice(CONFS, len(boxes)) + rng.choice([0.0, 0.0, 1e-9], len(boxes))
            t = None
            if timestamps:
                t = f / fps[c] + (0.0009 if f % 3 == 0 else 0.0)
                t += 1.3 if f > instants // 2 and c % 2 else 0.0  # a gap: rescaled F and Q, lost tracks
                u = rng.random()
                if u < 0.03 and c in last:
                    t = last[c]  # duplicate: no predict
                elif u < 0.05 and c in last:
                    t = last[c] - 0.1  # earlier: skipped
                elif u < 0.06:
                    t = float("nan")  # skipped
                if t == t and (c not in last or t > last[c]):
                    last[c] = t
            batch.append((c, float(fps[c]), t, boxes, conf))
        yield batch


@pytest.mark.parametrize(
    ("kw", "tracked"), [(KW, 0.8), (ODD, 0.2), (STEEP, 0.2), (NO_GRACE, 0.005)],
    ids=["default", "odd", "steep", "no_grace"],
)
@pytest.mark.parametrize("timestamps", [True, False], ids=["timestamps", "fixed_rate"])
def test_batched_cameras_match_per_camera_trackers(
    kw: dict, tracked: float, timestamps: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    solved = _count_solver(monkeypatch)
    pair = Pair(kw)
    for batch in _stream(5, 10, 90, timestamps):
        pair.step(batch)  # asserts every camera's output and tracks
    assert pair.frames > 700 and pair.returned > 8000
    assert pair.tracked > tracked * pair.returned  # the streams really were tracked
    assert (kw is NO_GRACE and timestamps) or 100 < solved[0] < 2 * pair.frames  # the solver ran, not always


def _count_solver(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import analytics.multitrack as mt

    calls = [0]
    solve = mt.linear_sum_assignment

    def counted(*a, **kw):
        calls[0] += 1
        return solve(*a, **kw)

    monkeypatch.setattr(mt, "linear_sum_assignment", counted)
    return calls


def test_hard_and_easy_cameras_in_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Camera 0: two tracks overlap one box (the solver runs); camera 1: disjoint overlaps (no solver);
    camera 2: no tracks yet; camera 3: no boxes at all."""
    solved = _count_solver(monkeypatch)
    pair = Pair(KW)
    a = np.array([[0.0, 0, 10, 20], [12, 0, 22, 20]])
    b = np.array([[100.0, 100, 110, 120], [200, 100, 210, 120]])
    conf = np.array([0.9, 0.9])
    pair.step([(0, 5.0, 0.0, a, conf), (1, 5.0, 0.0, b, conf), (3, 5.0, 0.0, np.empty((0, 4)), np.empty(0))])
    merged = np.array([[5.0, 0, 17, 20]])
    assert solved == [0]
    pair.step([(0, 5.0, 0.2, merged, np.array([0.95])), (1, 5.0, 0.2, b + 1, conf),
               (2, 5.0, 0.2, a, conf), (3, 5.0, 0.2, np.empty((0, 4)), np.empty(0))])
    assert solved == [1]  # camera 0's stage 1 only
    pair.step([(0, 5.0, 0.4, a, conf), (1, 5.0, 0.4, b + 2, conf), (2, 5.0, 0.4, a + 1, conf)])
    # camera 1's two tracks were confirmed on their second frame: ids 0 and 1, in track order
    np.testing.assert_array_equal(pair.multi.tid[pair.multi.tracks_of(pair.index[1])], [0, 1])


def test_unmatched_low_boxes_come_back_with_id_minus_one_before_new_high_ones() -> None:
    m = MultiByteTrack(**KW)
    c = m.add_camera(5.0)
    boxes = np.array([[0.0, 0, 10, 10], [50, 50, 60, 60], [100, 0, 110, 10]])
    res = m.update([c], [0.0], boxes, np.array([0.9, 0.3, 0.55]), [0, 3])
    # the low boxes (1, 2: below 0.6) first, then the high one; none has an id on its first frame
    np.testing.assert_array_equal(res.det, [1, 2, 0])
    np.testing.assert_array_equal(res.tracker_id, [-1, -1, -1])
    assert len(m.cam) == 1  # only the high box (0.9 >= 0.5) started a track


def test_a_frame_with_a_nan_box_fails_like_sv_detections_and_changes_nothing() -> None:
    """A per-camera tracker never sees such a frame (``sv.Detections`` refuses it); the others go on."""
    ref = {c: PooledByteTrackTracker(frame_rate=5.0, **KW) for c in range(2)}
    m = MultiByteTrack(**KW)
    idx = [m.add_camera(5.0) for _ in range(2)]
    good = np.array([[0.0, 0, 10, 20], [40, 0, 50, 20]])
    conf = np.array([0.9, 0.8])
    for f in range(5):
        boxes = [good + f, good + f]
        if f == 2:
            boxes[0] = np.array([[0.0, 0, 10, 20], [np.nan, 0, 50, 20]])
        res = m.update(idx, [f * 0.2] * 2, np.vstack(boxes), np.tile(conf, 2), [0, 2, 4])
        for cam in range(2):
            if f == 2 and cam == 0:
                with pytest.raises(ValueError, match="finite") as err:
                    sv.Detections(xyxy=boxes[cam], confidence=conf, class_id=np.arange(2))
                assert str(res.errors[0]) == str(err.value)
                assert res.offsets[1] == res.offsets[0]  # nothing returned
                continue
            det = sv.Detections(xyxy=boxes[cam], confidence=conf, class_id=np.arange(2))
            out = ref[cam].update(det, timestamp=f * 0.2)
            rows = slice(res.offsets[cam], res.offsets[cam + 1])
            np.testing.assert_array_equal(res.tracker_id[rows], out.tracker_id)
            np.testing.assert_array_equal(res.det[rows], out.class_id)
        if f != 2:
            assert res.errors == {}
    assert (res.tracker_id >= 0).all()


def test_a_camera_appears_once_per_batch() -> None:
    m = MultiByteTrack(**KW)
    c = m.add_camera(5.0)
    with pytest.raises(ValueError, match="one frame per camera"):
        m.update([c, c], [0.0, 0.2], np.empty((0, 4)), np.empty(0), [0, 0, 0])


def test_overlap_candidates_hold_every_overlapping_pair() -> None:
    rng = np.random.default_rng(3)
    k = 6
    tpos, dpos = np.sort(rng.integers(0, k, 300)), np.sort(rng.integers(0, k, 200))
    def boxes(n: int) -> np.ndarray:
        xy = rng.uniform(0, 500, (n, 2))
        return np.hstack([xy, xy + rng.uniform(1, 120, (n, 2))])
    tb, db = boxes(300), boxes(200)
    tb[:5, 2] = tb[:5, 0]  # zero width
    t, d = overlap_candidates(tb, tpos, db, dpos, k)
    got = set(zip(t.tolist(), d.tolist(), strict=True))
    assert len(got) == len(t)  # no pair twice
    same = tpos[:, None] == dpos[None, :]
    x_overlap = (np.minimum(tb[:, None, 2], db[None, :, 2]) - np.maximum(tb[:, None, 0], db[None, :, 0])) > 0
    want = set(zip(*np.nonzero(same & x_overlap), strict=True))
    assert want <= got and all(tpos[i] == dpos[j] for i, j in got)
    assert len(got) < same.sum() / 2  # far fewer than all same-camera pairs


def test_overlap_candidates_near_the_float_limit_are_all_same_camera_pairs() -> None:
    tb = np.array([[0.0, 0, 1e307, 10], [5, 0, 8, 10], [0, 0, 1, 1]])
    db = np.array([[-1e308, 0, 2, 5], [4, 0, 6, 5]])
    t, d = overlap_candidates(tb, np.array([0, 0, 1]), db, np.array([0, 1]), 2)
    assert sorted(zip(t.tolist(), d.tolist(), strict=True)) == [(0, 0), (1, 0), (2, 1)]


def test_box_iou_pairs_is_supervisions_iou() -> None:
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 50, (40, 2))
    a = np.hstack([xy, xy + rng.uniform(0, 30, (40, 2))])
    a[3] = [5, 5, 5, 9]  # zero area
    full = sv.box_iou_batch(a, a)
    i, j = np.meshgrid(np.arange(40), np.arange(40), indexing="ij")
    area = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    got = box_iou_pairs(a[i.ravel()], a[j.ravel()], area[i.ravel()], area[j.ravel()])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.reshape(40, 40), full)
    assert (full > 0.1).sum() > 40  # the boxes do overlap


def test_ranges_concatenates_aranges() -> None:
    np.testing.assert_array_equal(ranges(np.array([5, 0, 9]), np.array([2, 0, 3])), [5, 6, 9, 10, 11])
    assert len(ranges(np.array([], int), np.array([], int))) == 0
