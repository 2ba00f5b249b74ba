"""The analytics pipeline the simulator's engine and a replay both use: messages in, alerts out.

``push`` takes one bus message dict (``{"t", "topic", **payload}``, as in ``events.jsonl``) at a time in time
order; camera messages go through the tracker first, whose ``track/frame`` output feeds the behaviour and
crowd detectors; every other topic goes straight to the detectors that name it. The default detector set is
every registered detector (``analytics.base.Detector``), built in registration order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from analytics.base import Detector, DetectorContext, Polygon
from analytics.crowd import CrowdDensityDetector
from analytics.cyber.conn import ConnDetector
from analytics.geometry import LonLatProjector
from analytics.params import AnalyticsParams
from analytics.tracking import TrackStage

__all__ = ["AnalyticsParams", "AnalyticsPipeline", "build_detectors", "run_pipeline"]


def build_detectors(
    params: AnalyticsParams | None = None,
    *,
    zones: Mapping[str, Polygon] | None = None,
    restricted: Sequence[Polygon] | None = None,
) -> list[Detector]:
    """One detector of every registered class, in registration order, each built by its ``from_context``
    with its parameters from ``params`` (default ``AnalyticsParams()``).

    Parameters
    ----------
    params
        ``AnalyticsParams``.
    zones, restricted
        The pipeline's crowd zones and restricted polygons (see ``AnalyticsPipeline``).
    """
    params = AnalyticsParams() if params is None else params
    ctx = DetectorContext(zones=zones, restricted=restricted)
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
    crs
        The CRS of the metres (e.g. ``"EPSG:32635"``); with it alerts carry ``lonlat``, else ``None``.
    params
        ``AnalyticsParams`` (default: every stage's defaults).
    detectors
        Replace the default detector set (``build_detectors``; composition by injection); the tracker
        stage stays.
    """

    def __init__(
        self,
        *,
        zones: Mapping[str, Polygon] | None = None,
        restricted: Sequence[Polygon] | None = None,
        crs: str | int | None = None,
        params: AnalyticsParams | None = None,
        detectors: Sequence[Detector] | None = None,
    ) -> None:
        self.params = AnalyticsParams() if params is None else params
        self.tracks = TrackStage(self.params.tracker, default_fps=self.params.default_fps)
        if detectors is None:
            detectors = build_detectors(self.params, zones=zones, restricted=restricted)
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
        #: The ``track/frame`` messages the last ``push`` produced (for writing tracker output).
        self.last_tracks: list[dict[str, Any]] = []

    def push(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one message (in time order) and return the alerts it completes, each stamped with the
        message's time (when it was raised; a detector's own estimate of the event time is kept as
        ``evidence.t_event``)."""
        self.messages += 1
        if isinstance(msg.get("t"), int | float):
            self._now = max(self._now, float(msg["t"]))
        topic = msg.get("topic", "")
        out: list[dict[str, Any]] = []
        derived = self.tracks.update(msg) if topic.startswith("camera/") else []
        self.last_tracks = derived
        for m in (msg, *derived):
            for det in self._routes.get(m.get("topic", ""), ()):
                out += det.update(m)
            for det in self._routes.get("*", ()):
                out += det.update(m)
        return self._finish(out, stamp=True)

    def push_conn_chunk(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """Take a chunk of conn.log records (``analytics.zeek.iter_conn_chunks``): the vectorised path."""
        self.messages += len(df)
        out: list[dict[str, Any]] = []
        for det in self._routes.get("net/conn", ()):
            out += det.update_batch(df) if isinstance(det, ConnDetector) else []
        return self._finish(out)

    def flush(self) -> list[dict[str, Any]]:
        """End of stream: alerts the detectors still hold (open windows, pending arrival groups)."""
        out: list[dict[str, Any]] = []
        for det in self.detectors:
            out += det.flush()
        return self._finish(out, stamp=True)

    def density_history(self) -> list[tuple[float, str, float]]:
        """The crowd-density estimates so far as ``(t, zone, people)`` rows, one per zone every
        ``DensityParams.history_s`` (what ``analytics.crowd.write_density_csv`` saves); empty without a
        density detector."""
        return [] if self.density is None else list(self.density.history)

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
