"""The simulated sensors and the output side that writes what they publish.

``base`` (the ``Sensor`` and ``Deferred`` roles), ``camera/`` (cameras: geometry, occlusion, detector model,
groups, placement coverage), ``acoustic`` (microphones), ``counters`` (crowd counters), ``cyber/`` (the cyber
range and its logs), ``placement`` (sensors from a scenario's spec) and ``export/`` (the bus, the recorder,
MOT export and the export process).
"""
