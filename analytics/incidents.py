"""The PSIM-style incident model: identity, kind, priority, location, context, a lifecycle with who changed
it and when, the standard operating procedure (SOP) of its kind as a timed checklist, and an audit log of
every change.

``Incident.to_dict()`` is the shared incident dict (one line of a run's ``incidents.jsonl``). Fusion creates
and updates incidents (actor ``"fusion"``); operators change state and tick SOP steps (``"operator:<name>"``);
automatic rules use ``"auto"``.

Lifecycle (``TRANSITIONS``): new -> acknowledged -> in_progress -> resolved | false_alarm -> closed, plus
acknowledged -> false_alarm (an operator who verified the scene on camera dismisses the alarm without
starting a response). Any other change raises ``IncidentError``.

SOPs: one YAML table per incident kind in ``analytics/sop/<kind>.yaml`` (``load_sop``)::

    kind: armed_attack
    title: ...
    reference: the guidance it follows
    steps:
      - {id: call_up_cameras, action: ..., limit_s: 30}

Each step's time limit counts from the incident's creation; a step done or skipped after its limit is
``late``; ``overdue(t)`` lists the pending steps past their limit and ``note_overdue(t)`` records them once
in the audit log.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ACTOR_PATTERN",
    "DEFAULT_PRIORITY",
    "INCIDENT_KINDS",
    "STATES",
    "TRANSITIONS",
    "Incident",
    "IncidentError",
    "Sop",
    "SopError",
    "SopStep",
    "default_priority",
    "load_sop",
]

#: Every incident kind (a ``hybrid`` incident is a physical kind with ``hybrid: true``).
INCIDENT_KINDS = ("armed_attack", "explosion", "vehicle_attack", "suspicious_object", "intrusion",
                  "suspicious_behaviour", "crowd_emergency", "cyber_attack", "dos", "video_tamper")

STATES = ("new", "acknowledged", "in_progress", "resolved", "false_alarm", "closed")

#: Allowed state changes: state -> the states it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged",),
    "acknowledged": ("in_progress", "false_alarm"),
    "in_progress": ("resolved", "false_alarm"),
    "resolved": ("closed",),
    "false_alarm": ("closed",),
    "closed": (),
}

#: Priority (1 = most urgent) of each kind until the risk module sets one. 1: a threat to life now (shots,
#: blast, a vehicle driven at people); 2: harm builds within minutes or the site is blinded (a crowd near
#: crush density, a possible device, a DoS on the video system); 3: a breach or a campaign still short of
#: harm (intrusion, intrusion attempts, lost cameras); 4: behaviour to watch. A ``hybrid`` incident is one
#: step more urgent: the attacker has blinded the operators' view of it.
DEFAULT_PRIORITY: dict[str, int] = {
    "armed_attack": 1, "explosion": 1, "vehicle_attack": 1,
    "crowd_emergency": 2, "suspicious_object": 2, "dos": 2,
    "intrusion": 3, "cyber_attack": 3, "video_tamper": 3,
    "suspicious_behaviour": 4,
}

#: Who may change an incident: fusion, an automatic rule, or a named operator.
ACTOR_PATTERN = re.compile(r"^(fusion|auto|operator:\S+)$")

_SOP_PACKAGE_DIR = "sop"


class IncidentError(ValueError):
    """A change the incident model does not allow (a bad state transition, an unknown step or actor)."""


class SopError(IncidentError):
    """A SOP table that is missing or malformed (one line naming the file and field)."""


def default_priority(kind: str, *, hybrid: bool = False) -> int:
    """The priority of ``kind`` before risk is assessed (``DEFAULT_PRIORITY``, one step up if hybrid)."""
    if kind not in DEFAULT_PRIORITY:
        raise IncidentError(f"incident kind must be one of {', '.join(INCIDENT_KINDS)}, got {kind!r}")
    return max(1, DEFAULT_PRIORITY[kind] - (1 if hybrid else 0))


@dataclass(frozen=True, slots=True)
class SopStep:
    """One SOP step: its id, what to do, the time limit from incident creation, and who does it."""

    id: str
    action: str
    limit_s: float
    role: str = "operator"


@dataclass(frozen=True, slots=True)
class Sop:
    """The standard operating procedure of one incident kind."""

    kind: str
    title: str
    reference: str
    steps: tuple[SopStep, ...]


def load_sop(kind: str, *, directory: str | Path | None = None) -> Sop:
    """The SOP of ``kind`` from ``<directory>/<kind>.yaml`` (default: the package's ``analytics/sop``).

    Raises
    ------
    SopError
        The file is missing, is not YAML, or a field is missing or of the wrong type.
    """
    return _load_sop(str(kind), None if directory is None else str(directory))


@functools.lru_cache(maxsize=64)
def _load_sop(kind: str, directory: str | None) -> Sop:
    if directory is None:
        ref = resources.files("analytics").joinpath(_SOP_PACKAGE_DIR, f"{kind}.yaml")
        name = f"analytics/{_SOP_PACKAGE_DIR}/{kind}.yaml"
    else:
        ref = Path(directory) / f"{kind}.yaml"
        name = str(ref)
    try:
        text = ref.read_text(encoding="utf-8")
    except OSError as exc:
        raise SopError(f"{name}: cannot read the SOP of kind {kind!r} ({exc.strerror or exc})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise SopError(f"{name}: not valid YAML{line}: {getattr(exc, 'problem', None) or exc}") from None
    return _parse_sop(doc, kind, name)


def _parse_sop(doc: Any, kind: str, name: str) -> Sop:
    if not isinstance(doc, dict):
        raise SopError(f"{name}: the top level must be a mapping with kind, title and steps")
    if doc.get("kind") != kind:
        raise SopError(f"{name}: kind must be {kind!r} (the file name), got {doc.get('kind')!r}")
    title, reference = doc.get("title"), doc.get("reference", "")
    if not isinstance(title, str) or not title.strip():
        raise SopError(f"{name}: title must be a non-empty string, got {title!r}")
    if not isinstance(reference, str):
        raise SopError(f"{name}: reference must be a string, got {reference!r}")
    steps = doc.get("steps")
    if not isinstance(steps, list) or not steps:
        raise SopError(f"{name}: steps must be a non-empty list, got {steps!r}")
    out: list[SopStep] = []
    for i, st in enumerate(steps):
        where = f"{name}: steps[{i}]"
        if not isinstance(st, dict):
            raise SopError(f"{where} must be a mapping with id, action and limit_s, got {st!r}")
        sid, action, limit = st.get("id"), st.get("action"), st.get("limit_s")
        role = st.get("role", "operator")
        if not isinstance(sid, str) or not sid.isidentifier():
            raise SopError(f"{where}.id must be an identifier, got {sid!r}")
        if any(s.id == sid for s in out):
            raise SopError(f"{where}.id {sid!r} is used by an earlier step")
        if not isinstance(action, str) or not action.strip():
            raise SopError(f"{where}.action must be a non-empty string, got {action!r}")
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not (0 < limit < math.inf):
            raise SopError(f"{where}.limit_s must be a positive number of seconds, got {limit!r}")
        if not isinstance(role, str) or not role.strip():
            raise SopError(f"{where}.role must be a non-empty string, got {role!r}")
        out.append(SopStep(sid, " ".join(action.split()), float(limit), role))
    return Sop(kind, " ".join(title.split()), " ".join(reference.split()), tuple(out))


def _check_actor(actor: str) -> str:
    if not isinstance(actor, str) or not ACTOR_PATTERN.match(actor):
        raise IncidentError(f"actor must be 'fusion', 'auto' or 'operator:<name>', got {actor!r}")
    return actor


def _check_t(t: float) -> float:
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise IncidentError(f"t must be a finite number of seconds, got {t!r}")
    return float(t)


class Incident:
    """One incident. Fusion adds alerts and updates the fields; every change goes through a method that
    records it in ``history`` with its time and actor.

    Parameters
    ----------
    id : the incident id, e.g. ``"INC-0001"``.
    kind : one of ``INCIDENT_KINDS``; its SOP is loaded from ``sop_dir`` (default: the package's).
    t : creation time (seconds since the start of the run); the SOP's limits count from it.
    actor : who created it (default ``"fusion"``).
    """

    def __init__(self, id: str, kind: str, t: float, *, actor: str = "fusion",
                 sop_dir: str | Path | None = None) -> None:
        t = _check_t(t)
        self.id = str(id)
        self.kind = kind
        self.priority = default_priority(kind)
        self._priority_by_risk = False
        self.state = "new"
        self.confidence = 0.0
        self.t_created = self.t_first = self.t_last = self.t_updated = t
        self.xy: list[float] | None = None
        self.lonlat: list[float] | None = None
        self.sigma_m = 0.0
        self.zone: str | None = None
        self.hosts: list[str] = []
        self.hybrid = False
        self.hybrid_reason: str | None = None
        self.alerts: list[dict[str, Any]] = []
        self.assets: list[str] = []
        self.cameras: list[str] = []
        self.risk: dict[str, Any] | None = None
        self.actions: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self._sop_dir = sop_dir
        self.sop = self._checklist(kind)
        self._sop_copy: tuple[dict[str, Any], ...] | None = None
        self._log(t, actor, "created", kind=kind, priority=self.priority)

    # -- the record -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The incident dict of the shared contract (plain JSON values). Its lists are new, the entries in
        them (alerts, SOP steps, history) are shared with later dicts: treat them as read-only."""
        return {
            "id": self.id, "kind": self.kind, "state": self.state, "priority": self.priority,
            "confidence": self.confidence, "t_first": self.t_first, "t_last": self.t_last,
            "t_updated": self.t_updated, "xy": None if self.xy is None else list(self.xy),
            "lonlat": None if self.lonlat is None else list(self.lonlat), "sigma_m": self.sigma_m,
            "zone": self.zone, "hosts": list(self.hosts), "hybrid": self.hybrid,
            "hybrid_reason": self.hybrid_reason, "alerts": list(self.alerts), "assets": list(self.assets),
            "cameras": list(self.cameras), "risk": None if self.risk is None else dict(self.risk),
            "actions": list(self.actions), "sop": list(self._sop_view()), "history": list(self.history),
        }

    def _sop_view(self) -> tuple[dict[str, Any], ...]:
        """Copies of the SOP steps, made again only after a step changed."""
        if self._sop_copy is None:
            self._sop_copy = tuple(dict(s) for s in self.sop)
        return self._sop_copy

    def _log(self, t: float, actor: str, event: str, **details: Any) -> None:
        self.history.append({"t": t, "actor": _check_actor(actor), "event": event, **details})
        self.t_updated = max(self.t_updated, t)

    # -- fusion's updates -----------------------------------------------------------------------------

    def add_alert(self, entry: dict[str, Any], *, actor: str = "fusion") -> None:
        """Add one contributing alert ``{id, t, kind, source, conf, reason}``; t_first/t_last follow it."""
        t = _check_t(entry["t"])
        self.alerts.append(entry)
        self.t_first, self.t_last = min(self.t_first, t), max(self.t_last, t)
        self._log(t, actor, "alert_added", alert=entry["id"], alert_kind=entry["kind"],
                  rule=entry["reason"]["rule"])

    def note_evidence(self, t: float, *, source: str, against: bool, conf: float,
                      actor: str = "fusion") -> None:
        """Record evidence that is not an alert (a counter that sees no crowd where video reports one)."""
        self._log(_check_t(t), actor, "evidence_added", source=str(source), against=bool(against),
                  conf=round(float(conf), 3))

    def set_kind(self, kind: str, t: float, *, actor: str = "fusion") -> bool:
        """Change the kind (stronger evidence arrived): the new kind's SOP replaces the checklist, keeping
        what was done or skipped of steps with the same id; a default priority follows the kind."""
        if kind == self.kind:
            return False
        t = _check_t(t)
        default_priority(kind)  # validates the kind
        old, self.kind = self.kind, kind
        kept = {s["id"]: s for s in self.sop if s["status"] != "pending"}
        self.sop = [kept.get(s["id"], s) for s in self._checklist(kind)]
        self._sop_copy = None
        self._log(t, actor, "kind_changed", **{"from": old, "to": kind})
        self._default_priority(t, actor)
        return True

    def set_confidence(self, confidence: float, t: float, *, actor: str = "fusion") -> bool:
        """Set the fused confidence (rounded to 4 decimals); logged when it changes."""
        c = round(min(1.0, max(0.0, float(confidence))), 4)
        if not math.isfinite(c):
            raise IncidentError(f"{self.id}: confidence must be finite, got {confidence!r}")
        if c == self.confidence:
            return False
        old, self.confidence = self.confidence, c
        self._log(_check_t(t), actor, "confidence_changed", **{"from": old, "to": c})
        return True

    def set_location(self, xy: list[float] | None, sigma_m: float, lonlat: list[float] | None, t: float, *,
                     actor: str = "fusion") -> bool:
        """Set the location (metres, rounded to 0.01) with its 1-sigma uncertainty and lon/lat."""
        new_xy = None if xy is None else [round(float(xy[0]), 2), round(float(xy[1]), 2)]
        new_ll = None if lonlat is None else [round(float(lonlat[0]), 7), round(float(lonlat[1]), 7)]
        sigma = round(float(sigma_m), 2)
        if any(not math.isfinite(v) for v in [sigma, *(new_xy or []), *(new_ll or [])]):
            raise IncidentError(f"{self.id}: location must be finite, got xy={xy!r} sigma_m={sigma_m!r}")
        if (new_xy, sigma, new_ll) == (self.xy, self.sigma_m, self.lonlat):
            return False
        self.xy, self.sigma_m, self.lonlat = new_xy, sigma, new_ll
        self._log(_check_t(t), actor, "location_changed", xy=new_xy, sigma_m=sigma)
        return True

    def set_context(self, t: float, *, actor: str = "fusion", **fields: Any) -> bool:
        """Set any of ``zone``, ``hosts``, ``assets``, ``cameras`` (one ``<field>_changed`` event each)."""
        changed = False
        for name in ("zone", "hosts", "assets", "cameras"):
            if name not in fields:
                continue
            value = fields.pop(name)
            value = (None if value is None else str(value)) if name == "zone" else [str(v) for v in value]
            if value != getattr(self, name):
                setattr(self, name, value)
                self._log(_check_t(t), actor, f"{name}_changed", to=value)
                changed = True
        if fields:
            raise IncidentError(f"{self.id}: set_context takes zone, hosts, assets, cameras, "
                                f"got {sorted(fields)}")
        return changed

    def set_hybrid(self, reason: str, t: float, *, actor: str = "fusion") -> bool:
        """Mark the incident hybrid (cyber-physical) with the reason; a new reason is appended to earlier
        ones. A hybrid incident's default priority is one step more urgent."""
        if not isinstance(reason, str) or not reason:
            raise IncidentError(f"{self.id}: hybrid reason must be a non-empty string, got {reason!r}")
        if self.hybrid_reason is not None and reason in self.hybrid_reason.split("; "):
            return False
        self.hybrid = True
        self.hybrid_reason = reason if self.hybrid_reason is None else f"{self.hybrid_reason}; {reason}"
        self._log(_check_t(t), actor, "hybrid_changed", hybrid=True, reason=reason)
        self._default_priority(t, actor)
        return True

    def set_priority(self, priority: int, t: float, *, actor: str = "auto") -> bool:
        """Set the priority (1..4) from a risk assessment or an operator; defaults stop applying."""
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 4:
            raise IncidentError(f"{self.id}: priority must be an int in 1..4, got {priority!r}")
        self._priority_by_risk = True
        return self._set_priority(priority, t, actor)

    def set_risk(self, risk: dict[str, Any] | None, t: float, *, actor: str = "auto") -> bool:
        """Attach the risk assessment dict (see the contract)."""
        if risk == self.risk:
            return False
        self.risk = None if risk is None else dict(risk)
        self._log(_check_t(t), actor, "risk_changed", R=None if risk is None else risk.get("R"))
        return True

    def set_actions(self, actions: list[dict[str, Any]], t: float, *, actor: str = "auto") -> bool:
        """Attach the recommended actions (dicts from the recommendation module)."""
        if list(actions) == self.actions:
            return False
        self.actions = [dict(a) for a in actions]
        self._log(_check_t(t), actor, "actions_changed", n=len(self.actions))
        return True

    def _default_priority(self, t: float, actor: str) -> None:
        if not self._priority_by_risk:
            self._set_priority(default_priority(self.kind, hybrid=self.hybrid), t, actor)

    def _set_priority(self, priority: int, t: float, actor: str) -> bool:
        if priority == self.priority:
            return False
        old, self.priority = self.priority, priority
        self._log(_check_t(t), actor, "priority_changed", **{"from": old, "to": priority})
        return True

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Still being handled: not resolved, dismissed or closed (fusion adds alerts only to these)."""
        return self.state in ("new", "acknowledged", "in_progress")

    def transition(self, state: str, t: float, *, actor: str) -> None:
        """Move to ``state`` (``TRANSITIONS``), recording time and actor."""
        _check_actor(actor)
        if state not in STATES:
            raise IncidentError(f"{self.id}: state must be one of {', '.join(STATES)}, got {state!r}")
        if state not in TRANSITIONS[self.state]:
            allowed = ", ".join(TRANSITIONS[self.state]) or "none"
            raise IncidentError(f"{self.id}: state cannot go from {self.state} to {state} "
                                f"(allowed: {allowed})")
        old, self.state = self.state, state
        self._log(_check_t(t), actor, "state_changed", **{"from": old, "to": state})

    # -- SOP checklist --------------------------------------------------------------------------------

    def _checklist(self, kind: str) -> list[dict[str, Any]]:
        sop = load_sop(kind, directory=self._sop_dir)
        return [{"id": s.id, "action": s.action, "role": s.role, "limit_s": s.limit_s,
                 "due_t": round(self.t_created + s.limit_s, 3), "status": "pending", "t": None,
                 "actor": None, "late": False, "note": None} for s in sop.steps]

    def _step(self, step_id: str) -> dict[str, Any]:
        for s in self.sop:
            if s["id"] == step_id:
                return s
        ids = ", ".join(s["id"] for s in self.sop)
        raise IncidentError(f"{self.id}: no SOP step {step_id!r} for {self.kind} (steps: {ids})")

    def _finish(self, step_id: str, status: str, t: float, actor: str, note: str | None) -> None:
        t, actor = _check_t(t), _check_actor(actor)
        if self.state == "closed":
            raise IncidentError(f"{self.id}: closed, so SOP step {step_id!r} can no longer change")
        s = self._step(step_id)
        if s["status"] != "pending":
            raise IncidentError(f"{self.id}: SOP step {step_id!r} is already {s['status']}")
        late = t > s["due_t"]
        if late and not s["late"]:
            self._log(t, actor, "sop_late", step=step_id, due_t=s["due_t"])
        s.update(status=status, t=t, actor=actor, late=late, note=None if note is None else str(note))
        self._sop_copy = None
        self._log(t, actor, f"sop_{status}", step=step_id, late=late, **({"note": s["note"]} if note else {}))

    def sop_done(self, step_id: str, t: float, *, actor: str, note: str | None = None) -> None:
        """Tick a step done (late if after its limit)."""
        self._finish(step_id, "done", t, actor, note)

    def sop_skip(self, step_id: str, t: float, *, actor: str, note: str | None = None) -> None:
        """Record a step as skipped, with an optional reason."""
        self._finish(step_id, "skipped", t, actor, note)

    def overdue(self, t: float) -> list[str]:
        """Ids of the pending steps whose limit has passed at ``t``, in SOP order."""
        t = _check_t(t)
        return [s["id"] for s in self.sop if s["status"] == "pending" and t > s["due_t"]]

    def note_overdue(self, t: float, *, actor: str = "auto") -> list[str]:
        """Mark newly overdue pending steps late and log each once (``sop_late``); their ids."""
        new = [sid for sid in self.overdue(t) if not self._step(sid)["late"]]
        for sid in new:
            s = self._step(sid)
            s["late"] = True
            self._sop_copy = None
            self._log(t, actor, "sop_late", step=sid, due_t=s["due_t"])
        return new
