"""Vehicle detector on ground tracks (``track/frame`` messages): a vehicle off the streets in a pedestrian
area, or at ramming speed near people there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.base import Detector, DetectorContext, EpisodeFilter, make_alert
from analytics.geometry import Carriageways, Zones
from analytics.tracks import Persistence, TrackHistory, track_frame

__all__ = ["VehicleIntrusionDetector", "VehicleParams"]


@dataclass(frozen=True, slots=True)
class VehicleParams:
    """Vehicle in a pedestrian area, or at ramming speed near people.

    Parameters
    ----------
    min_speed_mps : a vehicle moving faster than this inside a pedestrian zone, off every street, alerts
        (default 4 m/s, about 15 km/h: a delivery van may drive into a pedestrian street at walking pace,
        as the Finnish Road Traffic Act asks, and stand there; a vehicle well above walking pace may not).
    road_margin_m : a vehicle is off the streets when its ground point lies farther than this, plus
        ``noise_k`` times its ground uncertainty, from every carriageway (default 1.5 m: a car's box foot is
        its near side, up to about a car's half width from its centre, and cars park at the kerb). With
        no carriageways given, every point of a zone is pedestrian area.
    ramming_speed_mps : inside a pedestrian zone, faster than this with a person within ``near_person_m``
        is ramming (default 8 m/s, about 30 km/h; the higher confidence). Outside the pedestrian zones a
        car at street speed beside people on the pavement is ordinary traffic: no alert.
    min_duration_s : the vehicle must be moving in the area this long (default 1 s), seen again within
        ``max_gap_s`` each time (default 0.6 s, above a 2-fps camera's frame interval): a car's track that
        jumps off the street for a frame or two when the tracker loses it or switches it onto another car
        is not driving on the square.
    near_person_m : distance to the nearest person for the ramming test (default 10 m).
    max_speed_mps : faster is a tracking error (default 40 m/s).
    window_s : speed is the displacement over this window (default 1 s).
    noise_k : the speed must exceed the threshold by this many standard deviations of the speed noise that
        the track's ground uncertainty (``xy_sigma``) gives over the window (default 2, as for running): a
        box jittering about a parked car, or a false "car" on a poster, is no moving vehicle.
    hold_s, radius_m : alerts within this time and distance are one episode (default 60 s, 50 m).
    conf, ramming_conf : confidence for the pedestrian-area / ramming alert.
    """

    min_speed_mps: float = 4.0
    road_margin_m: float = 1.5
    min_duration_s: float = 1.0
    max_gap_s: float = 0.6
    ramming_speed_mps: float = 8.0
    near_person_m: float = 10.0
    max_speed_mps: float = 40.0
    window_s: float = 1.0
    noise_k: float = 2.0
    hold_s: float = 60.0
    radius_m: float = 50.0
    conf: float = 0.7
    ramming_conf: float = 0.9


class VehicleIntrusionDetector(Detector):
    """Vehicle tracks moving inside pedestrian ``zones`` or at ramming speed near persons."""

    name = "vehicle"
    alert_kinds = ("vehicle_intrusion",)
    Params = VehicleParams
    topics = ("track/frame",)

    @classmethod
    def from_context(cls, ctx: DetectorContext, params: VehicleParams) -> VehicleIntrusionDetector:
        """The pipeline's zones, off its carriageways, are the pedestrian areas."""
        return cls(ctx.zones, params, roads=ctx.roads)

    def __init__(
        self,
        pedestrian_zones: dict[str, Sequence[Sequence[float]]] | None,
        params: VehicleParams = VehicleParams(),
        *,
        roads: Sequence[Sequence[Sequence[float]]] | None = None,
    ) -> None:
        self.p = params
        self.zones = Zones(pedestrian_zones)
        self.roads = Carriageways(roads)
        self._hist = TrackHistory(window_s=params.window_s)
        self._held = Persistence(params.max_gap_s)  # how long each vehicle has been moving in the area
        # a vehicle seen in the area, then ramming people, is two alerts; ramming, then in the area, is one
        self._episodes = {r: EpisodeFilter(params.hold_s, params.radius_m)
                          for r in ("pedestrian_area", "ramming_speed")}

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        fr = track_frame(msg)
        if fr is None:
            return []
        t, ids, cls, xy = fr
        cls_a = np.asarray(cls)
        veh = np.flatnonzero(cls_a == "vehicle")
        if not len(veh):
            return []
        speed = np.hypot(*self._hist.update(t, [ids[i] for i in veh], xy[veh]).T)
        sigma = msg.get("xy_sigma")
        sig = np.zeros(len(veh)) if sigma is None else np.asarray(sigma, float)[veh]
        # what jitter alone would read as speed is not counted as motion
        speed = speed - self.p.noise_k * np.sqrt(2) * sig / self.p.window_s
        persons = xy[(cls_a == "person") & np.isfinite(xy).all(axis=1)]
        inside = self.zones.contains(xy[veh]).any(axis=0) if len(self.zones) else np.zeros(len(veh), bool)
        if len(self.roads) and inside.any():  # on a street that crosses the zone: traffic
            inside &= self.roads.distance(xy[veh]) > self.p.road_margin_m + self.p.noise_k * sig
        ok = (speed == speed) & (speed <= self.p.max_speed_mps) & inside & (speed >= self.p.min_speed_mps)
        held = self._held.update(t, [ids[i] for i in veh], ok) >= self.p.min_duration_s - 1e-9
        out = []
        for k in np.flatnonzero(held):
            i, v = veh[k], speed[k]
            near = float(np.hypot(*(persons - xy[i]).T).min()) if len(persons) else np.inf
            ramming = v >= self.p.ramming_speed_mps and near <= self.p.near_person_m
            # the area episode is refreshed either way; ramming opens an episode of its own (an escalation)
            new = self._episodes["pedestrian_area"].admit(t, ids[i], xy[i])
            if ramming:
                new = self._episodes["ramming_speed"].admit(t, ids[i], xy[i])
            if new:
                out.append(
                    make_alert(
                        t,
                        "vehicle_intrusion",
                        self.p.ramming_conf if ramming else self.p.conf,
                        xy=xy[i],
                        source=[msg["camera_id"]],
                        evidence={
                            "track": ids[i],
                            "speed_mps": round(float(v), 2),
                            "reason": "ramming_speed" if ramming else "pedestrian_area",
                            "nearest_person_m": None if near == np.inf else round(near, 1),
                        },
                    )
                )
        return out
