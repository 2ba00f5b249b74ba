"""Adding a kind is one module: a sensor kind, an attacker kind, a cyber campaign and a detector, each defined
here without editing any package file, run together in one scenario, and the new attacker is scored as
detected by the new detector's alert (the recipes are in ``docs/extending.md``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from agents.attackers import ATTACKER_KINDS, Attacker, AttackParams, Leg, gone
from agents.model_tracks import Track
from analytics.base import Detector, alert_kinds, make_alert
from scenarios.engine import run_scenario
from scenarios.schema import attack_kinds, parse_scenario, reference, schema
from sensors.base import Sensor
from sensors.cyber.campaigns import CAMPAIGNS, Campaign, CampaignParams
from sensors.cyber.traffic import LogLines, tcp_short
from sensors.kinds import SENSOR_KINDS, Planned, SensorKind, one_of_at_lonlat
from twin.files import AtomicTextFile

SCENARIO = """\
name: extending
city: {synthetic: {kind: corridor, length_m: 60, width_m: 4}}
duration_s: 90
sensors:
  pir: [{id: door-pir, at: end, radius_m: 6}]
analytics:
  after_hours: {hold_s: 30}
attacks:
  - {kind: night_intruder, id: intruder, at: end, start_s: 5, approach_m: 40, dwell_s: 20}
  - {kind: cyber_exfil, id: leak, target: vms, start_s: 10, duration_s: 30, mbytes: 50}
"""


def _define_kinds():
    """The four new kinds, registered by defining them."""

    class Pir(Sensor):
        """A passive-infrared motion sensor: how many targets are within ``radius_m``, every second."""

        kind = "pir"

        def __init__(self, sensor_id: str, xy, radius_m: float) -> None:
            super().__init__(sensor_id, period_s=1.0)
            self.xy, self.radius_m = (float(xy[0]), float(xy[1])), float(radius_m)

        def measure(self, world):
            d = np.hypot(world.targets.xy[:, 0] - self.xy[0], world.targets.xy[:, 1] - self.xy[1])
            n = int((d <= self.radius_m).sum())
            return [("pir/motion", {"sensor_id": self.id, "t": world.t, "xy": list(self.xy), "count": n})]

    class PirCsv:
        """Exporter: ``sensors/pir.csv`` with every reading."""

        def __init__(self, path: Path) -> None:
            self.out = AtomicTextFile(path)
            self.out.write("t,sensor,count\n")

        @classmethod
        def for_run(cls, run_dir, sensors):
            return cls(Path(run_dir) / "sensors" / "pir.csv") if any(isinstance(s, Pir) for s in sensors) \
                else None

        def subscribe(self, bus) -> None:
            bus.subscribe("pir/motion", lambda m: self.out.write(f"{m.t:g},{m.payload['sensor_id']},"
                                                                 f"{m.payload['count']}\n"))

        def close(self):
            return self.out.close()

        def abort(self) -> None:
            self.out.abort()

    @dataclass(frozen=True)
    class PirSpec:
        RULES = (one_of_at_lonlat,)
        id: str = field(metadata={"doc": "sensor id"})
        at: str | tuple[float, float] | None = field(default=None, metadata={"kind": "place"})
        lonlat: tuple[float, float] | None = field(default=None, metadata={"kind": "lonlat"})
        radius_m: float = field(default=6.0, metadata={"gt": 0, "doc": "detection range"})

    class PirKind(SensorKind):
        key = "pir"
        Spec = tuple[PirSpec, ...]
        default = ()
        exporters = (PirCsv,)

        def plan(self, spec, ctx):
            out = []
            for i, item in enumerate(spec):
                xy = ctx.where(item, f"sensors.pir[{i}]")
                if xy is not None:
                    out.append(Planned(item.id, f"sensors.pir[{i}]", (xy, item.radius_m)))
            return out

        def build(self, planned, rng, ctx):
            return Pir(planned.id, *planned.config)

    class NightIntruder(Attacker):
        """Walks to ``at`` and lurks there for ``dwell_s``, then walks away."""

        kind = "night_intruder"
        detected_by = frozenset({"after_hours_motion"})
        observable_from = "approach"      # scoring: it is on site from its first step
        observable_until = "leave"

        @dataclass(frozen=True)
        class Params(AttackParams):
            dwell_s: float = field(default=30.0, metadata={"gt": 0, "doc": "time spent at the place"})
            approach_m: float = field(default=20.0, metadata={"gt": 0, "doc": "walk in from this far"})

        def plan(self, t0):
            p = self.params
            start = self.start_node(p.approach_m)
            walk_in = Track.at_speed(np.vstack([self.walk_points(start, self.at_node), self.at_xy]), 1.3, t0)
            lurk = Track.still(self.at_xy, walk_in.t1, walk_in.t1 + p.dwell_s)
            out = Track.at_speed(np.vstack([self.at_xy, self.walk_points(self.at_node, start)]), 1.3, lurk.t1)
            return [Leg("approach", walk_in), Leg("lurk", lurk), Leg("leave", out), gone(out.t1)]

    class Exfiltration(Campaign):
        """One long TLS upload of ``mbytes`` from the target to ``src``."""

        kind = "cyber_exfil"
        phases = (("exfiltration", "T1041"),)
        detected_by = frozenset({"exfiltration"})

        @dataclass(frozen=True)
        class Params(CampaignParams):
            mbytes: float = field(default=200.0, metadata={"gt": 0, "doc": "megabytes uploaded"})

        def traffic(self, k, ctx):
            ft = tcp_short(ctx.rng, np.array([self.start]), ctx.net.ip[self.target], self.src_ip, 443, "ssl",
                           np.array([int(self.params.mbytes * 1e6)]), np.array([4000]),
                           np.array([self.end - self.start]), attack=k, phase="exfiltration")
            return ft, LogLines.empty(), [("exfiltration", self.start, self.end)]

    @dataclass(frozen=True, slots=True)
    class AfterHoursParams:
        min_count: int = 1
        hold_s: float = 60.0

    class AfterHoursMotion(Detector):
        """Any motion a PIR sees (the site is closed): one alert per sensor per ``hold_s``."""

        name = "after_hours"
        alert_kinds = ("after_hours_motion",)
        Params = AfterHoursParams
        topics = ("pir/motion",)

        def __init__(self, params: AfterHoursParams = AfterHoursParams()) -> None:
            self.p = params
            self.last: dict[str, float] = {}

        def update(self, msg):
            sid, t = msg["sensor_id"], float(msg["t"])
            if msg["count"] < self.p.min_count or t - self.last.get(sid, -np.inf) < self.p.hold_s:
                return []
            self.last[sid] = t
            return [make_alert(t, "after_hours_motion", 0.8, xy=msg["xy"], source=[sid],
                               evidence={"count": msg["count"]})]

    return AfterHoursMotion


@pytest.fixture(scope="module")
def kinds():
    """The four kinds while this module's tests run; removed afterwards, so other tests see the built-ins."""
    built_in = (list(attack_kinds()), list(SENSOR_KINDS), alert_kinds())
    _define_kinds()
    yield
    ATTACKER_KINDS.remove("night_intruder")
    CAMPAIGNS.remove("cyber_exfil")
    SENSOR_KINDS.remove("pir")
    Detector.unregister("after_hours")
    assert (list(attack_kinds()), list(SENSOR_KINDS), alert_kinds()) == built_in


