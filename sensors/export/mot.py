"""MOTChallenge export of camera streams: ``det/det.txt``, ``gt/gt.txt`` and ``seqinfo.ini`` per camera.

Layout under ``out_dir``: ``sensors/cameras/<camera_id>/det/det.txt`` (one line per detection,
``frame,-1,x,y,w,h,conf,-1,-1,-1``), ``.../gt/gt.txt`` (one line per true target in view,
``frame,id,x,y,w,h,1,cls,visibility`` with MOT17 classes: pedestrian 1, car 3, bicycle 4, furniture 10
("occluder on the ground"), left object 13 (not an MOT17 class; ``sensors.camera.group.MOT_CLASS``), and
visibility the share of the box inside the image and not hidden by nearer targets, 0 behind a building) and
``.../seqinfo.ini`` (``[Sequence]`` name, imDir, frameRate, seqLength, imWidth, imHeight, imExt). Frames are
1-based camera frame numbers; pixel boxes are the bus's (0-based pixel grid, as ``analytics.mot`` reads them;
tools that subtract MOTChallenge's 1 do it on both files, so scores do not change).
Lines are streamed to hidden temporary files while the run goes and every file is moved into place on
``close()`` (``abort()`` drops them), so a failed run leaves no half export. ``cameras`` limits the export to
some cameras (the others are ignored) and ``gzip`` writes ``det.txt.gz`` and ``gt.txt.gz`` (the same text,
gzip-compressed: ``twin.files``); both come from the scenario's ``outputs: {mot, compress}``.

Wiring: ``exporter.subscribe(bus)`` takes ``camera/calibration`` and ``camera/frame`` from the bus, and
``exporter.attach(sensors)`` sets itself as the ``truth_sink`` of every camera (true ids never go on the bus).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path

import numpy as np

from sensors.camera import Camera, CameraTruth
from sensors.export.bus import Bus, Message
from sensors.export.numtext import det_text, gt_text
from twin.files import AtomicTextFile

__all__ = ["MotExporter"]


class _Seq:
    """Open temp files and counters of one camera's sequence."""

    def __init__(self, folder: Path, suffix: str = "") -> None:
        self.folder = folder
        (folder / "det").mkdir(parents=True, exist_ok=True)
        (folder / "gt").mkdir(parents=True, exist_ok=True)
        self.det_path, self.gt_path = folder / "det" / f"det.txt{suffix}", folder / "gt" / f"gt.txt{suffix}"
        self.det = AtomicTextFile(self.det_path, encoding="ascii")
        self.gt = AtomicTextFile(self.gt_path, encoding="ascii")
        self.max_frame = 0
        self.fps = 5.0
        self.size = (1920, 1080)
        # rows waiting to be formatted together (one kernel call per ~FLUSH_ROWS rows, not per frame)
        self.det_wait: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.gt_wait: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.det_n = self.gt_n = 0

    def flush(self) -> None:
        """Format and write the waiting rows (file order is frame order either way)."""
        if self.det_wait:
            f, b, c = zip(*self.det_wait, strict=True)
            frames = np.repeat(np.asarray(f, np.int64), [len(x) for x in b])
            self.det.write(det_text(frames, np.concatenate(b), np.concatenate(c)))
            self.det_wait, self.det_n = [], 0
        if self.gt_wait:
            f, i, b, k, v = zip(*self.gt_wait, strict=True)
            frames = np.repeat(np.asarray(f, np.int64), [len(x) for x in i])
            self.gt.write(gt_text(frames, np.concatenate(i), np.concatenate(b), np.concatenate(k),
                                  np.concatenate(v)))
            self.gt_wait, self.gt_n = [], 0


#: Rows a camera's det or gt file collects before they are formatted and written.
FLUSH_ROWS = 2048


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


