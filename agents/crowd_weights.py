"""The crowd's routing weights: street length times congestion, times a penalty inside hazards, inf if closed.

Every change sets the router's weights, which makes each of its cached trees stale, so changes are kept rare:
hazards reach routing at most every ``hazard_reweight_s`` (a moving hazard is re-reported every step), and
congestion is checked every ``reroute_period_s`` and applied only when it differs by more than 25 %.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from agents.crowd_params import CrowdParams
from agents.crowd_streets import Streets
from agents.fundamental import speed_factor
from agents.routing import Router, WalkNetwork

__all__ = ["RouteWeights"]


class RouteWeights:
    """Closures, hazards and congestion of one crowd, and the router weights they make.

    Parameters
    ----------
    net : WalkNetwork
    router : Router
        Receives the weights.
    streets : Streets
        Edge midpoints (inside a hazard or not) and density cells (congestion).
    params : CrowdParams
    """

    def __init__(self, net: WalkNetwork, router: Router, streets: Streets, params: CrowdParams):
        self.net = net
        self.router = router
        self.streets = streets
        self.p = params
        E = net.n_edges
        self._closed = np.zeros(E, bool)
        self._congestion = np.ones(E)
        self._hazards: list[tuple[float, float, float, float]] = []  # (x, y, r, t_end)
        self._last_hazard_reweight = -np.inf
        self._reweight_due = np.inf   # a hazard change waiting for hazard_reweight_s to pass
        self._next_reroute = params.reroute_period_s if params.reroute_period_s > 0 else np.inf

    def _reweight(self) -> None:
        w = self.net.length * self._congestion
        mid = self.streets.midpoint
        for hx, hy, hr, _ in self._hazards:
            inside = np.hypot(mid[:, 0] - hx, mid[:, 1] - hy) <= hr
            w = np.where(inside, w * self.p.hazard_penalty, w)
        w = np.where(self._closed, np.inf, w)
        self.router.set_weights(w)

    def _hazard_reweight(self, t: float) -> None:
        """Apply hazard changes to routing now, or once ``hazard_reweight_s`` after the last time (a moving
        hazard, called every step, would otherwise rebuild every tree every step)."""
        if t - self._last_hazard_reweight >= self.p.hazard_reweight_s:
            self._last_hazard_reweight = t
            self._reweight_due = np.inf
            self._reweight()
        else:
            due = self._last_hazard_reweight + self.p.hazard_reweight_s
            self._reweight_due = min(self._reweight_due, due)

    def add_hazard(self, xy: tuple[float, float], radius_m: float, *, t: float, t_end: float) -> None:
        """Penalise the streets within ``radius_m`` of ``xy`` from ``t`` until ``t_end``."""
        self._hazards.append((xy[0], xy[1], float(radius_m), t_end))
        self._hazard_reweight(t)

    def update(self, t: float) -> None:
        """At the start of a step ending at ``t``: drop ended hazards, apply a hazard change now due."""
        if self._hazards and any(h[3] <= t for h in self._hazards):
            self._hazards = [h for h in self._hazards if h[3] > t]
            self._hazard_reweight(t)
        elif self._reweight_due <= t:
            self._hazard_reweight(t)

    def check_congestion(self, t: float, counts: np.ndarray) -> None:
        """Every ``reroute_period_s``: weight crowded streets by 1/v(rho), but only when that changes routing.

        ``counts`` are the people per density cell. Street density is the people on a whole street (both
        directions) over its area, counted only on streets with at least ``reroute_min_people``: two friends
        on a 2 m edge do not recompute every tree.
        """
        if t < self._next_reroute:
            return
        p, streets = self.p, self.streets
        self._next_reroute = t + p.reroute_period_s
        people = np.bincount(streets.cell_street, weights=counts[: streets.n_cells],
                             minlength=streets.n_edges)
        area = self.net.length * self.net.width
        rev = np.where(self.net.rev >= 0, self.net.rev, np.arange(streets.n_edges))
        people = np.maximum(people, people[rev])
        rho = people / area
        dense = (rho >= p.reroute_min_density) & (people >= p.reroute_min_people)
        new = np.ones(streets.n_edges)
        if dense.any():
            f = speed_factor(rho[dense], gamma=p.gamma, rho_max=p.rho_max, floor=p.min_speed_factor)
            new[dense] = 1.0 / f
        if np.allclose(new, self._congestion, rtol=0.25):
            return
        self._congestion = new
        self._reweight()

    def close(self, edges: Iterable) -> None:
        """Close streets (``(u, v)`` or ``(u, v, key)``, both ways) to routing."""
        self._closed[self.net.edges_between(edges)] = True
        self._reweight()

    def reopen(self, edges: Iterable) -> None:
        """Undo ``close`` for these streets."""
        self._closed[self.net.edges_between(edges)] = False
        self._reweight()
