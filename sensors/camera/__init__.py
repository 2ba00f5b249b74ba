"""The simulated CCTV camera and everything it is made of.

Modules: ``camera`` (the ``Camera`` sensor: detector model, conditions, faults; read its docstring first),
``config`` (``CameraConfig``, the condition multipliers, calibration-error and lens defaults), ``group``
(cameras sampled at the same instant observed in one numpy pass), ``rig`` (a batch's cameras as arrays, the
lens applied to boxes), ``geometry`` (pinhole pose with roll, radial lens distortion, projection and ground
homography), ``install`` (a camera's true lens, published calibration and false sources, drawn at build),
``detector`` (confidence profiles calibrated on real detector output, class confusion), ``detector_fit``
(that calibration, recomputed from MOTChallenge files), ``crowd`` (people hiding people), ``false_dets``
(clutter, persistent and part-box false detections), ``persistent`` (false sources that stay), ``index``
(the per-instant grid of targets), ``occlusion`` (building shadows and sight lines), ``raster`` (shadows as
cell codes for fast point tests), ``shadow_cache`` (shadows kept on disk), ``detections`` (a frame's
detections as dicts and arrays) and ``coverage`` (greedy camera placement for the area of chosen assets).
"""

from sensors.camera.camera import Camera, foot_points, to_ground
from sensors.camera.config import (
    CONDITIONS,
    PERFECT_DETECTOR,
    PERFECT_OPTICS,
    CameraConfig,
    check_conditions,
)
from sensors.camera.coverage import CoverageProblem, coverage_problem, greedy_cover
from sensors.camera.detections import Detections, FrameArrays, detection_dicts
from sensors.camera.detector import CONFUSION, PROFILES, DetectorProfile
from sensors.camera.geometry import Pose, apply_homography, default_pitch_deg
from sensors.camera.group import (
    MOT_CLASS,
    CameraGroup,
    CameraTruth,
    GroupMember,
    ShadowAtlas,
    detection_probability,
    observe_batch,
)
from sensors.camera.index import CELL_M, TargetGrid, cells_near, grid_for
from sensors.camera.occlusion import Shadow, blocked, shadow
from sensors.camera.raster import RASTER_CELL_M, ShadowRaster
from sensors.camera.shadow_cache import cached_shadow, shadow_dir

__all__ = [
    "CELL_M", "CONDITIONS", "CONFUSION", "MOT_CLASS", "PERFECT_DETECTOR", "PERFECT_OPTICS", "PROFILES",
    "RASTER_CELL_M", "Camera", "CameraConfig", "CameraGroup",
    "CameraTruth", "CoverageProblem", "Detections", "DetectorProfile", "FrameArrays", "GroupMember", "Pose",
    "Shadow",
    "ShadowAtlas", "ShadowRaster", "TargetGrid", "apply_homography", "blocked", "buildings_digest",
    "cached_shadow", "cells_near", "check_conditions", "coverage_problem", "default_pitch_deg",
    "detection_dicts", "detection_probability", "foot_points", "greedy_cover", "grid_for", "observe_batch",
    "shadow", "shadow_dir", "to_ground",
]
