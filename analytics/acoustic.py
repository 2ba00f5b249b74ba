"""Acoustic shot/explosion localisation by time difference of arrival (TDOA), with an uncertainty estimate.

Arrivals of one impulse at several microphones are grouped in time; fireworks are a known false-alarm source
and are told apart by the classifier labels (``cls``/``conf``) the microphones report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from analytics.base import Detector, make_alert

__all__ = ["AcousticDetector", "AcousticParams", "TdoaFix", "localise_tdoa"]

SPEED_OF_SOUND = 343.0


@dataclass(frozen=True, slots=True)
class TdoaFix:
    """A TDOA solution: source ``xy`` (m), emission time ``t0`` (s), 2x2 covariance (m²), rms residual (m)."""

    xy: np.ndarray
    t0: float
    cov: np.ndarray
    rms_m: float

    @property
    def sigma_m(self) -> float:
        """Radial 1-sigma uncertainty: sqrt of the covariance trace."""
        return float(np.sqrt(np.trace(self.cov)))


def localise_tdoa(
    mics: np.ndarray, t_arrival: np.ndarray, *, c: float = SPEED_OF_SOUND, sigma_t: float = 0.002
) -> TdoaFix:
    """Locate an impulse from arrival times at three or more microphones (scipy least squares).

    Unknowns are the source (x, y) and the emission time t0; residuals are
    ``|xy - mic_i| - c (t_i - t0)``. The covariance is ``s² (JᵀJ)⁻¹`` at the solution with
    ``s = max(c · sigma_t, rms residual)``, so timing jitter and model misfit both widen it.

    Raises
    ------
    ValueError
        With fewer than three microphones.

    Examples
    --------
    >>> mics = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], float)
    >>> src = np.array([30.0, 60.0])
    >>> fix = localise_tdoa(mics, np.hypot(*(mics - src).T) / 343.0)
    >>> bool(np.allclose(fix.xy, src, atol=1e-3))
    True
    """
    mics = np.asarray(mics, dtype=float).reshape(-1, 2)
    t = np.asarray(t_arrival, dtype=float).reshape(-1)
    if len(mics) < 3 or len(t) != len(mics):
        raise ValueError(f"TDOA needs three or more microphones with arrival times, got {len(mics)}")
    tref = t.min()
    tt = t - tref

    def resid(p: np.ndarray) -> np.ndarray:
        return np.hypot(mics[:, 0] - p[0], mics[:, 1] - p[1]) - c * (tt - p[2])

    def jac(p: np.ndarray) -> np.ndarray:
        d = np.maximum(np.hypot(mics[:, 0] - p[0], mics[:, 1] - p[1]), 1e-9)
        return np.column_stack([(p[0] - mics[:, 0]) / d, (p[1] - mics[:, 1]) / d, np.full(len(d), c)])

    w = np.exp(-tt / max(tt.max(), 1e-6))  # start nearer the first-hit microphones
    xy0 = (mics * w[:, None]).sum(axis=0) / w.sum()
    start = np.array([*xy0, -np.hypot(*(mics[t.argmin()] - xy0)) / c])
    sol = least_squares(resid, start, jac=jac, method="lm" if len(mics) > 3 else "trf")
    r = sol.fun
    dof = max(len(r) - 3, 1)
    rms = float(np.sqrt((r**2).sum() / dof)) if len(r) > 3 else 0.0
    s = max(c * sigma_t, rms)
    J = sol.jac
    try:
        cov3 = s**2 * np.linalg.inv(J.T @ J)
    except np.linalg.LinAlgError:
        cov3 = np.full((3, 3), np.inf)
    return TdoaFix(xy=sol.x[:2].copy(), t0=float(sol.x[2] + tref), cov=cov3[:2, :2], rms_m=rms)


@dataclass(frozen=True, slots=True)
class AcousticParams:
    """Grouping and classification of microphone detections.

    Parameters
    ----------
    group_s : arrivals within this many seconds of the first belong to one impulse (default 1.5 s,
        about 500 m of sound travel: wider than the microphone spacing).
    min_conf : detections below this classifier confidence are ignored (default 0.3).
    sigma_t : timing uncertainty of one arrival, for the covariance (default 2 ms).
    max_sigma_m : a fix less certain than this falls back to the loudest microphone (default 200 m).
    speed_of_sound : metres per second (default 343).
    """

    group_s: float = 1.5
    min_conf: float = 0.3
    sigma_t: float = 0.002
    max_sigma_m: float = 200.0
    speed_of_sound: float = SPEED_OF_SOUND


class AcousticDetector(Detector):
    """Groups ``acoustic/detection`` arrivals; the confidence-weighted class vote decides gunshot, explosion
    or fireworks (fireworks are counted in ``suppressed`` and not alerted); three or more microphones
    give a TDOA fix, fewer the position of the loudest one."""

    name = "acoustic"
    alert_kinds = ("gunshot", "explosion")
    Params = AcousticParams
    #: Every topic: any message's time closes a group of arrivals once ``group_s`` has passed, so an impulse
    #: is reported without waiting for the next acoustic detection.
    topics = ("*",)

    def __init__(self, params: AcousticParams = AcousticParams()) -> None:
        self.p = params
        self._group: list[dict[str, Any]] = []
        self.suppressed = 0

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        if msg.get("topic") != "acoustic/detection":
            due = self._group and float(msg["t"]) - self._group[0]["_ta"] > self.p.group_s
            return self.flush() if due else []
        if float(msg.get("conf", 1.0)) < self.p.min_conf:
            return []
        ta = float(msg.get("t_arrival", msg["t"]))
        out = []
        if self._group and ta - self._group[0]["_ta"] > self.p.group_s:
            out = self.flush()
        self._group.append({**msg, "_ta": ta})
        return out

    def flush(self) -> list[dict[str, Any]]:
        group, self._group = self._group, []
        if not group:
            return []
        votes: dict[str, float] = {}
        for m in group:
            votes[m["cls"]] = votes.get(m["cls"], 0.0) + float(m.get("conf", 1.0))
        cls = max(votes, key=votes.get)
        if cls not in ("gunshot", "explosion"):
            self.suppressed += 1
            return []
        # one arrival per microphone (the earliest), from those that heard this class
        first: dict[str, dict[str, Any]] = {}
        for m in sorted(group, key=lambda m: m["_ta"]):
            first.setdefault(str(m["sensor_id"]), m)
        mics = list(first.values())
        conf = float(np.mean([m.get("conf", 1.0) for m in mics if m["cls"] == cls]))
        conf = 1.0 - (1.0 - conf) ** min(len(mics), 3)  # independent microphones agreeing
        loud = max(mics, key=lambda m: float(m.get("level_db", 0.0)))
        evidence: dict[str, Any] = {"mics": len(mics), "votes": {k: round(v, 3) for k, v in votes.items()}}
        xy = np.asarray(loud["xy"], dtype=float)
        t = min(m["_ta"] for m in mics)
        if len(mics) >= 3:
            fix = localise_tdoa(
                np.array([m["xy"] for m in mics], float),
                np.array([m["_ta"] for m in mics]),
                c=self.p.speed_of_sound,
                sigma_t=self.p.sigma_t,
            )
            if np.isfinite(fix.sigma_m) and fix.sigma_m <= self.p.max_sigma_m:
                xy, t = fix.xy, fix.t0
                evidence.update(method="tdoa", sigma_m=round(fix.sigma_m, 2), rms_m=round(fix.rms_m, 2))
            else:
                evidence.update(method="loudest_mic", sigma_m=None, tdoa_sigma_m=round(fix.sigma_m, 1))
        else:
            evidence.update(method="loudest_mic", sigma_m=None)
        return [make_alert(t, cls, conf, xy=xy, source=first.keys(), evidence=evidence)]
