"""Multi-object tracking of camera detections, projected to the ground through the camera homography.

Tracker library: Roboflow ``trackers`` (``ByteTrackTracker``), the maintained successor of supervision's
ByteTrack. We chose ByteTrack over Stone Soup because camera detections are image boxes: ByteTrack
associates boxes by IoU with a Kalman box model and recovers occluded targets from low-confidence boxes,
which is what a detector feed needs, and it costs far less per detection than a Stone Soup
``MultiTargetTracker`` built from Python state objects (figures in ``docs/performance.md``). Ground
positions are then taken per track from the box's foot point, undistorted with the calibration's lens
coefficients when it has them and mapped by its homography (``analytics.geometry.GroundProjector``), so the
behaviour detectors work in metres.

``CameraTracker`` runs ``analytics.bytetrack_pool.PooledByteTrackTracker``: the library's ByteTrack logic
with all tracklets' Kalman filters run as one batched numpy predict and update per frame instead of one
Python filter per tracklet (same ids, states equal to 1e-8). ``MultiCameraTracker`` gives every camera the
output its own ``CameraTracker`` would, for all cameras' frames of an instant at once
(``analytics.multitrack``); ``TrackStage.update_batch`` runs on it.
``TrackStage`` keeps each camera's output as MOTChallenge rows; ``write_track_files`` saves them in the run
folder (``TRACK_FILE``) so scoring reads them instead of tracking det.txt a second time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analytics.geometry import GroundProjector, boxes_and_shifted_many

__all__ = [
    "CLASSES",
    "FOOT_JITTER",
    "CameraTracker",
    "MultiCameraTracker",
    "TrackerParams",
    "TrackStage",
    "TRACK_FILE",
    "ground_sigma",
    "track_mot",
    "write_track_files",
]

#: Detection classes a camera reports; the index is the class id given to the tracker. An unknown class is
#: tracked as ``object``.
CLASSES = ("person", "vehicle", "object", "bicycle")
#: Where a camera's online tracker output goes in a run folder, beside ``det/det.txt`` and ``gt/gt.txt``
#: (MOTChallenge result rows, 1-based ids); scoring reads it instead of re-tracking det.txt.
TRACK_FILE = "track/track.txt"
#: Typical detector jitter of a box's foot point, as a fraction of the box height.
FOOT_JITTER = 0.05


def ground_sigma(projector: GroundProjector | np.ndarray, xywh: np.ndarray) -> np.ndarray:
    """Metres the ground point moves when each box's foot point moves down by ``FOOT_JITTER`` x height
    (``projector``: a ``GroundProjector``, or a bare image-to-ground homography)."""
    proj = projector if isinstance(projector, GroundProjector) else GroundProjector(projector)
    return _sigma(*proj.boxes_and_shifted(xywh, FOOT_JITTER))


def _sigma(ground: np.ndarray, shifted: np.ndarray) -> np.ndarray:
    d = shifted - ground
    return np.hypot(d[:, 0], d[:, 1])


@dataclass(frozen=True, slots=True)
class TrackerParams:
    """ByteTrack settings.

    Parameters
    ----------
    lost_track_buffer_s
        Seconds a track survives without a matched detection (occlusion, missed detections). Default 2 s:
        at the simulator's 2-5 fps that is 4-10 frames.
    track_activation_threshold
        Minimum detection confidence that may start a new track.
    high_conf_det_threshold
        Confidence splitting ByteTrack's first (high) and second (low) association stages.
    minimum_iou_threshold
        IoU below which a box is never associated to a track (default 0.1: at 2 fps a walker's box moves
        far between frames).
    minimum_consecutive_frames
        Frames a new track must be matched in before it gets an id.
    class_vote
        A track's class is the one its detections were given most often (a detector confuses classes now
        and then: one frame's "vehicle" does not make a walker a car); False: each frame's own.
    class_vote_half_life_s
        A vote counts half as much this many seconds of the camera's frames later (default 1.3 s: at 5 fps
        each earlier vote counts 0.9 of the next, at 2 fps 0.77). A track that switches from a walker it
        followed for minutes onto a passing car or cyclist takes that class within about 1.5 s, rather
        than calling the car a person running for as long as the walker's old votes outweigh it, while a
        cyclist whom the detector calls a person one frame in five stays a cyclist. ``inf`` counts every
        vote alike.
    """

    lost_track_buffer_s: float = 2.0
    track_activation_threshold: float = 0.5
    high_conf_det_threshold: float = 0.6
    minimum_iou_threshold: float = 0.1
    minimum_consecutive_frames: int = 2
    class_vote: bool = True
    class_vote_half_life_s: float = 1.3


def vote_decay(params: TrackerParams, fps: float) -> float:
    """Per-frame factor of a camera's class votes at ``fps`` (``TrackerParams.class_vote_half_life_s``)."""
    return float(0.5 ** (1.0 / (float(fps) * params.class_vote_half_life_s)))


