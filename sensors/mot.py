"""MOTChallenge export of camera streams: ``det/det.txt``, ``gt/gt.txt`` and ``seqinfo.ini`` per camera.

Layout under ``out_dir``: ``sensors/cameras/<camera_id>/det/det.txt`` (one line per detection,
``frame,-1,x,y,w,h,conf,-1,-1,-1``), ``.../gt/gt.txt`` (one line per true target in view,
``frame,id,x,y,w,h,1,cls,visibility`` with MOT17 classes: pedestrian 1, car 3, left object 13) and
``.../seqinfo.ini`` (``[Sequence]`` name, imDir, frameRate, seqLength, imWidth, imHeight, imExt). Frames are
1-based camera frame numbers; pixel boxes are the bus's (0-based pixel grid, as ``analytics.mot`` reads them;
tools that subtract MOTChallenge's 1 do it on both files, so scores do not change).
Lines are streamed to hidden temporary files while the run goes and every file is moved into place on
``close()`` (``abort()`` drops them), so a failed run leaves no half export.

Wiring: ``exporter.subscribe(bus)`` takes ``camera/calibration`` and ``camera/frame`` from the bus, and
``exporter.attach(sensors)`` sets itself as the ``truth_sink`` of every camera (true ids never go on the bus).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from sensors.atomic import AtomicTextFile
from sensors.bus import Bus, Message
from sensors.camera import Camera, CameraTruth

__all__ = ["MotExporter"]


class _Seq:
    """Open temp files and counters of one camera's sequence."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "det").mkdir(parents=True, exist_ok=True)
        (folder / "gt").mkdir(parents=True, exist_ok=True)
        self.det_path, self.gt_path = folder / "det" / "det.txt", folder / "gt" / "gt.txt"
        self.det = AtomicTextFile(self.det_path, encoding="ascii")
        self.gt = AtomicTextFile(self.gt_path, encoding="ascii")
        self.max_frame = 0
        self.fps = 5.0
        self.size = (1920, 1080)


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


_DET_ROW = "%d,-1,%.7g,%.7g,%.7g,%.7g,%.3f,-1,-1,-1\n"
_GT_ROW = "%d,%d,%.7g,%.7g,%.7g,%.7g,1,%d,%.3f\n"


def _rows(fmt: str, columns: list) -> str:
    """Format whole frames at once: box values rounded to 0.01 px (``%.7g`` drops trailing zeros)."""
    table = np.column_stack(columns)
    return (fmt * len(table)) % tuple(table.ravel().tolist())


class MotExporter:
    """Streams MOTChallenge det/gt files for every camera it hears of (see the module docstring)."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.root = Path(out_dir) / "sensors" / "cameras"
        self._seqs: dict[str, _Seq] = {}
        self.closed = False

    def _seq(self, camera_id: str) -> _Seq:
        seq = self._seqs.get(camera_id)
        if seq is None:
            seq = self._seqs[camera_id] = _Seq(self.root / camera_id)
        return seq

    # -------------------------------------------------------------- wiring
    def subscribe(self, bus: Bus) -> None:
        """Listen to ``camera/calibration`` and ``camera/frame`` on ``bus``."""
        bus.subscribe("camera/calibration", self.on_message)
        bus.subscribe("camera/frame", self.on_message)

    def attach(self, sensors: Iterable[object]) -> None:
        """Become the ``truth_sink`` of every ``Camera`` in ``sensors`` (for gt.txt)."""
        for s in sensors:
            if isinstance(s, Camera):
                s.truth_sink = self.truth
                seq = self._seq(s.id)
                seq.fps, seq.size = float(s.config.fps), (s.nominal.width_px, s.nominal.height_px)

    # -------------------------------------------------------------- writing
    def on_message(self, msg: Message) -> None:
        """Bus callback: a calibration sets the sequence info, a frame appends det lines."""
        p = msg.payload
        seq = self._seq(str(p["camera_id"]))
        if msg.topic == "camera/calibration":
            seq.fps, seq.size = float(p["fps"]), (int(p["resolution"][0]), int(p["resolution"][1]))
            return
        frame = int(p["frame"])
        seq.max_frame = max(seq.max_frame, frame)
        dets = p["detections"]
        if dets:
            boxes = np.round(np.array([d["bbox"] for d in dets], dtype=float), 2)
            conf = np.array([d["conf"] for d in dets], dtype=float)
            seq.det.write(_rows(_DET_ROW, [np.full(len(dets), frame), boxes, conf]))

    def truth(self, camera_id: str, frame: int, t: float, truth: CameraTruth) -> None:
        """Truth sink: append this frame's true targets in view to gt.txt."""
        seq = self._seq(camera_id)
        seq.max_frame = max(seq.max_frame, int(frame))
        n = len(truth.ids)
        if n:
            seq.gt.write(_rows(_GT_ROW, [np.full(n, int(frame)), truth.ids, np.round(truth.boxes[:, :4], 2),
                                         truth.mot_cls, truth.visibility]))

    def close(self) -> list[Path]:
        """Finish every file, write ``seqinfo.ini`` and move all of them into place; returns the paths."""
        done: list[Path] = []
        for cid in sorted(self._seqs):
            seq = self._seqs[cid]
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
