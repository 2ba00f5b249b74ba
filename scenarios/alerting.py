"""The analytics pipeline on a run's bus: every message in; alerts to ``alerts.jsonl`` and back on the bus.

The analytics watch only what a real site would give them: the asset zones (for crowd density and
pedestrian areas) and the declared restricted zones; they are never told where an attack is. Alerts are
published on ``analytics/alert`` (so ``events.jsonl`` records them) and, under ``response.policy: auto``,
handed to the automatic response. When the run ends, the pipeline's own crowd estimates per zone go to
``density_estimates.csv``, the online tracker's output per camera to ``sensors/cameras/<id>/track`` and/or
``sensors/frames/track.parquet`` (as the scenario's ``outputs:`` says: ``scenarios.track_files``) and the
pipeline's error counts (a detector that raised on a message, or made an alert with a non-finite number;
``AnalyticsPipeline.error_report``) to ``analytics.json``, which ``scenarios.evaluation`` copies into
``metrics.json``.

With ``workers`` (the scenario's ``analytics.workers``) the pipeline runs in that many worker processes
(``analytics.workers.WorkerPipeline``, eager): the same alerts in the same order, each back when the
in-process pipeline would give it (the camera frames of an instant go to the workers together, each other
message on its own), so every file of the run is byte-identical to an in-process run's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analytics.crowd import write_density_csv
from analytics.files import atomic_write_lines
from analytics.pipeline import AnalyticsPipeline
from analytics.tracking import write_track_files
from scenarios.site import ring, zone_rings
from scenarios.track_files import TrackFiles
from sensors.base import Deferred
from sensors.export.bus import Bus, Message, dumps
from sensors.export.outputs import OutputParams

__all__ = ["ANALYTICS_FILE", "AlertStream"]

#: The run file with the analytics pipeline's own figures (messages seen, errors per detector).
ANALYTICS_FILE = "analytics.json"


class AlertStream:
    """Runs ``AnalyticsPipeline`` on every bus message and keeps its alerts (see the module docstring)."""

    def __init__(self, bus: Bus, run_dir: Path, *, zones: dict[str, Any], restricted: list, crs: str,
                 roads: list | None = None,
                 on_alert: Any = None, params: Any = None, witness: Any = None,
                 outputs: OutputParams | None = None, workers: int = 0, ground_tracks: Any = None,
                 cameras: Callable[[], list[dict]] | list[dict] | None = None) -> None:
        self.bus, self.run_dir, self.on_alert = bus, Path(run_dir), on_alert
        kw: dict[str, Any] = {} if params is None else {"params": params}
        area = {"zones": zone_rings(zones), "restricted": [ring(z) for z in restricted],
                "crs": crs, "roads": roads}
        #: worker processes of the pipeline (0: it runs in this process)
        self.workers = int(workers)
        if workers:
            from analytics.workers import WorkerPipeline

            cams = cameras() if callable(cameras) else list(cameras or [])
            # eager: each message's alerts as soon as in process, so they go on the bus in the same places
            self.pipeline: Any = WorkerPipeline(workers=int(workers), cameras=cams, eager=True, **area, **kw)
        else:
            if ground_tracks is not None:
                kw["ground_tracks"] = ground_tracks
            self.pipeline = AnalyticsPipeline(batch_frames=True, **area, **kw)
        #: ``defer(fn)`` calls ``fn(now)`` at the end of the current instant (``RunLoop.at_instant_end``):
        #: the instant's camera frames are then tracked as one batch. Without it a batch waits for the next
        #: message.
        self.defer: Any = None
        self._deferred_at: float | None = None
        self._held: list[str] = []  # cameras of the frames the pipeline holds, in order
        self.count = 0
        self._fh = open(self.run_dir / "alerts.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed in close
        #: the truth side of each alert (``witness(alert)``: who was really there), for scoring only
        self.witness = witness
        self._truth_fh = (open(self.run_dir / "alerts_truth.jsonl", "w", encoding="utf-8")  # noqa: SIM115
                          if witness is not None else None)
        #: the tracker's output files as ``outputs`` says (None: ``write_track_files`` at the end)
        self.tracks = TrackFiles(self.run_dir, outputs) if outputs is not None else None
        # the workers take a frame's detections as their arrays (``analytics.worker_wire``): the bus need not
        # make the dicts for us (other compact values are made here)
        bus.subscribe("*", self._on_message, raw=bool(workers))

    def _on_message(self, msg: Message) -> None:
        if msg.topic == "analytics/alert":
            return
        payload = msg.payload
        if msg.topic == "camera/frame":
            self._held.append(str(payload["camera_id"]))
        elif self.workers and any(isinstance(v, Deferred) for v in payload.values()):
            payload = {k: v.materialize() if isinstance(v, Deferred) else v for k, v in payload.items()}
        for alert in self.pipeline.push({"t": msg.t, "topic": msg.topic, **payload}):
            self._alert(msg.t, alert)
        self._take()
        if self.defer is not None and self.pipeline.pending and self._deferred_at != msg.t:
            self._deferred_at = msg.t
            self.defer(self._drain)

    def _drain(self, t: float) -> None:
        for alert in self.pipeline.drain():
            self._alert(t, alert)
        self._take()

    def _take(self) -> None:
        """The tracker's new rows of the frames it has processed (those it no longer holds), in order."""
        done = len(self._held) - self.pipeline.pending
        if done > 0:
            if self.tracks is not None:
                for cam in self._held[:done]:
                    self.tracks.take(self.pipeline.tracks, cam)
            del self._held[:done]

    def _alert(self, t: float, alert: dict) -> None:
        self._fh.write(dumps(alert) + "\n")
        if self._truth_fh is not None:
            seen = {"t": alert["t"], "kind": alert["kind"], **self.witness(alert)}
            self._truth_fh.write(dumps(seen) + "\n")
        self.count += 1
        self.bus.publish(t, "analytics/alert", alert)
        if self.on_alert is not None:
            self.on_alert(t, alert)

    def flush(self, t: float) -> None:
        """End of stream: publish the alerts the detectors still hold."""
        for alert in self.pipeline.flush():
            self._alert(t, alert)
        self._take()

    def close(self) -> None:
        """Close ``alerts.jsonl`` and ``alerts_truth.jsonl``; write the density estimates, the tracker's files
        and ``analytics.json``."""
        if self.workers:
            self.pipeline.close()  # the workers: every result is in after ``flush``
        self._fh.close()
        if self._truth_fh is not None:
            self._truth_fh.close()
        write_density_csv(self.run_dir / "density_estimates.csv", self.pipeline.density_history())
        if self.tracks is not None:
            self.tracks.close(self.pipeline.tracks)
        else:
            write_track_files(self.pipeline.tracks, self.run_dir)
        report = {"alerts": self.count, "detections": self.pipeline.tracks.detections,
                  **self.pipeline.error_report()}
        atomic_write_lines(self.run_dir / ANALYTICS_FILE, [dumps(report)])

    def abort(self) -> None:
        """Close the file (the run failed; its folder is dropped) and stop any workers."""
        if self.workers:
            with contextlib.suppress(Exception):
                self.pipeline.kill()
        with contextlib.suppress(Exception):
            self._fh.close()
            if self._truth_fh is not None:
                self._truth_fh.close()
        with contextlib.suppress(Exception):
            if self.tracks is not None:
                self.tracks.abort()
