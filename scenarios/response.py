"""``response.policy: auto``: alerts on the bus send responders, by a fixed, documented table.

Under ``advise`` (the default) alerts only advise and nothing moves. Under ``auto`` every analytics alert
whose kind is in ``AUTO_DISPATCH`` and that has a position sends the listed unit kinds to it, through
``CityModel.dispatch`` (the idle unit of that kind with the least drive time). A unit kind is not sent again
to within ``SAME_SCENE_M`` of a place where a unit of that kind is already en route or on scene. This stands
in for the recommendation module's dispatch advice until that module exists; it never reads ground truth.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AUTO_DISPATCH", "SAME_SCENE_M", "AutoResponse"]

#: Alert kind -> unit kinds sent under ``policy: auto``.
AUTO_DISPATCH = {
    "gunshot": ("police", "ambulance"),
    "explosion": ("police", "fire", "ambulance"),
    "vehicle_intrusion": ("police", "ambulance"),
    "abandoned_object": ("police",),
    "zone_intrusion": ("police",),
}
#: Metres within which a unit kind already sent counts as covering a new alert.
SAME_SCENE_M = 150.0


class AutoResponse:
    """Turns alerts into dispatches on ``model`` (an ``agents.model.CityModel``)."""

    def __init__(self, model) -> None:
        self.model = model
        self.sent: list[tuple[str, np.ndarray, int]] = []   # (unit kind, scene xy, responder target id)

    def _covered(self, kind: str, xy: np.ndarray) -> bool:
        busy = {r.tid for r in self.model.responders if r.status != "idle"}
        return any(k == kind and tid in busy and np.hypot(*(p - xy)) <= SAME_SCENE_M
                   for k, p, tid in self.sent)

    def on_alert(self, t: float, alert: dict) -> list:
        """Dispatch for one alert; returns the responders sent."""
        kinds = AUTO_DISPATCH.get(str(alert.get("kind")), ())
        if not kinds or alert.get("xy") is None:
            return []
        xy = np.asarray(alert["xy"], float)
        out = []
        for kind in kinds:
            if self._covered(kind, xy):
                continue
            unit = self.model.dispatch(kind, xy, t, reason=f"auto: {alert['kind']} alert")
            if unit is not None:
                self.sent.append((kind, xy, unit.tid))
                out.append(unit)
        return out
