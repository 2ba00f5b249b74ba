"""A checked scenario's places resolved against the built twin: every PLACE to a walk node and a position,
every zone to a polygon in metres. Names the twin does not know go to the scenario's report, all at once,
each with its file line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scenarios._fields import Report
from scenarios.scheduled import resolve_events
from scenarios.schema import Scenario
from twin.model import TwinError
from twin.places import Place, Places

__all__ = ["Resolved", "resolve"]


@dataclass
class Resolved:
    """Where everything the scenario names is (``None`` where a place is unknown: reported)."""

    flows: list[tuple[dict, Place | None, Place | None]] = field(default_factory=list)
    gatherings: list[tuple[dict, Place | None]] = field(default_factory=list)
    #: physical attacks: (kind, params, place, zone polygon or None)
    physical: list[tuple[str, Any, Place | None, Any]] = field(default_factory=list)
    restricted: list[Any] = field(default_factory=list)
    orders: list[tuple[dict, Place | None]] = field(default_factory=list)
    events: list[tuple[dict, Any]] = field(default_factory=list)


class _Resolver:
    def __init__(self, places: Places, report: Report) -> None:
        self.places, self.report = places, report

    def place(self, value, path: str) -> Place | None:
        try:
            return self.places.resolve(value)
        except TwinError as exc:
            self.report.error(path, str(exc).splitlines()[0])
            return None

    def area(self, value, path: str, *, zone=None, radius_m: float | None = None):
        """The entry's zone polygon, the asset polygon at ``value``, else a ``radius_m`` disc (or None)."""
        try:
            return self.places.area(value, zone=zone, radius_m=radius_m)
        except TwinError as exc:
            self.report.error(f"{path}.zone" if zone is not None else f"{path}.at", str(exc).splitlines()[0])
            return None


def resolve(sc: Scenario, places: Places, report: Report, *, physical_kinds) -> Resolved:
    """Resolve every place of ``sc`` except the sensors' (their kinds resolve their own)."""
    d, r = sc.data, _Resolver(places, report)
    out = Resolved()
    out.flows = [(f, r.place(f["from"], f"crowd.flows[{i}].from"), r.place(f["to"], f"crowd.flows[{i}].to"))
                 for i, f in enumerate(d["crowd"]["flows"])]
    out.gatherings = [(x, r.place(x["at"], f"crowd.gatherings[{i}].at"))
                      for i, x in enumerate(d["crowd"]["gatherings"])]
    for i, kind, params in sc.attacks():
        if kind not in physical_kinds:
            continue
        where = r.place(params.at, f"attacks[{i}].at")
        # no disc for an attack without a polygon: the attacker picks its own spot near ``at``
        zone = r.area(params.at, f"attacks[{i}]", zone=getattr(params, "zone", None)) if where else None
        out.physical.append((kind, params, where, zone))
    for i, z in enumerate(d["restricted_zones"]):
        if z.get("zone") is None and r.place(z["at"], f"restricted_zones[{i}].at") is None:
            continue
        poly = r.area(z.get("at"), f"restricted_zones[{i}]", zone=z.get("zone"), radius_m=z.get("radius_m"))
        if poly is not None:
            out.restricted.append(poly)
    out.orders = [(o, r.place(o["to"], f"response.dispatch[{i}].to"))
                  for i, o in enumerate(d["response"]["dispatch"])]
    out.events = resolve_events(d["events"], places, report)
    return out
