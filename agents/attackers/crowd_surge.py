"""``crowd_surge``: a panic trigger at ``at`` (``crowd.surge`` at ``start_s``); not a visible target itself.

Phase: trigger.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.attackers.base import Attacker, AttackParams, Leg

__all__ = ["CrowdSurge"]


class CrowdSurge(Attacker):
    """Everybody within ``radius_m`` of ``at`` panics and runs at ``start_s``."""

    kind = "crowd_surge"
    detected_by = frozenset({"running", "crowd_anomaly", "crowd_density"})
    observable_from = "trigger"
    observable_until = "trigger"
    grace_s = 60.0
    act_records = ()

    @dataclass(frozen=True)
    class Params(AttackParams):
        radius_m: float = field(default=30.0, metadata={"gt": 0, "doc": "radius of the panic trigger"})

    def plan(self, t0):
        def trigger(t: float) -> None:
            if self.model.crowd is not None:
                self.model.crowd.surge(self.at_xy, self.params.radius_m, t=t)

        return [Leg("trigger", None, on_enter=trigger, _t0=t0)]

    def target_row(self):
        return None
