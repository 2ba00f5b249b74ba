"""The small synthetic corridor that output and export tests run: two cameras (5 and 2 fps) over 40 s of
60 people walking both ways. ``corridor(name, rest)`` is its scenario text, ``rest`` the lines that follow
the camera list (microphones, attacks, events)."""

from __future__ import annotations

_HEAD = """\
name: {name}
city: {{synthetic: {{kind: corridor, length_m: 60, width_m: 4}}}}
duration_s: 40
crowd:
  flows:
    - {{from: start, to: end, people: 40, depart_s: [0, 10]}}
    - {{from: end, to: start, people: 20, depart_s: [0, 10]}}
sensors:
  cameras:
    list: [{{id: c1, at: start, yaw_deg: 90, height_m: 5, fps: 5}}, {{id: c2, at: end, yaw_deg: 270, fps: 2}}]
"""


def corridor(name: str, rest: str) -> str:
    """The corridor scenario named ``name`` with ``rest`` (YAML lines) after its camera list."""
    return _HEAD.format(name=name) + rest
