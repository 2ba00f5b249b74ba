"""A run's exports set up in one place: ``events.jsonl`` and the files each sensor kind declares.

``RunExports(run_dir, bus)`` subscribes first of all to the bus (so ``events.jsonl`` records every message
before anything a subscriber publishes in answer); ``start(sensors, exporters, duration_s)`` then opens the
writers once the sensors are known. Exporter classes (``SensorKind.exporters``, ``CyberRange.exporters``)
follow one protocol: ``for_run(run_dir, sensors)`` builds one, ``subscribe(bus)``, ``close()``, ``abort()``.

Camera-heavy runs write ``events.jsonl`` and the MOTChallenge files in a second process
(``sensors.export.process``); which one is used is ``exports_mode``. The files are the same either way, and
either way they are the ones the scenario's ``outputs:`` selects (``sensors.export.outputs``; ``start``
without ``outputs`` writes ``LEGACY``'s).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sensors.export.bus import Bus, Message
from sensors.export.mot import MotExporter
from sensors.export.outputs import OutputParams, open_writers
from sensors.export.process import ExportProcess
from sensors.export.recorder import Recorder

__all__ = ["EXPORT_PROCESS_MIN_FRAMES", "RunExports", "exports_mode"]

#: Camera frames a run must record before its exports go to a second process (below that, starting the
#: process costs more than it saves).
EXPORT_PROCESS_MIN_FRAMES = 5_000


def exports_mode(frames: float) -> str:
    """``"process"`` or ``"inline"``: where events.jsonl and the MOT files are written. Env ``TWIN_EXPORTS``
    forces either; by default a second process is used on a machine with 2+ CPUs for runs recording at
    least ``EXPORT_PROCESS_MIN_FRAMES`` camera frames."""
    forced = os.environ.get("TWIN_EXPORTS", "").strip().lower()
    if forced in ("process", "inline"):
        return forced
    return "process" if (os.cpu_count() or 1) >= 2 and frames >= EXPORT_PROCESS_MIN_FRAMES else "inline"


class RunExports:
    """Every file a run's sensors write, opened once the sensors are known (see the module docstring)."""

    def __init__(self, run_dir: str | os.PathLike, bus: Bus) -> None:
        self.run_dir = Path(run_dir)
        self.bus = bus
        self.recorder: Recorder | ExportProcess | None = None
        self.writers: list[Any] = []
        self.mode = "inline"
        bus.subscribe("*", self._record, raw=True)

    def _record(self, msg: Message) -> None:
        if self.recorder is not None:
            self.recorder.write(msg)

    def start(self, sensors: Sequence[Any], exporters: Sequence[type], duration_s: float,
              outputs: OutputParams | None = None) -> None:
        """Open ``events.jsonl`` and one writer per exporter class (camera frames go on the bus as arrays:
        the bus makes the detection dicts only for subscribers that need them); the camera files as
        ``outputs`` says (None: ``LEGACY``)."""
        cams = [s for s in sensors if hasattr(s, "truth_sink")]
        for c in cams:
            c.defer_detections = True
        frames = sum(float(c.config.fps) for c in cams) * float(duration_s)
        self.mode = exports_mode(frames)
        events = self.run_dir / (outputs.events_name if outputs is not None else "events.jsonl")
        with_cams = MotExporter in exporters and bool(cams)
        exporters = [e for e in exporters if e is not MotExporter]
        if self.mode == "process":
            self.recorder = ExportProcess(self.run_dir, events, with_mot=with_cams, outputs=outputs)
            self.recorder.attach(cams)
        else:
            self.recorder, camera_files = open_writers(self.run_dir, events, outputs, with_cams)
            if camera_files is not None:
                camera_files.attach(cams)
                camera_files.subscribe(self.bus)
                self.writers.append(camera_files)
        for cls in exporters:
            w = cls.for_run(self.run_dir, sensors)
            if w is not None:
                w.subscribe(self.bus)
                self.writers.append(w)

    @property
    def lines(self) -> int:
        """Lines written to ``events.jsonl`` so far."""
        return self.recorder.lines if self.recorder is not None else 0

    def close(self) -> None:
        """Finish every file and move it into place."""
        if self.recorder is not None:
            self.recorder.close()
        for w in self.writers:
            w.close()

    def abort(self) -> None:
        """Drop every partial file (cleaning up after a failure: the original error is the one raised)."""
        for w in [self.recorder, *self.writers]:
            if w is not None:
                with contextlib.suppress(Exception):
                    w.abort()
