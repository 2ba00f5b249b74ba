"""Cyber sensors: camera-network traffic, attack campaigns, Zeek ``conn.log`` and RFC 5424 syslog.

``build_cyber(twin, attacks, rng=..., epoch0=..., duration_s=...)`` gives a ``CyberRange`` sensor publishing
``net/conn`` and ``host/syslog``; ``ConnLogWriter`` and ``SyslogWriter`` export them. The attack kinds are
in ``sensors.cyber.campaigns``, one module each; the network's own traffic is ``traffic``, the background
every real network has (Internet background radiation, the authorised scanner, admin bursts, backups,
mistyped passwords) ``background``, both set through ``TrafficParams``.
"""

from sensors.cyber.campaigns import CAMPAIGNS, DEFAULT_PORTS, Campaign, CampaignParams, technique
from sensors.cyber.errors import CyberError
from sensors.cyber.range import CyberRange, build_cyber
from sensors.cyber.syslog import SyslogWriter, format_syslog
from sensors.cyber.traffic import TrafficParams
from sensors.cyber.zeek import CONN_FIELDS, CONN_TYPES, ConnLogWriter, format_conn

__all__ = ["CAMPAIGNS", "CONN_FIELDS", "CONN_TYPES", "DEFAULT_PORTS", "Campaign", "CampaignParams",
           "ConnLogWriter", "CyberError", "CyberRange", "SyslogWriter", "TrafficParams", "build_cyber",
           "format_conn", "format_syslog", "technique"]
