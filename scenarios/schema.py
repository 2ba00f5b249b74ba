"""The scenario file: one declared table of every key (``schema()``), a loader that keeps line numbers.

``load_scenario(path)`` reads YAML with the safe loader, checks every key against ``schema()`` and raises one
``ScenarioError`` listing every problem as ``file:line: key.path: what is wrong``. The result is a
``Scenario`` whose ``data`` is the resolved mapping (every default filled in), ready to be written back as
the run's ``scenario.yaml``, and whose ``attacks()``/``sensors()`` are the typed, frozen specs the builders
take. Checks that need the twin (does this place exist, is this camera id known) report into the same kind
of report (``Scenario.report``) so that they too carry their line.

The ``attacks``, ``sensors``, ``lookalikes`` and ``analytics`` keys are derived from the kinds' own
declarations: attack kinds are the registered ``agents.attackers`` and ``sensors.cyber.campaigns`` classes,
sensor kinds the registered ``sensors.kinds.SensorKind`` classes, look-alikes the registered
``agents.lookalikes`` classes, detector parameters the registered ``analytics.base.Detector`` classes
(``scenarios.specs`` turns their dataclasses into schema fields). ``network`` is derived from
``sensors.cyber.TrafficParams``, ``outputs`` (what the run writes of its camera data) from
``sensors.export.outputs.OutputParams``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agents.attackers import ATTACKER_KINDS
from agents.lookalikes import LOOKALIKE_KINDS
from analytics.base import Detector
from analytics.ground_tracks import GroundTrackParams
from analytics.incidents import INCIDENT_KINDS
from analytics.params import AnalyticsParams
from analytics.tracking import TrackerParams
from scenarios._fields import (
    Bool,
    Free,
    Int,
    ListOf,
    Map,
    Num,
    OneOf,
    Place,
    Polygon,
    Range2,
    Report,
    Str,
    Tagged,
    Time,
    join,
)
from scenarios.criteria_kinds import criterion_field
from scenarios.specs import field_of, map_of, spec_of, typed
from sensors.cyber import TrafficParams
from sensors.cyber.campaigns import CAMPAIGNS
from sensors.export.outputs import OutputParams
from sensors.kinds import SENSOR_KINDS
from sensors.physical import BUILT_IN as _SENSOR_BUILT_INS  # noqa: F401 - registers the built-in kinds

__all__ = ["EVENTS", "Scenario", "ScenarioError", "attack_kinds", "attack_specs", "cyber_kinds",
           "load_scenario", "parse_scenario", "reference", "schema", "sensor_specs"]

DEFAULT_START_TIME = "2026-06-01T12:00:00Z"


class ScenarioError(ValueError):
    """A bad scenario file. ``problems`` holds one ``file:line: key: what is wrong`` line per problem."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = self.problems[0] if n else "invalid scenario"
        super().__init__(head if n == 1 else f"{head} (and {n - 1} more problem(s))")


def _is_num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _range_after(a: str, b: str):
    def rule(d: dict, path: str, rep: Report) -> None:
        ra, rb = d.get(a), d.get(b)
        if (isinstance(ra, list) and isinstance(rb, list) and len(ra) == 2 and len(rb) == 2
                and all(_is_num(x) for x in ra + rb) and rb[0] < ra[0]):
            rep.error(join(path, b), f"must not start before {a} starts ({rb[0]} < {ra[0]})")
    return rule


# --- crowd --------------------------------------------------------------------------------------------------
_FLOW = Map(keys={
    "from": Place(doc="where the walkers appear"),
    "to": Place(doc="where they walk to"),
    "people": Int(ge=1, doc="how many"),
    "depart_s": Range2(default=[0, 60], doc="departure window [t0, t1] s"),
})
_GATHERING = Map(keys={
    "at": Place(doc="the square, stadium... people gather at"),
    "people": Int(ge=1),
    "arrive_s": Range2(default=[0, 300], doc="arrival wave [t0, t1] s"),
    "leave_s": Range2(optional=True, doc="departure wave [t2, t3] s; absent = stay"),
}, rules=(_range_after("arrive_s", "leave_s"),))
_CROWD = Map(keys={
    "population": Int(default=0, ge=0, doc="background pedestrians with itineraries between POIs"),
    "flows": ListOf(default=[], item=_FLOW),
    "gatherings": ListOf(default=[], item=_GATHERING),
})

