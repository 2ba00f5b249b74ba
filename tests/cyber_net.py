"""Helpers for the cyber tests: a small camera network built with the twin's own rules, and a run wrapper."""

from __future__ import annotations

import numpy as np

from scenarios.schema import attack_specs
from sensors.cyber import build_cyber
from twin.network import attach_cameras, core_network

EPOCH0 = 1780315200.0  # 2026-06-01T12:00:00Z


def small_network(n_cameras: int = 30, *, seed: int = 0):
    """Core + servers and ``n_cameras`` cameras spread over 2 km (several access switches)."""
    g = core_network()
    rng = np.random.default_rng(seed)
    attach_cameras(g, {f"cam-{i:03d}": tuple(rng.uniform(0.0, 2000.0, 2)) for i in range(n_cameras)})
    return g


def campaigns(attacks: list[dict]) -> list:
    """Scenario attack entries, checked and typed as the engine hands them to ``build_cyber``."""
    return attack_specs(attacks)


def run(network, attacks, *, seed: int = 7, duration_s: float = 900.0):
    """Build a cyber range with a fresh Generator (``attacks``: scenario attack entries)."""
    rng = np.random.default_rng(seed)
    return build_cyber(network, campaigns(attacks), rng=rng, epoch0=EPOCH0, duration_s=duration_s)
