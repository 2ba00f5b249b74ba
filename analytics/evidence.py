"""Evidence combination for incident fusion: Dempster-Shafer theory on the binary frame {threat, no_threat}
with Shafer's reliability discounting per source class.

The rule, and why it was chosen over a noisy-OR:

- **Mass functions.** An alert of confidence ``c`` from a source of reliability ``r`` is the simple support
  function ``m(threat) = r*c``, ``m(frame) = 1 - r*c``: the rest of its weight is ignorance, not evidence of
  no threat (a detector that stays silent does not say the scene is safe). Contradicting evidence (an area
  counter that sees no crowd where video reports a surge) is ``m(no_threat) = r*c``. A noisy-OR has no
  place for evidence against: it can only raise a probability, so a contradiction could never lower it.
- **Discounting** (Shafer 1976, ch. 11): a source of reliability ``r`` keeps the fraction ``r`` of its mass
  and gives ``1 - r`` to the frame. ``Reliability`` holds one value per source class.
- **Dependent alerts.** Dempster's rule assumes distinct (independent) sources, and repeated alerts of one
  sensor are not: one camera's ``running`` alerts of one person are one opinion. Within one sensor the
  strongest support (and the strongest contradiction) is kept: for simple support functions on one focal
  set this is Denoeux's cautious rule (2008), the rule for non-distinct sources. Across sensors and source
  classes Dempster's rule applies.
- **Confidence** is the belief ``Bel(threat) = m(threat)`` after normalisation: 0 without evidence, raised
  by every independent supporting source, lowered by conflict. The pignistic probability ``m(threat) +
  m(frame)/2`` (``pignistic``) would read ignorance as 0.5 and make a single weak alert look like a coin
  flip, which then inflates the threat term of a risk ``R = T * V * C``.
- **Total conflict** (only possible when two sources of reliability 1 are certain of opposite answers):
  Dempster's normalisation is 0/0; the fallback is the average of the sensors' mass functions (the first
  step of Murphy's averaging rule, 2000), so the result stays a finite mass function.

Examples
--------
>>> m_gun = simple_mass(0.9, 0.85)                 # an acoustic gunshot
>>> m_run = simple_mass(0.7, 0.8)                  # a camera sees people running
>>> round(belief(m_gun), 3), round(belief(combine([m_gun, m_run])), 3)
(0.765, 0.897)
>>> round(belief(combine([m_run, simple_mass(0.8, 0.9, against=True)])), 3)   # a counter sees no crowd
0.263
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "SOURCE_CLASSES",
    "EvidenceError",
    "EvidencePool",
    "Mass",
    "Reliability",
    "belief",
    "combine",
    "discount",
    "pignistic",
    "plausibility",
    "simple_mass",
    "source_class",
]

#: A mass function on {threat, no_threat}: ``(m(threat), m(no_threat), m(frame))``, summing to 1.
Mass = tuple[float, float, float]

#: The source classes an alert can come from (``source_class``).
SOURCE_CLASSES = ("video", "acoustic", "counter", "cyber", "health")

_ACOUSTIC = frozenset({"gunshot", "explosion"})
_CYBER = frozenset({"port_scan", "brute_force", "dos", "beaconing"})
_CROWD = frozenset({"crowd_density", "crowd_anomaly"})


class EvidenceError(ValueError):
    """A reliability, confidence or mass function outside its range."""


@dataclass(frozen=True, slots=True)
class Reliability:
    """Shafer discounting factor per source class (the share of a source's mass it keeps).

    The defaults are engineering judgement; a deployment sets them to the measured precision of each
    class's detectors (a scored run's ``metrics.json``).

    Parameters
    ----------
    video : camera analytics (default 0.8): tracks switch identities and false detections persist, so a
        video alert is the least trusted.
    acoustic : gunshot and explosion classification over several microphones (default 0.85): an impulse
        needs agreeing microphones, but fireworks and backfires still pass.
    counter : area and line counters (default 0.9): a simple measurement, rarely wrong about a crowd.
    cyber : network-flow detectors (default 0.9): deterministic thresholds on complete flow logs.
    health : camera health reports (default 0.95): the device or the VMS reports its own state.
    """

    video: float = 0.8
    acoustic: float = 0.85
    counter: float = 0.9
    cyber: float = 0.9
    health: float = 0.95

    def __post_init__(self) -> None:
        for name in SOURCE_CLASSES:
            r = getattr(self, name)
            if not (isinstance(r, int | float) and 0.0 <= r <= 1.0):
                raise EvidenceError(f"reliability.{name} must be a number in [0, 1], got {r!r}")

    def of(self, cls: str) -> float:
        """The reliability of source class ``cls``."""
        if cls not in SOURCE_CLASSES:
            raise EvidenceError(f"source class must be one of {', '.join(SOURCE_CLASSES)}, got {cls!r}")
        return float(getattr(self, cls))


def source_class(alert: Mapping[str, Any], *, cameras: Iterable[str] = ()) -> str:
    """The source class of an alert dict: acoustic (gunshot, explosion), cyber (flow detectors, and a
    ``stream_loss`` seen in RTSP flows), health (a ``stream_loss`` the camera health reports), counter (a
    crowd alert from no camera) or video (every other alert: camera analytics).

    >>> source_class({"kind": "stream_loss", "source": ["cam-1"], "evidence": {"via": "health"}})
    'health'
    >>> source_class({"kind": "crowd_density", "source": ["cnt-square"], "evidence": {}})
    'counter'
    """
    kind = alert.get("kind")
    if kind in _ACOUSTIC:
        return "acoustic"
    if kind in _CYBER:
        return "cyber"
    if kind == "stream_loss":
        return "health" if (alert.get("evidence") or {}).get("via") == "health" else "cyber"
    if kind in _CROWD:
        cams = set(cameras)
        if not any(s.startswith("cam-") or s in cams for s in alert.get("source") or ()):
            return "counter"
    return "video"


def _check_unit(name: str, v: float) -> float:
    if not (isinstance(v, int | float) and math.isfinite(v) and 0.0 <= v <= 1.0):
        raise EvidenceError(f"{name} must be a number in [0, 1], got {v!r}")
    return float(v)


def simple_mass(conf: float, reliability: float, *, against: bool = False) -> Mass:
    """The discounted simple support function of one alert: ``reliability * conf`` on threat (on no_threat
    with ``against``), the rest on the frame."""
    s = _check_unit("reliability", reliability) * _check_unit("conf", conf)
    return (0.0, s, 1.0 - s) if against else (s, 0.0, 1.0 - s)


def discount(mass: Sequence[float], reliability: float) -> Mass:
    """Shafer discounting: keep ``reliability`` of each focal mass, move the rest to the frame."""
    r = _check_unit("reliability", reliability)
    t, n, _ = _check_mass(mass)
    return (r * t, r * n, 1.0 - r * t - r * n)


def _check_mass(mass: Sequence[float]) -> Mass:
    if len(mass) != 3:
        raise EvidenceError(f"mass must be (threat, no_threat, frame), got {len(mass)} values")
    t, n, o = (float(v) for v in mass)
    if not all(math.isfinite(v) and v >= 0.0 for v in (t, n, o)) or abs(t + n + o - 1.0) > 1e-9:
        raise EvidenceError(f"mass must be 3 non-negative numbers summing to 1, got {list(mass)!r}")
    return t, n, o


def combine(masses: Iterable[Sequence[float]]) -> Mass:
    """Dempster's rule over independent mass functions on {threat, no_threat}.

    Computed through the commonality functions, which multiply under the conjunctive rule: ``q(threat) =
    prod(m_i(threat) + m_i(frame))`` etc., in logs (many sources underflow no product) and scaled so the
    larger of ``q(threat)``, ``q(no_threat)`` is 1: the normalisation is then at least 1 and never divides
    by zero. With total conflict (both commonalities 0) the result is the average of the mass functions.
    No mass function gives the vacuous ``(0, 0, 1)``.
    """
    m = np.array([_check_mass(x) for x in masses], dtype=float).reshape(-1, 3)
    if not len(m):
        return (0.0, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        lt = float(np.log(m[:, 0] + m[:, 2]).sum())
        ln = float(np.log(m[:, 1] + m[:, 2]).sum())
        lo = float(np.log(m[:, 2]).sum())
    top = max(lt, ln)
    if top == -math.inf:  # total conflict: Murphy's average
        t, n = float(m[:, 0].mean()), float(m[:, 1].mean())
        return (t, n, max(0.0, 1.0 - t - n))
    qt, qn, qo = math.exp(lt - top), math.exp(ln - top), math.exp(lo - top)
    norm = qt + qn - qo  # >= 1: qo <= min(qt, qn) and max(qt, qn) == 1
    t, n = max(0.0, qt - qo) / norm, max(0.0, qn - qo) / norm
    return (t, n, max(0.0, 1.0 - t - n))


def belief(mass: Sequence[float]) -> float:
    """``Bel(threat)``: the mass committed to threat (a lower bound of its probability)."""
    return float(mass[0])


def plausibility(mass: Sequence[float]) -> float:
    """``Pl(threat) = 1 - Bel(no_threat)``: the upper bound."""
    return float(mass[0] + mass[2])


def pignistic(mass: Sequence[float]) -> float:
    """Smets' pignistic probability of threat, ``m(threat) + m(frame) / 2`` (see the module notes for why
    fusion reports ``belief`` instead)."""
    return float(mass[0] + mass[2] / 2.0)


class EvidencePool:
    """The evidence of one incident: per sensor the strongest support and the strongest contradiction
    (cautious rule), across sensors Dempster's rule (``combine``).

    A sensor is a source class plus the ids that name it (a camera id, a counter id, the microphones of an
    acoustic fix, a cyber detector): two alerts of one class that share an id are the same sensor, so an
    acoustic fix heard by microphones ``{m1, m2}`` and one heard by ``{m2, m3}`` are one sensor.

    >>> pool = EvidencePool()
    >>> pool.add("video", ["cam-1"], 0.7), pool.add("video", ["cam-1"], 0.6), round(pool.belief, 3)
    (True, False, 0.56)
    >>> pool.add("acoustic", ["mic-1", "mic-2"], 0.9), round(pool.belief, 3), pool.sensors
    (True, 0.897, 2)
    """

    def __init__(self, reliability: Reliability | None = None) -> None:
        self.reliability = Reliability() if reliability is None else reliability
        self._owner: dict[tuple[str, str], int] = {}  # (class, id) -> sensor index
        self._support: list[float] = []               # per sensor: the strongest discounted support
        self._against: list[float] = []               # ... and contradiction
        self._alive: list[bool] = []
        self._mass: Mass = (0.0, 0.0, 1.0)

    @property
    def mass(self) -> Mass:
        """The combined mass function."""
        return self._mass

    @property
    def belief(self) -> float:
        """The combined belief in threat: the incident confidence."""
        return self._mass[0]

    @property
    def sensors(self) -> int:
        """How many distinct sensors gave evidence."""
        return sum(self._alive)

    def add(self, cls: str, ids: Iterable[str], conf: float, *, against: bool = False) -> bool:
        """Add one alert's (or observation's) evidence; True if the combined mass changed."""
        s = self.reliability.of(cls) * _check_unit("conf", conf)
        keys = sorted({(cls, str(i)) for i in ids}) or [(cls, "")]
        owners = sorted({self._owner[k] for k in keys if k in self._owner})
        if owners:
            g, merged = owners[0], owners[1:]
            for o in merged:  # one alert names ids of several sensors: they were one sensor all along
                self._support[g] = max(self._support[g], self._support[o])
                self._against[g] = max(self._against[g], self._against[o])
                self._alive[o] = False
            for k, v in self._owner.items():
                if v in merged:
                    self._owner[k] = g
        else:
            g, merged = len(self._alive), []
            self._support.append(0.0)
            self._against.append(0.0)
            self._alive.append(True)
        for k in keys:
            self._owner[k] = g
        col = self._against if against else self._support
        if s <= col[g] and not merged:
            return False
        col[g] = max(col[g], s)
        old = self._mass
        self._mass = combine(self._sensor_masses())
        return self._mass != old

    def _sensor_masses(self) -> list[Mass]:
        out = []
        for s, c, alive in zip(self._support, self._against, self._alive, strict=True):
            if not alive:
                continue
            if s + c > 1.0:  # one sensor both ways with more than all its mass: keep its split
                s, c = s / (s + c), c / (s + c)
            out.append((s, c, max(0.0, 1.0 - s - c)))
        return out
