"""A gunshot/explosion microphone: it hears loud impulses, times their arrival, scores them with a classifier.

A real acoustic gunshot sensor reports each loud impulse it hears with its arrival time, its level and the
scores of an on-board classifier; it cannot know what made the sound. This one does the same, and gunshots
and benign impulses (fireworks, slammed doors, construction, backfires) have overlapping scores, so a
detector that thresholds them has false alarms and misses.

Propagation: an impulse of source level ``L1`` (dB SPL at 1 m, ``Impulse.level_db``; typical levels per class
in ``agents.world.IMPULSE_LEVEL_DB``) is heard at distance ``d`` at ``L(d) = L1 - 20 log10(d / 1 m) - alpha
d`` (spherical spreading plus air absorption, ``alpha`` = 0.005 dB/m, ISO 9613-1 near 1 kHz at 20 C / 70 %
RH) plus N(0, 2 dB) level noise. Buildings are not modelled for sound. It is heard when ``L(d) >=
threshold_db`` (default 85 dB SPL, well above a 65-70 dB urban background). Arrival time is ``t + d / 343 +
N(0, jitter_s)`` with ``jitter_s`` = 1 ms (documented sigma).

Classifier: two scores in (0, 1), ``gunshot`` and ``explosion`` (``SCORE_CLASSES``), each the logistic of a
normal logit ``z = m[cls] + EVENT_SD e + s(margin) n``:

- ``m[cls]``: the class's mean logit, set so that a true impulse of that class scores above 0.5 with the
  probability ``P_ABOVE_HALF`` gives at high SNR (``m = Phi^-1(p) sqrt(EVENT_SD^2 + MIC_SD^2)``);
- ``e ~ N(0, 1)``, one draw per impulse shared by every microphone (``ImpulseSignatures``): the sound
  itself. A backfire that sounds like a shot sounds like one to every sensor, so more microphones do not
  average its resemblance away;
- ``n ~ N(0, 1)`` per microphone, scaled by ``s(margin) = MIC_SD + MIC_SD_LOW_SNR exp(-margin / 6 dB)``:
  near its detection threshold a microphone classifies less reliably (doubled when it is ``degraded``).

``P_ABOVE_HALF`` (P(score > 0.5 | true class) at high SNR, gunshot and explosion score) is an assumption
in the range published evaluations report, not a fit to one data set:

==============  =======  =========  ================================================================
true class      gunshot  explosion  why
==============  =======  =========  ================================================================
gunshot         0.95     0.02       trained target class; field systems miss more (coverage, echoes):
                                    ShotSpotter detected 81 % of test shooting events in Redwood City
                                    (Watkins, Mazerolle, Rogan & Frank, Policing 25:345, 2002)
explosion       0.05     0.95       trained target class
fireworks       0.30     0.05       the best known false-alarm source (ShotSpotter's own July 4th
                                    reports); the project's earlier confusion matrix used 0.30
backfire        0.15     0.02       assumption: a sharp broadband report, often mistaken by ear
door_slam       0.05     0.007      assumption: lower level and longer decay than a muzzle blast
construction    0.03     0.007      assumption: repetitive impacts; a classifier trained on urban
                                    sound data confuses impulsive sounds with shots (Baliram Singh
                                    et al., Sensors 21:7320, 2021: plastic-bag pops mostly taken
                                    for gunshots)
other           0.05     0.007      any class not listed: a generic impulsive sound
==============  =======  =========  ================================================================

The scores of two classes overlap: e.g. with the shared draw the gunshot score of a fireworks burst exceeds
that of the median gunshot (0.93) with probability 1 - Phi((2.6 + 0.83) / 1.58) = 1.5 %, and a gunshot's falls
below 0.5 with probability 5 %. ``analytics.acoustic`` thresholds them; its false alarms are measured
(``tests/test_analytics_acoustic.py``, ``docs/performance.md``).

Timing rule: a message may only be published at or after its arrival. ``measure`` at time ``t`` returns the
detections whose arrival is <= ``t`` (normally in ``(t - period, t]``) and keeps later ones pending. Payload
``acoustic/detection``: ``{sensor_id, t_arrival, level_db, scores: {gunshot, explosion}, xy}`` (xy = the
microphone).

In a scenario, ``sensors.acoustic: N`` puts microphones ``mic-01``... at the N assets of largest capacity
(ties by id; more than there are assets go on 150 m rings around them), or a list of
``{id, at | lonlat, threshold_db}`` puts them where it says.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from agents.world import Impulse, WorldView
from sensors.base import Sensor, SensorError
from sensors.kinds import PlacementContext, Planned, SensorKind, one_of_at_lonlat

__all__ = ["EVENT_SD", "MIC_SD", "MIC_SD_LOW_SNR", "P_ABOVE_HALF", "SCORE_CLASSES", "SPEED_OF_SOUND",
           "Acoustic", "ImpulseSignatures", "MicSpec", "Microphone", "mean_logits", "received_level_db"]

SPEED_OF_SOUND = 343.0
#: The classifier's scores a microphone reports, in this order.
SCORE_CLASSES = ("gunshot", "explosion")
#: Standard deviation of the logit shared by every microphone hearing one impulse (the sound itself).
EVENT_SD = 1.5
#: Standard deviation of one microphone's own logit noise at high SNR, and what is added at its threshold.
MIC_SD, MIC_SD_LOW_SNR = 0.5, 1.5
#: P(score > 0.5 | true class) at high SNR for the (gunshot, explosion) scores; see the module docstring.
P_ABOVE_HALF = {"gunshot": (0.95, 0.02), "explosion": (0.05, 0.95), "fireworks": (0.30, 0.05),
                "backfire": (0.15, 0.02), "door_slam": (0.05, 0.007), "construction": (0.03, 0.007),
                "other": (0.05, 0.007)}


@functools.lru_cache(maxsize=64)
def mean_logits(cls: str) -> tuple[float, ...]:
    """The mean (gunshot, explosion) logits of a true class (``other`` for a class not in ``P_ABOVE_HALF``).

    >>> [round(v, 2) for v in mean_logits("fireworks")]
    [-0.83, -2.6]
    """
    p = np.asarray(P_ABOVE_HALF.get(cls, P_ABOVE_HALF["other"]), float)
    return tuple(float(v) for v in norm.ppf(p) * math.hypot(EVENT_SD, MIC_SD))


def received_level_db(source_db: np.ndarray, distance_m: np.ndarray, *, alpha_db_per_m: float = 0.005,
                      ) -> np.ndarray:
    """Level at ``distance_m`` of a source of ``source_db`` at 1 m (spreading + air absorption)."""
    d = np.maximum(np.asarray(distance_m, float), 1.0)
    return np.asarray(source_db, float) - 20.0 * np.log10(d) - alpha_db_per_m * d


class ImpulseSignatures:
    """What each impulse sounds like to the classifier, shared by the microphones of a run: one standard
    normal per impulse and score class, drawn from ``rng`` the first time any microphone hears it.

    Entries older than ``keep_s`` behind the newest impulse are forgotten (every microphone hears an
    impulse in the same world view, so they are never asked again).
    """

    def __init__(self, rng: np.random.Generator, keep_s: float = 60.0) -> None:
        self.rng = rng
        self.keep_s = float(keep_s)
        self._seen: dict[Impulse, np.ndarray] = {}
        self._newest = -math.inf

    def of(self, impulses: Sequence[Impulse]) -> np.ndarray:
        """``(len(impulses), len(SCORE_CLASSES))`` standard normals, the same for the same impulse."""
        new = [i for i in dict.fromkeys(impulses) if i not in self._seen]
        if new:
            self._newest = max(self._newest, max(float(i.t) for i in new))
            if len(self._seen) > 256:    # forget old impulses first: the ones asked for now stay
                self._seen = {i: z for i, z in self._seen.items() if i.t >= self._newest - self.keep_s}
            for imp, z in zip(new, self.rng.standard_normal((len(new), len(SCORE_CLASSES))), strict=True):
                self._seen[imp] = z
        return np.array([self._seen[i] for i in impulses]).reshape(len(impulses), len(SCORE_CLASSES))


class Microphone(Sensor):
    """One acoustic sensor at ``xy``; see the module docstring for the model and its numbers."""

    kind = "acoustic"

    def __init__(self, sensor_id: str, xy: tuple[float, float], *, rng: np.random.Generator,
                 period_s: float = 1.0, threshold_db: float = 85.0, jitter_s: float = 0.001,
                 level_sigma_db: float = 2.0, alpha_db_per_m: float = 0.005,
                 signatures: ImpulseSignatures | None = None) -> None:
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
        #: Shared with the run's other microphones (``Acoustic.make``); a lone microphone has its own.
        self.signatures = signatures if signatures is not None else ImpulseSignatures(rng.spawn(1)[0])
        self._pending: list[dict] = []
        self._reported = "ok"

    def hear(self, impulses: list) -> list[dict]:
        """Detections (not yet time-gated) of these impulses at this microphone, vectorised over impulses."""
        if not impulses:
            return []
        n = len(impulses)
        t0 = np.array([i.t for i in impulses], float)
        src = np.array([i.xy for i in impulses], float).reshape(-1, 2)
        l1 = np.array([i.level_db for i in impulses], float)
        d = np.hypot(src[:, 0] - self.xy[0], src[:, 1] - self.xy[1])
        rng = self.rng
        level = received_level_db(l1, d, alpha_db_per_m=self.alpha) + rng.normal(0, self.level_sigma_db, n)
        arrival = t0 + d / SPEED_OF_SOUND + rng.normal(0, self.jitter_s, n)
        margin = level - self.threshold_db
        sd = MIC_SD + MIC_SD_LOW_SNR * np.exp(-np.maximum(margin, 0.0) / 6.0)
        if self.status == "degraded":
            sd = 2.0 * sd
        mean = np.array([mean_logits(i.cls) for i in impulses]).reshape(n, len(SCORE_CLASSES))
        z = mean + EVENT_SD * self.signatures.of(impulses) + sd[:, None] * rng.standard_normal(mean.shape)
        score = 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))
        return [{"sensor_id": self.id, "t_arrival": round(float(arrival[k]), 6),
                 "level_db": round(float(level[k]), 2),
                 "scores": {c: round(float(score[k, j]), 4) for j, c in enumerate(SCORE_CLASSES)},
                 "xy": [self.xy[0], self.xy[1]]}
                for k in np.flatnonzero(margin >= 0)]

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

    def make(self, planned: list[Planned], gens: list[np.random.Generator],
             ctx: PlacementContext) -> list[Microphone]:
        """The planned microphones, sharing one ``ImpulseSignatures`` (its generator spawned from the first
        microphone's): every microphone hears the same sound."""
        self._signatures = ImpulseSignatures(gens[0].spawn(1)[0]) if gens else None
        return [self.build(p, g, ctx) for p, g in zip(planned, gens, strict=True)]

    def build(self, planned: Planned, rng, ctx) -> Microphone:
        xy, kw = planned.config
        return Microphone(planned.id, xy, rng=rng, signatures=getattr(self, "_signatures", None), **kw)
