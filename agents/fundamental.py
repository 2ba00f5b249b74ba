"""Weidmann (1993) fundamental diagram for pedestrians: walking speed as a function of local density.

v(rho) = v0 * (1 - exp(-gamma * (1/rho - 1/rho_max))), gamma = 1.913 P/m^2, rho_max = 5.4 P/m^2; the crowd
uses the dimensionless factor v(rho)/v0 per density cell, and individual free speeds v0 ~ N(1.34, 0.26).
Specific flow capacity of a door or street ~ 1.3 P/(m s) (the plateau of rho * v(rho)).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GAMMA", "RHO_MAX", "SPECIFIC_FLOW", "V0_MEAN", "V0_SD", "free_speeds", "speed_factor",
           "weidmann_speed"]

V0_MEAN = 1.34       # m/s, Weidmann's mean free walking speed
V0_SD = 0.26         # m/s
GAMMA = 1.913        # P/m^2
RHO_MAX = 5.4        # P/m^2, jam density
SPECIFIC_FLOW = 1.3  # P/(m s), capacity per metre of width


def speed_factor(rho: np.ndarray | float, *, gamma: float = GAMMA, rho_max: float = RHO_MAX,
                 floor: float = 0.0) -> np.ndarray:
    """v(rho)/v0 in [floor, 1]: 1 on an empty street, 0 at ``rho_max`` (``floor`` keeps jams creeping)."""
    rho = np.asarray(rho, dtype=float)
    with np.errstate(divide="ignore"):
        inv = np.where(rho > 0, 1.0 / np.maximum(rho, 1e-12), np.inf)
    f = -np.expm1(-gamma * (inv - 1.0 / rho_max))
    return np.clip(f, floor, 1.0)


def weidmann_speed(rho: np.ndarray | float, v0: np.ndarray | float = V0_MEAN, *, gamma: float = GAMMA,
                   rho_max: float = RHO_MAX) -> np.ndarray:
    """Walking speed (m/s) at density ``rho`` (P/m^2) for free speed ``v0``.

    >>> round(float(weidmann_speed(1.0)), 3)
    1.058
    """
    return np.asarray(v0, dtype=float) * speed_factor(rho, gamma=gamma, rho_max=rho_max)


def free_speeds(rng: np.random.Generator, n: int, *, mean: float = V0_MEAN, sd: float = V0_SD,
                lo: float = 0.5, hi: float = 2.2) -> np.ndarray:
    """Individual free walking speeds ~ N(mean, sd) clipped to [lo, hi] m/s."""
    if sd <= 0:
        return np.full(n, float(mean))
    return np.clip(rng.normal(mean, sd, n), lo, hi)
