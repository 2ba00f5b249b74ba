"""Acoustic shot/explosion detection: arrivals grouped per impulse, a decision from the microphones'
classifier scores, and localisation by time difference of arrival (TDOA) with an uncertainty estimate.

A gunshot sensor reports each loud impulse with its level and classifier scores (``acoustic/detection``:
``{sensor_id, t_arrival, level_db, scores: {gunshot, explosion}, xy}``); fireworks, backfires, slammed doors
and construction noise score lower on average but overlap with shots, so the threshold (``min_score``)
trades false alarms against misses. Feeds that give one label and confidence instead (``cls``, ``conf``)
are read as a score of ``conf`` for that class.

A fix needs three microphones at distinct positions that are not on one line; otherwise (two microphones,
coincident or collinear ones, a singular or too uncertain solution) the alert is placed at the loudest
microphone with the stated uncertainty ``fallback_sigma_m`` and its evidence says why. No alert ever
carries a NaN or an infinity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from analytics.base import Detector, make_alert

__all__ = ["SCORE_CLASSES", "AcousticDetector", "AcousticParams", "TdoaFix", "layout_problem",
           "localise_tdoa"]

SPEED_OF_SOUND = 343.0
#: The classes a detection's ``scores`` may carry; each is also an alert kind.
SCORE_CLASSES = ("gunshot", "explosion")


@dataclass(frozen=True, slots=True)
class TdoaFix:
    """A TDOA solution: source ``xy`` (m), emission time ``t0`` (s), 2x2 covariance (m²), rms residual (m)."""

    xy: np.ndarray
    t0: float
    cov: np.ndarray
    rms_m: float

    @property
    def sigma_m(self) -> float:
        """Radial 1-sigma uncertainty: sqrt of the covariance trace (infinite for a singular geometry)."""
        tr = float(np.trace(self.cov))
        return float(np.sqrt(tr)) if np.isfinite(tr) and tr >= 0 else float("inf")

    @property
    def ok(self) -> bool:
        """True when position, time and uncertainty are all finite."""
        return bool(np.all(np.isfinite(self.xy)) and np.isfinite(self.t0) and np.isfinite(self.sigma_m))


def localise_tdoa(
    mics: np.ndarray, t_arrival: np.ndarray, *, c: float = SPEED_OF_SOUND, sigma_t: float = 0.002
) -> TdoaFix:
    """Locate an impulse from arrival times at three or more microphones (scipy least squares).

    Unknowns are the source (x, y) and the emission time t0; residuals are
    ``|xy - mic_i| - c (t_i - t0)``. The covariance is ``s² (JᵀJ)⁻¹`` at the solution with
    ``s = max(c · sigma_t, rms residual)``, so timing jitter and model misfit both widen it; a singular
    ``JᵀJ`` gives an infinite covariance (``TdoaFix.ok`` is then False). ``layout_problem`` tells layouts
    that cannot give a fix at all.

    Raises
    ------
    ValueError
        With fewer than three microphones, or a non-finite position or time.

    Examples
    --------
    >>> mics = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], float)
    >>> src = np.array([30.0, 60.0])
    >>> fix = localise_tdoa(mics, np.hypot(*(mics - src).T) / 343.0)
    >>> bool(np.allclose(fix.xy, src, atol=1e-3)), fix.ok
    (True, True)
    """
    mics = np.asarray(mics, dtype=float).reshape(-1, 2)
    t = np.asarray(t_arrival, dtype=float).reshape(-1)
    if len(mics) < 3 or len(t) != len(mics):
        raise ValueError(f"TDOA needs three or more microphones with arrival times, got {len(mics)}")
    if not (np.all(np.isfinite(mics)) and np.all(np.isfinite(t))):
        raise ValueError("TDOA: microphone positions and arrival times must be finite")
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
    s = max(c * sigma_t, rms if np.isfinite(rms) else 0.0)
    J = sol.jac
    jtj = J.T @ J
    if np.all(np.isfinite(jtj)) and np.linalg.cond(jtj) < 1e12:
        cov3 = s**2 * np.linalg.inv(jtj)
    else:
        cov3 = np.full((3, 3), np.inf)
    return TdoaFix(xy=sol.x[:2].copy(), t0=float(sol.x[2] + tref), cov=cov3[:2, :2], rms_m=rms)


def layout_problem(mics: np.ndarray, *, min_separation_m: float = 1.0, min_aperture_m: float = 10.0,
                   ) -> str | None:
    """Why these microphone positions cannot give a TDOA fix, or None if they can.

    Fewer than three positions at least ``min_separation_m`` apart cannot fix a point in the plane; positions
    within ``min_aperture_m`` of one line leave a mirror image of every source on the other side of it.

    >>> layout_problem(np.array([[0, 0], [100, 0], [250, 0]]))
    'collinear microphones (0.0 m across their line < 10 m): mirror ambiguity'
    >>> layout_problem(np.array([[0, 0], [0, 0.5], [100, 0]]))
    'coincident microphones: 2 distinct position(s)'
    """
    p = np.asarray(mics, float).reshape(-1, 2)
    distinct = [p[0]] if len(p) else []
    for q in p[1:]:
        if min(np.hypot(*(q - d)) for d in distinct) >= min_separation_m:
            distinct.append(q)
    if len(distinct) < 3:
        what = "fewer than three microphones" if len(p) < 3 else "coincident microphones"
        return f"{what}: {len(distinct)} distinct position(s)"
    d = np.array(distinct) - np.mean(distinct, axis=0)
    minor = np.linalg.svd(d, full_matrices=False)[2][-1]     # direction across the best-fit line
    across = float(np.ptp(d @ minor))
    if across < min_aperture_m:
        return (f"collinear microphones ({across:.1f} m across their line < {min_aperture_m:g} m): "
                "mirror ambiguity")
    return None


@dataclass(frozen=True, slots=True)
class AcousticParams:
    """Grouping, classification threshold and localisation of microphone detections.

    Parameters
    ----------
    group_s : arrivals within this many seconds of the first belong to one impulse (default 1.5 s,
        about 500 m of sound travel: wider than the microphone spacing). Rapid shots overlap: each arrival
        joins the oldest open impulse its microphone has not heard yet, else starts a new one. That holds
        for one shooter (every microphone hears the shots in the order they were fired); two sources far
        apart sounding within a second of each other can be mixed up.
    min_score : an impulse alerts as the class (gunshot, explosion) whose score, averaged over the
        microphones that heard it, is highest and at least this (default 0.5, the classifier's even-odds
        point). The scores of shots and look-alikes overlap (``sensors.acoustic``), so a higher threshold
        trades fewer false alarms for more misses; the measured trade-off is in ``docs/performance.md``.
    sigma_t : timing uncertainty of one arrival, for the covariance (default 2 ms).
    max_sigma_m : a fix less certain than this falls back to the loudest microphone (default 200 m).
    fallback_sigma_m : the stated 1-sigma uncertainty of a fix at the loudest microphone (default 150 m:
        the spacing of microphones placed around assets, whose rings are 150 m; the source is nearer that
        microphone than the others, up to the level noise).
    min_separation_m : microphones closer than this count as one position (default 1 m).
    min_aperture_m : microphones within this distance of one line are collinear and give a mirror-image
        ambiguity (default 10 m).
    speed_of_sound : metres per second (default 343).
    """

    group_s: float = 1.5
    min_score: float = 0.5
    sigma_t: float = 0.002
    max_sigma_m: float = 200.0
    fallback_sigma_m: float = 150.0
    min_separation_m: float = 1.0
    min_aperture_m: float = 10.0
    speed_of_sound: float = SPEED_OF_SOUND


def _scores(msg: dict[str, Any]) -> dict[str, float]:
    """A detection's score per class: its ``scores``, or a legacy ``cls``/``conf`` pair; non-finite as 0."""
    raw = msg.get("scores")
    if not isinstance(raw, dict):
        raw = {str(msg.get("cls")): msg.get("conf", 1.0)}
    out = {}
    for c in SCORE_CLASSES:
        try:
            v = float(raw.get(c, 0.0))
        except (TypeError, ValueError):
            v = 0.0
        out[c] = v if np.isfinite(v) else 0.0
    return out


