"""The analytics pipeline the simulator's engine and a replay both use: messages in, alerts out.

``push`` takes one bus message dict (``{"t", "topic", **payload}``, as in ``events.jsonl``) at a time in time
order; camera messages go through the tracker first, whose ``track/frame`` output feeds the behaviour and
crowd detectors; every other topic goes straight to the detectors that name it. The default detector set is
every registered detector (``analytics.base.Detector``), built in registration order.

One bad message never stops the stream: an exception raised by a detector (or by the tracker stage) on one
message is caught, logged (logger ``analytics.pipeline``) and counted per detector (``errors``), and the
other detectors still see the message. An alert carrying a non-finite number (NaN, infinity) is dropped and
counted the same way, so no such value reaches an output. A run reports the counts (``error_report``);
on a normal stream they are all 0.

With ``ground_tracks`` on, a cross-camera fusion stage (``analytics.ground_tracks``) takes every camera's
``track/frame`` messages and, when an instant's messages end, publishes one ``track/ground`` message (the
global ground tracks) to the detectors that name that topic; off by default (no built-in detector reads it).
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from analytics.base import Detector, DetectorContext, Polygon
from analytics.crowd import CrowdDensityDetector
from analytics.cyber.conn import ConnDetector
from analytics.geometry import LonLatProjector
from analytics.ground_tracks import GroundTrackParams, GroundTrackStage
from analytics.params import AnalyticsParams
from analytics.tracking import TrackStage
from analytics.zeek import chunk_messages

__all__ = ["GROUND", "TRACKER", "AnalyticsParams", "AnalyticsPipeline", "build_detectors", "finite",
           "run_pipeline"]

log = logging.getLogger("analytics.pipeline")

#: The name under which the tracker stage's errors are counted (beside the detectors' names).
TRACKER = "tracker"
#: The name under which the ground-track fusion stage's errors are counted.
GROUND = "ground_tracks"
#: How many error messages are kept per detector for the report (the count goes on).
_KEEP_ERRORS = 3


def finite(value: Any) -> bool:
    """True if every number in ``value`` (nested lists, tuples and dicts) is finite.

    >>> finite({"xy": [1.0, 2.0], "evidence": {"sigma_m": float("inf")}})
    False
    """
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(finite(v) for v in value)
    return True


def _same_instant(a: Any, b: Any) -> bool:
    """Two message times of one sampling instant (sensor clocks a few ulp apart are one instant)."""
    try:
        return abs(float(a) - float(b)) <= 1e-6
    except (TypeError, ValueError):
        return a == b


def build_detectors(
    params: AnalyticsParams | None = None,
    *,
    zones: Mapping[str, Polygon] | None = None,
    restricted: Sequence[Polygon] | None = None,
    roads: Sequence[Polygon] | None = None,
) -> list[Detector]:
    """One detector of every registered class, in registration order, each built by its ``from_context``
    with its parameters from ``params`` (default ``AnalyticsParams()``).

    Parameters
    ----------
    params
        ``AnalyticsParams``.
    zones, restricted, roads
        The pipeline's crowd zones, restricted polygons and carriageways (see ``AnalyticsPipeline``).
    """
    params = AnalyticsParams() if params is None else params
    ctx = DetectorContext(zones=zones, restricted=restricted, roads=roads)
    for name, cls in Detector.registered().items():
        ctx.built[name] = cls.from_context(ctx, params.of(name))
    return list(ctx.built.values())


class AnalyticsPipeline:
    """Tracking, behaviour, crowd, acoustic and cyber detectors composed over one message stream.

    Parameters
    ----------
    zones
        ``{name: polygon}`` in projected metres: crowd-density zones, also the pedestrian areas vehicles
        must not drive in.
    restricted
        Polygons where any person or vehicle is an intrusion.
    roads
        Carriageway polygons (metres): the streets, also where they cross a zone. A vehicle on one is
        traffic; a vehicle off every street inside a zone is in a pedestrian area.
    crs
        The CRS of the metres (e.g. ``"EPSG:32635"``); with it alerts carry ``lonlat``, else ``None``.
    params
        ``AnalyticsParams`` (default: every stage's defaults).
    detectors
        Replace the default detector set (``build_detectors``; composition by injection); the tracker
        stage stays.
    batch_frames
        Hold the ``camera/frame`` messages of one instant and process them as one batch when the instant's
        frames end (a message of another topic or time, ``drain``, ``flush``): the tracking stage sees all
        cameras' frames at once, the detectors then see every message in the order pushed, so the alerts
        are the per-frame path's, returned by the call that completes the batch.
    ground_tracks
        Fuse the cameras' tracks on the ground plane across overlapping views (``analytics.ground_tracks``):
        ``True`` or a ``GroundTrackParams`` turns the stage on, and its ``track/ground`` messages (one per
        instant, when the next instant's first message arrives or at ``flush``) go to the detectors that
        name that topic and to ``last_ground``. Default off: no stage, outputs unchanged.
    """

    def __init__(
        self,
        *,
        zones: Mapping[str, Polygon] | None = None,
        restricted: Sequence[Polygon] | None = None,
        roads: Sequence[Polygon] | None = None,
        crs: str | int | None = None,
        params: AnalyticsParams | None = None,
        detectors: Sequence[Detector] | None = None,
        batch_frames: bool = False,
        ground_tracks: GroundTrackParams | bool | None = None,
    ) -> None:
        self.params = AnalyticsParams() if params is None else params
        #: Hold consecutive ``camera/frame`` messages of one instant and track them as one batch (``drain``).
        self.batch_frames = bool(batch_frames)
        self._pending: list[dict[str, Any]] = []
        self.tracks = TrackStage(self.params.tracker, default_fps=self.params.default_fps)
        if detectors is None:
            detectors = build_detectors(self.params, zones=zones, restricted=restricted, roads=roads)
        self.detectors = list(detectors)
        #: The crowd-density detector, if the set has one (its estimates: ``density_history``).
        self.density = next((d for d in self.detectors if isinstance(d, CrowdDensityDetector)), None)
        self._routes: dict[str, list[Detector]] = defaultdict(list)
        for det in self.detectors:
            for topic in det.topics:
                self._routes[topic].append(det)
        self._lonlat = LonLatProjector(crs)
        self.messages = 0
        self.alerts = 0
        self._now = float("-inf")       # time of the latest message pushed: when alerts are raised
        #: Errors per detector name (and ``TRACKER``): exceptions caught and non-finite alerts dropped.
        self.errors: Counter[str] = Counter()
        self._first_errors: dict[str, list[str]] = defaultdict(list)
        #: The ``track/frame`` messages the last ``push`` produced (for writing tracker output).
        self.last_tracks: list[dict[str, Any]] = []
        #: The cross-camera ground-track stage (``ground_tracks``), None when off.
        self.ground: GroundTrackStage | None = None
        if ground_tracks is not None and ground_tracks is not False:
            gp = ground_tracks if isinstance(ground_tracks, GroundTrackParams) else GroundTrackParams()
            self.ground = GroundTrackStage(gp)
        #: The ``track/ground`` messages the last ``push``, ``drain`` or ``flush`` published.
        self.last_ground: list[dict[str, Any]] = []

    def push(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one message (in time order) and return the alerts it completes, each stamped with the
        message's time (when it was raised; a detector's own estimate of the event time is kept as
        ``evidence.t_event``)."""
        self.messages += 1
        topic = msg.get("topic", "")
        out: list[dict[str, Any]] = []
        if self.batch_frames and topic == "camera/frame":
            if self._pending and not _same_instant(self._pending[-1].get("t"), msg.get("t")):
                out = self.drain()
            if self.ground is not None and isinstance(msg.get("t"), int | float):
                out += self._finish(self._detect_all(self._ground([{"t": msg["t"]}])), stamp=True)
            self._pending.append(msg)
            return out
        if self._pending:
            out = self.drain()
        ground = self._ground([msg])       # closes the instant before this message's time
        self._advance(msg)
        derived: list[dict[str, Any]] = []
        if topic.startswith("camera/"):
            try:
                derived = self.tracks.update(msg)
            except Exception as exc:  # noqa: BLE001 - one bad frame must not stop the stream
                self._error(TRACKER, exc, msg)
        self.last_tracks = derived
        self._ground(derived)
        return out + self._finish(self._detect_all(ground) + self._detect(msg, derived), stamp=True)

    @property
    def pending(self) -> int:
        """How many ``camera/frame`` messages are held for the next batch."""
        return len(self._pending)

    def drain(self) -> list[dict[str, Any]]:
        """Process the held ``camera/frame`` messages (``batch_frames``) as one batch; their alerts."""
        msgs, self._pending = self._pending, []
        if not msgs:
            return []
        try:
            batch = self.tracks.update_batch(msgs)
        except Exception as exc:  # noqa: BLE001 - the stage failed as a whole: no tracks this instant
            self._error(TRACKER, exc, msgs[0])
            batch = [[] for _ in msgs]
        for msg, derived in zip(msgs, batch, strict=True):
            if isinstance(derived, Exception):  # this frame failed, the others were tracked
                self._error(TRACKER, derived, msg)
        batch = [[] if isinstance(d, Exception) else d for d in batch]
        self._prepare([m for d in batch for m in d])
        out: list[dict[str, Any]] = []
        if self.ground is not None:
            out += self._detect_all(self._ground([m for msg, d in zip(msgs, batch, strict=True)
                                                  for m in (msg, *d)]))
        for msg, derived in zip(msgs, batch, strict=True):
            self._advance(msg)
            out += self._detect(msg, derived)
            self.last_tracks = derived
        return self._finish(out, stamp=True)

    def _prepare(self, derived: list[dict[str, Any]]) -> None:
        """Let the detectors of the batch's derived topics work on all its messages at once."""
        topics = {m.get("topic", "") for m in derived}
        for det in dict.fromkeys(d for t in topics for d in self._routes.get(t, ())):
            if type(det).prepare is not Detector.prepare:
                mine = [m for m in derived if m.get("topic", "") in det.topics]
                try:
                    det.prepare(mine)
                except Exception as exc:  # noqa: BLE001 - its updates then do the work one by one
                    self._error(str(det.name), exc, mine[0] if mine else None)

    def _ground(self, msgs: list[dict[str, Any]], *, end: bool = False) -> list[dict[str, Any]]:
        """Feed the ground-track stage (if on) and return the ``track/ground`` messages it completes (kept in
        ``last_ground``); ``end``: close the last instant too. A failure is counted against ``GROUND``."""
        if self.ground is None:
            return []
        out: list[dict[str, Any]] = []
        try:
            for m in msgs:
                out += self.ground.update(m)
            if end:
                out += self.ground.flush()
        except Exception as exc:  # noqa: BLE001 - the fusion stage must not stop the stream
            self._error(GROUND, exc, msgs[0] if msgs else None)
        if out:
            self.last_ground = out
        return out

    def _detect_all(self, msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alerts of the detectors that take each of ``msgs``, in order."""
        out: list[dict[str, Any]] = []
        for m in msgs:
            for det in self._routes.get(m.get("topic", ""), ()):
                out += self._guarded(det, det.update, m)
            for det in self._routes.get("*", ()):
                out += self._guarded(det, det.update, m)
        return out

    def _advance(self, msg: dict[str, Any]) -> None:
        if isinstance(msg.get("t"), int | float):
            self._now = max(self._now, float(msg["t"]))

    def _detect(self, msg: dict[str, Any], derived: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alerts of the detectors that take ``msg`` or one of the messages the tracker derived."""
        return self._detect_all([msg, *derived])

    def push_conn_chunk(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """Take a chunk of conn.log records (``analytics.zeek.iter_conn_chunks``): the vectorised path.

        A detector whose chunk path raises takes the chunk again record by record, so only the records it
        fails on are lost (each counted as an error).
        """
        self.messages += len(df)
        held = self.drain()
        out: list[dict[str, Any]] = []
        for det in self._routes.get("net/conn", ()):
            if not isinstance(det, ConnDetector):
                continue
            try:
                out += self._checked(det, det.update_batch(df))
            except Exception as exc:  # noqa: BLE001 - fall back to the records one by one
                log.warning("%s: conn chunk failed (%s); retrying its %d records one by one", det.name, exc,
                            len(df))
                for m in chunk_messages(df):
                    out += self._guarded(det, det.update, m)
        return held + self._finish(out)

    def flush(self) -> list[dict[str, Any]]:
        """End of stream: alerts the detectors still hold (open windows, pending arrival groups)."""
        held = self.drain()
        out: list[dict[str, Any]] = self._detect_all(self._ground([], end=True))
        for det in self.detectors:
            out += self._guarded(det, det.flush)
        return held + self._finish(out, stamp=True)

    def error_report(self) -> dict[str, Any]:
        """``{"errors": total, "errors_by_detector": {name: count}, "first_errors": {name: [text]}}`` with
        every detector (and the tracker) listed, 0 when it never failed."""
        stages = [TRACKER, GROUND] if self.ground is not None else [TRACKER]
        names = [*stages, *(str(d.name) for d in self.detectors)]
        by = {n: int(self.errors.get(n, 0)) for n in dict.fromkeys(names)}
        by.update((n, int(c)) for n, c in self.errors.items() if n not in by)
        return {"messages": self.messages, "errors": int(sum(by.values())), "errors_by_detector": by,
                "first_errors": {n: list(v) for n, v in self._first_errors.items()}}

    def _guarded(self, det: Detector, fn: Callable[..., list[dict[str, Any]]], *args: Any,
                 ) -> list[dict[str, Any]]:
        """``fn(*args)``'s alerts; an exception is logged and counted against ``det`` (no alerts)."""
        try:
            alerts = fn(*args)
        except Exception as exc:  # noqa: BLE001 - isolate one detector's failure on one message
            self._error(str(det.name), exc, args[0] if args else None)
            return []
        return self._checked(det, alerts)

    def _checked(self, det: Detector, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alerts whose numbers are all finite; the others are dropped and counted as errors."""
        if all(finite(a) for a in alerts):
            return alerts
        ok = []
        for a in alerts:
            if finite(a):
                ok.append(a)
            else:
                self._error(str(det.name), ValueError(f"non-finite value in a {a.get('kind')!r} alert"), None)
        return ok

    def _error(self, name: str, exc: BaseException, msg: dict[str, Any] | None) -> None:
        self.errors[name] += 1
        where = "" if msg is None else f" on {msg.get('topic', '?')} at t={msg.get('t', '?')}"
        text = f"{type(exc).__name__}: {exc}{where}"
        if len(self._first_errors[name]) < _KEEP_ERRORS:
            self._first_errors[name].append(text)
        if self.errors[name] <= _KEEP_ERRORS:
            log.warning("analytics: %s failed%s: %s", name, where, exc, exc_info=exc)
        elif self.errors[name] in (10, 100, 1000) or self.errors[name] % 10000 == 0:
            log.warning("analytics: %s has failed %d times", name, self.errors[name])

    def density_history(self, since: int = 0) -> list[tuple[float, str, float]]:
        """The crowd-density estimates so far as ``(t, zone, people)`` rows, one per zone every
        ``DensityParams.history_s`` (what ``analytics.crowd.write_density_csv`` saves), from row ``since``
        on (a reader following them takes only the new ones); empty without a density detector."""
        return [] if self.density is None else self.density.history[since:]

    def _finish(self, alerts: list[dict[str, Any]], *, stamp: bool = False) -> list[dict[str, Any]]:
        now = round(self._now, 3) if stamp and self._now > float("-inf") else None
        for a in alerts:
            if a.get("lonlat") is None:
                a["lonlat"] = self._lonlat(a.get("xy"))
            if now is not None and a["t"] != now:
                a["evidence"].setdefault("t_event", a["t"])
                a["t"] = now
        self.alerts += len(alerts)
        return alerts


def run_pipeline(
    messages: Iterable[dict[str, Any]], pipeline: AnalyticsPipeline | None = None, **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Run a pipeline (given, or built from ``kwargs``) over an iterator of messages, yielding alerts."""
    pipe = pipeline if pipeline is not None else AnalyticsPipeline(**kwargs)
    for msg in messages:
        yield from pipe.push(msg)
    yield from pipe.flush()
