"""Loitering measured on the cross-camera ground tracks (``track/ground``): one person's dwell followed from
camera to camera, where each camera alone sees only part of it.

A scout who circles a square through the views of three cameras stays in each view for less than the dwell
time, and ``analytics.loitering`` (per camera) never alerts; the fused ground track
(``analytics.ground_tracks``) keeps one id through the handovers, so the same dwell rule measured on it
does. The rule and its parameters are ``LoiteringParams``'; the global ids are put under one ``ground:``
prefix, so the tracklet stitching of the per-camera detector also bridges a global id that the fusion
renumbered. An alert's ``source`` lists every camera that saw the track at that instant. The detector only
receives messages when the pipeline's ground-track stage is on (``analytics.ground_tracks`` of a scenario).
"""

from __future__ import annotations

from typing import Any

from analytics.loitering import LoiteringDetector, LoiteringParams

__all__ = ["GroundLoiteringDetector", "PREFIX"]

#: The prefix the global track ids get in this detector's bookkeeping (and in its alerts' evidence).
PREFIX = "ground:"


class GroundLoiteringDetector(LoiteringDetector):
    """Dwell time per fused ground track in the area of its recent positions; one alert per episode."""

    name = "ground_loitering"
    alert_kinds = ("loitering",)
    Params = LoiteringParams
    topics = ("track/ground",)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        ids = msg.get("ids")
        if not ids:
            return []
        named = {**msg, "ids": [PREFIX + str(g) for g in ids]}
        alerts = super().update(named)
        for a in alerts:
            a["evidence"]["cameras_seen"] = len(a["source"])
        return alerts

    def _source(self, msg: dict[str, Any], i: int) -> list[str]:
        """Every camera whose track is a member of ground track ``i`` now."""
        cams = msg.get("cameras") or []
        return [str(c) for c in cams[i]] if i < len(cams) and cams[i] else ["ground"]
