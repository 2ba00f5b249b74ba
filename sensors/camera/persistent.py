"""Persistent false detections: clutter that a detector keeps reporting at one place (a poster or a
mannequin taken for a person, a bin bag, a car reflected in a shop window).

Each camera gets its sources when it is built, from its own Generator (``FalseSources.draw``):

* *static* sources, Poisson(``persistent_fp_static``) per camera, present the whole run;
* *transient* sources appearing as a Poisson process of ``persistent_fp_per_hour`` per camera, each staying
  2 s plus an exponential time of mean ``persistent_fp_life_s`` (capped at one hour).

A source stands at a random ground point of the camera's installed view (2-D uniform over the view wedge
between ``max(min_range_m, 3)`` and ``min(max_range_m, 60)`` m) and is a person-sized box (60 %), a bag
(30 %) or a car (10 %). While it exists it is detected in a share ``persistent_fp_detect`` of frames, with a
confidence from the detector's FP distribution at a quantile level fixed per source plus N(0, 0.05) per
frame, and box noise as a true detection's. These rates and shares are assumptions, not measurements: the
MOT15 TUD sequences behind ``sensors.camera.detector`` last 3-7 s, too short to measure how long real false
detections persist (their false detections repeat for at most 7 frames, 0.28 s at 25 fps).

Transient sources are drawn lazily per hour of simulated time, each hour from its own stream keyed by a seed
the camera draws at build, so a run of any length is reproducible and costs only the hours it reaches.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["FALSE_CLASS_P", "FALSE_SIZE", "ActiveSources", "FalseSources"]

#: Classes of a persistent source (person, vehicle, object codes of ``agents.world``) and their shares.
FALSE_CLASS_P = ((0, 0.6), (2, 0.3), (1, 0.1))
#: Height and width (m) of a false box by class code person, vehicle, object.
FALSE_SIZE = {0: (1.7, 0.5), 1: (1.5, 1.8), 2: (0.5, 0.4)}
_BLOCK_S = 3600.0
_MIN_LIFE_S = 2.0


class ActiveSources(NamedTuple):
    """Sources present at one instant: ground point (n, 2), box height and width (m), class code and the
    fixed quantile level of each source's confidence."""

    xy: np.ndarray
    height_m: np.ndarray
    width_m: np.ndarray
    cls: np.ndarray
    level: np.ndarray


class _Block(NamedTuple):
    """Sources with their start and end times (s; static ones -inf to inf)."""

    t0: np.ndarray
    t1: np.ndarray
    src: ActiveSources


class FalseSources:
    """One camera's persistent false-detection sources (rules in the module docstring)."""

    def __init__(self, xy: tuple[float, float], yaw_deg: float, half_fov_deg: float, r_min: float,
                 r_max: float, *, per_hour: float, life_s: float, seed: int, n_static: int) -> None:
        self.view = (float(xy[0]), float(xy[1]), float(yaw_deg), float(half_fov_deg), float(r_min),
                     float(r_max))
        self.per_hour, self.life_s, self.seed = float(per_hour), float(life_s), int(seed)
        self.static = self._sources(np.random.default_rng([self.seed, 0]), n_static)
        self._blocks: dict[int, _Block] = {}
        self._window: tuple[int, _Block] | None = None

    @classmethod
    def draw(cls, rng: np.random.Generator, xy: tuple[float, float], yaw_deg: float, half_fov_deg: float,
             r_min: float, r_max: float, *, static: float, per_hour: float, life_s: float) -> FalseSources:
        """A camera's sources: the number of static ones and the seed of everything else from ``rng``."""
        n_static = int(rng.poisson(static))
        seed = int(rng.integers(0, 2**62))
        return cls(xy, yaw_deg, half_fov_deg, r_min, r_max, per_hour=per_hour, life_s=life_s, seed=seed,
                   n_static=n_static)

    def _sources(self, rng: np.random.Generator, n: int) -> ActiveSources:
        x0, y0, yaw, half, r0, r1 = self.view
        r = np.sqrt(rng.uniform(r0 * r0, r1 * r1, n))
        b = np.radians(yaw + rng.uniform(-half, half, n))
        codes = np.array([c for c, _ in FALSE_CLASS_P])
        cls = codes[rng.choice(len(codes), size=n, p=[p for _, p in FALSE_CLASS_P])]
        hw = np.array([FALSE_SIZE[int(c)] for c in cls]).reshape(n, 2)
        size = rng.uniform(0.85, 1.15, n)
        return ActiveSources(np.column_stack([x0 + r * np.sin(b), y0 + r * np.cos(b)]), hw[:, 0] * size,
                             hw[:, 1] * size, cls.astype(np.int64), rng.random(n))

    def _block(self, k: int) -> _Block:
        blk = self._blocks.get(k)
        if blk is None:
            rng = np.random.default_rng([self.seed, 1, k])
            n = int(rng.poisson(self.per_hour * _BLOCK_S / 3600.0))
            t0 = k * _BLOCK_S + np.sort(rng.uniform(0.0, _BLOCK_S, n))
            life = np.minimum(_MIN_LIFE_S + rng.exponential(max(self.life_s, 1e-9), n), _BLOCK_S)
            blk = self._blocks[k] = _Block(t0, t0 + life, self._sources(rng, n))
        return blk

    def window(self, t: float) -> _Block:
        """Every source that may exist at ``t``: the static ones and the transient ones of its hour and the
        hour before, with their start and end times (cached per hour)."""
        k = int(math.floor(t / _BLOCK_S)) if self.per_hour > 0 and t >= 0 else -1
        if self._window is None or self._window[0] != k:
            n = len(self.static.cls)
            parts = [_Block(np.full(n, -np.inf), np.full(n, np.inf), self.static)]
            parts += [self._block(j) for j in (k - 1, k) if j >= 0]
            src = ActiveSources(*(np.concatenate(a) for a in zip(*(b.src for b in parts), strict=True)))
            self._window = (k, _Block(np.concatenate([b.t0 for b in parts]),
                                      np.concatenate([b.t1 for b in parts]), src))
        return self._window[1]

    def active(self, t: float) -> ActiveSources:
        """The sources present at time ``t`` (s): the static ones and the transient ones alive then."""
        w = self.window(t)
        on = (w.t0 <= t) & (t < w.t1)
        return ActiveSources(*(a[on] for a in w.src))
