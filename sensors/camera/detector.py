"""What the simulated detector reports: confidences calibrated on real detector output, part-box false
detections beside targets, and class confusion.

Confidence profiles (``CameraConfig.detector``) are measured on the TUD-Campus and TUD-Stadtmitte
sequences of MOT15 (``sensors.camera.detector_fit``, which ``tests/test_camera_detector.py`` reruns on the
files; 250 frames, 1,515 true boxes; Hungarian matching at IoU >= 0.5). ``frcnn`` (default) is Faster R-CNN
as distributed with SORT: a strong detector whose true detections score near 1. ``acf`` is the MOT15 public
ACF detector: a weak one whose true and false scores overlap widely; its raw scores (-0.15 to 122) are mapped
to (0, 1) by Platt scaling fitted on the same matches, ``conf = 1 / (1 + exp(-(0.0695 score - 1.9042)))``.

======================  ==========================================================  =====================
quantity                frcnn                                                       acf (Platt-scaled)
======================  ==========================================================  =====================
TP conf q0/5/10/25/50   0.5416 0.9165 0.9610 0.9854 0.9945                          0.1303 0.3449 0.5068
                                                                                    0.7567 0.9172
TP conf q75/90/95/100   0.9971 0.9984 0.9988 0.9995                                 0.9715 0.9913 0.9949
                                                                                    0.9986
FP conf q0/5/10/25/50   0.5039 0.5237 0.5424 0.6304 0.7599                          0.1284 0.1641 0.1908
                                                                                    0.2569 0.4362
FP conf q75/90/95/100   0.8996 0.9629 0.9912 0.9975                                 0.6584 0.8180 0.8750
                                                                                    0.9980
TP / FP / frames        1155 / 117 / 250                                            1065 / 386 / 250
h_ref_px                136.66 (10th percentile of TP box heights)                  129.07
small_slope             2.0533 (logit(conf) per unit log(box height), TPs)          2.4721
near FP per TP          0.0797 (92 FPs with IoU in [0.1, 0.5) to a true box)        0.3437 (366)
background FP / frame   0.10 (25 FPs with IoU < 0.1 to every true box)              0.08 (20)
======================  ==========================================================  =====================

A true detection draws its confidence from the TP quantiles (``sample_quantiles``: a uniform quantile level,
linear interpolation in logit space between the levels ``detector_fit.LEVELS``). Boxes smaller than
``h_ref_px`` (the calibration saw none much smaller) are less confident: their logit is lowered by
``small_slope * log(h_ref_px / h)``, the slope measured over the calibration's TP heights (128-300 px) and
extrapolated below them (a 30 px person at ``frcnn``: median conf about 0.89 instead of 0.9945). Every false
detection (clutter, persistent sources, near FPs, furniture reported as a bag) draws from the FP quantiles.
*Near* FPs are part boxes and duplicates beside a detected target: each true detection brings one with
probability ``near_fp_per_tp``, its box the target's shifted and scaled by the measured mean and SD
(``near_box``: centre offset / width, foot offset / height, log width and height ratios; ``frcnn`` FPs are
mostly upper-body boxes, foot 28 % of the height above the true foot). The background rate matches
``CameraConfig.fp_per_frame``'s default (0.1 per frame).

Class confusion (``CONFUSION``, ``CameraConfig.confusion``): P(reported class | true class), rows the true
classes of ``agents.world.CLASS_NAMES`` (person, vehicle, object = a bag, bicycle = a person riding one,
furniture = a bench, bin or bollard), columns the detector's classes person, vehicle, object, bicycle; what a
row leaves to 1 is *not reported*. Furniture has no detector class: it is not reported 90 % of the time and
otherwise called a bag (8 %) or a person (2 %), with an FP confidence. The values are assumptions, not
measurements (the TUD data have pedestrians only), set from published error analyses of object detectors:
classification errors are a small share of a modern detector's errors for people and vehicles and larger
for small objects and near-similar classes (Hoiem et al., "Diagnosing error in object detectors", ECCV
2012; Bolya et al., "TIDE", ECCV 2020); a cyclist is often reported as a person by person-centric models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.camera.detector_fit import LEVELS

__all__ = ["CONFUSION", "DETECTOR_CLASSES", "PROFILES", "DetectorProfile", "confuse", "near_box_params",
           "near_rate", "profile_index", "sample_quantiles", "tp_logit_shift"]

#: Detector classes (columns of ``CONFUSION``), indices into ``agents.world.CLASS_NAMES``.
DETECTOR_CLASSES = (0, 1, 2, 3)

#: P(reported | true): rows person, vehicle, object, bicycle, furniture; columns person, vehicle, object,
#: bicycle; 1 - row sum = not reported. Assumed values, sources in the module docstring.
CONFUSION = (
    (0.985, 0.005, 0.005, 0.005),
    (0.010, 0.980, 0.000, 0.010),
    (0.050, 0.000, 0.930, 0.020),
    (0.200, 0.020, 0.000, 0.780),
    (0.020, 0.000, 0.080, 0.000),
)


@dataclass(frozen=True)
class DetectorProfile:
    """One detector's calibrated confidence model (numbers and source in the module docstring)."""

    name: str
    tp_conf: tuple[float, ...]
    fp_conf: tuple[float, ...]
    h_ref_px: float
    small_slope: float
    near_fp_per_tp: float
    near_box: tuple[float, ...]     # mean, SD of: dx / w, dfoot / h, log w ratio, log h ratio
    source: str