def vote_classes(votes: np.ndarray, rows: np.ndarray, cls: np.ndarray, decay: float | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Add one frame's detected classes ``cls`` to the decayed votes of the tracks ``rows`` (each row at
    most once; the array grows as needed): ``(votes, each track's winning class)``, ties to the lower
    index."""
    if len(rows) == 0:
        return votes, cls
    need = int(rows.max()) + 1
    if need > len(votes):
        grown = np.zeros((max(need, 2 * len(votes)), votes.shape[1]))
        grown[: len(votes)] = votes
        votes = grown
    votes[rows] *= np.reshape(decay, (-1, 1)) if np.ndim(decay) else decay
    votes[rows, np.clip(cls, 0, votes.shape[1] - 1)] += 1.0
    return votes, votes[rows].argmax(axis=1)


class CameraTracker:
    """ByteTrack on one camera's frames; returns the tracked boxes with ids, classes and ground points."""

    def __init__(
        self,
        camera_id: str,
        *,
        fps: float,
        params: TrackerParams = TrackerParams(),
        image_to_ground: np.ndarray | None = None,
        projector: GroundProjector | None = None,
    ) -> None:
        import supervision as sv

        from analytics.bytetrack_pool import PooledByteTrackTracker

        self._sv = sv
        self.camera_id = camera_id
        #: Image -> ground of this camera (``projector``, else the bare homography ``image_to_ground``).
        self.projector = projector
        if projector is None and image_to_ground is not None:
            self.projector = GroundProjector(image_to_ground)
        self._tracker = PooledByteTrackTracker(
            lost_track_buffer=max(1, round(params.lost_track_buffer_s * 30.0)),
            frame_rate=float(fps),
            track_activation_threshold=params.track_activation_threshold,
            minimum_consecutive_frames=params.minimum_consecutive_frames,
            minimum_iou_threshold=params.minimum_iou_threshold,
            high_conf_det_threshold=params.high_conf_det_threshold,
        )
        self._class_vote, self._decay = params.class_vote, vote_decay(params, fps)
        #: per track id, its decayed class votes (rows grow with the ids ByteTrack hands out)
        self._votes = np.zeros((0, len(CLASSES)))

    def _voted(self, ids: np.ndarray, cls: np.ndarray) -> np.ndarray:
        """Each track's class by its decayed votes, this frame's detections counted (ties: lower index)."""
        self._votes, voted = vote_classes(self._votes, ids, cls, self._decay)
        return voted

    def update(
        self, bboxes: np.ndarray, conf: np.ndarray, cls: np.ndarray, *, t: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Track one frame of ``[x, y, w, h]`` boxes; ``cls`` holds indices into ``CLASSES``.

        Returns ``(ids, bboxes_xywh, cls, ground_xy)`` for the tracked boxes only (ByteTrack ids, from 0);
        ``ground_xy`` is None when the camera has no calibration.
        """
        ids, xywh, cls_out = self.track(bboxes, conf, cls, t=t)
        ground = None if self.projector is None else self.projector.boxes(xywh)
        return ids, xywh, cls_out, ground

    def track(
        self, bboxes: np.ndarray, conf: np.ndarray, cls: np.ndarray, *, t: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``update`` without the ground projection: ``(ids, bboxes_xywh, cls)`` of the tracked boxes."""
        b = np.asarray(bboxes, dtype=float).reshape(-1, 4)
        xyxy = np.column_stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]])
        dets = self._sv.Detections(
            xyxy=xyxy,
            confidence=np.asarray(conf, dtype=float).reshape(-1),
            class_id=np.asarray(cls, dtype=int).reshape(-1),
        )
        out = self._tracker.update(dets, timestamp=t)
        keep = out.tracker_id >= 0
        ids = out.tracker_id[keep]
        bx = out.xyxy[keep]
        xywh = np.column_stack([bx[:, 0], bx[:, 1], bx[:, 2] - bx[:, 0], bx[:, 3] - bx[:, 1]])
        cls_out = out.class_id[keep]
        if self._class_vote:
            cls_out = self._voted(ids.astype(np.int64), np.asarray(cls_out, np.int64))
        return ids, xywh, cls_out


