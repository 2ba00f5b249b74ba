"""Detection analytics on plain bus messages or real-format files; never imports the simulation.

Modules: ``base`` (alert record, ``Detector`` and its registry, input error, read stats), ``files`` (file
helpers), readers ``zeek``, ``syslog``, ``mot``, ``events``; ``tracking`` (ByteTrack + homography);
detectors ``behaviour``, ``crowd``, ``acoustic``, the package ``cyber`` (one module per detector), ``video``
(frozen and replayed pictures from the frames' content) and ``tamper`` (moved cameras from their tracks);
``motscore`` (CLEAR-MOT/IDF1); ``params`` (``AnalyticsParams``); ``pipeline`` (``AnalyticsPipeline``,
``build_detectors``, ``run_pipeline``).

A detector registers when its class is defined, and the pipeline runs the registered detectors in
registration order. Importing the package (which any ``import analytics.…`` does first) imports the
built-in detector modules below, in this order, so the built-in detectors always come first and in the
same order: loitering, abandoned, running, zone_intrusion, vehicle, density, crowd_anomaly, acoustic,
port_scan, brute_force, dos, beacon, stream_loss, video_content, camera_tamper. A new built-in detector
module is added to this list.
"""

# isort: off
from analytics import behaviour
from analytics import crowd
from analytics import acoustic
from analytics import cyber
from analytics import video
from analytics import tamper
# isort: on

__all__ = ["acoustic", "behaviour", "crowd", "cyber", "tamper", "video"]
