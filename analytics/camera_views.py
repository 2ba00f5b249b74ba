"""What each camera sees on the ground, from its ``camera/calibration`` record alone (as a real video
management system publishes it): the view polygon used to call up the cameras of an incident and to tell
which area a lost camera leaves blind.

The polygon is the convex hull of the camera's ground position and the ground points of an image grid
(``columns`` x ``rows`` pixels, undistorted and projected through ``image_to_ground``) that lie in front of
the camera and within ``max_range_m``: a camera's detector finds people only up to some tens of metres,
and rows near the horizon project to kilometres.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from analytics.geometry import GroundProjector, camera_position, undistort_points

__all__ = ["ViewParams", "camera_table", "view_polygon"]


@dataclass(frozen=True)
class ViewParams:
    """How far and how finely a camera's view is traced."""

    #: Ground range (m) beyond which a camera's view is not counted (a person is then a few pixels tall).
    max_range_m: float = 80.0
    #: Image grid sampled: columns across, rows from the bottom edge up to the top.
    columns: int = 9
    rows: int = 48


def view_polygon(record: Mapping[str, Any], *, params: ViewParams | None = None) -> list[list[float]] | None:
    """The ground polygon (closed ring of ``[x, y]`` metres) a calibrated camera sees, or None when the
    record lacks a position, a homography or a resolution, or no image point reaches the ground.

    A 100 x 100 image seeing the 20 x 20 m square 10-30 m ahead (y) of a camera at the origin:

    >>> rec = {"xy": [0.0, 0.0], "resolution": [100, 100],
    ...        "image_to_ground": [[0.2, 0.0, -10.0], [0.0, -0.2, 30.0], [0.0, 0.0, 1.0]]}
    >>> view_polygon(rec)
    [[0.0, 0.0], [-10.0, 10.0], [-10.0, 30.0], [10.0, 30.0], [10.0, 10.0], [0.0, 0.0]]
    """
    p = params or ViewParams()
    cam = camera_position(dict(record))
    proj = GroundProjector.from_record(record)
    res = record.get("resolution")
    if cam is None or proj is None or not res or len(res) != 2:
        return None
    w, h = float(res[0]), float(res[1])
    us, vs = np.meshgrid(np.linspace(0.0, w, p.columns), np.linspace(h, 0.0, p.rows))
    pix = np.column_stack([us.ravel(), vs.ravel()])
    ground = proj.pixels(pix)
    c = np.asarray(cam)
    ahead = _in_front(record, proj, pix, c)
    rel = ground - c
    with np.errstate(invalid="ignore"):
        ok = ahead & np.isfinite(ground).all(axis=1) & (np.hypot(rel[:, 0], rel[:, 1]) <= p.max_range_m)
    if ok.sum() < 2:
        return None
    hull = shapely.MultiPoint(np.vstack([c, ground[ok]])).convex_hull
    if hull.geom_type != "Polygon" or hull.area <= 0:
        return None
    return [[round(float(x), 2), round(float(y), 2)] for x, y in hull.exterior.coords]


def _in_front(record: Mapping[str, Any], proj: GroundProjector, pix: np.ndarray,
              cam: np.ndarray) -> np.ndarray:
    """Which pixels' rays meet the ground in front of the camera rather than behind it (above the horizon a
    homography maps a pixel to the ground behind). The homogeneous scale of a ground point's pixel has the
    sign of its depth; the camera's nadir, straight below it, is in front for a camera pitched down (every
    CCTV mount; a record's ``pitch_deg`` <= 0 says otherwise), which fixes the sign."""
    undist = pix if proj.dist_coeffs is None else undistort_points(pix, proj.camera_matrix, proj.dist_coeffs)
    hom = np.column_stack([undist, np.ones(len(undist))]) @ proj.image_to_ground.T
    try:
        nadir = np.linalg.solve(proj.image_to_ground, np.array([cam[0], cam[1], 1.0]))
    except np.linalg.LinAlgError:
        return np.zeros(len(pix), dtype=bool)
    sign = np.sign(nadir[2]) * (-1.0 if float(record.get("pitch_deg", 1.0) or 0.0) <= 0 else 1.0)
    return np.sign(hom[:, 2]) == sign


def camera_table(records: Mapping[str, Mapping[str, Any]], *, ips: Mapping[str, str] | None = None,
                 params: ViewParams | None = None) -> dict[str, dict[str, Any]]:
    """``{camera_id: {"xy", "ip", "view"}}`` from the latest calibration record of each camera (and the
    cameras' addresses, when the site's network plan gives them), for fusion and the operational picture."""
    ips = ips or {}
    out: dict[str, dict[str, Any]] = {}
    for cid in sorted(records):
        rec = records[cid]
        xy = camera_position(dict(rec))
        out[cid] = {"xy": None if xy is None else [xy[0], xy[1]], "ip": ips.get(cid),
                    "view": view_polygon(rec, params=params)}
    return out
