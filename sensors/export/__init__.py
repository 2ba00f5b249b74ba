"""The output side of the sensors: the bus and everything that writes the run's files from it.

Modules: ``bus`` (publish/subscribe in simulation time, canonical JSON ``dumps``), ``recorder``
(``events.jsonl``), ``mot`` (MOTChallenge det/gt files per camera), ``numtext`` (the compiled text kernels
those two format with), ``parquet`` (the camera frame tables, imported when used: it loads pyarrow),
``outputs`` (the scenario's ``outputs:`` and the writers it selects) and ``process`` (the same writers run in
a second process fed through a pipe).
``Deferred`` (``sensors.base``) is the bus's compact payload value, exported here with the bus.
"""

from sensors.base import Deferred
from sensors.export.bus import Bus, BusError, Message, dumps
from sensors.export.mot import MotExporter
from sensors.export.numtext import DET_ROW, GT_ROW, det_text, detections_json, gt_text, warm_kernels
from sensors.export.process import ExportError, ExportProcess, export_worker
from sensors.export.recorder import Recorder, frame_line

__all__ = ["DET_ROW", "GT_ROW", "Bus", "BusError", "Deferred", "ExportError", "ExportProcess", "Message",
           "MotExporter", "Recorder", "det_text", "detections_json", "dumps", "export_worker", "frame_line",
           "gt_text", "warm_kernels"]
