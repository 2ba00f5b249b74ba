"""Pinhole camera geometry: pose -> rotation, intrinsics, 3-D projection and the ground-plane homography.

``project_offsets`` is the one pinhole projection of the camera code: a pose's ``project``, the group's
frame (foot and head of every target, clutter boxes) and the coverage matrix of camera placement all call
it, many cameras' points in one numpy pass.

Frames: world is east/north/up in projected metres (x east, y north, z up, ground at z = 0). The image
has ``u`` to the right and ``v`` down, origin at the top-left pixel corner; the principal point is the
image centre and pixels are square. ``yaw_deg`` is the compass bearing of the optical axis (0 = north =
+y, 90 = east, clockwise); ``pitch_deg`` is the tilt of the optical axis below the horizon (down
positive, 0 = level, 90 = straight down); ``roll_deg`` turns the camera about its optical axis (positive
turns the image's right edge down).

Lens: radial distortion of the Brown-Conrady model as OpenCV writes it (k1, k2; no tangential terms):
a pinhole pixel at normalised coordinates ``(x, y) = ((u - W/2) / f, (v - H/2) / f)`` is seen at
``(x, y) * (1 + k1 r^2 + k2 r^4)``, ``r^2 = x^2 + y^2`` (``distort_pixels``; ``undistort_pixels`` inverts it).
The ground homographies of a ``Pose`` map *undistorted* pixels; ``Pose.project`` gives distorted ones (where
a point is seen). Beyond the radius where the distorted radius stops growing (``fold_r2``) the model folds
back; points there are reported as NaN (no camera of the project's ranges images that far off-axis)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

__all__ = ["Pose", "Projection", "apply_homography", "default_pitch_deg", "distort_pixels", "fold_r2",
           "project_offsets", "undistort_pixels"]


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
    roll_deg: float = 0.0
    k1: float = 0.0
    k2: float = 0.0

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
        if self.roll_deg:
            c, s = math.cos(math.radians(self.roll_deg)), math.sin(math.radians(self.roll_deg))
            right, down = c * right + s * down, -s * right + c * down
        return np.vstack([right, down, fwd])

    @cached_property
    def centre(self) -> np.ndarray:
        return np.array([self.x, self.y, self.height_m])

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        """World points (N, 3) -> camera coordinates (N, 3) (right, down, forward)."""
        return (np.asarray(pts, float) - self.centre) @ self.R.T

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World points (N, 3) -> pixel ``u``, ``v`` (lens distortion applied) and depth along the axis (m);
        depth <= 0 is behind (``project_offsets``)."""
        p = np.asarray(pts, float).reshape(-1, 3)
        proj, _ = project_offsets(self.R, p[:, 0] - self.x, p[:, 1] - self.y, self.height_m - p[:, 2],
                                  self.focal_px, self.width_px, self.height_px)
        if not (self.k1 or self.k2):
            return proj
        u, v = distort_pixels(proj.u, proj.v, self.focal_px, self.width_px, self.height_px, self.k1, self.k2)
        return Projection(u, v, proj.z)

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
        corners = np.array([[0, 0], [w, 0], [0, h], [w, h], [w / 2, h], [0, h / 2], [w, h / 2]], float)
        if self.k1 or self.k2:     # the rays the lens bends onto the image's edge
            corners = np.column_stack(undistort_pixels(corners[:, 0], corners[:, 1], f, w, h, self.k1,
                                                       self.k2))
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
        """Image row of the horizon (rows below it see the ground; pinhole, no roll or distortion)."""
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



def fold_r2(k1: np.ndarray | float, k2: np.ndarray | float) -> np.ndarray:
    """Squared normalised radius where the distorted radius ``r (1 + k1 r^2 + k2 r^4)`` stops growing
    (``inf`` where it always grows): the smallest positive root of ``1 + 3 k1 s + 5 k2 s^2`` in ``s = r^2``.
    The lens model is used inside it only."""
    k1, k2 = np.broadcast_arrays(np.asarray(k1, float), np.asarray(k2, float))
    a, b = 5.0 * k2, 3.0 * k1
    out = np.full(k1.shape, np.inf)
    lin = (a == 0) & (b < 0)
    out[lin] = -1.0 / b[lin]
    disc = b * b - 4.0 * a
    quad = (a != 0) & (disc >= 0)
    sq = np.sqrt(disc[quad])
    roots = np.stack([(-b[quad] - sq) / (2 * a[quad]), (-b[quad] + sq) / (2 * a[quad])])
    out[quad] = np.where(roots > 0, roots, np.inf).min(axis=0)
    return out


def distort_pixels(u, v, f, width, height, k1, k2, fold=None) -> tuple[np.ndarray, np.ndarray]:
    """Where pinhole pixels ``(u, v)`` are seen through a lens with radial coefficients ``k1``, ``k2`` (all
    arguments arrays of one length, or scalars; model in the module docstring). NaN past ``fold_r2`` (give
    ``fold`` if it is known already)."""
    cx, cy = np.asarray(width, float) / 2.0, np.asarray(height, float) / 2.0
    x, y = (np.asarray(u, float) - cx) / f, (np.asarray(v, float) - cy) / f
    r2 = x * x + y * y
    s = 1.0 + r2 * (k1 + k2 * r2)
    s = np.where(r2 < (fold_r2(k1, k2) if fold is None else fold), s, np.nan)
    return cx + f * x * s, cy + f * y * s


def undistort_pixels(u, v, f, width, height, k1, k2, iterations: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole pixels of distorted pixels ``(u, v)`` (inverse of ``distort_pixels``): the undistorted radius
    solves ``r (1 + k1 r^2 + k2 r^4) = r_d`` by Newton's method from ``r_d``; NaN where it has no root inside
    ``fold_r2``."""
    cx, cy = np.asarray(width, float) / 2.0, np.asarray(height, float) / 2.0
    xd, yd = (np.asarray(u, float) - cx) / f, (np.asarray(v, float) - cy) / f
    rd = np.hypot(xd, yd)
    k1b = np.broadcast_to(np.asarray(k1, float), rd.shape)
    k2b = np.broadcast_to(np.asarray(k2, float), rd.shape)
    r = rd.copy()
    for _ in range(iterations):
        r2 = r * r
        g = r * (1.0 + r2 * (k1b + k2b * r2)) - rd
        dg = 1.0 + r2 * (3.0 * k1b + 5.0 * k2b * r2)
        r = r - g / np.where(np.abs(dg) > 1e-9, dg, 1e-9)
    r2 = r * r
    ok = np.abs(r * (1.0 + r2 * (k1b + k2b * r2)) - rd) < 1e-9 * np.maximum(rd, 1.0)
    ok &= (r2 < fold_r2(k1b, k2b)) & (r >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(rd > 0, r / rd, 1.0)
    scale = np.where(ok, scale, np.nan)
    return cx + f * xd * scale, cy + f * yd * scale
