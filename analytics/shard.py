"""What one analytics worker runs: a tracker for the cameras of the groups it hosts and the detectors of its
units (``analytics.partition``), message by message as ``AnalyticsPipeline`` runs them.

The worker gets a *step* of messages (each with its place ``seq`` in the whole stream) and returns every
alert with its *order key* ``(seq, sub, star, detector, group, k)``: the message (``sub`` 0) or the tracker's
message derived from it (``sub`` 1), then the detectors that read the topic in registration order, those
reading every topic (``*``) after them (``star``), then the group, then the alert's place in what the
detector returned. Sorting the alerts of all workers by key gives the order one in-process pipeline gives
them in, whatever the workers; the crowd-density rows, the errors and the tracker's rows come back the same
way. ``AnalyticsPipeline``'s rules hold per detector: an exception on one message is counted against the
detector (``tracker`` for the tracking stage) and the stream goes on; an alert with a non-finite number is
dropped and counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from analytics.base import Detector, DetectorContext, Polygon
from analytics.crowd import CrowdDensityDetector
from analytics.params import AnalyticsParams
from analytics.partition import Unit
from analytics.pipeline import TRACKER, finite
from analytics.tracking import TrackStage

__all__ = ["KEEP_ERRORS", "Shard", "StepResult", "TRACKED_TOPICS"]

log = logging.getLogger("analytics.pipeline")

#: The topics the tracking stage takes (one camera's messages).
TRACKED_TOPICS = ("camera/frame", "camera/calibration")
#: Error texts kept per detector (the count goes on), as ``AnalyticsPipeline`` keeps them.
KEEP_ERRORS = 3

#: What a step returns: ``alerts`` [(key, alert)], ``density`` [(key, (t, zone, people))], ``errors``
#: {name: count}, ``first_errors`` [(key, name, text)], ``tracks`` {camera: [MOT rows of each frame]}.
StepResult = dict[str, Any]


class _UnitRun:
    """One unit's detectors, built as ``build_detectors`` builds them, and its routes by topic."""

    def __init__(self, unit: Unit, params: AnalyticsParams, ctx_kw: Mapping[str, Any],
                 reg: Mapping[str, int]) -> None:
        self.unit = unit
        self.group = -1 if unit.group is None else unit.group
        ctx = DetectorContext(**ctx_kw)
        registry = Detector.registered()
        for name in unit.detectors:
            ctx.built[name] = registry[name].from_context(ctx, params.of(name))
        self.detectors = [(d, reg[n]) for n, d in ctx.built.items()]
        self.prepared = [(d, i) for d, i in self.detectors if type(d).prepare is not Detector.prepare]
        self.topics = frozenset(t for d, _ in self.detectors for t in d.topics)
        self._routes: dict[str, list[tuple[Detector, int, int]]] = {}

    def route(self, topic: str) -> list[tuple[Detector, int, int]]:
        """``(detector, registration index, star)`` for a message of ``topic``, in the pipeline's order."""
        r = self._routes.get(topic)
        if r is None:
            r = [(d, i, 0) for d, i in self.detectors if topic in d.topics and topic != "*"]
            r += [(d, i, 1) for d, i in self.detectors if "*" in d.topics]
            self._routes[topic] = r
        return r