# --- sensors and attacks: derived from the kinds' declarations ----------------------------------------------
_CONDITIONS = Map(keys={
    "light": Str(default="day", choices=("day", "dusk", "night")),
    "weather": Str(default="clear", choices=("clear", "rain", "fog", "snow")),
})


def _sensors_map() -> Map:
    """``sensors:``: one key per registered sensor kind (``sensors.kinds``), then ``conditions``."""
    keys = {key: field_of(k.Spec, k.meta, k.default) for key, k in SENSOR_KINDS.items()}
    return Map(keys={**keys, "conditions": _CONDITIONS})


def attack_kinds() -> dict[str, type]:
    """Every attack kind -> its class: physical (``agents.attackers``), then cyber (``sensors.cyber``)."""
    return {**dict(ATTACKER_KINDS.items()), **dict(CAMPAIGNS.items())}


def cyber_kinds() -> tuple[str, ...]:
    """The attack kinds the cyber range plays (``sensors.cyber.campaigns``)."""
    return tuple(CAMPAIGNS)


def _analytics_map() -> Map:
    """``analytics:``: the tracker's and any registered detector's parameters (``analytics.base.Detector``),
    each block optional (absent: the detector's documented defaults)."""
    blocks = {"tracker": TrackerParams, **{name: cls.Params for name, cls in Detector.registered().items()}}
    keys: dict = {"default_fps": Num(optional=True, gt=0, doc="frame rate of a camera whose calibration "
                                                              "gives none; default 5"),
                  "workers": Int(optional=True, ge=0, le=64,
                                 doc="worker processes the analytics are shared out over "
                                     "(analytics.workers); absent or 0: in the run's process")}
    g = map_of(GroundTrackParams)
    keys["ground_tracks"] = Map(keys={"enabled": Bool(default=False, doc="fuse the cameras' tracks on the "
                                                      "ground plane (track/ground; the ground_loitering "
                                                      "detector reads them); not with workers"), **g.keys},
                                rules=g.rules, optional=True,
                                doc="cross-camera ground-track fusion (analytics.ground_tracks)")
    for name, params in blocks.items():
        m = map_of(params)
        keys[name] = Map(keys=m.keys, rules=m.rules, optional=True, doc=f"{name} parameters")
    return Map(keys=keys, rules=(_analytics_rules,))


def _analytics_rules(d: dict, path: str, rep: Report) -> None:
    """The ground-track stage runs in the run's process only (it needs every camera's tracks together)."""
    g = d.get("ground_tracks")
    if isinstance(g, dict) and g.get("enabled") and d.get("workers"):
        rep.error(join(join(path, "ground_tracks"), "enabled"),
                  "cannot be true with analytics.workers (the stage needs all cameras in one process)")


def _lookalikes_map() -> Map:
    """``lookalikes:``: one block per registered look-alike kind (``agents.lookalikes``), defaults filled."""
    keys = {}
    for key, cls in LOOKALIKE_KINDS.items():
        m = map_of(cls.Params)
        keys[key] = Map(keys=m.keys, rules=m.rules, doc=(cls.__doc__ or "").strip().split("\n")[0])
    return Map(keys=keys)


def _attacks_field() -> Tagged:
    return Tagged(variants={kind: map_of(cls.Params) for kind, cls in attack_kinds().items()})


# --- response, events, criteria ----------------------------------------------------------------------------
UNIT_KINDS = ("police", "fire", "ambulance")
_RESPONSE = Map(keys={
    "policy": Str(default="advise", choices=("advise", "auto")),
    "decision_delay_s": Num(default=30.0, ge=0),
    "dispatch": ListOf(default=[], item=Map(keys={
        "unit": Str(choices=UNIT_KINDS), "to": Place(), "at_s": Num(default=0.0, ge=0)})),
})

