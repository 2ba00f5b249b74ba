"""The ground view of a calibrated camera, from its calibration record alone."""

import math

import numpy as np
import shapely

from analytics.camera_views import ViewParams, camera_table, view_polygon
from sensors.camera.geometry import Pose


def _record(pose: Pose) -> dict:
    return {"camera_id": "cam-a", "xy": [pose.x, pose.y], "resolution": [pose.width_px, pose.height_px],
            "image_to_ground": pose.image_to_ground().tolist(), "camera_matrix": pose.K.tolist(),
            "dist_coeffs": [0.0, 0.0], "pitch_deg": pose.pitch_deg}


def test_a_camera_sees_the_ground_ahead_within_its_field_and_range():
    pose = Pose(x=1000.0, y=2000.0, height_m=6.0, yaw_deg=90.0, pitch_deg=15.0, hfov_deg=60.0,
                width_px=1920, height_px=1080)   # yaw 90: looking east (+x)
    view = shapely.Polygon(view_polygon(_record(pose)))
    assert view.contains(shapely.Point(1030.0, 2000.0))        # 30 m ahead
    assert not view.contains(shapely.Point(970.0, 2000.0))     # 30 m behind
    assert not view.contains(shapely.Point(1030.0, 2030.0))    # 45 deg off axis, outside the 60 deg field
    assert not view.contains(shapely.Point(1095.0, 2000.0))    # beyond the 80 m default range
    far = np.asarray(view.exterior.coords) - [1000.0, 2000.0]
    assert np.hypot(far[:, 0], far[:, 1]).max() <= 80.0 + 1e-6
    bearings = np.degrees(np.arctan2(far[:, 0], far[:, 1]))[np.hypot(far[:, 0], far[:, 1]) > 1]
    assert np.all(np.abs(bearings - 90.0) <= pose.max_bearing_offset_deg() + 1.0)  # within the field
    wider = shapely.Polygon(view_polygon(_record(pose), params=ViewParams(max_range_m=150.0)))
    assert wider.area > view.area * 1.5 and wider.contains(shapely.Point(1095.0, 2000.0))


def test_a_camera_looking_at_the_sky_or_without_calibration_has_no_view():
    up = Pose(x=0.0, y=0.0, height_m=6.0, yaw_deg=0.0, pitch_deg=-30.0, hfov_deg=60.0,
              width_px=640, height_px=480)
    assert view_polygon(_record(up)) is None
    assert view_polygon({"xy": [0.0, 0.0]}) is None
    assert view_polygon({"xy": [0.0, math.nan], "resolution": [10, 10], "image_to_ground": np.eye(3)}) is None


def test_the_camera_table_gives_position_address_and_view():
    pose = Pose(x=0.0, y=0.0, height_m=8.0, yaw_deg=0.0, pitch_deg=20.0, hfov_deg=70.0,
                width_px=1280, height_px=720)
    table = camera_table({"cam-b": {"xy": [5.0, 5.0]}, "cam-a": _record(pose)}, ips={"cam-a": "10.20.1.11"})
    assert list(table) == ["cam-a", "cam-b"]
    assert table["cam-a"]["ip"] == "10.20.1.11" and table["cam-a"]["xy"] == [0.0, 0.0]
    assert shapely.Polygon(table["cam-a"]["view"]).contains(shapely.Point(0.0, 25.0))
    assert table["cam-b"] == {"xy": [5.0, 5.0], "ip": None, "view": None}
