"""Scheduled scenario events (``events:``) and ordered dispatches (``response.dispatch``): a table from event
kind to its handler.

Each handler resolves the event's places when the run is built (unknown places go to the scenario's report)
and, when the run starts, says what to do at which simulated time. The engine runs those actions at urgent
priority, so they take effect before any sensor measures at that instant. Every action writes its ground
truth record (``sensor_fault``, ``evacuate_order``, ``closure``, ``reopened``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import shapely

from scenarios._fields import join
from twin.model import TwinError
from twin.nearest import edges_within, ring_nodes

__all__ = ["EVENT_KINDS", "Action", "EventKind", "resolve_events", "schedule_events"]

#: A scheduled action: ``(time s, do(t))``.
Action = tuple[float, Callable[[float], None]]


class RunWorld(Protocol):
    """What event handlers act on (the engine's run)."""

    model: Any          # agents.model.CityModel: record(), dispatch()
    crowd: Any          # agents.crowd.Crowd
    twin: Any
    by_id: dict         # sensor id -> sensor
    scheduled: dict     # sensor id -> status a scheduled fault put it in


def _place(places, value, path: str, report) -> Any:
    try:
        return places.resolve(value)
    except TwinError as exc:
        report.error(path, str(exc).splitlines()[0])
        return None


@dataclass(frozen=True)
class EventKind:
    """How one kind of event is resolved (``resolve``) and run (``actions``)."""

    resolve: Callable[[dict, str, Any, Any], Any]          # (event, path, places, report) -> resolved
    actions: Callable[[RunWorld, dict, Any, str], list[Action]]


def _fault_actions(run: RunWorld, e: dict, _where, eid: str) -> list[Action]:
    def fault(t: float) -> None:
        s = run.by_id.get(e["sensor"])
        if s is None:
            return
        run.scheduled[e["sensor"]] = e["status"]
        s.set_status(e["status"])
        run.model.record("sensor_fault", e["sensor"], getattr(s, "xy", None), t, sensor=e["sensor"],
                         status=e["status"])
    return [(e["at_s"], fault)]


def _evacuate_resolve(e: dict, path: str, places, report):
    safe = [_place(places, s, join(path, f"to[{j}]"), report) for j, s in enumerate(e["to"])]
    return _place(places, e["zone"], join(path, "zone"), report), safe


def _evacuate_actions(run: RunWorld, e: dict, resolved, eid: str) -> list[Action]:
    where, safe = resolved

    def evac(t: float) -> None:
        zone = shapely.Point(*where.xy).buffer(e["radius_m"])
        nodes = [s.node for s in safe] or ring_nodes(run.twin.walk, where.xy, e["radius_m"])
        n = run.crowd.evacuate(zone, nodes, t=t)
        run.model.record("evacuate_order", eid, where.xy, t, radius_m=e["radius_m"], people=n)
    return [(e["at_s"], evac)]


def _close_actions(run: RunWorld, e: dict, where, eid: str) -> list[Action]:
    edges = edges_within(run.twin.walk, where.xy, e["radius_m"])

    def close(t: float) -> None:
        run.crowd.close_edges(edges)
        run.model.record("closure", eid, where.xy, t, radius_m=e["radius_m"], edges=len(edges))

    def reopen(t: float) -> None:
        run.crowd.reopen_edges(edges)
        run.model.record("reopened", eid, where.xy, t, edges=len(edges))

    out = [(e["at_s"], close)]
    if e.get("until_s") is not None:
        out.append((e["until_s"], reopen))
    return out


#: Event kind -> handler. The schema of each is ``scenarios.schema.EVENTS``.
EVENT_KINDS: dict[str, EventKind] = {
    "sensor_fault": EventKind(lambda e, path, places, report: None, _fault_actions),
    "evacuate": EventKind(_evacuate_resolve, _evacuate_actions),
    "close": EventKind(lambda e, path, places, report: _place(places, e["at"], join(path, "at"), report),
                       _close_actions),
}


def resolve_events(events: list[dict], places, report) -> list[tuple[dict, Any]]:
    """Every event with its places resolved (problems go to ``report``)."""
    return [(e, EVENT_KINDS[e["kind"]].resolve(e, f"events[{i}]", places, report))
            for i, e in enumerate(events)]


def schedule_events(run: RunWorld, events: list[tuple[dict, Any]], orders: list[tuple[dict, Any]]
                    ) -> list[Action]:
    """The actions of every event and ordered dispatch, in scenario order."""
    out: list[Action] = []
    for i, (e, resolved) in enumerate(events):
        out += EVENT_KINDS[e["kind"]].actions(run, e, resolved, f"events[{i}]")
    for o, where in orders:
        out.append((o["at_s"], lambda t, o=o, w=where: run.model.dispatch(o["unit"], w.xy, t,
                                                                           reason="scenario order")))
    return out
