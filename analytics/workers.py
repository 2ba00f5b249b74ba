"""The analytics pipeline with its work shared out over worker processes: the alerts of ``AnalyticsPipeline``.

``WorkerPipeline`` takes the messages ``AnalyticsPipeline`` takes (``push``, ``drain``, ``flush``) and gives
the same alerts in the same order with the same content, for any number of workers. The work is cut into
units that share no detector state (``analytics.partition``: each detector bundle per camera group, the
others over the whole stream); the units depend on the cameras, zones and detectors, never on the number of
workers, which only decides which process hosts which unit (``analytics.partition.Placement``). Each worker
(``analytics.worker_process``) tracks the cameras of the groups it hosts and runs its units' detectors
(``analytics.shard``).

The messages go to the workers a step at a time (everything pushed up to a ``drain``: at the end of each
instant in a run), each camera group's messages pickled once for every worker that hosts one of its units;
camera frames travel as their arrays. Every alert comes back with its order key (the message it was raised
on, the detector's place in the registry, the group): sorted by key, the workers' alerts are in the
in-process order. As there, each alert's ``t`` is when it was raised: the latest message time when the
batch of frames (or the message) it was raised on was processed. The crowd-density rows, the errors per
detector and the tracker's rows merge the same way.

What differs from in-process:

- ``push`` returns no alerts; they come from the ``drain`` (or ``flush``) that sends their step, unless
  ``eager``: then each message other than a camera frame (and the first frame of a new instant) sends the
  step at once, and ``push`` returns what the in-process ``push`` returns (a run uses it: its alerts go on
  the bus where they went in process);
- the detectors that read every topic (``*``; the acoustic one) see the messages of the stream, camera
  frames without their detections, and not the tracker's ``track/frame`` messages;
- a camera met after the start joins the group its view touches; one that touches two groups makes their
  alerts differ from in-process (``Partition.merged``) while staying the same for any number of workers;
- housekeeping a detector does on a clock driven by every camera's frames (the loitering detector's
  hand-over of a lost track's area, which runs when the first frame comes ``forget_s`` after the last
  hand-over) runs on its group's frames: an alert on the edge of such a hand-over may differ from the
  in-process one (the alerts are still the same for any number of workers).
"""

from __future__ import annotations

import math
import pickle
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analytics.base import Detector, Polygon
from analytics.geometry import LonLatProjector
from analytics.params import AnalyticsParams
from analytics.partition import COUNTER_TOPIC, Partition, PartitionParams, Placement, Unit, bundles
from analytics.pipeline import TRACKER
from analytics.shard import KEEP_ERRORS, TRACKED_TOPICS, StepResult
from analytics.worker_process import AnalyticsWorkerError, WorkerProcess
from analytics.worker_wire import pack_message, stub

__all__ = ["MAX_STEP", "AnalyticsWorkerError", "TrackRows", "WorkerPipeline", "WorkersError"]

#: Messages held before a step is sent without waiting for a ``drain`` (at the next point where the held
#: frames would be processed in process).
MAX_STEP = 4096


class WorkersError(ValueError):
    """A bad number of workers (one line)."""


class TrackRows:
    """The tracker's output per camera as the workers hand it over: what ``TrackStage`` offers for writing
    track files (``mot_frames``, ``camera_ids``, ``mot_rows``, ``detections``)."""

    def __init__(self) -> None:
        self.mot_frames: dict[str, list[np.ndarray]] = {}
        self._cameras: set[str] = set()
        self.detections = 0

    def frame(self, msg: Mapping[str, Any]) -> None:
        """Count a camera frame pushed (the camera, its detections), as ``TrackStage`` counts it."""
        if "camera_id" in msg:
            self._cameras.add(str(msg["camera_id"]))
            self.detections += len(msg.get("detections") or [])

    @property
    def camera_ids(self) -> list[str]:
        """Every camera that sent a frame, sorted."""
        return sorted(self._cameras)

    def mot_rows(self, camera_id: str) -> np.ndarray:
        """One camera's tracker output so far as MOTChallenge rows (N, 10), as ``TrackStage.mot_rows``."""
        frames = self.mot_frames.get(camera_id)
        if not frames:
            return np.empty((0, 10))
        rows = np.vstack(frames)
        return np.hstack([rows, np.ones((len(rows), 1)), np.full((len(rows), 3), -1.0)])


def _same_instant(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) <= 1e-6
    except (TypeError, ValueError):
        return a == b


