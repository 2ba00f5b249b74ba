"""The run's file exports (``events.jsonl`` and the MOTChallenge det/gt files) written by a second process.

Why: turning every camera frame into JSON and MOT text is a large share of a camera-heavy run's CPU time
(``docs/performance.md``). ``ExportProcess`` subscribes to the bus in the simulation process, pickles the
messages (camera frames as their arrays, ``sensors.camera.detections``) and the cameras' truth in batches down
a pipe, and a child process runs the same ``Recorder`` and ``MotExporter`` on them in the same order, so the
files are byte-identical to in-process writing (tested) while the simulation goes on on the other core. A
sender thread queues up to ``QUEUE_BATCHES`` batches (the child's start-up costs the simulation nothing); past
that the simulation waits for the child, so memory stays flat. ``close()`` returns once every file is in
place; ``abort()`` drops them; an error in the child is raised in the parent at ``close()`` (or at the next
send).

The child never outlives its parent. It closes its inherited copy of the parent's end of the pipe (a forked
child gets both ends, and while it held the parent's end it never saw end-of-file: a run killed by SIGKILL
left it waiting on the pipe for good). On Linux the parent's death also sends it SIGTERM
(``prctl(PR_SET_PDEATHSIG)``), and while it waits for a batch it checks every ``PARENT_CHECK_S`` that its
parent is still the same process (the fallback where there is no such signal, or when another process holds
the parent's end). Whichever comes first, it drops its partial files and exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing as mp
import os
import pickle
import queue
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from sensors.camera import Camera, CameraTruth, Detections, FrameArrays
from sensors.export.bus import Bus, Message
from sensors.export.numtext import warm_kernels
from sensors.export.outputs import OutputParams, open_writers

__all__ = ["ExportError", "ExportProcess", "export_worker"]

#: Records per pickled batch: large enough that pickling and pipe calls are amortised, small enough that
#: the child starts writing early.
BATCH = 256
#: Pickled batches the parent may hold while the child is busy (a sender thread writes them to the pipe, so
#: the simulation does not stall while the child starts or catches up); then ``_flush`` waits: bounded memory.
QUEUE_BATCHES = 64
#: Array columns of a batch: frame boxes / classes / confidences; truth ids / boxes / classes / visibility.
_COLUMNS = ("fb", "fk", "fc", "ti", "tb", "tk", "tv")
#: Seconds the child waits on the pipe before it checks again that its parent lives (see the module doc).
PARENT_CHECK_S = 1.0
#: ``prctl`` option: the signal the kernel sends when the thread that forked us ends (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


class ExportError(RuntimeError):
    """The export process failed (its traceback is in the message)."""


class _ParentGone(BaseException):
    """In the child: the parent died or asked it to stop (SIGTERM); the partial files are dropped."""


def _watch_parent(parent_pid: int, death_signal: bool) -> None:
    """In the child: SIGTERM raises ``_ParentGone``; with ``death_signal`` on Linux the parent's death sends
    SIGTERM (``PR_SET_PDEATHSIG``; a failure to set it leaves the pipe and the ``getppid`` check)."""
    def stop(signum: int, frame: Any) -> None:
        raise _ParentGone

    signal.signal(signal.SIGTERM, stop)
    if death_signal and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent_pid:  # it died before the signal was set
        raise _ParentGone


def _receive(conn: Any, parent_pid: int) -> tuple[list[tuple], dict[str, np.ndarray]]:
    """The next batch; ``EOFError`` once the parent's end is closed, ``_ParentGone`` if the parent died."""
    while not conn.poll(PARENT_CHECK_S):
        if os.getppid() != parent_pid:
            raise _ParentGone
    return pickle.loads(conn.recv_bytes())