class Shard:
    """The tracker and the detectors of the units one worker hosts (see the module docstring).

    Parameters
    ----------
    params
        ``AnalyticsParams``.
    zones, restricted, roads
        As ``AnalyticsPipeline`` takes them.
    names
        Every detector's name in registration order (the order keys' detector index).
    """

    def __init__(self, *, params: AnalyticsParams, zones: Mapping[str, Polygon] | None = None,
                 restricted: Sequence[Polygon] | None = None, roads: Sequence[Polygon] | None = None,
                 names: Sequence[str]) -> None:
        self.params = params
        self._ctx = {"zones": zones, "restricted": restricted, "roads": roads}
        self._reg = {n: i for i, n in enumerate(names)}
        self.stage = TrackStage(params.tracker, default_fps=params.default_fps)
        self.by_group: dict[int, list[_UnitRun]] = {}
        self.whole: list[_UnitRun] = []
        self.home: set[int] = set()
        self._camera_group: dict[str, int] = {}
        self._kept: Counter[str] = Counter()
        self._out: StepResult = {}

    def add(self, units: Iterable[Unit], *, home: Iterable[int] = ()) -> None:
        """Host ``units``; report the tracker rows of the cameras of the groups in ``home``."""
        for u in units:
            run = _UnitRun(u, self.params, self._ctx, self._reg)
            if u.group is None:
                self.whole.append(run)
            else:
                self.by_group.setdefault(u.group, []).append(run)
        self.home.update(home)

    def step(self, blobs: Iterable[tuple[int | None, Sequence[tuple[int, dict[str, Any]]]]]) -> StepResult:
        """Run a step: ``(group, [(seq, message)])`` per camera group (None: the messages of the units over
        the whole stream), each list in stream order."""
        self._out = out = _empty()
        groups: list[tuple[int, Sequence[tuple[int, dict[str, Any]]]]] = []
        whole: Sequence[tuple[int, dict[str, Any]]] = []
        for g, items in blobs:
            if g is None:
                whole = items
            else:
                groups.append((g, items))
        derived = self._track(groups)
        for g, items in groups:
            flat = [(seq, sub, m, m.get("topic", "")) for seq, msg in items
                    for sub, m in enumerate((msg, *derived.get(seq, ())))]
            for run in self.by_group.get(g, ()):
                self._run(run, flat)
        if self.whole:
            flat = [(seq, 0, m, m.get("topic", "")) for seq, m in whole]
            for run in self.whole:
                self._run(run, [f for f in flat if f[3] in run.topics or "*" in run.topics])
        self._take_rows()
        return out

    def flush(self, seq: int) -> StepResult:
        """End of stream: each detector's held alerts, keyed after every message (``seq``)."""
        self._out = out = _empty()
        runs = [r for g in sorted(self.by_group) for r in self.by_group[g]] + self.whole
        for run in runs:
            for det, idx in run.detectors:
                self._call(run, det, idx, det.flush, None, (seq, 0, 0, idx, run.group))
        self._take_rows()
        return out

    def _track(self, groups: list[tuple[int, Sequence[tuple[int, dict[str, Any]]]]],
               ) -> dict[int, list[dict[str, Any]]]:
        """The tracker's messages derived from each camera message of the step (by ``seq``), all the hosted
        groups' frames tracked as one batch."""
        cam = sorted((s, m, g) for g, items in groups for s, m in items
                     if m.get("topic") in TRACKED_TOPICS)
        for _, m, g in cam:
            if m.get("camera_id") is not None:
                self._camera_group.setdefault(str(m["camera_id"]), g)
        if not cam:
            return {}
        msgs = [m for _, m, _ in cam]
        try:
            batch = self.stage.update_batch(msgs)
        except Exception as exc:  # noqa: BLE001 - the stage failed as a whole: no tracks this step
            self._error(TRACKER, exc, msgs[0], (cam[0][0], -1, 0, -1, -1))
            return {}
        derived: dict[int, list[dict[str, Any]]] = {}
        for (seq, msg, _), res in zip(cam, batch, strict=True):
            if isinstance(res, Exception):  # this frame failed, the others were tracked
                self._error(TRACKER, res, msg, (seq, -1, 0, -1, -1))
            elif res:
                derived[seq] = res
        return derived

    def _run(self, run: _UnitRun, flat: Sequence[tuple[int, int, dict[str, Any], str]]) -> None:
        """One unit over a step's messages ``(seq, sub, message, topic)``: each message, then those the
        tracker derived from it (``sub`` > 0), in stream order."""
        for det, idx in run.prepared:
            mine = [m for _, sub, m, topic in flat if sub and topic in det.topics]
            if mine:
                try:
                    det.prepare(mine)
                except Exception as exc:  # noqa: BLE001 - its updates then do the work one by one
                    self._error(str(det.name), exc, mine[0], (-1, 0, 0, idx, run.group))
        g = run.group
        for seq, sub, m, topic in flat:
            for det, idx, star in run.route(topic):
                self._call(run, det, idx, det.update, m, (seq, sub, star, idx, g))

    def _call(self, run: _UnitRun, det: Detector, idx: int, fn: Callable[..., list[dict[str, Any]]],
              msg: dict[str, Any] | None, key: tuple) -> None:
        """``fn(msg)`` (or ``fn()``), its alerts and new density rows keyed; a failure counted."""
        hist = det.history if isinstance(det, CrowdDensityDetector) else None
        n0 = len(hist) if hist is not None else 0
        try:
            alerts = fn() if msg is None else fn(msg)
        except Exception as exc:  # noqa: BLE001 - isolate one detector's failure on one message
            self._error(str(det.name), exc, msg, key)
            alerts = []
        if hist is not None and len(hist) > n0:
            self._out["density"] += [((*key, j), row) for j, row in enumerate(hist[n0:])]
        k = 0
        for a in alerts:
            if finite(a):
                self._out["alerts"].append(((*key, k), a))
                k += 1
            else:
                self._error(str(det.name), ValueError(f"non-finite value in a {a.get('kind')!r} alert"), None,
                            key)

    def _error(self, name: str, exc: BaseException, msg: dict[str, Any] | None, key: tuple) -> None:
        self._out["errors"][name] += 1
        self._kept[name] += 1
        where = "" if msg is None else f" on {msg.get('topic', '?')} at t={msg.get('t', '?')}"
        if self._kept[name] <= KEEP_ERRORS:
            self._out["first_errors"].append((key, name, f"{type(exc).__name__}: {exc}{where}"))
            log.warning("analytics: %s failed%s: %s", name, where, exc, exc_info=exc)

    def _take_rows(self) -> None:
        """Hand over the tracker's new MOT rows of the home groups' cameras; drop the others' (memory)."""
        for cam, frames in self.stage.mot_frames.items():
            if frames:
                if self._camera_group.get(cam) in self.home:
                    self._out["tracks"][cam] = list(frames)
                frames.clear()


def _empty() -> StepResult:
    return {"alerts": [], "density": [], "errors": Counter(), "first_errors": [], "tracks": {}}