class AcousticDetector(Detector):
    """Groups ``acoustic/detection`` arrivals per impulse (one per microphone), decides from the mean
    classifier scores against ``min_score`` (impulses below it are counted in ``suppressed``) and locates the
    alert by TDOA, else at the loudest microphone."""

    name = "acoustic"
    alert_kinds = SCORE_CLASSES
    Params = AcousticParams
    #: Every topic: any message's time closes a group of arrivals once ``group_s`` has passed, so an impulse
    #: is reported without waiting for the next acoustic detection.
    topics = ("*",)

    def __init__(self, params: AcousticParams = AcousticParams()) -> None:
        self.p = params
        self._groups: list[list[dict[str, Any]]] = []    # open groups, oldest first
        self.suppressed = 0

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        if msg.get("topic") != "acoustic/detection":
            return self._close_before(float(msg["t"]) - self.p.group_s)
        ta = float(msg.get("t_arrival", msg["t"]))
        xy = msg.get("xy")
        if not (np.isfinite(ta) and isinstance(xy, list | tuple) and len(xy) == 2
                and np.all(np.isfinite(np.asarray(xy, float)))):
            raise ValueError(f"acoustic detection {msg.get('sensor_id')!r}: t_arrival and xy must be finite")
        out = self._close_before(ta - self.p.group_s)
        arrival = {**msg, "_ta": ta, "_scores": _scores(msg)}
        mic = str(msg.get("sensor_id"))
        for group in self._groups:    # the oldest impulse this microphone has not heard yet
            if all(str(m.get("sensor_id")) != mic for m in group):
                group.append(arrival)
                break
        else:
            self._groups.append([arrival])
        return out

    def flush(self) -> list[dict[str, Any]]:
        return self._close_before(np.inf)

    def _close_before(self, t: float) -> list[dict[str, Any]]:
        """Alerts of the open groups whose first arrival is before ``t`` (they can take no more arrivals)."""
        out = []
        while self._groups and self._groups[0][0]["_ta"] < t:
            out += self._decide(self._groups.pop(0))
        return out

    def _decide(self, group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One impulse's arrivals (one per microphone): an alert if its mean score reaches ``min_score``."""
        first = {str(m["sensor_id"]): m for m in sorted(group, key=lambda m: m["_ta"])}
        mics = list(first.values())
        mean = {c: float(np.mean([m["_scores"][c] for m in mics])) for c in SCORE_CLASSES}
        cls = max(SCORE_CLASSES, key=lambda c: mean[c])
        if mean[cls] < self.p.min_score:
            self.suppressed += 1
            return []
        xy, t, where = self._locate(mics)
        evidence: dict[str, Any] = {"mics": len(mics), "scores": {c: round(v, 3) for c, v in mean.items()},
                                    "min_score": self.p.min_score, **where}
        return [make_alert(t, cls, mean[cls], xy=xy, source=first.keys(), evidence=evidence)]

    def _locate(self, mics: list[dict[str, Any]]) -> tuple[np.ndarray, float, dict[str, Any]]:
        """Position, time and evidence of a group: a TDOA fix when the layout and the solution allow it."""
        p = self.p
        pos = np.array([m["xy"] for m in mics], float)
        ta = np.array([m["_ta"] for m in mics], float)
        problem = layout_problem(pos, min_separation_m=p.min_separation_m, min_aperture_m=p.min_aperture_m)
        if problem is None:
            keep = _distinct(pos, p.min_separation_m)       # coincident microphones: the earliest arrival
            fix = localise_tdoa(pos[keep], ta[keep], c=p.speed_of_sound, sigma_t=p.sigma_t)
            if fix.ok and fix.sigma_m <= p.max_sigma_m:
                return fix.xy, fix.t0, {"method": "tdoa", "sigma_m": round(fix.sigma_m, 2),
                                        "rms_m": round(fix.rms_m, 2)}
            problem = (f"uncertain fix ({fix.sigma_m:.0f} m > {p.max_sigma_m:g} m)" if fix.ok
                       else "singular geometry: no finite fix")
        loud = max(mics, key=lambda m: _level(m))
        return (np.asarray(loud["xy"], float), float(ta.min()),
                {"method": "loudest_mic", "sigma_m": p.fallback_sigma_m, "fallback": problem})


def _level(m: dict[str, Any]) -> float:
    try:
        v = float(m.get("level_db", 0.0))
    except (TypeError, ValueError):
        return -np.inf
    return v if np.isfinite(v) else -np.inf


def _distinct(pos: np.ndarray, min_separation_m: float) -> np.ndarray:
    """Indices of the first of each group of positions closer than ``min_separation_m`` (in given order)."""
    keep: list[int] = []
    for i, q in enumerate(pos):
        if all(np.hypot(*(q - pos[j])) >= min_separation_m for j in keep):
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)