#: Scheduled events by ``kind`` (default ``sensor_fault``).
EVENTS: dict[str, Map] = {
    "sensor_fault": Map(keys={"at_s": Num(ge=0), "sensor": Str(),
                              "status": Str(choices=("ok", "offline", "frozen", "degraded", "moved"))}),
    "evacuate": Map(keys={"at_s": Num(ge=0), "zone": Place(doc="centre of the zone to clear"),
                          "radius_m": Num(default=150.0, gt=0),
                          "to": ListOf(default=[], item=Place(), doc="safe places; default the nodes just "
                                                                     "outside the zone")}),
    "close": Map(keys={"at_s": Num(ge=0), "at": Place(), "radius_m": Num(default=30.0, gt=0),
                       "until_s": Num(optional=True, gt=0, doc="reopen at this time")}),
}
_CITY = OneOf(what="a city name, an OSM file path, a place, or {synthetic: {...}}", options=(
    (lambda v: isinstance(v, str), Str()),
    (lambda v: isinstance(v, Mapping), Map(keys={"synthetic": Free(
        test=lambda v: isinstance(v, Mapping) and "kind" in v,
        what="a mapping with kind (corridor|bottleneck)")})),
))

def _starts_in_run(d: dict, rep: Report) -> None:
    T = d.get("duration_s")
    if not _is_num(T) or not isinstance(d.get("attacks"), list):
        return
    for i, a in enumerate(d["attacks"]):
        if isinstance(a, dict) and _is_num(a.get("start_s")) and a["start_s"] >= T:
            rep.error(f"attacks[{i}].start_s", f"{a['start_s']:g} is not before the end of the run ({T:g} s)")


def _restricted_where(d: dict, path: str, rep: Report) -> None:
    if ("zone" in d) == ("at" in d):
        rep.error(path, "a restricted zone needs exactly one of zone, at")


#: Restricted zones the site's analytics watch (the security posture, known before any attack).
_RESTRICTED = Map(keys={
    "id": Str(optional=True),
    "zone": Polygon(optional=True, doc="lon/lat polygon"),
    "at": Place(optional=True, doc="a place: its asset polygon, else a disc of radius_m"),
    "radius_m": Num(default=20.0, gt=0, doc="disc radius when `at` has no polygon"),
}, rules=(_restricted_where,))


#: Every key of a scenario file, with its type, bounds and default (``None``: derived, see ``schema``).
_SCHEMA = Map(keys={
    "name": Str(optional=True, doc="run name; default the file name without .yaml"),
    "city": _CITY,
    "bbox": Free(optional=True, test=lambda v: isinstance(v, list) and len(v) == 4 and all(map(_is_num, v)),
                 what="[minlon, minlat, maxlon, maxlat]"),
    "seed": Int(default=0, ge=0),
    "duration_s": Num(default=600.0, gt=0, le=7 * 86400),
    "dt_s": Num(default=0.5, gt=0, le=10),
    "start_time": Time(default=DEFAULT_START_TIME),
    "crowd": _CROWD,
    "lookalikes": None,              # derived from the registered look-alike kinds in ``schema()``
    "network": None,                 # derived from ``sensors.cyber.TrafficParams``
    "sensors": None,                 # derived from the registered kinds
    "restricted_zones": ListOf(default=[], item=_RESTRICTED),
    "analytics": None,               # derived from the registered detectors
    "attacks": None,                 # derived from the registered attacker kinds and cyber campaigns
    "response": _RESPONSE,
    "events": ListOf(default=[], item=Tagged(variants=EVENTS, tag_default="sensor_fault")),
    "criteria": None,                # derived from scenarios.criteria_kinds and the registered kinds
    "long": Bool(default=False, doc="a long scenario: pytest runs its criteria only with -m long"),
    "outputs": None,                 # derived from ``sensors.export.outputs.OutputParams``
}, rules=(lambda d, path, rep: rep.error("dt_s", f"must be smaller than duration_s ({d['duration_s']})")
          if _is_num(d.get("dt_s")) and _is_num(d.get("duration_s")) and 0 < d["duration_s"] <= d["dt_s"]
          else None, lambda d, path, rep: _starts_in_run(d, rep)))


