"""A gunshot/explosion microphone: impulses arrive at distance / 343 m/s plus jitter and are classified.

Propagation: an impulse of source level ``L1`` (dB SPL at 1 m, ``Impulse.level_db``) is heard at
distance ``d`` at ``L(d) = L1 - 20 log10(d / 1 m) - alpha d`` (spherical spreading plus air absorption,
``alpha`` = 0.005 dB/m, ISO 9613-1 near 1 kHz at 20 C / 70 % RH) plus N(0, 2 dB) level noise.
Buildings are not modelled for sound.
It is detected when ``L(d) >= threshold_db`` (default 85 dB SPL, well above a 65-70 dB urban background).
Arrival time is ``t + d / 343 + N(0, jitter_s)`` with ``jitter_s`` = 1 ms (documented sigma).

Classification (confusion, rows = truth): the classifier reports::

    truth      -> gunshot  explosion  fireworks
    gunshot       0.93     0.02       0.05
    explosion     0.05     0.93       0.02
    fireworks     0.30     0.02       0.68

and ``conf = base x (1 - exp(-margin / 6 dB))`` where ``margin`` is the level above threshold and ``base`` is
0.95 for a correct label and 0.6 for a confused one (fireworks called gunshot come with lower conf).

Timing rule: a message may only be published at or after its arrival. ``measure`` at time ``t`` returns the
detections whose arrival is <= ``t`` (normally in ``(t - period, t]``) and keeps later ones pending. Payload
``acoustic/detection``: ``{sensor_id, t_arrival, cls, conf, level_db, xy}`` (xy = the microphone).

In a scenario, ``sensors.acoustic: N`` puts microphones ``mic-01``... at the N assets of largest capacity
(ties by id; more than there are assets go on 150 m rings around them), or a list of
``{id, at | lonlat, threshold_db}`` puts them where it says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from agents.world import WorldView
from sensors.base import Sensor, SensorError
from sensors.kinds import PlacementContext, Planned, SensorKind, one_of_at_lonlat

__all__ = ["ACOUSTIC_CLASSES", "CONFUSION", "SPEED_OF_SOUND", "Acoustic", "MicSpec", "Microphone",
           "received_level_db"]

SPEED_OF_SOUND = 343.0
ACOUSTIC_CLASSES = ("gunshot", "explosion", "fireworks")
#: P(reported class | true class); rows and columns in ``ACOUSTIC_CLASSES`` order.
CONFUSION = np.array([[0.93, 0.02, 0.05], [0.05, 0.93, 0.02], [0.30, 0.02, 0.68]])


def received_level_db(source_db: np.ndarray, distance_m: np.ndarray, *, alpha_db_per_m: float = 0.005,
                      ) -> np.ndarray:
    """Level at ``distance_m`` of a source of ``source_db`` at 1 m (spreading + air absorption)."""
    d = np.maximum(np.asarray(distance_m, float), 1.0)
    return np.asarray(source_db, float) - 20.0 * np.log10(d) - alpha_db_per_m * d


class Microphone(Sensor):
    """One acoustic sensor at ``xy``; see the module docstring for the model and its numbers."""

    kind = "acoustic"

    def __init__(self, sensor_id: str, xy: tuple[float, float], *, rng: np.random.Generator,
                 period_s: float = 1.0, threshold_db: float = 85.0, jitter_s: float = 0.001,
                 level_sigma_db: float = 2.0, alpha_db_per_m: float = 0.005) -> None:
        super().__init__(sensor_id, period_s=period_s)
        if not all(math.isfinite(float(v)) for v in xy):
            raise SensorError(f"microphone {sensor_id}: xy {xy!r} must be finite")
        if jitter_s < 0 or level_sigma_db < 0:
            raise SensorError(f"microphone {sensor_id}: jitter_s and level_sigma_db must be >= 0")
        self.xy = (float(xy[0]), float(xy[1]))
        self.rng = rng
        self.threshold_db = float(threshold_db)
        self.jitter_s = float(jitter_s)
        self.level_sigma_db = float(level_sigma_db)
        self.alpha = float(alpha_db_per_m)
        self._pending: list[dict] = []
        self._reported = "ok"

    def hear(self, impulses: list) -> list[dict]:
        """Detections (not yet time-gated) of these impulses at this microphone, vectorised over impulses."""
        known = [i for i in impulses if i.cls in ACOUSTIC_CLASSES]
        if not known:
            return []
        t0 = np.array([i.t for i in known], float)
        src = np.array([i.xy for i in known], float).reshape(-1, 2)
        l1 = np.array([i.level_db for i in known], float)
        truth = np.array([ACOUSTIC_CLASSES.index(i.cls) for i in known])
        d = np.hypot(src[:, 0] - self.xy[0], src[:, 1] - self.xy[1])
        rng = self.rng
        n = len(known)
        level = received_level_db(l1, d, alpha_db_per_m=self.alpha) + rng.normal(0, self.level_sigma_db, n)
        arrival = t0 + d / SPEED_OF_SOUND + rng.normal(0, self.jitter_s, n)
        u = rng.random(n)
        label = (u[:, None] > np.cumsum(CONFUSION[truth], axis=1)).sum(axis=1).clip(0, 2)
        margin = level - self.threshold_db
        base = np.where(label == truth, 0.95, 0.6)
        conf = base * (1.0 - np.exp(-np.maximum(margin, 0) / 6.0))
        if self.status == "degraded":
            conf = conf * 0.7
        heard = margin >= 0
        return [{"sensor_id": self.id, "t_arrival": round(float(arrival[k]), 6),
                 "cls": ACOUSTIC_CLASSES[int(label[k])], "conf": round(float(max(conf[k], 0.01)), 3),
                 "level_db": round(float(level[k]), 2), "xy": [self.xy[0], self.xy[1]]}
                for k in np.flatnonzero(heard)]

    def measure(self, world: WorldView) -> Iterable[tuple[str, dict]]:
        out: list[tuple[str, dict]] = []
        t = float(world.t)
        if self.status != self._reported:
            out.append(("acoustic/health", {"sensor_id": self.id, "t": t, "status": self.status}))
            self._reported = self.status
        new = self.hear(world.impulses)
        if self.status in ("offline", "frozen"):
            return out      # a dead or hung microphone hears nothing (its queue is dropped)
        self._pending.extend(new)
        self._pending.sort(key=lambda r: r["t_arrival"])
        k = 0
        while k < len(self._pending) and self._pending[k]["t_arrival"] <= t + 1e-9:
            k += 1
        ready, self._pending = self._pending[:k], self._pending[k:]
        out.extend(("acoustic/detection", r) for r in ready)
        return out


@dataclass(frozen=True)
class MicSpec:
    """One listed microphone."""

    RULES = (one_of_at_lonlat,)

    id: str = field(metadata={"doc": "sensor id"})
    at: str | tuple[float, float] | None = field(default=None, metadata={"kind": "place"})
    lonlat: tuple[float, float] | None = field(default=None, metadata={"kind": "lonlat"})
    threshold_db: float | None = field(default=None, metadata={
        "gt": 0, "doc": "detection threshold, dB SPL; default 85"})


class Acoustic(SensorKind):
    """Gunshot/explosion microphones: a count placed at the largest assets, or a list."""

    key = "acoustic"
    rank = 1
    Spec = int | tuple[MicSpec, ...]
    meta = {"ge": 0, "what": "a number of microphones or a list of {id, at|lonlat}"}
    default = 0

    def plan(self, spec, ctx: PlacementContext) -> list[Planned]:
        if isinstance(spec, int):
            return self._around_assets(spec, ctx)
        out = []
        for i, item in enumerate(spec):
            xy = ctx.where(item, f"sensors.acoustic[{i}]")
            if xy is not None:
                kw = {} if item.threshold_db is None else {"threshold_db": float(item.threshold_db)}
                out.append(Planned(item.id.strip(), f"sensors.acoustic[{i}]", (xy, kw)))
        return out

    @staticmethod
    def _around_assets(count: int, ctx: PlacementContext) -> list[Planned]:
        if count == 0:
            return []
        assets = sorted(ctx.twin.assets, key=lambda a: (-int(a.capacity or 0), a.id))
        if not assets:
            ctx.error("sensors.acoustic", f"twin {ctx.twin.city} has no assets to place microphones around")
            return []
        out = []
        for k in range(count):
            a = assets[k % len(assets)]
            ring = k // len(assets)
            ang = math.radians(90.0 * (ring - 1))
            r = 150.0 if ring else 0.0
            xy = (a.xy[0] + r * math.sin(ang), a.xy[1] + r * math.cos(ang))
            out.append(Planned(f"mic-{k + 1:02d}", "sensors.acoustic", (xy, {})))
        return out

    def build(self, planned: Planned, rng, ctx) -> Microphone:
        xy, kw = planned.config
        return Microphone(planned.id, xy, rng=rng, **kw)
