"""The run's file exports (``events.jsonl`` and the MOTChallenge det/gt files) written by a second process.

Why: turning every camera frame into JSON and MOT text costs more CPU than simulating it (~220 us of JSON
for a frame of 100 detections, against ~25 us to pickle it). ``ExportProcess`` subscribes to the bus in the
simulation process, pickles the messages and the cameras' truth in batches down a pipe, and a child process
runs the same ``Recorder`` and ``MotExporter`` on them in the same order, so the files are byte-identical
to in-process writing (tested) while the simulation goes on on the other core. The pipe blocks when the
child falls behind, so memory stays flat. ``close()`` returns once every file is in place; ``abort()``
drops them; an error in the child is raised in the parent at ``close()`` (or at the next send).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import traceback
from pathlib import Path
from typing import Any

from sensors.bus import Bus, Message, Recorder
from sensors.camera_group import CameraTruth
from sensors.mot import MotExporter

__all__ = ["ExportError", "ExportProcess", "export_worker"]

#: Records per pickled batch: large enough that pickling and pipe calls are amortised, small enough that
#: the child starts writing early.
BATCH = 256


class ExportError(RuntimeError):
    """The export process failed (its traceback is in the message)."""


def export_worker(conn: Any, out_dir: str, events_path: str, with_mot: bool) -> None:
    """Child process: apply the record stream to a ``Recorder`` and a ``MotExporter`` until close/abort."""
    recorder = Recorder(events_path)
    mot = MotExporter(out_dir) if with_mot else None
    error: str | None = None
    while True:
        try:
            records = pickle.loads(conn.recv_bytes())
        except EOFError:  # the parent died: leave nothing half-written
            recorder.abort()
            if mot is not None:
                mot.abort()
            return
        for rec in records:
            op = rec[0]
            if op == "close" or op == "abort":
                if error is None and op == "close":
                    try:
                        paths = [recorder.close()] + (mot.close() if mot is not None else [])
                        conn.send(("ok", [str(p) for p in paths], recorder.lines))
                        return
                    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
                        error = traceback.format_exc()
                recorder.abort()
                if mot is not None:
                    mot.abort()
                conn.send(("error", error, 0) if error else ("aborted", [], 0))
                return
            if error is not None:
                continue
            try:
                if op == "m":
                    msg = Message(rec[1], rec[2], rec[3])
                    recorder.write(msg)
                    if mot is not None and msg.topic in ("camera/frame", "camera/calibration"):
                        mot.on_message(msg)
                elif op == "t":
                    _, cam, frame, t, ids, boxes, cls, vis = rec
                    mot.truth(cam, frame, t, CameraTruth(ids, boxes, cls, vis))
                elif op == "seq":
                    _, cam, fps, size = rec
                    seq = mot._seq(cam)
                    seq.fps, seq.size = fps, size
            except Exception:  # noqa: BLE001 - kept until close, which reports it
                error = traceback.format_exc()


class ExportProcess:
    """Parent side: a bus subscriber and camera truth sink that feed ``export_worker`` (see module doc)."""

    def __init__(self, out_dir: str | os.PathLike, events_path: str | os.PathLike, *, with_mot: bool) -> None:
        # fork: the child needs no import of the user's __main__ (spawn re-runs an unguarded script)
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=export_worker, args=(child, str(out_dir), str(events_path), with_mot), daemon=True,
            name="twin-exports",
        )
        self._proc.start()
        child.close()
        self._batch: list[tuple] = []
        self.lines = 0
        self.done = False
        self.mot = with_mot

    # ---------------------------------------------------------------- wiring
    def subscribe(self, bus: Bus) -> None:
        """Record every message on ``bus`` (``events.jsonl``, and the MOT files from camera messages)."""
        bus.subscribe("*", self.write)

    def attach(self, sensors: Any) -> None:
        """Become the ``truth_sink`` of every camera (gt.txt) and pass on its frame rate and image size."""
        from sensors.camera import Camera

        for s in sensors:
            if isinstance(s, Camera):
                s.truth_sink = self.truth
                self._put(("seq", s.id, float(s.config.fps), (s.nominal.width_px, s.nominal.height_px)))

    # ---------------------------------------------------------------- streaming
    def write(self, msg: Message) -> None:
        self._put(("m", msg.t, msg.topic, msg.payload))
        self.lines += 1

    def truth(self, camera_id: str, frame: int, t: float, truth: CameraTruth) -> None:
        boxes = truth.boxes[:, :4] if len(truth.ids) else truth.boxes  # gt.txt needs x, y, w, h only
        self._put(("t", camera_id, frame, t, truth.ids, boxes, truth.mot_cls, truth.visibility))

    def _put(self, rec: tuple) -> None:
        self._batch.append(rec)
        if len(self._batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        data = pickle.dumps(self._batch, protocol=pickle.HIGHEST_PROTOCOL)
        self._batch = []
        try:
            self._conn.send_bytes(data)
        except (BrokenPipeError, ConnectionResetError, OSError) as exc:
            self.done = True
            raise ExportError(f"the export process stopped (exit code {self._proc.exitcode})") from exc

    # ---------------------------------------------------------------- ending
    def close(self) -> list[Path]:
        """Send what is left, wait until every file is in place; returns their paths."""
        self._batch.append(("close",))
        self._flush()
        status, payload, _ = self._finish()
        if status != "ok":
            raise ExportError(f"writing the run's files failed in the export process:\n{payload}")
        return [Path(p) for p in payload]

    def abort(self) -> None:
        """Drop every partial file (and stop the child)."""
        if self.done:
            return
        self._batch = [("abort",)]
        try:
            self._flush()
            self._finish()
        except (ExportError, EOFError, OSError):
            pass
        finally:
            if self._proc.is_alive():
                self._proc.terminate()

    def _finish(self) -> tuple[str, Any, int]:
        try:
            reply = self._conn.recv()
        except EOFError as exc:
            raise ExportError(f"the export process died (exit code {self._proc.exitcode})") from exc
        finally:
            self.done = True
            self._proc.join(timeout=30)
            self._conn.close()
        return reply
