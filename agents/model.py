"""The Mesa model of one run: the crowd (numpy arrays) plus the individuals (attackers, responders).

The engine advances it explicitly with ``advance(t, dt)`` from a simpy process (Mesa's own ``step`` wrapper is
never used). Individuals live in Mesa ``AgentSet``s; each tick they are stepped with ``shuffle_do`` in an
order drawn from the model's seeded ``random``. Everything that truly happens goes into ``truth`` (drained by
the engine into ``ground_truth.jsonl``); loud sounds go into ``impulses`` (read by acoustic sensors).

Target ids of everything that is not a crowd pedestrian (attackers, vehicles, left objects, responders) are
allocated here from ``ID_BASE`` = 1,000,000,000 upwards, so they never collide with person ids.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import shapely

from agents.model_tracks import GraphIndex
from agents.world import OBJECT, PERSON, Impulse, Targets

__all__ = ["ID_BASE", "CityModel"]

ID_BASE = 1_000_000_000


class CityModel(mesa.Model):
    """A twin, an optional crowd and the individuals acting on them.

    Parameters
    ----------
    twin : twin.Twin
        The city.
    rng : numpy.random.Generator
        The individuals' generator (the engine spawns it from the master seed); also seeds Mesa's ``random``.
    crowd : agents.crowd.Crowd | None
        The pedestrians; ``None`` runs individuals alone (reactions such as fleeing are then skipped).
    """

    def __init__(self, twin, *, rng: np.random.Generator, crowd: Any = None) -> None:
        super().__init__(rng=rng)
        self.twin = twin
        self.crowd = crowd
        self.t = 0.0
        self.truth: list[dict] = []
        self.impulses: list[Impulse] = []
        self.walk = GraphIndex(twin.walk)
        self.drive = GraphIndex(twin.drive)
        self._next_id = ID_BASE
        #: left objects: target id -> {"xy", "placed_t", "remove_t", "by", "tags"}
        self.objects: dict[int, dict] = {}
        #: harmless look-alikes acting in the world (``agents.lookalikes``), stepped after the individuals
        self.lookalikes: list = []
        #: crowd rows added by a look-alike -> the fields their crowd events carry (``tag_crowd``)
        self._crowd_tags: list[tuple[np.ndarray, dict]] = []

    # --- bookkeeping ------------------------------------------------------------------------------------
    def new_target_id(self) -> int:
        """A fresh id for a non-crowd target (>= ``ID_BASE``)."""
        self._next_id += 1
        return self._next_id - 1

    def record(self, kind: str, tid: int | str, xy, t: float, **extra) -> dict:
        """Add one ground-truth record ``{t, kind, id, xy, ...}`` (lonlat is added by the engine).

        ``id`` is a target id (int) or, for records about no target (a sensor fault, an order), a label;
        ``xy`` may be None when the thing has no place.
        """
        pos = None if xy is None else [float(xy[0]), float(xy[1])]
        label = tid if isinstance(tid, str) else int(tid)
        rec = {"t": float(t), "kind": kind, "id": label, "xy": pos, **extra}
        self.truth.append(rec)
        return rec

    def drain_truth(self) -> list[dict]:
        """The truth recorded since the last call, in time order."""
        out, self.truth = self.truth, []
        out.sort(key=lambda r: r["t"])
        return out

    def place_object(self, xy, t: float, *, by: int, remove_after_s: float | None = None, **tags) -> int:
        """Leave a physical object (a target of class object) at ``xy``; it persists until removed.

        ``tags`` (e.g. ``lookalike="luggage"``) go into its ``object_placed`` and ``object_removed`` records.
        """
        oid = self.new_target_id()
        self.objects[oid] = {"xy": np.asarray(xy, float), "placed_t": float(t), "by": int(by), "tags": tags,
                             "remove_t": None if remove_after_s is None else float(t) + float(remove_after_s)}
        self.record("object_placed", oid, xy, t, by=int(by), **tags)
        return oid

    def remove_object(self, oid: int, t: float, *, reason: str) -> None:
        """Take the object ``oid`` out of the world at ``t`` (``reason``: picked_up, scheduled, ...)."""
        obj = self.objects.pop(oid)
        self.record("object_removed", oid, obj["xy"], t, reason=reason, **obj["tags"])

    def tag_crowd(self, rows, **tags) -> None:
        """Every later crowd event (spawned, arrived, ...) of the crowd rows ``rows`` carries ``tags``
        (a look-alike adding people to the crowd marks them ``lookalike=<key>``)."""
        self._crowd_tags.append((np.asarray(rows, np.int64), dict(tags)))

    def _tagged(self, events: list[dict]) -> list[dict]:
        """``events`` with the tags of ``tag_crowd`` added to those about tagged rows."""
        if not self._crowd_tags or not events:
            return events
        ids = np.array([e["id"] if isinstance(e["id"], int | np.integer) else -1 for e in events], np.int64)
        for rows, tags in self._crowd_tags:
            for k in np.flatnonzero(np.isin(ids, rows)).tolist():
                events[k].update(tags)
        return events

    def add_impulse(self, t: float, xy, cls: str, level_db: float, iid: str) -> Impulse:
        imp = Impulse(t=float(t), xy=(float(xy[0]), float(xy[1])), cls=cls, level_db=float(level_db), id=iid)
        self.impulses.append(imp)
        return imp

    # --- the tick ------------------------------------------------------------------------------------------
    def advance(self, t: float, dt: float) -> None:
        """Move everything from ``t`` to ``t + dt``: crowd first, then individuals (seeded order)."""
        if self.crowd is not None:
            self.truth.extend(self._tagged(self.crowd.step(t, dt)))
        self.agents.shuffle_do("act", t, dt)
        for look in self.lookalikes:
            look.step(t, dt)
        t1 = t + dt
        due = [o for o, d in self.objects.items() if d["remove_t"] is not None and d["remove_t"] <= t1]
        for oid in sorted(due):
            self.remove_object(oid, self.objects[oid]["remove_t"], reason="scheduled")
        self.t = t1

    # --- queries -----------------------------------------------------------------------------------------
    @property
    def attackers(self) -> mesa.agent.AgentSet:
        return self.agents.select(lambda a: getattr(a, "role", "") == "attacker")

    @property
    def responders(self) -> mesa.agent.AgentSet:
        return self.agents.select(lambda a: getattr(a, "role", "") == "responder")

    def individual_targets(self) -> Targets:
        """Attackers, vehicles, responders and left objects in the world now (ids >= ``ID_BASE``)."""
        rows = [r for r in self.agents.map("target_row") if r is not None]
        rows += [(oid, OBJECT, o["xy"], 0.5, 0.4, 0.0) for oid, o in sorted(self.objects.items())]
        if not rows:
            return Targets.empty()
        rows.sort(key=lambda r: r[0])
        col = list(zip(*rows, strict=True))
        return Targets(ids=np.array(col[0], np.int64), cls=np.array(col[1], np.int8),
                       xy=np.array(col[2], float).reshape(-1, 2), height_m=np.array(col[3], float),
                       width_m=np.array(col[4], float), speed=np.array(col[5], float))

    def targets(self) -> Targets:
        """Every physical target now: the crowd's pedestrians, the individuals and the look-alikes'."""
        parts = [self.crowd.targets()] if self.crowd is not None else []
        looks = [tg for tg in (look.targets() for look in self.lookalikes) if tg is not None]
        return Targets.concat([*parts, self.individual_targets(), *looks])

    def who_is_near(self, xy, radius_m: float) -> dict[str, list]:
        """Who truly is within ``radius_m`` of ``xy`` now: ``{"lookalikes": [keys], "attacks": [ids],
        "people": n}`` (what an alert raised there can be checked against; never given to the analytics)."""
        near = lambda tg: np.hypot(tg.xy[:, 0] - xy[0], tg.xy[:, 1] - xy[1]) <= radius_m  # noqa: E731
        keys: set[str] = set()
        for look in self.lookalikes:
            tg = look.targets()
            if tg is not None and len(tg) and near(tg).any():
                keys.add(look.key)
        people = 0
        if self.crowd is not None:
            tg = self.crowd.targets()
            hit = tg.ids[near(tg)] if len(tg) else np.zeros(0, np.int64)
            people = len(hit)
            for rows, tags in self._crowd_tags:
                if "lookalike" in tags and np.isin(hit, rows).any():
                    keys.add(str(tags["lookalike"]))
        attacks = sorted({a.attack_id for a in self.attackers
                          if a.xy is not None and np.hypot(*(np.asarray(a.xy) - xy)) <= radius_m})
        return {"lookalikes": sorted(keys), "attacks": attacks, "people": people}

    def counts_in(self, zones) -> dict[str, int]:
        """True people in the world inside each zone polygon (metres): the crowd's pedestrians plus the
        persons the look-alikes hold (people waiting at stops, vendors, joggers, ...)."""
        out = self.crowd.counts_in(zones) if self.crowd is not None else {name: 0 for name in zones}
        looks = [tg for tg in (look.targets() for look in self.lookalikes) if tg is not None]
        tg = Targets.concat(looks)
        xy = tg.xy[tg.cls == PERSON]
        if not len(xy):
            return out
        for name, poly in zones.items():
            x0, y0, x1, y1 = poly.bounds
            m = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
            if m.any():
                out[name] += int(shapely.contains_xy(poly, xy[m, 0], xy[m, 1]).sum())
        return out

    def dispatch(self, kind: str, xy, t: float, *, reason: str = "") -> Any:
        """Send the idle ``kind`` unit (police|fire|ambulance) with the least drive time to ``xy`` at ``t``.

        Returns the ``agents.responders.Responder`` sent, or ``None`` when every unit of that kind is busy.
        """
        from agents.responders import dispatch_nearest

        return dispatch_nearest(self, kind, xy, t, reason=reason)
