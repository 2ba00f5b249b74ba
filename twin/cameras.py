"""OSM ``man_made=surveillance`` cameras: view direction and mounting height from their tags.

Direction: ``camera:direction``, else ``direction``, else ``surveillance:direction``; degrees ("45", "45°"),
16-point compass letters ("N", "NE", "SSW"...), a range "300-60" (its middle, going clockwise) or a list
"90;180" (the first). Compass bearing, 0 = north, clockwise, in [0, 360).
Height: ``height``, ``camera:height`` or ``est_height`` (metres, see ``twin.graphs.parse_metres``), else by
``camera:mount`` (``MOUNT_HEIGHT_M``), else None (the sensors layer chooses).
"""

from __future__ import annotations

import re

from twin.graphs import parse_metres
from twin.model import OSMCamera

__all__ = ["COMPASS", "MOUNT_HEIGHT_M", "camera_from_tags", "parse_direction"]

COMPASS = {name: i * 22.5 for i, name in enumerate(
    ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"))}
#: Typical mounting height (m) by ``camera:mount``.
MOUNT_HEIGHT_M = {"wall": 3.0, "ceiling": 2.5, "pole": 5.0, "street_lamp": 6.0, "column": 4.0,
                  "building": 4.0, "mast": 8.0, "traffic_signals": 5.5}
_DEG = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:°|deg|degrees)?\s*$", re.IGNORECASE)


def _one(text: str) -> float | None:
    t = text.strip().upper()
    if t in COMPASS:
        return COMPASS[t]
    m = _DEG.match(t.lower())
    return float(m.group(1)) % 360.0 if m else None


def parse_direction(value: str | None) -> float | None:
    """A ``direction`` tag as a compass bearing in degrees [0, 360), or None when unreadable."""
    if value is None:
        return None
    value = str(value).split(";")[0].strip()
    if not value:
        return None
    if "-" in value[1:]:
        a, b = value[0] + value[1:].split("-", 1)[0], value[1:].split("-", 1)[1]
        da, db = _one(a), _one(b)
        if da is not None and db is not None:
            return (da + ((db - da) % 360.0) / 2.0) % 360.0
        return None
    return _one(value)


def camera_from_tags(cid: str, xy: tuple[float, float], lonlat: tuple[float, float], tags: dict) -> OSMCamera:
    """An ``OSMCamera`` with direction and height parsed from ``tags`` (rules in the module docstring)."""
    direction = None
    for key in ("camera:direction", "direction", "surveillance:direction"):
        direction = parse_direction(tags.get(key))
        if direction is not None:
            break
    height = None
    for key in ("height", "camera:height", "est_height"):
        height = parse_metres(tags.get(key))
        if height is not None:
            break
    if height is None:
        height = MOUNT_HEIGHT_M.get(tags.get("camera:mount", ""))
    return OSMCamera(id=cid, xy=(float(xy[0]), float(xy[1])), lonlat=(float(lonlat[0]), float(lonlat[1])),
                     height_m=height, direction_deg=direction, tags=dict(tags))
