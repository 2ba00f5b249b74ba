"""The detector registry: built-in order and alert kinds, a detector defined here joining the pipeline (its
parameters, its topics, its alerts), unregistering, name clashes, parameters from a plain mapping."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from analytics.base import (
    Detector,
    DetectorContext,
    DetectorRegistryError,
    UnknownDetectorError,
    alert_kinds,
    make_alert,
)
from analytics.crowd import CrowdDensityDetector
from analytics.cyber import ConnDetector
from analytics.loitering import LoiteringDetector, LoiteringParams
from analytics.params import AnalyticsParams, AnalyticsParamsError
from analytics.pipeline import AnalyticsPipeline, build_detectors, run_pipeline
from analytics.tracking import TrackerParams

ROOT = Path(__file__).resolve().parent.parent

#: The built-in detectors in pipeline order (alerts.jsonl's line order follows it).
BUILTIN = (
    "loitering",
    "ground_loitering",
    "abandoned",
    "running",
    "zone_intrusion",
    "vehicle",
    "density",
    "crowd_anomaly",
    "acoustic",
    "port_scan",
    "brute_force",
    "dos",
    "beacon",
    "stream_loss",
    "video_content",
    "camera_tamper",
)
BUILTIN_KINDS = (
    "loitering",
    "abandoned_object",
    "running",
    "zone_intrusion",
    "vehicle_intrusion",
    "crowd_density",
    "crowd_anomaly",
    "gunshot",
    "explosion",
    "port_scan",
    "brute_force",
    "dos",
    "beaconing",
    "stream_loss",
    "video_frozen",
    "video_replay",
    "camera_tamper",
)
ZONE = {"square": [[0, 0], [10, 0], [10, 10], [0, 10]]}


@pytest.fixture
def registry():
    """Unregisters every detector the test registers."""
    before = set(Detector.registered())
    yield
    for name in set(Detector.registered()) - before:
        Detector.unregister(name)


@dataclass(frozen=True, slots=True)
class DoorParams:
    """Door held open: a door open for longer than ``max_open_s`` alerts when it closes (or at end)."""

    max_open_s: float = 30.0
    conf: float = 0.6


def define_door_detector() -> type[Detector]:
    """A detector as a user would write it outside the package (defining it registers it)."""

    class DoorDetector(Detector):
        name = "door"
        alert_kinds = ("door_held_open",)
        Params = DoorParams
        topics = ("access/door",)

        def __init__(self, params: DoorParams = DoorParams()) -> None:
            self.p = params
            self.seen: list[str] = []
            self._opened: dict[str, float] = {}

        def update(self, msg):
            self.seen.append(msg["topic"])
            door, t = msg["door"], float(msg["t"])
            if msg["state"] == "open":
                self._opened.setdefault(door, t)
                return []
            return self._alert(door, t, self._opened.pop(door, t))

        def flush(self):
            return [a for door, t0 in self._opened.items() for a in self._alert(door, t0 + 1e9, t0)]

        def _alert(self, door, t, t0):
            if t - t0 <= self.p.max_open_s:
                return []
            return [make_alert(t, "door_held_open", self.p.conf, xy=(1.0, 2.0), source=[door])]

    return DoorDetector


def door_messages():
    return [
        {"t": 0.0, "topic": "access/door", "door": "d1", "state": "open"},
        {"t": 5.0, "topic": "net/conn", "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", "id.resp_p": 80},
        {"t": 10.0, "topic": "access/door", "door": "d1", "state": "closed"},
        {"t": 20.0, "topic": "access/door", "door": "d2", "state": "open"},
        {"t": 70.0, "topic": "access/door", "door": "d2", "state": "closed"},
    ]


def test_builtin_registry_order_and_alert_kinds() -> None:
    assert tuple(Detector.registered()) == BUILTIN
    assert alert_kinds() == BUILTIN_KINDS
    assert [d.name for d in build_detectors()] == list(BUILTIN)
    assert "ConnDetector" not in {c.__name__ for c in Detector.registered().values()}
    assert ConnDetector.name is None  # an abstract helper: no name, not registered


def test_builtin_order_does_not_depend_on_which_module_is_imported_first() -> None:
    """The engine imports analytics.crowd before analytics.pipeline; a test may import acoustic first."""
    code = (
        "import analytics.cyber.dos, analytics.acoustic, analytics.crowd\n"
        "from analytics.base import Detector\n"
        "print(','.join(Detector.registered()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert tuple(out.stdout.strip().split(",")) == BUILTIN


def test_detector_defined_here_joins_the_pipeline(registry) -> None:
    door = define_door_detector()
    assert list(Detector.registered())[-1] == "door" and tuple(Detector.registered())[:-1] == BUILTIN
    assert alert_kinds() == (*BUILTIN_KINDS, "door_held_open")
    assert AnalyticsParams().door == DoorParams() and AnalyticsParams().of("door") == DoorParams()

    pipe = AnalyticsPipeline(crs="EPSG:32635", params=AnalyticsParams(door=DoorParams(max_open_s=20.0)))
    assert [d.name for d in pipe.detectors] == [*BUILTIN, "door"]
    mine = pipe.detectors[-1]
    assert isinstance(mine, door) and mine.p.max_open_s == 20.0
    alerts = list(run_pipeline(door_messages(), pipe))
    assert mine.seen == ["access/door"] * 4  # only its topic, not the conn record
    assert [(a["kind"], a["t"], a["source"]) for a in alerts] == [("door_held_open", 70.0, ["d2"])]
    assert alerts[0]["lonlat"] is not None  # the pipeline finishes its alerts like any other

    # end of stream: a door still open comes out of the pipeline's flush
    pipe = AnalyticsPipeline(params=AnalyticsParams(door=DoorParams(max_open_s=1.0)))
    alerts = list(run_pipeline(door_messages()[:4], pipe))
    assert [(a["kind"], a["source"]) for a in alerts] == [
        ("door_held_open", ["d1"]),
        ("door_held_open", ["d2"]),
    ]


def test_params_made_before_registration_give_the_new_detector_its_defaults(registry) -> None:
    params = AnalyticsParams()
    define_door_detector()
    assert params.door == DoorParams()
    assert AnalyticsPipeline(params=params).detectors[-1].p == DoorParams()


def test_unregister_cleans_up(registry) -> None:
    door = define_door_detector()
    assert Detector.unregister("door") is door
    assert tuple(Detector.registered()) == BUILTIN and alert_kinds() == BUILTIN_KINDS
    assert [d.name for d in AnalyticsPipeline().detectors] == list(BUILTIN)
    with pytest.raises(ValueError, match="unknown alert kind 'door_held_open'"):
        make_alert(0.0, "door_held_open", 1.0)
    with pytest.raises(AnalyticsParamsError, match="'door': no such detector"):
        AnalyticsParams(door=DoorParams())
    with pytest.raises(UnknownDetectorError, match="no detector registered under 'door'"):
        Detector.unregister("door")
    assert define_door_detector() is not door  # the name is free again


def test_name_clash_raises_and_keeps_the_first(registry) -> None:
    with pytest.raises(DetectorRegistryError, match="'loitering' is taken by analytics.loitering.Loitering"):

        class Loiter2(LoiteringDetector):
            name = "loitering"

    assert Detector.registered()["loitering"] is LoiteringDetector
    define_door_detector()
    with pytest.raises(DetectorRegistryError, match="'door' is taken"):
        define_door_detector()


def test_subclass_without_its_own_name_and_bad_declarations() -> None:
    class SlowLoitering(LoiteringDetector):
        """Inherits the name: not registered a second time."""

    assert Detector.registered()["loitering"] is LoiteringDetector
    with pytest.raises(DetectorRegistryError, match="alert_kinds must be a non-empty tuple"):

        class NoKinds(Detector):
            name = "no_kinds"
            Params = DoorParams

    with pytest.raises(DetectorRegistryError, match="Params must be a dataclass"):

        class NoParams(Detector):
            name = "no_params"
            alert_kinds = ("x",)

    @dataclass(frozen=True)
    class Required:
        limit: float

    with pytest.raises(DetectorRegistryError, match=r"needs a default: \['limit'\]"):

        class NeedsLimit(Detector):
            name = "needs_limit"
            alert_kinds = ("x",)
            Params = Required

    assert tuple(Detector.registered()) == BUILTIN


def test_context_finds_detectors_built_before(registry) -> None:
    """A detector that reads another gets it by name from the context; crowd anomaly reads density."""
    seen = {}

    class DensityWatcher(Detector):
        name = "density_watcher"
        alert_kinds = ("density_watch",)
        Params = DoorParams

        def __init__(self, density, params):
            self.density = density

        @classmethod
        def from_context(cls, ctx, params):
            seen["zones"] = ctx.zones
            return cls(ctx.detector("density"), params)

        def update(self, msg):
            return []

    pipe = AnalyticsPipeline(zones=ZONE)
    assert isinstance(pipe.density, CrowdDensityDetector) and pipe.detectors[-1].density is pipe.density
    assert pipe.detectors[BUILTIN.index("crowd_anomaly")].density is pipe.density
    assert seen["zones"] == ZONE
    with pytest.raises(UnknownDetectorError, match="no detector 'density' was built before this one"):
        DetectorContext(zones=ZONE).detector("density")


def test_density_history_is_public() -> None:
    pipe = AnalyticsPipeline(zones=ZONE)
    for k in range(3):
        pipe.push({"t": 10.0 * k, "topic": "counter/area", "sensor_id": "c", "zone": "square", "area_m2": 100,
                   "count": 5 + k})
    assert pipe.density_history() == [(0.0, "square", 5.0), (10.0, "square", 6.0), (20.0, "square", 7.0)]
    assert AnalyticsPipeline(detectors=[LoiteringDetector()]).density_history() == []


def test_params_from_mapping() -> None:
    p = AnalyticsParams.from_mapping(
        {
            "default_fps": 10,
            "tracker": {"lost_track_buffer_s": 3},
            "loitering": {"dwell_s": 120, "radius_m": 5.5},
            "brute_force": {"ports": [22, 2222]},
            "beacon": {"external_only": False},
            "density": {"alert_level": "D"},
        }
    )
    assert p.default_fps == 10.0 and p.tracker == TrackerParams(lost_track_buffer_s=3.0)
    assert p.loitering == LoiteringParams(dwell_s=120.0, radius_m=5.5)
    assert isinstance(p.loitering.dwell_s, float)  # an int is taken as the float the default is
    assert p.brute_force.ports == (22, 2222) and not p.beacon.external_only and p.density.alert_level == "D"
    assert p.running == AnalyticsParams().running  # not given: defaults
    assert AnalyticsParams.from_mapping(p.to_mapping()) == p
    assert AnalyticsParams.from_mapping({}) == AnalyticsParams()
    assert p.to_mapping()["brute_force"]["ports"] == [22, 2222]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"loiter": {"dwell_s": 1}}, r"'loiter': no such detector \(known: tracker, default_fps, loitering,"),
        ({"loitering": {"dwell": 1}}, r"'loitering.dwell': no such field of LoiteringParams \(fields: dw"),
        ({"tracker": {"fps": 1}}, r"'tracker.fps': no such field of TrackerParams"),
        ({"loitering": 120}, r"'loitering': expected a mapping of LoiteringParams fields, got int"),
        ({"loitering": {"dwell_s": "long"}}, r"'loitering.dwell_s': expected a number, got 'long'"),
        ({"port_scan": {"min_targets": 2.5}}, r"'port_scan.min_targets': expected an integer, got 2.5"),
        ({"brute_force": {"ports": 22}}, r"'brute_force.ports': expected a list, got 22"),
        ({"brute_force": {"ports": [22, "ssh"]}}, r"'brute_force.ports\[1\]': expected an integer, got 'ss"),
        ({"beacon": {"external_only": 1}}, r"'beacon.external_only': expected true or false, got 1"),
        ({"default_fps": "fast"}, r"'default_fps': expected a number, got 'fast'"),
        ([("loitering", {})], r"expected a mapping of detector names, got list"),
    ],
)
def test_params_from_mapping_errors_name_the_key(mapping, message) -> None:
    with pytest.raises(AnalyticsParamsError, match=message):
        AnalyticsParams.from_mapping(mapping)


def test_params_keywords_are_checked() -> None:
    with pytest.raises(AnalyticsParamsError, match="'loitering' takes LoiteringParams, got DoorParams"):
        AnalyticsParams(loitering=DoorParams())
    with pytest.raises(AnalyticsParamsError, match="'nope': no such detector"):
        AnalyticsParams(nope=DoorParams())
    with pytest.raises(AttributeError, match="'nope': no such detector"):
        _ = AnalyticsParams().nope
    p = AnalyticsParams(loitering=LoiteringParams(dwell_s=60.0))
    assert p.loitering.dwell_s == 60.0 and p.tracker == TrackerParams() and hash(p) == hash(p)
    from dataclasses import replace

    q = replace(p, default_fps=2.0)
    assert q.default_fps == 2.0 and q.loitering.dwell_s == 60.0
