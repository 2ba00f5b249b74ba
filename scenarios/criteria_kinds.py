"""The criterion kinds a scenario's ``criteria:`` may use: one declared table, from which the schema is built.

Each criterion is a mapping with exactly one measure key (the rows of ``CRITERIA``), its qualifiers, and
the common keys ``name`` (a label; default derived), ``acceptable`` (the outer edge of a band beyond the
limit where the result is ``acceptable`` rather than ``fail``) and ``known_issue`` (text: a failure is then
reported as a known failure until it passes, when the criterion is flagged for removal). The evaluation of
each kind against a scored run folder lives in ``scenarios.criteria``.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios._fields import Field, Map, Num, Report, Str, join

__all__ = ["CRITERIA", "COMMON", "CriterionKind", "criterion_field"]


@dataclass(frozen=True)
class CriterionKind:
    """One measure: its key, what it bounds (``max``: actual <= limit passes, ``min``: actual >= limit),
    the units of its value, the qualifier keys it takes and a one-line doc."""

    key: str
    bound: str
    units: str
    doc: str
    qualifiers: tuple[str, ...] = ()


#: Every criterion kind, by its measure key.
CRITERIA: dict[str, CriterionKind] = {c.key: c for c in (
    CriterionKind("detect", "max", "s", "an attack of this kind raises an alert (within_s of its first "
                  "observable act, when given)", ("within_s",)),
    CriterionKind("false_alarms_per_hour_max", "max", "alerts/h", "false alarms per hour over the run "
                  "(of one alert_kind, when given)", ("alert_kind",)),
    CriterionKind("exposed_max", "max", "people", "most people exposed to any attack (in its hazard zone "
                  "at the act)", ("attack",)),
    CriterionKind("injured_max", "max", "people", "people injured by all attacks (or one attack)",
                  ("attack",)),
    CriterionKind("evacuation_s_max", "max", "s", "time to clear the hazard zone after the act (worst "
                  "attack, or one attack)", ("attack",)),
    CriterionKind("on_scene_s_max", "max", "s", "time for the first responder to reach the scene after the "
                  "act (worst attack, or one attack)", ("attack",)),
    CriterionKind("mota_min", "min", "ratio", "tracking MOTA (the camera's, or the worst camera that saw at "
                  "least 100 ground-truth boxes)", ("camera",)),
    CriterionKind("idf1_min", "min", "ratio", "tracking IDF1 (the camera's, or the worst camera that saw at "
                  "least 100 ground-truth boxes)", ("camera",)),
    CriterionKind("density_mae_max", "max", "people", "mean absolute error of the sensed people per zone"),
    CriterionKind("incident", "max", "s", "an incident of this kind (or `hybrid`: a hybrid-flagged incident) "
                  "is opened (within_s of the first attack's first act, else of the run's start)",
                  ("within_s",)),
    CriterionKind("cap_within_s", "max", "s", "every attack (or one attack) gets a CAP alert within this "
                  "many seconds of its first sensor evidence", ("attack",)),
    CriterionKind("resilience_loss_h_max", "max", "h", "resilience loss as equivalent outage hours (worst "
                  "asset, or one asset)", ("asset",)),
)}

#: Keys every criterion may carry.
COMMON: dict[str, Field] = {
    "name": Str(optional=True, doc="a label for tables and JUnit (default derived from the measure)"),
    "acceptable": Num(optional=True, doc="outer edge of the acceptable band beyond the limit"),
    "known_issue": Str(optional=True, doc="a known failure: reported as such until it passes"),
}

_QUALIFIERS: dict[str, Field] = {
    "within_s": Num(optional=True, gt=0, doc="... within this many seconds"),
    "alert_kind": Str(optional=True, doc="only this alert kind"),
    "attack": Str(optional=True, doc="only this attack (its id)"),
    "camera": Str(optional=True, doc="only this camera (its id)"),
    "asset": Str(optional=True, doc="only this asset (its id)"),
}


def _check_shape(d: dict, path: str, rep: Report) -> None:
    """Exactly one measure key; qualifiers only with the measures that take them; band on the right side."""
    measures = [k for k in CRITERIA if k in d]
    if len(measures) != 1:
        rep.error(path, "needs exactly one of " + ", ".join(CRITERIA))
        return
    kind = CRITERIA[measures[0]]
    for q in _QUALIFIERS:
        if q in d and q not in kind.qualifiers:
            rep.error(join(path, q), f"does not go with {kind.key}")
    limit = d.get("within_s") if kind.key in ("detect", "incident") else d.get(kind.key)
    band = d.get("acceptable")
    if isinstance(band, int | float) and isinstance(limit, int | float) and not isinstance(limit, bool):
        wrong = band < limit if kind.bound == "max" else band > limit
        if wrong:
            side = "at least" if kind.bound == "max" else "at most"
            rep.error(join(path, "acceptable"), f"must be {side} the limit {limit:g} ({kind.key} is a "
                                                f"{kind.bound}imum)")


def criterion_field(*, attack_kinds: tuple[str, ...] | None = None,
                    incident_kinds: tuple[str, ...] | None = None) -> Map:
    """The schema of one criterion (``detect`` limited to ``attack_kinds``, ``incident`` to
    ``incident_kinds`` plus ``hybrid`` when given)."""
    keys: dict[str, Field] = {
        "detect": Str(optional=True, choices=attack_kinds, doc=CRITERIA["detect"].doc),
        "incident": Str(optional=True, doc=CRITERIA["incident"].doc,
                        choices=None if incident_kinds is None else (*incident_kinds, "hybrid")),
    }
    for key, kind in CRITERIA.items():
        if key not in keys:
            keys[key] = Num(optional=True, ge=0, doc=f"{kind.doc} ({kind.units})")
    keys.update(_QUALIFIERS)
    keys.update(COMMON)
    return Map(keys=keys, rules=(_check_shape,))