class WorkerPipeline:
    """``AnalyticsPipeline``'s alerts from ``workers`` processes (see the module docstring).

    Parameters
    ----------
    workers
        How many worker processes (>= 1).
    zones, restricted, roads, crs, params
        As ``AnalyticsPipeline`` takes them.
    cameras
        The calibration records (``camera/calibration``) of the cameras known at the start; the records in
        the first step are added to them.
    partition
        ``PartitionParams``: how cameras are grouped (default ``PartitionParams()``).
    eager
        ``push`` returns the alerts ``AnalyticsPipeline.push`` returns, each message other than a camera
        frame making a step of its own (default False: a step waits for ``drain``).

    Raises
    ------
    WorkersError
        If ``workers`` is not a whole number >= 1.
    """

    def __init__(self, *, workers: int, zones: Mapping[str, Polygon] | None = None,
                 restricted: Sequence[Polygon] | None = None, roads: Sequence[Polygon] | None = None,
                 crs: str | int | None = None, params: AnalyticsParams | None = None,
                 cameras: Sequence[Mapping[str, Any]] = (),
                 partition: PartitionParams | None = None, eager: bool = False) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise WorkersError(f"analytics workers: must be a whole number >= 1, got {workers!r}")
        self.params = AnalyticsParams() if params is None else params
        partition = PartitionParams() if partition is None else partition
        found, radius = bundles(self.params, zones=zones, restricted=restricted, roads=roads)
        couple = radius if partition.couple_m is None else float(partition.couple_m)
        self.partition = Partition(found, zones=zones, reach_m=partition.reach_m, couple_m=couple)
        self.placement = Placement(workers)
        self.names = list(Detector.registered())
        self._cameras = list(cameras)
        self._started = False
        kw = {"params": self.params, "zones": zones, "restricted": restricted, "roads": roads,
              "names": self.names}
        self.workers: list[WorkerProcess] = []
        for i in range(workers):
            self.workers.append(WorkerProcess(i, kw, others=[w.conn for w in self.workers]))
        self._lonlat = LonLatProjector(crs)
        self.batch_frames = True  # frames are always tracked by instant (for AnalyticsPipeline's callers)
        #: send a step at each message other than a camera frame (and at a new instant's first frame), so
        #: ``push`` returns what ``AnalyticsPipeline.push`` returns, at the cost of a round trip each
        self.eager = bool(eager)
        self.messages = 0
        self.alerts = 0
        self._now = -math.inf
        self._held: list[tuple[int, dict[str, Any]]] = []
        self._batch: list[tuple[int, Any]] = []   # (seq, t) of the open batch of frames
        self._stamp: dict[int, float] = {}        # seq -> the time its alerts are stamped with
        self.tracks = TrackRows()
        self.errors: Counter[str] = Counter()
        self._first_errors: dict[str, list[str]] = {}
        self._history: list[tuple[float, str, float]] = []
        #: CPU seconds and peak resident memory (MB) of each worker, once closed (None before)
        self.worker_cpu_s: list[float | None] = [None] * workers
        self.worker_rss_mb: list[float | None] = [None] * workers

    # ---------------------------------------------------------------- the stream
    def push(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one message (in time order); returns the alerts of a step it made send (usually none)."""
        topic = msg.get("topic", "")
        out: list[dict[str, Any]] = []
        new_instant = bool(self._batch) and not _same_instant(self._batch[-1][1], msg.get("t"))
        closes = topic != "camera/frame" or new_instant
        if closes and (len(self._held) >= MAX_STEP or self.eager and new_instant):
            out = self.drain()
        seq = self.messages
        self.messages += 1
        if topic == "camera/frame":
            if new_instant:
                self._close_batch()
            self._batch.append((seq, msg.get("t")))
            self.tracks.frame(msg)
        else:
            self._close_batch()
            self._advance(msg.get("t"))
            self._stamp[seq] = self._now
        self._held.append((seq, msg))
        if self.eager and topic != "camera/frame":
            out += self.drain()
        return out

    @property
    def pending(self) -> int:
        """How many messages are held for the next step."""
        return len(self._held)

    def drain(self) -> list[dict[str, Any]]:
        """Send the held messages to the workers as one step; their alerts, in order."""
        self._close_batch()
        if not self._held:
            return []
        held, self._held = self._held, []
        return self._finish(self._exchange("step", held))

    def flush(self) -> list[dict[str, Any]]:
        """End of stream: the held messages' alerts, then those the detectors still hold."""
        out = self.drain()
        return out + self._finish(self._exchange("flush", []))

    def _close_batch(self) -> None:
        """The open batch of frames is processed now (in process): its alerts get the time after it."""
        if self._batch:
            for _, t in self._batch:
                self._advance(t)
            for seq, _ in self._batch:
                self._stamp[seq] = self._now
            self._batch = []

    def _advance(self, t: Any) -> None:
        if isinstance(t, int | float):
            self._now = max(self._now, float(t))

    # ---------------------------------------------------------------- the workers
    def _start(self, held: list[tuple[int, dict[str, Any]]]) -> list[Unit]:
        """Cut the work at the first step: the groups of the cameras given and of those calibrated in it."""
        self._started = True
        cal = [m for _, m in held if m.get("topic") == "camera/calibration"]
        units = self.partition.start([*self._cameras, *cal])
        self.placement.place(self.partition, units, spread=True)
        self.placement.place(self.partition, self.partition.global_units)
        return units + self.partition.global_units

    def _exchange(self, op: str, held: list[tuple[int, dict[str, Any]]]) -> list[StepResult]:
        """Route a step (``op`` "step") or the flush to the workers that have a part in it; their results."""
        new = [] if self._started else self._start(held)
        payloads: list[list[tuple[int | None, bytes]]] = [[] for _ in self.workers]
        if op == "step":
            new += self._route(held, payloads)
        groups = {u.group for u in new if u.group is not None}
        sent = []
        for w, worker in enumerate(self.workers):
            units = [u for u in new if self.placement.host[u.index] == w]
            home = sorted(g for g in groups if self.placement.home.get(g) == w)
            if payloads[w] or units or home or op == "flush":
                worker.send(op, units, home, self.messages if op == "flush" else payloads[w])
                sent.append(worker)
        return [worker.recv() for worker in sent]

    def _route(self, held: list[tuple[int, dict[str, Any]]], payloads: list[list]) -> list[Unit]:
        """Fill each worker's step: camera groups' messages (pickled once per group) and the messages of
        the units over the whole stream. Returns the units of groups met in this step."""
        late: list[Unit] = []
        groups: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        whole: list[list[tuple[int, dict[str, Any]]]] = [[] for _ in self.workers]
        for seq, msg in held:
            topic = msg.get("topic", "")
            g = None
            if topic in TRACKED_TOPICS:
                g, units = self.partition.camera(str(msg.get("camera_id")),
                                                 msg if topic == "camera/calibration" else None)
                late += units
            elif topic == COUNTER_TOPIC:
                g, units = self.partition.zone(str(msg.get("zone") or msg.get("sensor_id")))
                late += units
            wire = pack_message(msg) if g is not None else msg
            if g is not None:
                groups.setdefault(g, []).append((seq, wire))
            hosts = {self.placement.host[u.index] for u in self.partition.global_for(topic)}
            for w in sorted(hosts):
                whole[w].append((seq, stub(msg) if topic == "camera/frame" else wire))
        if late:
            self.placement.place(self.partition, late)
        for g, items in groups.items():
            blob = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
            for w in self.placement.hosts(g):
                payloads[w].append((g, blob))
        for w, items in enumerate(whole):
            if items:
                payloads[w].append((None, pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)))
        return late

    def _finish(self, results: list[StepResult]) -> list[dict[str, Any]]:
        """Merge the workers' results in key order; stamp and place the alerts."""
        keyed = sorted((ka for r in results for ka in r["alerts"]), key=lambda ka: ka[0])
        self._history += [row for _, row in sorted((kr for r in results for kr in r["density"]),
                                                    key=lambda kr: kr[0])]
        for r in results:
            self.errors.update(r["errors"])
            for cam, frames in r["tracks"].items():
                self.tracks.mot_frames.setdefault(cam, []).extend(frames)
        for _, name, text in sorted((e for r in results for e in r["first_errors"]), key=lambda e: e[0]):
            kept = self._first_errors.setdefault(name, [])
            if len(kept) < KEEP_ERRORS:
                kept.append(text)
        out = []
        for (seq, *_), a in keyed:
            now = self._stamp.get(seq, self._now)
            if a.get("lonlat") is None:
                a["lonlat"] = self._lonlat(a.get("xy"))
            if now > -math.inf and a["t"] != round(now, 3):
                a["evidence"].setdefault("t_event", a["t"])
                a["t"] = round(now, 3)
            out.append(a)
        self._stamp = {}  # every message held was in the step
        self.alerts += len(out)
        return out

    # ---------------------------------------------------------------- reports and closing
    def error_report(self) -> dict[str, Any]:
        """As ``AnalyticsPipeline.error_report``: messages seen, errors per detector (every one listed)."""
        by = {n: int(self.errors.get(n, 0)) for n in dict.fromkeys([TRACKER, *self.names])}
        by.update((n, int(c)) for n, c in self.errors.items() if n not in by)
        return {"messages": self.messages, "errors": int(sum(by.values())), "errors_by_detector": by,
                "first_errors": {n: list(v) for n, v in self._first_errors.items()}}

    def density_history(self, since: int = 0) -> list[tuple[float, str, float]]:
        """The crowd-density estimates so far as ``(t, zone, people)`` rows, in the in-process order, from
        row ``since`` on."""
        return self._history[since:]

    def close(self) -> None:
        """Stop the workers (their CPU seconds and peak memory go to ``worker_cpu_s``, ``worker_rss_mb``)."""
        for i, w in enumerate(self.workers):
            w.close()
            self.worker_cpu_s[i], self.worker_rss_mb[i] = w.cpu_s, w.peak_rss_mb

    def kill(self) -> None:
        """Stop the workers now (a failed run)."""
        for w in self.workers:
            w.kill()

    def __enter__(self) -> WorkerPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
