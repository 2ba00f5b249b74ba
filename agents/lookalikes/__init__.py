"""Harmless look-alikes of attacks, one module per kind (``agents.lookalikes.base`` says how to add one).

On by default in every run, each settable (``lookalikes: {<key>: {enabled: false, ...}}``); every record a
look-alike makes carries ``lookalike: <key>``. Each module's docstring gives its defaults and their sources.

=================  ===========================================  ==========================================
key                what                                         looks like
=================  ===========================================  ==========================================
road_traffic       cars, vans, buses on the drive graph; kerb   vehicle_rammer (a vehicle near people, in
                   stops for minutes; vans into squares         a pedestrian area); something left long
cyclists           bicycles on the walk graph at 4-6 m/s        running, a dispersal
joggers            people running at 2.5-4 m/s                  running, a dispersal
stop_waiting       passengers standing at tram and bus stops    loiterer; a crowd forming and vanishing
                   for minutes, boarding; others alighting
street_vendors     vendors (a stall) and buskers (a case on     loiterer; bag_leaver (its owner stays)
                   the ground) at a pitch on a square, ~1 h
luggage            a bag set down for minutes by its owner,     bag_leaver
                   who stays by it (or steps away briefly)
street_furniture   benches and bins along pavements, on         an object that stays (bag_leaver)
                   squares, at stops
sounds             fireworks, slammed doors, construction,      active_assailant (gunshots)
                   vehicle backfires
concert_exit       hundreds leaving a venue's doors at once     crowd_surge
=================  ===========================================  ==========================================

Shared parts: ``movers`` (many targets along graph edges as arrays), ``walkers`` (cyclists and joggers),
``paths`` (targets on timed polylines, actions kept until their time), ``sites`` (stops, squares, areas).
``LOOKALIKE_KINDS`` lists the built-in kinds in the order of the imports below (their ranks agree): they
run, and draw their generators, in that order.
"""
# ruff: noqa: I001 - the built-in kinds are imported in registry order

from agents.lookalikes.base import LOOKALIKE_KINDS, Lookalike, LookalikeParams
from agents.lookalikes.road_traffic import RoadTraffic
from agents.lookalikes.cyclists import Cyclists
from agents.lookalikes.joggers import Joggers
from agents.lookalikes.stop_waiting import StopWaiting
from agents.lookalikes.street_vendors import StreetVendors
from agents.lookalikes.luggage import Luggage
from agents.lookalikes.street_furniture import StreetFurniture
from agents.lookalikes.sounds import Sounds
from agents.lookalikes.concert import ConcertExit

__all__ = ["LOOKALIKE_KINDS", "ConcertExit", "Cyclists", "Joggers", "Lookalike", "LookalikeParams", "Luggage",
           "RoadTraffic", "Sounds", "StopWaiting", "StreetFurniture", "StreetVendors"]