def export_worker(conn: Any, out_dir: str, events_path: str, with_mot: bool,
                  outputs: OutputParams | None = None, *, parent_end: Any = None,
                  parent_pid: int | None = None, death_signal: bool = False) -> None:
    """Child process: apply the record stream to a ``Recorder`` and a ``MotExporter`` until close/abort, or
    until the parent is gone (then nothing is left half-written)."""
    if parent_end is not None:
        parent_end.close()  # our inherited copy: only the parent may keep its end of the pipe open
    parent_pid = os.getppid() if parent_pid is None else parent_pid
    recorder, mot = None, None
    try:
        _watch_parent(parent_pid, death_signal)
        # A forked child shares the simulation's heap page by page until it writes to them: keep its
        # collector off those objects (a full collection writes to every one and would copy the whole heap).
        gc.freeze()
        recorder, mot = open_writers(out_dir, events_path, outputs, with_mot)
        warm_kernels()  # load the compiled kernels now, while the parent is still building
        _serve(conn, parent_pid, recorder, mot)
    except (EOFError, BrokenPipeError, _ParentGone):  # the parent died or stopped us: drop partial files
        for w in (recorder, mot):
            if w is not None:
                with contextlib.suppress(Exception):
                    w.abort()


def _serve(conn: Any, parent_pid: int, recorder: Any, mot: Any) -> None:
    """Apply batches until the parent's close or abort record (errors are kept and reported at close)."""
    error: str | None = None
    while True:
        records, cols = _receive(conn, parent_pid)
        at = {"f": 0, "t": 0}  # where the next frame's / truth's rows start in the batch's columns
        for rec in records:
            op = rec[0]
            if op == "close" or op == "abort":
                if error is None and op == "close":
                    try:
                        paths = [recorder.close()] + (mot.close() if mot is not None else [])
                        conn.send(("ok", [str(p) for p in paths]))
                        return
                    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
                        error = traceback.format_exc()
                recorder.abort()
                if mot is not None:
                    mot.abort()
                conn.send(("error", error) if error else ("aborted", []))
                return
            if error is not None:
                continue
            try:
                if op == "m":
                    msg = Message(rec[1], rec[2], rec[3])
                    recorder.write(msg)
                    if mot is not None and msg.topic in ("camera/frame", "camera/calibration"):
                        mot.on_message(msg)
                elif op == "f":
                    _, t, rest, n, names = rec
                    a = at["f"]
                    at["f"] = b = a + n
                    boxes, conf = cols["fb"][a:b], cols["fc"][a:b]
                    recorder.write_frame(t, rest, boxes, cols["fk"][a:b], conf, names)
                    if mot is not None:
                        mot.frame(str(rest["camera_id"]), int(rest["frame"]), boxes, conf)
                elif op == "t":
                    _, cam, frame, t, n = rec
                    a = at["t"]
                    at["t"] = b = a + n
                    c = {k: cols[k][a:b] if k in cols else np.empty(0) for k in ("ti", "tb", "tk", "tv")}
                    mot.truth(cam, frame, t, CameraTruth(c["ti"], c["tb"], c["tk"], c["tv"]))
                elif op == "seq":
                    _, cam, fps, size = rec
                    mot.set_sequence_info(cam, fps=fps, size=size)
            except Exception:  # noqa: BLE001 - kept until close, which reports it
                error = traceback.format_exc()