@pytest.fixture(scope="module")
def run(kinds, tmp_path_factory):
    path = tmp_path_factory.mktemp("extending") / "extending.yaml"
    path.write_text(SCENARIO)
    return run_scenario(path, out=path.parent / "run", quiet=True).out_dir


def test_the_new_kinds_are_part_of_the_schema_and_the_reference(kinds):
    assert {"night_intruder", "cyber_exfil"} <= set(attack_kinds())
    order = list(attack_kinds())                 # physical kinds, then cyber; each after its built-ins
    assert order.index("night_intruder") == order.index("bomber") + 1 and order[-1] == "cyber_exfil"
    assert "pir" in schema().keys["sensors"].keys and "after_hours" in schema().keys["analytics"].keys
    assert "after_hours_motion" in alert_kinds()
    ref = reference()
    assert "attacks[].kind = night_intruder:" in ref and "dwell_s: Num = 30.0" in ref
    bad = SCENARIO.replace("radius_m: 6", "radius_m: -1").replace("mbytes: 50", "mbytes: x")
    with pytest.raises(ValueError) as exc:
        parse_scenario(bad, filename="s.yaml")
    assert [p.split(": ")[1] for p in exc.value.problems] == ["sensors.pir[0].radius_m", "attacks[1].mbytes"]


def test_the_new_attacker_is_scored_as_detected_by_the_new_detector(run):
    det = json.loads((run / "metrics.json").read_text())["detection"]
    row = next(r for r in det["attacks"] if r["attack"] == "night_intruder")
    assert row["detected"] and row["alert_kinds"] == ["after_hours_motion"] and row["id"] == "intruder"
    assert 0 < row["time_to_detect_s"] < 60 and row["localisation_error_m"] < 10
    assert det["rules"]["detects"]["night_intruder"] == ["after_hours_motion"]
    assert "after_hours_motion" not in det["false_alarms_by_kind"]


def test_the_new_sensor_publishes_and_exports_and_the_campaign_runs(run):
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    pir = [e for e in events if e["topic"] == "pir/motion"]
    assert len(pir) == 91 and max(e["count"] for e in pir) >= 1      # t = 0, 1, ... 90
    rows = (run / "sensors" / "pir.csv").read_text().splitlines()
    assert rows[0] == "t,sensor,count" and len(rows) == 92
    truth = [json.loads(line) for line in (run / "ground_truth.jsonl").read_text().splitlines()]
    phases = [r for r in truth if r["kind"] == "attack_phase" and r["attack"] == "cyber_exfil"]
    assert [(p["phase"], p["technique"], p["t"], p["t_end"]) for p in phases] == [
        ("exfiltration", "T1041", 10.0, 40.0)]
    assert "\t50000000\t" in (run / "sensors" / "conn.log").read_text()
    scen = parse_scenario((run / "scenario.yaml").read_text(), filename="scenario.yaml")
    assert scen.sensors()["pir"][0].radius_m == 6 and scen.analytics().after_hours.hold_s == 30
