"""The analytics pipeline the simulator's engine and a replay both use: messages in, alerts out.

``push`` takes one bus message dict (``{"t", "topic", **payload}``, as in ``events.jsonl``) at a time in time
order; camera messages go through the tracker first, whose ``track/frame`` output feeds the behaviour and
crowd detectors; every other topic goes straight to the detectors that name it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics.acoustic import AcousticDetector, AcousticParams
from analytics.base import Detector
from analytics.behaviour import (
    AbandonedObjectDetector,
    AbandonedParams,
    LoiteringDetector,
    LoiteringParams,
    RunningDetector,
    RunningParams,
    VehicleIntrusionDetector,
    VehicleParams,
    ZoneIntrusionDetector,
    ZoneIntrusionParams,
)
from analytics.crowd import CrowdAnomalyDetector, CrowdAnomalyParams, CrowdDensityDetector, DensityParams
from analytics.cyber import (
    BeaconingDetector,
    BeaconParams,
    BruteForceDetector,
    BruteForceParams,
    ConnDetector,
    DosDetector,
    DosParams,
    PortScanDetector,
    PortScanParams,
    StreamLossDetector,
    StreamLossParams,
)
from analytics.geometry import LonLatProjector
from analytics.tracking import TrackerParams, TrackStage

__all__ = ["AnalyticsParams", "AnalyticsPipeline", "run_pipeline"]

Polygon = Sequence[Sequence[float]]


@dataclass(frozen=True, slots=True)
class AnalyticsParams:
    """Every stage's parameters, each with its documented defaults (see the dataclass of each detector)."""

    tracker: TrackerParams = field(default_factory=TrackerParams)
    loitering: LoiteringParams = field(default_factory=LoiteringParams)
    abandoned: AbandonedParams = field(default_factory=AbandonedParams)
    running: RunningParams = field(default_factory=RunningParams)
    zone_intrusion: ZoneIntrusionParams = field(default_factory=ZoneIntrusionParams)
    vehicle: VehicleParams = field(default_factory=VehicleParams)
    density: DensityParams = field(default_factory=DensityParams)
    crowd_anomaly: CrowdAnomalyParams = field(default_factory=CrowdAnomalyParams)
    acoustic: AcousticParams = field(default_factory=AcousticParams)
    port_scan: PortScanParams = field(default_factory=PortScanParams)
    brute_force: BruteForceParams = field(default_factory=BruteForceParams)
    dos: DosParams = field(default_factory=DosParams)
    beacon: BeaconParams = field(default_factory=BeaconParams)
    stream_loss: StreamLossParams = field(default_factory=StreamLossParams)
    default_fps: float = 5.0


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
        ``AnalyticsParams``.
    detectors
        Replace the default detector set (composition by injection); the tracker stage stays.
    """

    def __init__(
        self,
        *,
        zones: dict[str, Polygon] | None = None,
        restricted: Sequence[Polygon] | None = None,
        crs: str | int | None = None,
        params: AnalyticsParams = AnalyticsParams(),
        detectors: Sequence[Detector] | None = None,
    ) -> None:
        self.params = params
        self.tracks = TrackStage(params.tracker, default_fps=params.default_fps)
        if detectors is None:
            self.density = CrowdDensityDetector(zones, params.density)
            detectors = [
                LoiteringDetector(params.loitering),
                AbandonedObjectDetector(params.abandoned),
                RunningDetector(params.running),
                ZoneIntrusionDetector(restricted, params.zone_intrusion),
                VehicleIntrusionDetector(zones, params.vehicle),
                self.density,
                CrowdAnomalyDetector(zones, self.density, params.crowd_anomaly),
                AcousticDetector(params.acoustic),
                PortScanDetector(params.port_scan),
                BruteForceDetector(params.brute_force),
                DosDetector(params.dos),
                BeaconingDetector(params.beacon),
                StreamLossDetector(params.stream_loss),
            ]
        else:
            self.density = next((d for d in detectors if isinstance(d, CrowdDensityDetector)), None)
        self.detectors = list(detectors)
        self._routes: dict[str, list[Detector]] = defaultdict(list)
        for det in self.detectors:
            for topic in det.topics:
                self._routes[topic].append(det)
        self._lonlat = LonLatProjector(crs)
        self.messages = 0
        self.alerts = 0
        #: The ``track/frame`` messages the last ``push`` produced (for writing tracker output).
        self.last_tracks: list[dict[str, Any]] = []

    def push(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one message (in time order) and return the alerts it completes."""
        self.messages += 1
        topic = msg.get("topic", "")
        out: list[dict[str, Any]] = []
        derived = self.tracks.update(msg) if topic.startswith("camera/") else []
        self.last_tracks = derived
        for m in (msg, *derived):
            for det in self._routes.get(m.get("topic", ""), ()):
                out += det.update(m)
            for det in self._routes.get("*", ()):
                out += det.update(m)
        return self._finish(out)

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
        return self._finish(out)

    def _finish(self, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for a in alerts:
            if a.get("lonlat") is None:
                a["lonlat"] = self._lonlat(a.get("xy"))
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
