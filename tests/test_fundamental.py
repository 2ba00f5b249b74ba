"""Weidmann's fundamental diagram and individual free speeds."""

import numpy as np
import pytest

from agents.fundamental import GAMMA, RHO_MAX, free_speeds, speed_factor, weidmann_speed


def test_weidmann_reference_values():
    """Free flow at low density, ~1.06 m/s at 1 P/m^2, ~0.16 m/s at 4 P/m^2, stopped at jam density."""
    v = weidmann_speed(np.array([0.0, 0.5, 1.0, 2.0, 4.0, RHO_MAX, 7.0]))
    assert v[0] == pytest.approx(1.34)
    assert v[1] == pytest.approx(1.34 * (1 - np.exp(-GAMMA * (2 - 1 / RHO_MAX))))
    assert v[2] == pytest.approx(1.058, abs=1e-3)
    assert v[4] == pytest.approx(0.156, abs=1e-3)
    assert v[5] == 0.0 and v[6] == 0.0
    assert np.all(np.diff(v) <= 0)


def test_speed_factor_floor_and_peak_flow():
    """The floor keeps a jam creeping; the flow rho*v(rho) peaks near 1.2 P/(m s) around 1.7-1.9 P/m^2."""
    assert speed_factor(6.0, floor=0.03) == pytest.approx(0.03)
    rho = np.linspace(0.05, RHO_MAX, 1000)
    q = rho * weidmann_speed(rho)
    assert 1.15 < q.max() < 1.3
    assert 1.6 < rho[q.argmax()] < 2.0


def test_free_speeds_distribution_and_clip():
    rng = np.random.default_rng(3)
    v = free_speeds(rng, 20000)
    assert v.mean() == pytest.approx(1.34, abs=0.01)
    assert v.std() == pytest.approx(0.26, abs=0.01)
    assert v.min() >= 0.5 and v.max() <= 2.2
    assert np.all(free_speeds(rng, 5, mean=1.33, sd=0.0) == 1.33)
