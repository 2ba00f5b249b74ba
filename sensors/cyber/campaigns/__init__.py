"""Cyber attack campaigns, one module per kind (``sensors.cyber.campaigns.base`` says how to add one).

==================  ============================================  ======================
kind                phases (MITRE ATT&CK)                         detected by
==================  ============================================  ======================
cyber_scan          host_discovery (T1595), service_discovery     port_scan
                    (T1046)
cyber_bruteforce    brute_force (T1110)                           brute_force
cyber_dos           network_dos (T1498)                           dos, stream_loss
cyber_beacon        c2_beacon (T1071)                             beaconing
stream_hijack       hijack_control (T0813), denial_of_view        stream_loss, video_replay,
                    (T0815)                                       video_frozen
==================  ============================================  ======================
"""
# ruff: noqa: I001 - the built-in kinds are imported in registry order

from sensors.cyber.campaigns.base import (
    CAMPAIGNS,
    OPEN_PORTS,
    Campaign,
    CampaignContext,
    CampaignParams,
    Effects,
    attack_traffic,
    external_ips,
    make_campaigns,
    status_code,
    technique,
)
from sensors.cyber.campaigns.scan import DEFAULT_PORTS, Scan
from sensors.cyber.campaigns.bruteforce import BruteForce
from sensors.cyber.campaigns.dos import Dos
from sensors.cyber.campaigns.beacon import Beacon
from sensors.cyber.campaigns.hijack import StreamHijack

__all__ = ["CAMPAIGNS", "DEFAULT_PORTS", "OPEN_PORTS", "Beacon", "BruteForce", "Campaign", "CampaignContext",
           "CampaignParams", "Dos", "Effects", "Scan", "StreamHijack", "attack_traffic", "external_ips",
           "make_campaigns", "status_code", "technique"]
