"""The crowd's parameters (every constant with its default) and its error class."""

from __future__ import annotations

from dataclasses import dataclass

from agents.fundamental import GAMMA, RHO_MAX, SPECIFIC_FLOW, V0_MEAN, V0_SD

__all__ = ["CrowdError", "CrowdParams"]


class CrowdError(ValueError):
    """Bad crowd input (unknown place, impossible window, unreachable goal); one line naming it."""

    exit_code = 2


@dataclass(frozen=True)
class CrowdParams:
    """Every crowd constant with its default (frozen: pass a new one to change any)."""

    v0_mean: float = V0_MEAN          # m/s, mean free walking speed
    v0_sd: float = V0_SD              # m/s (0 => everybody walks at v0_mean)
    v0_min: float = 0.5               # m/s, clip of individual free speeds
    v0_max: float = 2.2
    gamma: float = GAMMA              # Weidmann
    rho_max: float = RHO_MAX          # P/m^2
    min_speed_factor: float = 0.03    # jammed cells still creep (no dead lock at rho >= rho_max)
    specific_flow: float = SPECIFIC_FLOW  # P/(m s) into an edge, times its width
    cell_m: float = 10.0              # density cell length along a street
    person_height_m: float = 1.7
    person_height_sd: float = 0.07
    person_width_m: float = 0.5
    lane_blend_m: float = 10.0        # m, a lane change at a node (offset, new direction) eases in over this
    walking_share: float = 0.5        # share of add_population() already out walking at t0
    max_pois: int = 256               # destinations of background trips (assets, buildings, random nodes)
    random_pois: int = 48
    trip_scale_m: float = 800.0       # gravity model: P(POI) ~ exp(-distance / trip_scale_m)
    dwell_indoor_s: tuple[float, float] = (300.0, 2400.0)
    dwell_outdoor_s: tuple[float, float] = (20.0, 180.0)
    gathering_density: float = 2.0    # P/m^2 when a gathering point has no polygon
    gathering_origin_m: tuple[float, float] = (150.0, 1500.0)  # graph distance of gatherers' homes
    flee_margin_m: float = 150.0      # flee to nodes this far beyond a hazard's radius
    flee_boost: float = 1.5           # speed multiplier while fleeing
    panic_boost: float = 1.8          # speed multiplier in a surge
    after_flee_dwell_s: float = 120.0
    # evacuees assemble around the safe node they reach, filling a disc at this density (people/m^2; a
    # calm assembly area, well under the 4-5 /m^2 of a dense crowd) instead of all standing on one point
    assembly_density: float = 2.0
    hazard_penalty: float = 25.0      # routing weight multiplier of edges inside an active hazard
    hazard_reweight_s: float = 5.0    # hazard changes reach routing at most this often
    reroute_period_s: float = 120.0   # congestion check period (0 = never reweight for congestion)
    reroute_min_density: float = 1.0  # P/m^2 on some street before congestion changes routing
    reroute_min_people: int = 10