def schema() -> Map:
    """Every key of a scenario file, with the ``sensors`` and ``attacks`` of the kinds registered now."""
    keys = dict(_SCHEMA.keys)
    keys["sensors"] = _sensors_map()
    keys["attacks"] = ListOf(default=[], item=_attacks_field())
    keys["analytics"] = _analytics_map()
    keys["lookalikes"] = _lookalikes_map()
    keys["network"] = Map(keys=map_of(TrafficParams).keys, rules=map_of(TrafficParams).rules,
                          doc="the camera network's normal traffic and background (sensors.cyber)")
    keys["outputs"] = Map(keys=map_of(OutputParams).keys, rules=map_of(OutputParams).rules,
                          doc="what the run writes of its camera data (sensors.export.outputs)")
    crit = criterion_field(attack_kinds=tuple(attack_kinds()), incident_kinds=INCIDENT_KINDS)
    keys["criteria"] = ListOf(default=[], item=crit)
    return Map(keys=keys, rules=_SCHEMA.rules)


@dataclass
class Scenario:
    """A checked scenario: ``data`` resolved with defaults, ``lines`` key path -> line for later problems."""

    data: dict
    path: str
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.data["name"])

    def report(self) -> Report:
        """A fresh problem report that knows this file's lines (for checks against the twin)."""
        return Report(self.path, self.lines)

    def to_yaml(self) -> str:
        """The resolved scenario as YAML (every default filled in), loadable again by ``load_scenario``."""
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, default_flow_style=None)

    def attacks(self) -> list[tuple[int, str, object]]:
        """Every attack as ``(index in attacks, kind, params)``, params its kind's frozen ``Params``."""
        return _typed_attacks(self.data["attacks"])

    def sensors(self) -> dict[str, object]:
        """The ``sensors`` blocks as typed specs, by sensor kind key (``conditions`` apart)."""
        kinds = dict(SENSOR_KINDS.items())
        return {k: _typed_block(kinds[k], v) for k, v in self.data["sensors"].items() if k in kinds}

    def network(self) -> TrafficParams:
        """The network's traffic and background parameters (``network:``, defaults filled in)."""
        return spec_of(TrafficParams, self.data.get("network", {}))

    def outputs(self) -> OutputParams:
        """What the run writes of its camera data (``outputs:``, defaults filled in)."""
        return spec_of(OutputParams, self.data.get("outputs", {}))

    def lookalikes(self) -> dict[str, object]:
        """Every registered look-alike kind's block, typed (its ``Params``), by key."""
        given = self.data.get("lookalikes", {})
        return {key: spec_of(cls.Params, given.get(key, {})) for key, cls in LOOKALIKE_KINDS.items()}

    def analytics(self) -> AnalyticsParams:
        """The analytics pipeline's parameters (``analytics:``; defaults for every block not given)."""
        given = self.data.get("analytics", {})
        return AnalyticsParams.from_mapping({k: v for k, v in given.items()
                                             if k not in ("workers", "ground_tracks")})

    def ground_tracks(self) -> GroundTrackParams | None:
        """The cross-camera ground-track stage's parameters, None when it is off (the default)."""
        g = self.data.get("analytics", {}).get("ground_tracks") or {}
        return spec_of(GroundTrackParams, g) if g.get("enabled") else None

    def analytics_workers(self) -> int:
        """Worker processes for the analytics (``analytics.workers``; 0: in the run's process)."""
        return int(self.data.get("analytics", {}).get("workers") or 0)

    def conditions(self) -> tuple[str, ...]:
        """The scene's light and weather as camera condition names (``day`` and ``clear`` add none)."""
        c = self.data["sensors"]["conditions"]
        return tuple(x for x in (c["light"], c["weather"]) if x not in ("day", "clear"))


def _typed_attacks(entries: list[dict]) -> list[tuple[int, str, object]]:
    kinds = attack_kinds()
    return [(i, a["kind"], spec_of(kinds[a["kind"]].Params, {k: v for k, v in a.items() if k != "kind"}))
            for i, a in enumerate(entries)]


def _typed_block(kind: type, value) -> object:
    """A checked ``sensors.<key>`` block as its kind's declared type."""
    return typed(kind.Spec, value)


