"""Cyber sensors: camera-network traffic, attack campaigns, Zeek ``conn.log`` and RFC 5424 syslog.

``build_cyber(twin, attacks, rng=..., epoch0=..., duration_s=...)`` gives a ``CyberRange`` sensor publishing
``net/conn`` and ``host/syslog``; ``ConnLogWriter`` and ``SyslogWriter`` export them.
"""

from sensors.cyber.campaigns import ATTACK_KINDS, DEFAULT_PORTS, PHASES, technique
from sensors.cyber.errors import CyberError
from sensors.cyber.range import CyberRange, build_cyber
from sensors.cyber.syslog import SyslogWriter, format_syslog
from sensors.cyber.traffic import TrafficParams
from sensors.cyber.zeek import CONN_FIELDS, CONN_TYPES, ConnLogWriter, format_conn

__all__ = ["ATTACK_KINDS", "CONN_FIELDS", "CONN_TYPES", "DEFAULT_PORTS", "PHASES", "ConnLogWriter",
           "CyberError", "CyberRange", "SyslogWriter", "TrafficParams", "build_cyber", "format_conn",
           "format_syslog", "technique"]