class MultiCameraTracker:
    """``CameraTracker.track`` for many cameras at once: one ``analytics.multitrack.MultiByteTrack`` over all
    of them, each camera's output (ids, boxes, voted classes) the same as its own ``CameraTracker``'s."""

    def __init__(self, params: TrackerParams = TrackerParams()) -> None:
        from analytics.multitrack import MultiByteTrack

        self._tracker = MultiByteTrack(
            lost_track_buffer=max(1, round(params.lost_track_buffer_s * 30.0)),
            track_activation_threshold=params.track_activation_threshold,
            minimum_consecutive_frames=params.minimum_consecutive_frames,
            minimum_iou_threshold=params.minimum_iou_threshold,
            high_conf_det_threshold=params.high_conf_det_threshold,
        )
        self._class_vote, self._params = params.class_vote, params
        self._decays: list[float] = []  # per camera index, its votes' decay per frame
        #: camera id -> its index in the tracker
        self.cameras: dict[str, int] = {}
        #: per track (its key in the tracker), its decayed class votes
        self._votes = np.zeros((0, len(CLASSES)))

    def add_camera(self, camera_id: str, fps: float) -> None:
        if camera_id in self.cameras:
            raise ValueError(f"camera {camera_id!r} is already tracked")
        self.cameras[camera_id] = self._tracker.add_camera(float(fps))
        self._decays.append(vote_decay(self._params, fps))

    def track(
        self, frames: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, float | None]]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | Exception]:
        """Track one frame ``(camera_id, bboxes [x, y, w, h], conf, cls, t)`` of each of a set of distinct
        cameras; per frame ``(ids, bboxes_xywh, cls)`` as ``CameraTracker.track`` returns them, or the
        exception it would raise (a non-finite box: that frame then changes nothing, as there)."""
        boxes = [np.asarray(f[1], dtype=float).reshape(-1, 4) for f in frames]
        confs = [np.asarray(f[2], dtype=float).reshape(-1) for f in frames]
        classes = [np.asarray(f[3], dtype=int).reshape(-1) for f in frames]
        n = [len(b) for b in boxes]
        if n != [len(c) for c in confs] or n != [len(c) for c in classes]:
            raise ValueError("each frame needs one confidence and one class per box")
        off = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
        b = np.concatenate([np.empty((0, 4)), *boxes])
        xyxy = np.column_stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]])
        conf, cls = np.concatenate([np.empty(0), *confs]), np.concatenate([np.empty(0, int), *classes])
        cams = [self.cameras[f[0]] for f in frames]
        res = self._tracker.update(cams, [f[4] for f in frames], xyxy, conf, off)
        pos = np.repeat(np.arange(len(frames)), np.diff(res.offsets))
        keep = res.tracker_id >= 0
        src = off[pos[keep]] + res.det[keep]  # the returned boxes' rows in the batch
        bx = xyxy[src]
        xywh = np.column_stack([bx[:, 0], bx[:, 1], bx[:, 2] - bx[:, 0], bx[:, 3] - bx[:, 1]])
        cls_out = cls[src].astype(np.int64)
        if self._class_vote:
            decay = np.repeat(np.array([self._decays[c] for c in cams]), np.diff(res.offsets))[keep]
            cls_out = self._voted(res.key[keep], cls_out, decay)
        cut = np.searchsorted(np.flatnonzero(keep), res.offsets)  # each frame's rows among the kept
        ids = res.tracker_id[keep]
        return [
            res.errors[p] if p in res.errors else
            (ids[cut[p] : cut[p + 1]], xywh[cut[p] : cut[p + 1]], cls_out[cut[p] : cut[p + 1]])
            for p in range(len(frames))
        ]

    def _voted(self, keys: np.ndarray, cls: np.ndarray, decay: np.ndarray) -> np.ndarray:
        """``CameraTracker._voted`` for every camera's tracks at once (rows by track key, not by id)."""
        self._votes, voted = vote_classes(self._votes, keys, cls, decay)
        return voted