class MotExporter:
    """Streams MOTChallenge det/gt files for every camera it hears of (see the module docstring)."""

    def __init__(self, out_dir: str | os.PathLike, *, cameras: Collection[str] | None = None,
                 gzip: bool = False) -> None:
        self.root = Path(out_dir) / "sensors" / "cameras"
        self._seqs: dict[str, _Seq] = {}
        #: the cameras exported (None: every camera)
        self.cameras = None if cameras is None else frozenset(cameras)
        self._suffix = ".gz" if gzip else ""
        self.closed = False

    def _seq(self, camera_id: str) -> _Seq | None:
        seq = self._seqs.get(camera_id)
        if seq is None:
            if self.cameras is not None and camera_id not in self.cameras:
                return None
            seq = self._seqs[camera_id] = _Seq(self.root / camera_id, self._suffix)
        return seq

    def set_sequence_info(self, camera_id: str, *, fps: float, size: tuple[int, int]) -> None:
        """Frame rate and image size (width, height px) of a camera's sequence, for its ``seqinfo.ini``."""
        seq = self._seq(camera_id)
        if seq is not None:
            seq.fps, seq.size = float(fps), (int(size[0]), int(size[1]))

    # -------------------------------------------------------------- wiring
    @classmethod
    def for_run(cls, run_dir: str | os.PathLike, sensors: Iterable[object]) -> MotExporter | None:
        """The exporter of a run folder, attached to its cameras (None: the run has no camera)."""
        cams = [s for s in sensors if isinstance(s, Camera)]
        if not cams:
            return None
        exp = cls(run_dir)
        exp.attach(cams)
        return exp

    def subscribe(self, bus: Bus) -> None:
        """Listen to ``camera/calibration`` and ``camera/frame`` on ``bus``."""
        bus.subscribe("camera/calibration", self.on_message, raw=True)
        bus.subscribe("camera/frame", self.on_message, raw=True)

    def attach(self, sensors: Iterable[object]) -> None:
        """Become the ``truth_sink`` of every ``Camera`` in ``sensors`` (for gt.txt)."""
        for s in sensors:
            if isinstance(s, Camera):
                s.truth_sink = self.truth
                self.set_sequence_info(s.id, fps=s.config.fps, size=(s.nominal.width_px, s.nominal.height_px))

    # -------------------------------------------------------------- writing
    def on_message(self, msg: Message) -> None:
        """Bus callback: a calibration sets the sequence info, a frame appends det lines."""
        p = msg.payload
        if msg.topic == "camera/calibration":
            self.set_sequence_info(str(p["camera_id"]), fps=p["fps"], size=p["resolution"])
            return
        dets = p["detections"]
        if hasattr(dets, "boxes"):  # sensors.camera.detections.Detections: the values as arrays already
            self.frame(str(p["camera_id"]), int(p["frame"]), dets.boxes, dets.conf)
        else:
            boxes = np.array([d["bbox"] for d in dets], dtype=float).reshape(len(dets), 4)
            conf = np.array([d["conf"] for d in dets], dtype=float)
            self.frame(str(p["camera_id"]), int(p["frame"]), np.round(boxes, 2), conf)

    def frame(self, camera_id: str, frame: int, boxes: np.ndarray, conf: np.ndarray) -> None:
        """Append one frame's detections (boxes (n, 4) at 0.01 px, confidences) to det.txt."""
        seq = self._seq(camera_id)
        if seq is None:
            return
        seq.max_frame = max(seq.max_frame, frame)
        if len(boxes):
            # copies: the arrays are often views of a whole camera batch, which a view would keep alive
            seq.det_wait.append((frame, np.array(boxes, dtype=float), np.round(conf, 3)))
            seq.det_n += len(boxes)
            if seq.det_n >= FLUSH_ROWS:
                seq.flush()

    def truth(self, camera_id: str, frame: int, t: float, truth: CameraTruth) -> None:
        """Truth sink: append this frame's true targets in view to gt.txt."""
        seq = self._seq(camera_id)
        if seq is None:
            return
        seq.max_frame = max(seq.max_frame, int(frame))
        n = len(truth.ids)
        if n:
            seq.gt_wait.append((int(frame), np.array(truth.ids), np.round(truth.boxes[:, :4], 2),
                                np.array(truth.mot_cls), np.round(truth.visibility, 3)))
            seq.gt_n += n
            if seq.gt_n >= FLUSH_ROWS:
                seq.flush()

    def close(self) -> list[Path]:
        """Finish every file, write ``seqinfo.ini`` and move all of them into place; returns the paths."""
        done: list[Path] = []
        for cid in sorted(self._seqs):
            seq = self._seqs[cid]
            seq.flush()
            info = AtomicTextFile(seq.folder / "seqinfo.ini", encoding="ascii")
            info.write(f"[Sequence]\nname={cid}\nimDir=img1\nframeRate={_num(seq.fps)}\n"
                       f"seqLength={seq.max_frame}\nimWidth={seq.size[0]}\nimHeight={seq.size[1]}\nimExt=.jpg\n")
            done += [seq.det.close(), seq.gt.close(), info.close()]
        self.closed = True
        return done

    def abort(self) -> None:
        """Drop every partial file."""
        for seq in self._seqs.values():
            seq.det.abort()
            seq.gt.abort()
        self.closed = True