#: The calibrated profiles (``sensors.camera.detector_fit.fit_profile`` on MOT15 TUD, rounded to 4 places).
PROFILES = {
    "frcnn": DetectorProfile(
        "frcnn",
        tp_conf=(0.5416, 0.9165, 0.9610, 0.9854, 0.9945, 0.9971, 0.9984, 0.9988, 0.9995),
        fp_conf=(0.5039, 0.5237, 0.5424, 0.6304, 0.7599, 0.8996, 0.9629, 0.9912, 0.9975),
        h_ref_px=136.66, small_slope=2.0533, near_fp_per_tp=0.0797,
        near_box=(-0.0072, 0.2360, -0.2783, 0.2807, -0.2569, 0.3782, -0.4296, 0.3882),
        source="det_frcnn_sort.txt"),
    "acf": DetectorProfile(
        "acf",
        tp_conf=(0.1303, 0.3449, 0.5068, 0.7567, 0.9172, 0.9715, 0.9913, 0.9949, 0.9986),
        fp_conf=(0.1284, 0.1641, 0.1908, 0.2569, 0.4362, 0.6584, 0.8180, 0.8750, 0.9980),
        h_ref_px=129.07, small_slope=2.4721, near_fp_per_tp=0.3437,
        near_box=(-0.0233, 0.3055, -0.0052, 0.1700, 0.0831, 0.4517, -0.2650, 0.3780),
        source="det.txt (Platt-scaled)"),
}
_NAMES = tuple(PROFILES)
_LEVELS = np.asarray(LEVELS)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


#: Logit tables (n_profiles, n_levels) of the TP and FP quantiles, in ``_NAMES`` order.
_TP = np.stack([_logit(PROFILES[n].tp_conf) for n in _NAMES])
_FP = np.stack([_logit(PROFILES[n].fp_conf) for n in _NAMES])


def profile_index(name: str) -> int:
    """Row of profile ``name`` in the stacked tables (``KeyError`` if unknown)."""
    if name not in PROFILES:
        raise KeyError(name)
    return _NAMES.index(name)


def sample_quantiles(prof: np.ndarray, u: np.ndarray, *, false: bool) -> np.ndarray:
    """Logit of the confidence at quantile level ``u`` (each in [0, 1]) of profile rows ``prof``: the TP
    table, or the FP table if ``false``; linear in logit space between the table's levels."""
    table = _FP if false else _TP
    u = np.clip(np.asarray(u, float), 0.0, 1.0)
    k = np.clip(np.searchsorted(_LEVELS, u, side="right") - 1, 0, len(_LEVELS) - 2)
    a = (u - _LEVELS[k]) / (_LEVELS[k + 1] - _LEVELS[k])
    return table[prof, k] * (1 - a) + table[prof, k + 1] * a


def tp_logit_shift(prof: np.ndarray, h_px: np.ndarray) -> np.ndarray:
    """How much lower (logit) a true detection ``h_px`` tall scores than the calibration's boxes: 0 at and
    above the profile's ``h_ref_px``, ``small_slope * log(h_ref_px / h)`` below."""
    href = np.array([PROFILES[n].h_ref_px for n in _NAMES])[prof]
    slope = np.array([PROFILES[n].small_slope for n in _NAMES])[prof]
    return slope * np.log(np.maximum(href / np.maximum(np.asarray(h_px, float), 1e-3), 1.0))


def near_box_params(prof: np.ndarray) -> np.ndarray:
    """(n, 8) ``near_box`` rows of profile rows ``prof``."""
    return np.array([PROFILES[n].near_box for n in _NAMES])[prof]


def near_rate(prof: np.ndarray) -> np.ndarray:
    """``near_fp_per_tp`` of profile rows ``prof``."""
    return np.array([PROFILES[n].near_fp_per_tp for n in _NAMES])[prof]


def confuse(rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Reported class (index into ``agents.world.CLASS_NAMES``, -1 = not reported) of detections whose rows
    of the confusion matrix (P(reported | their true class), (n, 4)) are ``rows``, from uniform draws ``u``.

    >>> confuse(np.array([CONFUSION[3], CONFUSION[4], CONFUSION[4]]), np.array([0.1, 0.05, 0.5])).tolist()
    [0, 2, -1]
    """
    cum = np.cumsum(np.asarray(rows, float), axis=1)
    k = (np.asarray(u)[:, None] >= cum).sum(axis=1)
    return np.where(k < cum.shape[1], np.asarray(DETECTOR_CLASSES)[np.minimum(k, cum.shape[1] - 1)], -1)