def _check_part(field_, value, path: str, filename: str):
    rep = Report(filename, {})
    data = field_.check(value, path, rep)
    if rep.problems:
        raise ScenarioError(rep.formatted())
    return data


def attack_specs(entries: list[dict], *, filename: str = "<attacks>") -> list[tuple[int, str, object]]:
    """Check a list of scenario attack entries and return them typed (see ``Scenario.attacks``); for
    programs and tests that build a cyber range or attackers without a whole scenario file.

    Raises
    ------
    ScenarioError
        Every problem, each naming ``attacks[i].key``.
    """
    data = _check_part(ListOf(item=_attacks_field()), entries, "attacks", filename)
    for i, a in enumerate(data):
        a.setdefault("id", f"{a['kind']}-{i}")
    return _typed_attacks(data)


def sensor_specs(blocks: dict, *, filename: str = "<sensors>") -> dict[str, object]:
    """Check a ``sensors`` mapping and return its blocks typed, by kind key, plus ``conditions`` (names).

    Raises
    ------
    ScenarioError
        Every problem, each naming ``sensors.key``.
    """
    data = _check_part(_sensors_map(), blocks, "sensors", filename)
    sc = Scenario(data={"sensors": data}, path=filename)
    return {**sc.sensors(), "conditions": sc.conditions()}


def _walk(node: yaml.Node, path: str, lines: dict[str, int], dups: list[tuple[int, str]]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for k, v in node.value:
            key = str(k.value)
            p = join(path, key)
            if key in seen:
                dups.append((k.start_mark.line + 1, p))
            seen.add(key)
            lines[p] = k.start_mark.line + 1
            _walk(v, p, lines, dups)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk(v, join(path, i), lines, dups)


def parse_scenario(text: str, *, filename: str = "<scenario>") -> Scenario:
    """Check a scenario given as YAML text (``filename`` only labels the messages).

    Raises
    ------
    ScenarioError
        Broken YAML, or every schema problem at once, one ``file:line: key: what is wrong`` each.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([f"{filename}:1: (top): the file is empty"])
        lines: dict[str, int] = {}
        dups: list[tuple[int, str]] = []
        _walk(node, "", lines, dups)
        raw = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError([f"{filename}:{line}: (yaml): {what}"]) from None
    finally:
        loader.dispose()
    rep = Report(filename, lines)
    for line, p in dups:
        rep.problems.append((line, p, "duplicate key"))
    data = schema().check(raw, "", rep)
    if rep.problems:
        raise ScenarioError(rep.formatted())
    if data.get("name") is None:
        data["name"] = Path(filename).name.removesuffix(".yaml").removesuffix(".yml") or "scenario"
    data = {"name": data.pop("name"), **data}
    for i, a in enumerate(data["attacks"]):
        a.setdefault("id", f"{a['kind']}-{i}")
    return Scenario(data=data, path=filename, lines=lines)


def load_scenario(path: str | Path) -> Scenario:
    """Read and check the scenario file at ``path`` (see ``parse_scenario``).

    Raises
    ------
    ScenarioError
        The file is missing or unreadable, or has any problem (all listed).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{p}: no such scenario file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{p}: cannot read: {exc}"]) from None
    return parse_scenario(text, filename=str(p))


def _keys_doc(m: Map, indent: str = "") -> list[str]:
    out = []
    for k, f in m.keys.items():
        d = "" if f.default is None or type(f.default).__name__ == "_Missing" else f" = {f.default!r}"
        out.append(f"{indent}{k}: {type(f).__name__}{d}  {f.doc}".rstrip())
        if isinstance(f, Map):
            out.extend(_keys_doc(f, indent + "  "))
    return out


def reference() -> str:
    """A plain-text reference of every scenario key (type, default, meaning), generated from ``schema()``."""
    out = _keys_doc(schema())
    attacks = {kind: map_of(cls.Params) for kind, cls in attack_kinds().items()}
    for title, table in (("attacks[].kind", attacks), ("events[].kind", EVENTS)):
        for kind, m in table.items():
            out.append(f"{title} = {kind}:")
            out.extend(_keys_doc(m, "  "))
    return "\n".join(out)