class ExportProcess:
    """Parent side: a bus subscriber and camera truth sink that feed ``export_worker`` (see module doc)."""

    def __init__(self, out_dir: str | os.PathLike, events_path: str | os.PathLike, *, with_mot: bool,
                 outputs: OutputParams | None = None) -> None:
        # fork: the child needs no import of the user's __main__ (spawn re-runs an unguarded script)
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self._conn, child = ctx.Pipe()
        # the kernel's parent-death signal comes when the *thread* that started the child ends: asked for
        # only from the main thread (a worker thread may end before the run does)
        main = threading.current_thread() is threading.main_thread()
        self._proc = ctx.Process(
            target=export_worker, args=(child, str(out_dir), str(events_path), with_mot, outputs),
            kwargs={"parent_end": self._conn, "parent_pid": os.getpid(), "death_signal": main},
            daemon=True, name="twin-exports",
        )
        #: whether camera frames are lines of events.jsonl (``lines`` counts what the file gets)
        self._frame_lines = outputs is None or outputs.camera_frames == "all"
        self._proc.start()
        child.close()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_BATCHES)
        self._send_error: BaseException | None = None
        self._sender = threading.Thread(target=self._send_loop, name="twin-exports-sender", daemon=True)
        self._sender.start()
        self._batch: list[tuple] = []
        self._cols: dict[str, list[np.ndarray]] = {k: [] for k in _COLUMNS}
        self.lines = 0
        self.done = False

    # ---------------------------------------------------------------- wiring
    def subscribe(self, bus: Bus) -> None:
        """Record every message on ``bus`` (``events.jsonl``, and the MOT files from camera messages)."""
        bus.subscribe("*", self.write, raw=True)

    def attach(self, sensors: Any) -> None:
        """Become the ``truth_sink`` of every camera (gt.txt) and pass on its frame rate and image size."""
        for s in sensors:
            if isinstance(s, Camera):
                s.truth_sink = self.truth
                self._put(("seq", s.id, float(s.config.fps), (s.nominal.width_px, s.nominal.height_px)))

    # ---------------------------------------------------------------- streaming
    def write(self, msg: Message) -> None:
        dets = msg.payload.get("detections")
        if msg.topic == "camera/frame" and isinstance(dets, Detections | FrameArrays):
            # the arrays only (a tenth of the pickling of the dicts); the child formats them
            rest = {k: v for k, v in msg.payload.items() if k != "detections"}
            self._cols["fb"].append(dets.boxes)
            self._cols["fk"].append(dets.cls)
            self._cols["fc"].append(dets.conf)
            self._put(("f", msg.t, rest, len(dets.boxes), dets.names))
        else:
            self._put(("m", msg.t, msg.topic, msg.payload))
        self.lines += msg.topic != "camera/frame" or self._frame_lines

    def truth(self, camera_id: str, frame: int, t: float, truth: CameraTruth) -> None:
        b = truth.boxes
        self._cols["ti"].append(truth.ids)
        self._cols["tb"].append(b[:, :4] if b.ndim == 2 else b.reshape(0, 4))  # gt.txt needs x, y, w, h
        self._cols["tk"].append(truth.mot_cls)
        self._cols["tv"].append(truth.visibility)
        self._put(("t", camera_id, frame, t, len(truth.ids)))

    def _put(self, rec: tuple) -> None:
        self._batch.append(rec)
        if len(self._batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        """Send the batch: records in order, their arrays concatenated per column (a few large arrays
        pickle far faster than thousands of small ones)."""
        if not self._batch:
            return
        cols = {k: np.concatenate(v) for k, v in self._cols.items() if v}
        data = pickle.dumps((self._batch, cols), protocol=pickle.HIGHEST_PROTOCOL)
        self._batch = []
        self._cols = {k: [] for k in _COLUMNS}
        self._check_sender()
        self._queue.put(data)

    def _send_loop(self) -> None:
        """Sender thread: batches from the queue down the pipe (the write releases the GIL)."""
        while True:
            data = self._queue.get()
            if data is None:
                return
            if self._send_error is not None:
                continue  # the pipe is gone: drop, the parent raises at its next flush
            try:
                self._conn.send_bytes(data)
            except (BrokenPipeError, ConnectionResetError, OSError) as exc:
                self._send_error = exc

    def _check_sender(self) -> None:
        if self._send_error is not None:
            self.done = True
            raise ExportError(f"the export process stopped (exit code {self._proc.exitcode})") from (
                self._send_error
            )

    def _drain(self) -> None:
        """Flush the batch and wait until the sender thread has written everything."""
        self._flush()
        self._queue.put(None)
        self._sender.join()
        self._check_sender()

    # ---------------------------------------------------------------- ending
    def close(self) -> list[Path]:
        """Send what is left, wait until every file is in place; returns their paths."""
        self._batch.append(("close",))
        self._drain()
        status, payload = self._finish()
        if status != "ok":
            raise ExportError(f"writing the run's files failed in the export process:\n{payload}")
        return [Path(p) for p in payload]

    def abort(self) -> None:
        """Drop every partial file (and stop the child)."""
        if self.done:
            return
        self._batch = [("abort",)]
        try:
            with contextlib.suppress(ExportError, EOFError, OSError):  # already failing: drop what is left
                self._drain()
                self._finish()
        finally:
            if self._proc.is_alive():
                self._proc.terminate()

    def _finish(self) -> tuple[str, Any]:
        try:
            reply = self._conn.recv()
        except EOFError as exc:
            raise ExportError(f"the export process died (exit code {self._proc.exitcode})") from exc
        finally:
            self.done = True
            self._proc.join(timeout=30)
            self._conn.close()
        return reply
