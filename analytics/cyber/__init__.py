"""Cyber detectors on Zeek conn records (``net/conn``), syslog (``host/syslog``) and camera health: port
scan, SSH brute force, denial of service, beaconing, video stream loss; one module per detector, each with
its parameters.

Modules: ``conn`` (``ConnDetector``, the base of the conn-record detectors, and the conn-record vocabulary
they share), ``port_scan``, ``brute_force``, ``dos`` (CUSUM on flow rate), ``beacon``, ``stream_loss``
(video streams). Each detector reads one message at a time (``update``); ``update_batch`` takes a conn.log
chunk (a DataFrame from ``analytics.zeek``) and, for the port scan, runs vectorised. Alerts name ``src`` and
``dst`` in evidence.

The detector modules are imported in the pipeline's order of the cyber detectors.
"""

# isort: off
from analytics.cyber.conn import ConnDetector
from analytics.cyber.port_scan import PortScanDetector, PortScanParams
from analytics.cyber.brute_force import BruteForceDetector, BruteForceParams
from analytics.cyber.dos import DosDetector, DosParams
from analytics.cyber.beacon import BeaconingDetector, BeaconParams
from analytics.cyber.stream_loss import StreamLossDetector, StreamLossParams
# isort: on

__all__ = [
    "BeaconParams",
    "BeaconingDetector",
    "BruteForceDetector",
    "BruteForceParams",
    "ConnDetector",
    "DosDetector",
    "DosParams",
    "PortScanDetector",
    "PortScanParams",
    "StreamLossDetector",
    "StreamLossParams",
]