class TrackStage:
    """Turns ``camera/calibration`` + ``camera/frame`` messages into ``track/frame`` messages.

    A ``track/frame`` message is ``{t, topic, camera_id, frame, ids: [str "cam:id"], cls: [str],
    bbox: (N, 4) array, xy: (N, 2) array or None, xy_sigma: (N,) metres or None}``: what the behaviour and
    crowd detectors read. ``xy_sigma`` is how far the ground point moves when the foot point moves by
    ``FOOT_JITTER`` of the box height: the ground uncertainty, large for small, far-away boxes.
    """

    def __init__(self, params: TrackerParams = TrackerParams(), *, default_fps: float = 5.0) -> None:
        self.params = params
        self.default_fps = default_fps
        self.calibration: dict[str, dict[str, Any]] = {}
        #: The cameras ``update`` met first, each on its own tracker.
        self.trackers: dict[str, CameraTracker] = {}
        #: The cameras ``update_batch`` met first, all on one ``MultiCameraTracker`` (``batch``), and their
        #: ground projectors.
        self.batch: MultiCameraTracker | None = None
        self.batch_projectors: dict[str, GroundProjector | None] = {}
        self.detections = 0
        #: Per camera, the tracked boxes of each frame as MOTChallenge rows (for ``write_track_files``).
        self.mot_frames: dict[str, list[np.ndarray]] = {}

    @property
    def camera_ids(self) -> list[str]:
        """Every camera tracked so far (by either entry point), sorted."""
        return sorted({*self.trackers, *self.batch_projectors})

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        topic = msg.get("topic")
        if topic == "camera/calibration":
            self.add_calibration(msg)
            return []
        if topic != "camera/frame":
            return []
        cam = str(msg["camera_id"])
        if cam in self.batch_projectors:  # a camera update_batch met first stays on the batched tracker
            out = self.update_batch([msg])[0]
            if isinstance(out, Exception):
                raise out
            return out
        tracker = self.trackers.get(cam)
        if tracker is None:
            cal = self.calibration.get(cam, {})
            tracker = CameraTracker(
                cam,
                fps=float(cal.get("fps") or self.default_fps),
                params=self.params,
                projector=GroundProjector.from_record(cal),
            )
            self.trackers[cam] = tracker
        bboxes, conf, cls, t = self._frame_arrays(msg)
        ids, xywh, cls_out = tracker.track(bboxes, conf, cls, t=t)
        proj = tracker.projector
        projected = None if proj is None else proj.boxes_and_shifted(xywh, FOOT_JITTER)
        return [self._track_message(cam, msg, t, projected, ids, xywh, cls_out)]

    def update_batch(self, msgs: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]] | Exception]:
        """``update`` on each message in order, with the frames of many cameras tracked as one batch (the
        frames of one instant, say: ``analytics.multitrack``).

        Returns, per message, the list ``update`` returns for it (``[]``, or its one ``track/frame``
        message), or the exception ``update`` would raise on it (one bad frame costs the others nothing);
        the outputs and the stage's state are those of calling ``update`` on each message. A camera
        ``update`` met first stays on its own ``CameraTracker``. A camera's second frame, or a calibration
        record, closes the batch gathered so far, so every frame sees what came before it.
        """
        results: list[list[dict[str, Any]] | Exception] = [[] for _ in msgs]
        pending: dict[str, tuple[int, dict[str, Any], tuple]] = {}
        for i, msg in enumerate(msgs):
            topic = msg.get("topic")
            try:
                if topic == "camera/calibration":
                    self._track_pending(pending, results)
                    self.add_calibration(msg)
                elif topic == "camera/frame":
                    cam = str(msg["camera_id"])
                    if cam in self.trackers:
                        results[i] = self.update(msg)
                        continue
                    if cam in pending:
                        self._track_pending(pending, results)
                    if cam not in self.batch_projectors:
                        self._add_batch_camera(cam)
                    pending[cam] = (i, msg, self._frame_arrays(msg))
            except Exception as exc:  # noqa: BLE001 - returned in the message's place, as update would raise
                results[i] = exc
        self._track_pending(pending, results)
        return results

    def _add_batch_camera(self, cam: str) -> None:
        cal = self.calibration.get(cam, {})
        fps = float(cal.get("fps") or self.default_fps)
        projector = GroundProjector.from_record(cal)
        if self.batch is None:
            self.batch = MultiCameraTracker(self.params)
        self.batch.add_camera(cam, fps)
        self.batch_projectors[cam] = projector

    def _track_pending(
        self, pending: dict[str, tuple[int, dict[str, Any], tuple]], results: list
    ) -> None:
        """Track the gathered frames (one per camera) as one batch, project their boxes to the ground in
        one pass (``boxes_and_shifted_many``); their messages go to ``results``."""
        if not pending:
            return
        assert self.batch is not None
        frames = [(cam, *arrays) for cam, (_, _, arrays) in pending.items()]
        tracked = dict(zip(pending, self.batch.track(frames), strict=True))
        seen = [c for c, out in tracked.items()
                if not isinstance(out, Exception) and self.batch_projectors[c] is not None]
        grounds = boxes_and_shifted_many(
            [self.batch_projectors[c] for c in seen], [tracked[c][1] for c in seen], FOOT_JITTER)
        projected = dict(zip(seen, grounds, strict=True))
        for cam, (i, msg, arrays) in pending.items():
            out, ground = tracked[cam], projected.get(cam)
            if isinstance(out, Exception) or isinstance(ground, Exception):
                results[i] = out if isinstance(out, Exception) else ground
                continue
            results[i] = [self._track_message(cam, msg, arrays[3], ground, *out)]
        pending.clear()

    def _frame_arrays(self, msg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """A frame message's boxes ``[x, y, w, h]``, confidences, class indices and time (counts its
        detections)."""
        dets = msg.get("detections") or []
        n = len(dets)
        self.detections += n
        bboxes = np.array([d["bbox"] for d in dets], dtype=float).reshape(n, 4)
        conf = np.array([d.get("conf", 1.0) for d in dets], dtype=float)
        cls = np.array([_class_index(d.get("cls", "person")) for d in dets], dtype=int)
        return bboxes, conf, cls, float(msg.get("t", 0.0))

    def _track_message(
        self,
        cam: str,
        msg: dict[str, Any],
        t: float,
        projected: tuple[np.ndarray, np.ndarray] | None,
        ids: np.ndarray,
        xywh: np.ndarray,
        cls_out: np.ndarray,
    ) -> dict[str, Any]:
        """One frame's ``track/frame`` message (``projected``: its boxes' ground points and those of the
        shifted foot points, None without a calibration); keeps its MOT rows."""
        ground = sigma = None
        if projected is not None:
            ground, shifted = projected
            sigma = _sigma(ground, shifted)
        if len(ids) and msg.get("frame") is not None:
            rows = np.empty((len(ids), 6))
            rows[:, 0], rows[:, 1], rows[:, 2:] = float(msg["frame"]), ids + 1.0, xywh
            self.mot_frames.setdefault(cam, []).append(rows)
        return {
            "t": t,
            "topic": "track/frame",
            "camera_id": cam,
            "frame": msg.get("frame"),
            "ids": [f"{cam}:{int(i)}" for i in ids],
            "cls": [CLASSES[int(c)] for c in cls_out],
            "bbox": xywh,
            "xy": ground,
            "xy_sigma": sigma,
        }

    def mot_rows(self, camera_id: str) -> np.ndarray:
        """One camera's tracker output so far as MOTChallenge rows (N, 10): frame, 1-based id, box, 1, -1s
        (what ``track_mot`` returns for the same detections)."""
        frames = self.mot_frames.get(camera_id)
        if not frames:
            return np.empty((0, 10))
        rows = np.vstack(frames)
        return np.hstack([rows, np.ones((len(rows), 1)), np.full((len(rows), 3), -1.0)])

    def add_calibration(self, rec: dict[str, Any]) -> None:
        """Register one camera's calibration record (before or after its tracker exists)."""
        cam = str(rec["camera_id"])
        self.calibration[cam] = rec
        if cam in self.trackers and rec.get("image_to_ground") is not None:
            self.trackers[cam].projector = GroundProjector.from_record(rec)
        if cam in self.batch_projectors and rec.get("image_to_ground") is not None:
            self.batch_projectors[cam] = GroundProjector.from_record(rec)

    def run(self, messages: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Pull form: yield ``track/frame`` messages for an iterator of camera messages."""
        for msg in messages:
            yield from self.update(msg)


def _class_index(name: str) -> int:
    try:
        return CLASSES.index(name)
    except ValueError:
        return CLASSES.index("object")


def track_mot(
    path: str, *, fps: float = 5.0, params: TrackerParams = TrackerParams(), stats: Any = None
) -> np.ndarray:
    """Track a MOTChallenge det.txt with ByteTrack; return the tracker output as MOTChallenge rows (N, 10)
    with 1-based ids.

    A negative detection confidence (results files use -1) is read as 1.
    """
    from analytics.mot import iter_mot_frames, load_mot

    if stats is None:  # the whole file at once (C parser), split by frame: the same frames in the same order
        rows_all = load_mot(path)
        cuts = np.flatnonzero(np.diff(rows_all[:, 0])) + 1
        frames: Iterable[tuple[int, np.ndarray]] = (
            (int(r[0, 0]), r) for r in np.split(rows_all, cuts) if len(r)
        )
    else:
        frames = iter_mot_frames(path, stats)
    tracker = CameraTracker("mot", fps=fps, params=params)
    out = []
    for frame, rows in frames:
        conf = np.where(rows[:, 6] >= 0, rows[:, 6], 1.0)
        ids, xywh, _, _ = tracker.update(rows[:, 2:6], conf, np.zeros(len(rows), int), t=(frame - 1) / fps)
        if len(ids):
            res = np.full((len(ids), 10), -1.0)
            res[:, 0], res[:, 1], res[:, 2:6], res[:, 6] = frame, ids + 1, xywh, 1.0
            out.append(res)
    return np.vstack(out) if out else np.empty((0, 10))


def write_track_files(stage: TrackStage, run_dir: str | os.PathLike) -> list[Path]:
    """Write each camera's online tracker output to ``sensors/cameras/<id>/TRACK_FILE`` (atomically, every
    camera the stage saw, empty file if it tracked nothing), so scoring need not re-track det.txt."""
    from analytics.mot import write_mot

    out = []
    for cam in stage.camera_ids:
        path = Path(run_dir) / "sensors" / "cameras" / cam / TRACK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_mot(path, stage.mot_rows(cam))
        out.append(path)
    return out
