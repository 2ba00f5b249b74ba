"""Detection analytics on plain bus messages or real-format files; never imports the simulation.

Modules: ``base`` (alert record, ``Detector`` and its registry, input error, read stats), ``files`` (file
helpers), readers ``zeek``, ``syslog``, ``mot``, ``events``; ``tracking`` (ByteTrack + homography);
detectors ``behaviour``, ``crowd``, ``acoustic``, the package ``cyber`` (one module per detector), ``video``
(frozen and replayed pictures from the frames' content) and ``tamper`` (moved cameras from their tracks);
``motscore`` (CLEAR-MOT/IDF1); ``params`` (``AnalyticsParams``); ``pipeline`` (``AnalyticsPipeline``,
``build_detectors``, ``run_pipeline``); ``ground_tracks`` (one track per person across overlapping cameras,
with ``ground_assoc`` and ``ground_labels``); ``workers`` (the pipeline in worker processes, with
``partition``, ``shard``, ``worker_process``, ``worker_wire``).

After detection, on plain data (alerts, networkx graphs, asset tables): ``incident_stage`` runs ``fusion``
(with ``fusion_alerts``, ``fusion_context``, ``fusion_hybrid``; evidence by ``evidence``; the incident
model and its SOP tables ``incidents``, ``sop/``), ``risk`` and ``exposure``, ``resilience``, the recommended
actions ``recommend`` (``evacuation``, ``dispatch``, ``crowdcontrol``, ``netresponse``, ``crowdcost``,
``graphgeo``), ``cap`` (CAP 1.2) and ``cop`` (the operational picture); ``camera_views`` gives each camera's
ground view.

A detector registers when its class is defined, and the pipeline runs the registered detectors in
registration order, the built-in ones first in a fixed order: loitering, ground_loitering (on the
ground-track stage's ``track/ground``, when it is on), abandoned, running, zone_intrusion,
vehicle, density, crowd_anomaly, acoustic, port_scan, brute_force, dos, beacon, stream_loss, video_content,
camera_tamper. Their modules (``analytics.base.BUILTIN_MODULES``) are imported the first time the registry
is read or a detector registers, not by importing this package: ``run_sim.py`` builds its parser from
``analytics._cli`` without loading pandas and the detectors. ``analytics.<module>`` still works after a bare
``import analytics`` (the module is imported on first access).
"""

import importlib

__all__ = ["acoustic", "behaviour", "crowd", "cyber", "tamper", "video"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"analytics.{name}")
    raise AttributeError(f"module 'analytics' has no attribute {name!r}")
