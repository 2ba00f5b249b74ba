"""Attackers: Mesa agents that each follow a short script of phases, one module per attack kind.

==================  ===========================================  =====================================
kind                phases                                       other truth records
==================  ===========================================  =====================================
loiterer            approach, loiter, leave, gone
bag_leaver          approach, place, leave, gone                 object_placed (end of place),
                                                                 object_removed (``remove_after_s``)
zone_intruder       approach, enter, exit, gone                  (enter/exit at the zone boundary)
vehicle_rammer      drive, ram, stopped                          vehicle_impact, injured
active_assailant    approach, attack, stopped                    shot, injured (+ gunshot impulses); with
                                                                 ``weapon: knife``: stab, injured
crowd_surge         trigger
bomber              approach, place, leave, gone, detonation     object_placed, detonation, object_removed,
                    (the detonation in time order)               injured (+ an explosion impulse)
==================  ===========================================  =====================================

``ATTACKER_KINDS`` lists them in this order; a kind defined elsewhere (a module of its own) registers itself
after them when its class is defined (``agents.attackers.base``).
"""
# ruff: noqa: I001 - the built-in kinds are imported in registry order

from agents.attackers.base import ATTACKER_KINDS, AttackParams, Attacker, Leg, gone, make_attacker
from agents.attackers.loiterer import Loiterer
from agents.attackers.bag_leaver import BagLeaver
from agents.attackers.zone_intruder import ZoneIntruder
from agents.attackers.vehicle_rammer import VehicleRammer
from agents.attackers.active_assailant import ActiveAssailant
from agents.attackers.crowd_surge import CrowdSurge
from agents.attackers.bomber import Bomber

__all__ = ["ATTACKER_KINDS", "ActiveAssailant", "AttackParams", "Attacker", "BagLeaver", "Bomber",
           "CrowdSurge", "Leg", "Loiterer", "VehicleRammer", "ZoneIntruder", "gone", "make_attacker"]
