"""The scenario file: one declared table of every key (``SCHEMA``), a loader that keeps line numbers.

``load_scenario(path)`` reads YAML with the safe loader, checks every key against ``SCHEMA`` and raises one
``ScenarioError`` listing every problem as ``file:line: key.path: what is wrong``. The result is a
``Scenario`` whose ``data`` is the resolved mapping (every default filled in), ready to be written back as
the run's ``scenario.yaml``. Places (names the twin must know) are checked later, against the built twin,
with ``Scenario.problems`` so that they too carry their line.

Attack kinds and their own parameters are in ``ATTACKS``; physical kinds run as ``agents.attackers``
subclasses, cyber kinds (``CYBER_KINDS``) are handed to ``sensors.cyber.build_cyber``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from scenarios._fields import (
    Bool,
    Free,
    Int,
    ListOf,
    LonLat,
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

__all__ = ["ATTACKS", "CYBER_KINDS", "EVENTS", "PHYSICAL_KINDS", "SCHEMA", "Scenario", "ScenarioError",
           "load_scenario", "parse_scenario", "reference"]

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


def _pair_pos(v) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(
        isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)


def _one_of_at_lonlat(d: dict, path: str, rep: Report) -> None:
    if "at" in d and "lonlat" in d:
        rep.error(path, "give either at or lonlat, not both")
    elif "at" not in d and "lonlat" not in d:
        rep.error(path, "needs at (a place) or lonlat")


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

# --- sensors ------------------------------------------------------------------------------------------------
_CAMERA_NUMS = {k: Num(optional=True, ge=0) for k in (
    "max_range_m", "min_range_m", "min_visible", "h50_px", "h_scale_px", "miss_rate", "bbox_noise",
    "fp_per_frame", "aim_distance_m", "tamper_yaw_deg", "mount_clearance_m")}
_CAMERA = Map(keys={
    "id": Str(),
    "at": Place(optional=True), "lonlat": LonLat(optional=True),
    "height_m": Num(optional=True, gt=0, le=200, doc="default 6 m (sensors.placement)"),
    "yaw_deg": Num(optional=True, ge=-360, le=360, doc="view bearing; absent = busiest way"),
    "pitch_deg": Num(optional=True, ge=0, le=90, doc="downward tilt; absent = aim 20 m away"),
    "hfov_deg": Num(optional=True, gt=0, le=180),
    "resolution": Free(optional=True, test=_pair_pos, what="[width, height] in pixels"),
    "fps": Num(optional=True, gt=0, le=60),
    "conditions": ListOf(optional=True, item=Str(choices=("dusk", "night", "rain", "snow", "fog",
                                                          "degraded"))),
    **_CAMERA_NUMS,
}, rules=(_one_of_at_lonlat,))
_CAMERAS = Map(keys={
    "from_osm": Bool(default=False, doc="the OSM man_made=surveillance cameras"),
    "list": ListOf(default=[], item=_CAMERA),
    "auto": Map(optional=True, keys={
        "count": Int(ge=1),
        "cover": ListOf(default=["square", "station"], item=Str(), min_len=1, doc="asset types to cover"),
        "spacing_m": Num(optional=True, gt=0), "reach_m": Num(optional=True, gt=0),
        "max_candidates": Int(optional=True, ge=1), "n_yaws": Int(optional=True, ge=1),
        "height_m": Num(optional=True, gt=0), "hfov_deg": Num(optional=True, gt=0, le=180),
        "pitch_deg": Num(optional=True, ge=0, le=90),
    }),
    "fps": Num(default=5.0, gt=0, le=60, doc="frame rate of OSM and auto cameras"),
})
_MIC = Map(keys={"id": Str(), "at": Place(optional=True), "lonlat": LonLat(optional=True),
                 "threshold_db": Num(optional=True, gt=0)}, rules=(_one_of_at_lonlat,))
_XY_OR_PLACE = Free(optional=True, what="a place, [lon, lat] or [x, y] metres", test=lambda v: (
    isinstance(v, str) and bool(v.strip())) or (isinstance(v, list) and len(v) == 2 and all(map(_is_num, v))))


def _line_where(d: dict, path: str, rep: Report) -> None:
    ways = ("at" in d or "lonlat" in d) + ("a" in d or "b" in d) + ("edge" in d)
    if ways != 1:
        rep.error(path, "a line counter needs exactly one of at|lonlat, a+b, edge")
    elif ("a" in d) != ("b" in d):
        rep.error(path, "a line counter given by its ends needs both a and b")


def _area_where(d: dict, path: str, rep: Report) -> None:
    if ("zone" in d) + ("at" in d or "lonlat" in d) != 1 or ("at" in d and "lonlat" in d):
        rep.error(path, "an area counter needs exactly one of zone, at, lonlat")


_COUNTER_COMMON = {"id": Str(), "at": Place(optional=True), "lonlat": LonLat(optional=True),
                   "period_s": Num(default=60.0, gt=0, doc="report period"),
                   "error": Bool(default=True, doc="apply the documented counting error")}
_COUNTER = Tagged(variants={
    "line": Map(keys={**_COUNTER_COMMON, "a": _XY_OR_PLACE, "b": _XY_OR_PLACE,
                      "edge": Str(optional=True, doc="a street name: across its middle edge"),
                      "width_m": Num(default=6.0, gt=0, doc="length of the counting line"),
                      "sample_s": Num(optional=True, gt=0), "miss_rate": Num(optional=True, ge=0, le=1)},
                rules=(_line_where,)),
    "area": Map(keys={**_COUNTER_COMMON, "zone": Polygon(optional=True, doc="lon/lat polygon"),
                      "radius_m": Num(optional=True, gt=0, doc="disc radius when `at` is no asset zone")},
                rules=(_area_where,)),
})
_CONDITIONS = Map(keys={
    "light": Str(default="day", choices=("day", "dusk", "night")),
    "weather": Str(default="clear", choices=("clear", "rain", "fog", "snow")),
})
_SENSORS = Map(keys={
    "cameras": _CAMERAS,
    "acoustic": OneOf(default=0, what="a number of microphones or a list of {id, at|lonlat}", options=(
        (lambda v: isinstance(v, int) and not isinstance(v, bool), Int(ge=0)),
        (lambda v: isinstance(v, list), ListOf(item=_MIC)),
    )),
    "counters": ListOf(default=[], item=_COUNTER),
    "conditions": _CONDITIONS,
})

# --- attacks ------------------------------------------------------------------------------------------------
_ATTACK_COMMON = {"id": Str(optional=True, doc="label in the ground truth; default <kind>-<index>"),
                  "start_s": Num(default=0.0, ge=0)}


def _physical(**params) -> Map:
    return Map(keys={"at": Place(doc="the target place"), **_ATTACK_COMMON, **params})


def _cyber(**params) -> Map:
    return Map(keys={"target": Str(doc="network node: vms, soc, an access switch or a camera id"),
                     **_ATTACK_COMMON, "duration_s": Num(default=300.0, gt=0),
                     "src": Str(optional=True, doc="attacker: a network node or an IP; default external"),
                     **params})


def _port_ok(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535


_PORT = Free(optional=True, test=_port_ok, what="a port number 1..65535")
_RATE = Num(optional=True, gt=0, doc="attempts/packets per second")


#: Attack kinds and their parameters (with defaults). Physical kinds need ``at``; cyber kinds a ``target``.
ATTACKS: dict[str, Map] = {
    "loiterer": _physical(
        dwell_s=Num(default=180.0, gt=0, doc="time spent circling the target"),
        radius_m=Num(default=8.0, gt=0, le=200, doc="radius of the circles"),
        speed_mps=Num(default=1.0, gt=0, le=3),
        approach_m=Num(default=150.0, gt=0, doc="walking distance of the start from the target")),
    "bag_leaver": _physical(
        place_s=Num(default=10.0, ge=0, doc="time spent putting the bag down"),
        speed_mps=Num(default=1.3, gt=0, le=3),
        approach_m=Num(default=120.0, gt=0),
        leave_m=Num(default=150.0, gt=0, doc="walking distance away after placing"),
        remove_after_s=Num(optional=True, gt=0, doc="the object is removed this long after placing")),
    "zone_intruder": _physical(
        zone=Polygon(optional=True, doc="restricted zone (lon/lat); default the asset polygon at `at`"),
        radius_m=Num(default=20.0, gt=0, doc="zone radius around `at` when it has no polygon and no zone"),
        dwell_s=Num(default=60.0, ge=0, doc="time inside the zone"),
        speed_mps=Num(default=1.3, gt=0, le=3),
        approach_m=Num(default=100.0, gt=0)),
    "vehicle_rammer": _physical(
        approach_m=Num(default=600.0, gt=0, doc="driving distance of the start on the drive graph"),
        ram_speed_kph=Num(default=40.0, gt=0, le=200),
        ram_m=Num(default=60.0, gt=0, le=1000, doc="distance driven off the road, through `at`"),
        hit_radius_m=Num(default=1.5, gt=0, le=10, doc="people this close to the vehicle's path are hit"),
        hazard_radius_m=Num(default=30.0, ge=0, doc="people this close to the vehicle flee")),
    "active_assailant": _physical(
        duration_s=Num(default=120.0, gt=0, doc="time from the first shot until the assailant stops"),
        speed_mps=Num(default=1.5, gt=0, le=6),
        approach_m=Num(default=60.0, gt=0),
        shot_interval_s=Num(default=6.0, gt=0, doc="mean time between shots"),
        hazard_radius_m=Num(default=80.0, gt=0, doc="people within this radius of a shot flee"),
        injure_radius_m=Num(default=3.0, ge=0, doc="people within this radius of a shot are injured")),
    "crowd_surge": _physical(
        radius_m=Num(default=30.0, gt=0, doc="radius of the panic trigger")),
    "cyber_scan": _cyber(rate_per_s=_RATE, ports=Free(
        optional=True, test=lambda v: isinstance(v, list) and len(v) > 0 and all(map(_port_ok, v)),
        what="a non-empty list of port numbers 1..65535")),
    "cyber_bruteforce": _cyber(rate_per_s=_RATE, users=ListOf(optional=True, item=Str(), min_len=1)),
    "cyber_dos": _cyber(rate_per_s=_RATE, mbps=Num(optional=True, gt=0), port=_PORT),
    "cyber_beacon": _cyber(interval_s=Num(optional=True, gt=0), jitter_s=Num(optional=True, ge=0),
                           port=_PORT),
    "stream_hijack": _cyber(),
}
CYBER_KINDS = tuple(k for k in ATTACKS if k.startswith("cyber_") or k == "stream_hijack")
PHYSICAL_KINDS = tuple(k for k in ATTACKS if k not in CYBER_KINDS)

# --- response, events, criteria ----------------------------------------------------------------------------
UNIT_KINDS = ("police", "fire", "ambulance")
_RESPONSE = Map(keys={
    "policy": Str(default="advise", choices=("advise", "auto")),
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
_CRITERION_KEYS = {"detect", "false_alarms_per_hour_max", "exposed_max"}
_CRITERION = Map(keys={
    "detect": Str(optional=True, doc="an attack kind that must raise an alert"),
    "within_s": Num(optional=True, gt=0, doc="... within this many seconds of its start"),
    "false_alarms_per_hour_max": Num(optional=True, ge=0),
    "exposed_max": Int(optional=True, ge=0, doc="most people exposed to any attack"),
}, rules=(lambda d, path, rep: None if len(_CRITERION_KEYS & set(d)) == 1
          else rep.error(path, "needs exactly one of detect, false_alarms_per_hour_max, exposed_max"),
          lambda d, path, rep: rep.error(join(path, "within_s"), "only goes with detect")
          if "within_s" in d and "detect" not in d else None))

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


#: Every key of a scenario file, with its type, bounds and default.
SCHEMA = Map(keys={
    "name": Str(optional=True, doc="run name; default the file name without .yaml"),
    "city": _CITY,
    "bbox": Free(optional=True, test=lambda v: isinstance(v, list) and len(v) == 4 and all(map(_is_num, v)),
                 what="[minlon, minlat, maxlon, maxlat]"),
    "seed": Int(default=0, ge=0),
    "duration_s": Num(default=600.0, gt=0, le=7 * 86400),
    "dt_s": Num(default=0.5, gt=0, le=10),
    "start_time": Time(default=DEFAULT_START_TIME),
    "crowd": _CROWD,
    "sensors": _SENSORS,
    "restricted_zones": ListOf(default=[], item=_RESTRICTED),
    "attacks": ListOf(default=[], item=Tagged(variants=ATTACKS)),
    "response": _RESPONSE,
    "events": ListOf(default=[], item=Tagged(variants=EVENTS, tag_default="sensor_fault")),
    "criteria": ListOf(default=[], item=_CRITERION),
}, rules=(lambda d, path, rep: rep.error("dt_s", f"must be smaller than duration_s ({d['duration_s']})")
          if _is_num(d.get("dt_s")) and _is_num(d.get("duration_s")) and 0 < d["duration_s"] <= d["dt_s"]
          else None, lambda d, path, rep: _starts_in_run(d, rep)))


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
    data = SCHEMA.check(raw, "", rep)
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
    """A plain-text reference of every scenario key (type, default, meaning), generated from ``SCHEMA``."""
    out = _keys_doc(SCHEMA)
    for title, table in (("attacks[].kind", ATTACKS), ("events[].kind", EVENTS)):
        for kind, m in table.items():
            out.append(f"{title} = {kind}:")
            out.extend(_keys_doc(m, "  "))
    return "\n".join(out)

