"""Pinhole camera geometry: pose -> rotation, intrinsics, 3-D projection and the ground-plane homography.

``project_offsets`` is the one pinhole projection of the camera code: a pose's ``project``, the group's
frame (foot and head of every target, clutter boxes) and the coverage matrix of camera placement all call
it, many cameras' points in one numpy pass.

Frames: world is east/north/up in projected metres (x east, y north, z up, ground at z = 0). The image
has ``u`` to the right and ``v`` down, origin at the top-left pixel corner; the principal point is the
image centre and pixels are square. ``yaw_deg`` is the compass bearing of the optical axis (0 = north =
+y, 90 = east, clockwise); ``pitch_deg`` is the tilt of the optical axis below the horizon (down
positive, 0 = level, 90 = straight down). No lens distortion and no roll."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

__all__ = ["Pose", "Projection", "apply_homography", "default_pitch_deg", "project_offsets"]


def default_pitch_deg(height_m: float, ground_distance_m: float) -> float:
    """Pitch (down positive) that puts the image centre on the ground ``ground_distance_m`` away."""
    return math.degrees(math.atan2(float(height_m), max(float(ground_distance_m), 1e-3)))


@dataclass(frozen=True)
class Pose:
    """Where a camera is and where it looks, plus its intrinsics (conventions in the module docstring)."""

    x: float
    y: float
    height_m: float
    yaw_deg: float
    pitch_deg: float
    hfov_deg: float
    width_px: int
    height_px: int

    @cached_property
    def focal_px(self) -> float:
        """Focal length in pixels from the horizontal field of view."""
        return (self.width_px / 2.0) / math.tan(math.radians(self.hfov_deg) / 2.0)

    @cached_property
    def K(self) -> np.ndarray:
        f = self.focal_px
        return np.array([[f, 0.0, self.width_px / 2.0], [0.0, f, self.height_px / 2.0], [0.0, 0.0, 1.0]])

    @cached_property
    def R(self) -> np.ndarray:
        """World -> camera rotation; rows are the camera's right, down and forward axes (world frame)."""
        psi, th = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        fwd = np.array([math.sin(psi) * math.cos(th), math.cos(psi) * math.cos(th), -math.sin(th)])
        right = np.array([math.cos(psi), -math.sin(psi), 0.0])
        down = np.cross(fwd, right)
        return np.vstack([right, down, fwd])

    @cached_property
    def centre(self) -> np.ndarray:
        return np.array([self.x, self.y, self.height_m])

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        """World points (N, 3) -> camera coordinates (N, 3) (right, down, forward)."""
        return (np.asarray(pts, float) - self.centre) @ self.R.T

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World points (N, 3) -> pixel ``u``, ``v`` and depth along the axis (m); depth <= 0 is behind
        (``project_offsets``)."""
        p = np.asarray(pts, float).reshape(-1, 3)
        proj, _ = project_offsets(self.R, p[:, 0] - self.x, p[:, 1] - self.y, self.height_m - p[:, 2],
                                  self.focal_px, self.width_px, self.height_px)
        return proj

    def ground_to_image(self) -> np.ndarray:
        """3x3 homography taking ground ``(x, y, 1)`` (metres) to pixel ``(u, v, 1)`` up to scale."""
        R = self.R
        # Use camera-relative ground coordinates and then shift: better conditioned than raw UTM numbers.
        h_rel = self.K @ np.column_stack([R[:, 0], R[:, 1], R @ np.array([0.0, 0.0, -self.height_m])])
        shift = np.array([[1.0, 0.0, -self.x], [0.0, 1.0, -self.y], [0.0, 0.0, 1.0]])
        H = h_rel @ shift
        return H / H[2, 2] if abs(H[2, 2]) > 1e-12 else H

    def image_to_ground(self) -> np.ndarray:
        """3x3 homography taking pixel ``(u, v, 1)`` to ground ``(x, y, 1)`` (metres) up to scale."""
        R = self.R
        h_rel = self.K @ np.column_stack([R[:, 0], R[:, 1], R @ np.array([0.0, 0.0, -self.height_m])])
        unshift = np.array([[1.0, 0.0, self.x], [0.0, 1.0, self.y], [0.0, 0.0, 1.0]])
        H = unshift @ np.linalg.inv(h_rel)
        return H / H[2, 2] if abs(H[2, 2]) > 1e-12 else H

    def max_bearing_offset_deg(self) -> float:
        """Largest horizontal angle between the view bearing and a ground ray through the image (180 if the
        image sees the ground behind the camera's foot)."""
        w, h, f = self.width_px, self.height_px, self.focal_px
        corners = np.array([[0, 0], [w, 0], [0, h], [w, h], [w / 2, h]], float)
        a = (corners[:, 0] - w / 2) / f
        b = (corners[:, 1] - h / 2) / f
        rays = self.R[2] + a[:, None] * self.R[0] + b[:, None] * self.R[1]
        fwd_h = np.array([math.sin(math.radians(self.yaw_deg)), math.cos(math.radians(self.yaw_deg))])
        along = rays[:, :2] @ fwd_h
        if (along <= 1e-9).any():
            return 180.0
        side = np.abs(rays[:, 0] * fwd_h[1] - rays[:, 1] * fwd_h[0])
        return float(np.degrees(np.arctan2(side, along)).max())

    def horizon_v(self) -> float:
        """Image row of the horizon (rows below it see the ground)."""
        return self.height_px / 2.0 - self.focal_px * math.tan(math.radians(self.pitch_deg))


class Projection(NamedTuple):
    """Points seen by pinhole cameras: pixel column ``u`` (right), row ``v`` (down) and depth ``z`` (m)
    along the optical axis, each (N,). ``u`` and ``v`` are NaN where ``|z| <= 1e-9``; ``z <= 0`` is behind
    the camera (``u``, ``v`` then mean nothing)."""

    u: np.ndarray
    v: np.ndarray
    z: np.ndarray


def project_offsets(R: np.ndarray, dx: np.ndarray, dy: np.ndarray, drop_m: np.ndarray | float,
                    focal_px: np.ndarray | float, width_px: np.ndarray | float, height_px: np.ndarray | float,
                    *, rise_m: np.ndarray | None = None) -> tuple[Projection, Projection | None]:
    """Pinhole projection of points given relative to their camera, for many cameras at once.

    Point ``i`` lies ``dx[i]`` east, ``dy[i]`` north and ``drop_m[i]`` below the centre of a camera whose
    world -> camera rotation (``Pose.R``) is ``R[i]``. Its camera coordinates are the rotation's columns
    weighted by the offset, ``R[:, 0] dx + R[:, 1] dy - drop R[:, 2]``, and its pixel is
    ``u = f x / z + W / 2``, ``v = f y / z + H / 2`` (principal point at the image centre).

    Parameters
    ----------
    R : ndarray
        (N, 3, 3) rotations, one per point, or one (3, 3) rotation for all.
    dx, dy : ndarray
        (N,) east and north offsets from the camera centre (m).
    drop_m : ndarray or float
        (N,) or one depth below the camera centre (m): the camera's height for a point on the ground.
    focal_px, width_px, height_px : ndarray or float
        (N,) or one focal length and image size (px).
    rise_m : ndarray, optional
        (N,) heights (m): also project the points that far above (the top of an upright box standing on
        the point), from the point's camera coordinates plus ``rise_m R[:, 2]``.

    Returns
    -------
    tuple of Projection
        The points' projection and the risen points' (None without ``rise_m``).
    """
    R = np.asarray(R, float)
    drop = np.asarray(drop_m, float)
    cam = R[..., 0] * dx[:, None] + R[..., 1] * dy[:, None] - drop[..., None] * R[..., 2]
    base = _pixels(cam, focal_px, width_px, height_px)
    if rise_m is None:
        return base, None
    top = cam + np.asarray(rise_m, float)[:, None] * R[..., 2]
    return base, _pixels(top, focal_px, width_px, height_px)


def _pixels(cam: np.ndarray, f, width, height) -> Projection:
    """Camera coordinates (N, 3) -> ``Projection``."""
    z = cam[:, 2]
    zs = np.where(np.abs(z) > 1e-9, z, np.nan)
    u = f * cam[:, 0] / zs + width / 2.0
    v = f * cam[:, 1] / zs + height / 2.0
    return Projection(u, v, z)


def apply_homography(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 3x3 homography to points (N, 2); points mapped to infinity come back as NaN."""
    p = np.asarray(pts, float).reshape(-1, 2)
    q = np.column_stack([p, np.ones(len(p))]) @ np.asarray(H, float).T
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(np.abs(q[:, 2]) > 1e-12, q[:, 2], np.nan)
        return q[:, :2] / w[:, None]

