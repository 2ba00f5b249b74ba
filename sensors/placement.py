"""Where the physical sensors go: ``build_physical_sensors`` reads a scenario's ``sensors`` mapping.

Cameras (``sensors.cameras``), in this order (ids must be unique):

``from_osm: true``
    every OSM ``man_made=surveillance`` camera of the twin, id ``cam-<osm id>``. Tagged direction and height
    are honoured; otherwise documented defaults: height 6 m, pitch aiming the image centre 20 m away on the
    ground, hfov 60 deg (90 deg for ``camera:type=dome|panning`` or ``revolving=yes``), 1920 x 1080, ``fps``
    (default 5). With no tagged direction the camera looks towards the densest walkable area: of 24 bearings
    (15 deg apart) the one whose +-30 deg wedge holds the most walk-graph sample points (every 10 m along
    the edges) between 5 and 60 m away, each weighted by the cosine of its angle off the bearing.
``list: [{id, at | lonlat, height_m, yaw_deg, pitch_deg, hfov_deg, resolution: [w, h], fps, ...}]``
    ``at`` is a PLACE (``twin.places.resolve_place``, or ``[lon, lat]``); a missing ``yaw_deg`` aims as
    above. Detector fields of ``sensors.camera.CameraConfig`` (``miss_rate``, ``fp_per_frame``, ``h50_px``,
    ``bbox_noise``, ``max_range_m``...) may be given too.
``auto: {count: N, cover: [asset types]}``
    N cameras ``auto-01``... placed greedily for the largest visible area of those assets
    (``sensors.placement_auto``; optional ``spacing_m``, ``reach_m``, ``max_candidates``, ``n_yaws``,
    ``height_m``, ``hfov_deg``, ``pitch_deg``).

``sensors.acoustic: N`` puts microphones ``mic-01``... at the N assets of largest capacity (ties by id; more
than there are assets go on 150 m rings around them), or a list of ``{id, at | lonlat}``.

``sensors.counters``: ``{id, kind: line, at | lonlat, width_m}`` is a ``width_m`` (default 6 m) line across
the walk edge nearest to the place (perpendicular to it, centred on the place); ``a``/``b`` (``[x, y]`` metres
or PLACEs) or ``edge`` (a street name: across its edge nearest the street's centre) give the line
directly. ``{id, kind: area, zone: [[lon, lat], ...] | at}`` counts people in the polygon, or in the zone of
the asset named by / containing ``at`` (else a 25 m disc). ``period_s`` (default 60 s) is the report period.

``sensors.conditions: {light: day|dusk|night, weather: clear|rain|fog|snow}`` sets every camera's conditions.

Each sensor gets its own Generator from ``rng.spawn`` in the order returned: cameras (OSM sorted by id, then
list order, then auto), microphones, counters. Cameras with the same ``fps`` share one
``sensors.camera_group.CameraGroup`` (observed in one numpy pass per instant, drawing from the Generator of
the group's first camera). Cameras missing from ``twin.network`` are attached with
``twin.network.attach_cameras``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from sensors.acoustic import Microphone
from sensors.base import Sensor, SensorError
from sensors.camera import CONDITIONS, Camera, CameraConfig, CameraGroup
from sensors.camera.coverage import coverage_problem, greedy_cover
from sensors.counters import AreaCounter, LineCounter

__all__ = ["OSM_DEFAULTS", "PlacementError", "aim_yaw", "auto_cameras", "build_physical_sensors",
           "osm_cameras", "walk_samples"]

#: Defaults for OSM cameras whose tags do not say (documented in the module docstring).
OSM_DEFAULTS = {"height_m": 6.0, "aim_distance_m": 20.0, "hfov_deg": 60.0, "wide_hfov_deg": 90.0,
                "resolution": (1920, 1080), "fps": 5.0}
_SPEC_KEYS = ("cameras", "acoustic", "counters", "conditions")
_CAMERAS_KEYS = ("from_osm", "list", "auto", "fps")
_CAMERA_FIELDS = ("height_m", "yaw_deg", "pitch_deg", "hfov_deg", "fps", "max_range_m", "min_range_m",
                  "min_visible", "h50_px", "h_scale_px", "miss_rate", "bbox_noise", "fp_per_frame",
                  "aim_distance_m", "tamper_yaw_deg", "mount_clearance_m")
_AUTO_KEYS = ("count", "cover", "spacing_m", "reach_m", "max_candidates", "n_yaws", "height_m", "hfov_deg",
              "pitch_deg")


class PlacementError(SensorError):
    """A bad ``sensors`` entry: the message names the field path and what is wrong."""

    exit_code = 2


def _fail(path: str, what: str) -> PlacementError:
    return PlacementError(f"sensors.{path}: {what}")


def _num(v: Any, path: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _fail(path, f"must be a number, got {v!r}")
    return float(v)


def _unknown(d: Mapping, allowed: Sequence[str], path: str) -> None:
    extra = sorted(set(d) - set(allowed), key=str)
    if extra:
        where = f"{path}.{extra[0]}" if path else str(extra[0])
        raise _fail(where, f"unknown key; expected one of {list(allowed)}")


# ------------------------------------------------------------------------------------------ places
def _place_xy(twin, value: Any, path: str) -> tuple[float, float]:
    """A PLACE name, ``[lon, lat]`` or ``{"xy": [x, y]}`` -> projected metres."""
    if isinstance(value, Mapping) and "xy" in value:
        x, y = value["xy"]
        return _num(x, path + ".xy[0]"), _num(y, path + ".xy[1]")
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise _fail(path, f"must be a place name or [lon, lat], got {value!r}")
        lon, lat = _num(value[0], path + "[0]"), _num(value[1], path + "[1]")
        xy = twin.to_xy([[lon, lat]])[0]
        return float(xy[0]), float(xy[1])
    if not isinstance(value, str):
        raise _fail(path, f"must be a place name or [lon, lat], got {value!r}")
    from twin.places import resolve_place

    try:
        place = resolve_place(twin, value)
    except ValueError as exc:
        raise _fail(path, str(exc).splitlines()[0]) from None
    return float(place.xy[0]), float(place.xy[1])


def _where(twin, item: Mapping, path: str) -> tuple[float, float]:
    if "at" in item and "lonlat" in item:
        raise _fail(path, "give either at or lonlat, not both")
    if "at" in item:
        return _place_xy(twin, item["at"], path + ".at")
    if "lonlat" in item:
        ll = item["lonlat"]
        if not isinstance(ll, list | tuple) or len(ll) != 2:
            raise _fail(path + ".lonlat", f"must be [lon, lat], got {ll!r}")
        return _place_xy(twin, list(ll), path + ".lonlat")
    raise _fail(path, "needs at or lonlat")


def walk_samples(twin, step_m: float = 10.0) -> np.ndarray:
    """Points every ``step_m`` along the straight walk edges (both ends included), (K, 2)."""
    w = twin.walk
    if w is None or w.number_of_edges() == 0:
        return np.zeros((0, 2))
    xy = {n: (d["x"], d["y"]) for n, d in w.nodes(data=True)}
    seen = {(u, v) if str(u) <= str(v) else (v, u) for u, v in w.edges()}
    uv = sorted(seen, key=lambda e: (str(e[0]), str(e[1])))
    a = np.array([xy[u] for u, _ in uv], float)
    b = np.array([xy[v] for _, v in uv], float)
    n = np.maximum(1, np.ceil(np.hypot(*(b - a).T) / step_m).astype(int))
    edge = np.repeat(np.arange(len(uv)), n + 1)
    frac = np.concatenate([np.linspace(0, 1, k + 1) for k in n])
    return a[edge] + (b[edge] - a[edge]) * frac[:, None]


def aim_yaw(xy: tuple[float, float], samples: np.ndarray, *, half_wedge_deg: float = 30.0,
            r_min: float = 5.0, r_max: float = 60.0) -> float:
    """Bearing (deg, 15-deg steps) whose wedge holds the most walk samples, each weighted by the cosine of
    its angle off the bearing (so the wedge centres on them; rule in the module doc)."""
    if len(samples) == 0:
        return 0.0
    d = samples - np.asarray(xy, float)
    r = np.hypot(d[:, 0], d[:, 1])
    near = (r >= r_min) & (r <= r_max)
    if not near.any():
        k = int(np.argmin(r))
        return float(math.degrees(math.atan2(d[k, 0], d[k, 1])) % 360.0)
    bearing = np.degrees(np.arctan2(d[near, 0], d[near, 1])) % 360.0
    cands = np.arange(0.0, 360.0, 15.0)
    diff = np.abs((bearing[None, :] - cands[:, None] + 180.0) % 360.0 - 180.0)
    score = np.where(diff <= half_wedge_deg, np.cos(np.radians(diff)), 0.0).sum(axis=1)
    return float(cands[int(np.argmax(score))])


# ------------------------------------------------------------------------------------------ cameras
def _conditions(spec: Any) -> tuple[str, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise _fail("conditions", f"must be a mapping {{light, weather}}, got {spec!r}")
    _unknown(spec, ("light", "weather"), "conditions")
    out = []
    light, weather = spec.get("light", "day"), spec.get("weather", "clear")
    if light not in ("day", "dusk", "night"):
        raise _fail("conditions.light", f"must be day, dusk or night, got {light!r}")
    if weather not in ("clear", "rain", "fog", "snow"):
        raise _fail("conditions.weather", f"must be clear, rain, fog or snow, got {weather!r}")
    for c in (light, weather):
        if c in CONDITIONS:
            out.append(c)
    return tuple(out)


def osm_cameras(twin, *, fps: float = 5.0, conditions: tuple[str, ...] = (),
                samples: np.ndarray | None = None) -> list[tuple[str, CameraConfig]]:
    """``(id, config)`` for every OSM camera of the twin, sorted by id (defaults in the module docstring)."""
    samples = walk_samples(twin) if samples is None else samples
    out = []
    for c in sorted(twin.cameras, key=lambda c: c.id):
        tags = c.tags or {}
        wide = tags.get("camera:type") in ("dome", "panning") or tags.get("revolving") == "yes"
        yaw = c.direction_deg if c.direction_deg is not None else aim_yaw(c.xy, samples)
        out.append((c.id, CameraConfig(
            xy=(float(c.xy[0]), float(c.xy[1])),
            height_m=float(c.height_m) if c.height_m else OSM_DEFAULTS["height_m"], yaw_deg=float(yaw),
            aim_distance_m=OSM_DEFAULTS["aim_distance_m"],
            hfov_deg=OSM_DEFAULTS["wide_hfov_deg" if wide else "hfov_deg"],
            resolution=OSM_DEFAULTS["resolution"], fps=float(fps), conditions=conditions)))
    return out


def _list_camera(twin, item: Any, i: int, fps: float, conditions: tuple[str, ...],
                 samples: np.ndarray) -> tuple[str, CameraConfig]:
    path = f"cameras.list[{i}]"
    if not isinstance(item, Mapping):
        raise _fail(path, f"must be a mapping, got {item!r}")
    _unknown(item, ("id", "at", "lonlat", "resolution", "conditions") + _CAMERA_FIELDS, path)
    cid = item.get("id")
    if not isinstance(cid, str) or not cid.strip():
        raise _fail(path + ".id", f"must be a non-empty string, got {cid!r}")
    xy = _where(twin, item, path)
    kw: dict[str, Any] = {k: _num(item[k], f"{path}.{k}") for k in _CAMERA_FIELDS
                          if k in item and item[k] is not None}
    kw.setdefault("fps", fps)
    if "yaw_deg" not in kw:
        kw["yaw_deg"] = aim_yaw(xy, samples)
    res = item.get("resolution", OSM_DEFAULTS["resolution"])
    if not isinstance(res, list | tuple) or len(res) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 16 for v in res):
        raise _fail(path + ".resolution", f"must be [width, height] in pixels (>= 16), got {res!r}")
    conds = item.get("conditions", conditions)
    cfg = CameraConfig(xy=xy, resolution=(int(res[0]), int(res[1])), conditions=tuple(conds), **kw)
    try:
        cfg.validate(cid)
    except SensorError as exc:
        raise _fail(path, str(exc)) from None
    return cid.strip(), cfg


def auto_cameras(twin, auto: Any, *, fps: float = 5.0, conditions: tuple[str, ...] = (),
                 samples: np.ndarray | None = None):
    """``(cameras, problem, chosen)``: the ``auto`` cameras and the coverage problem they solve."""
    path = "cameras.auto"
    if not isinstance(auto, Mapping):
        raise _fail(path, f"must be a mapping {{count, cover}}, got {auto!r}")
    _unknown(auto, _AUTO_KEYS, path)
    count = auto.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise _fail(path + ".count", f"must be an integer >= 1, got {count!r}")
    cover = auto.get("cover", ["square", "station"])
    if isinstance(cover, str):
        cover = [cover]
    if not isinstance(cover, list | tuple) or not cover:
        raise _fail(path + ".cover", f"must be a list of asset types, got {cover!r}")
    assets = sorted((a for a in twin.assets if a.type in set(cover)), key=lambda a: a.id)
    if not assets:
        have = sorted({a.type for a in twin.assets})
        raise _fail(path + ".cover", f"no assets of types {list(cover)} in twin {twin.city}; it has {have}")
    base = CameraConfig(xy=(0.0, 0.0), fps=float(fps), conditions=conditions,
                        height_m=_num(auto.get("height_m", OSM_DEFAULTS["height_m"]), path + ".height_m"),
                        hfov_deg=_num(auto.get("hfov_deg", OSM_DEFAULTS["hfov_deg"]), path + ".hfov_deg"),
                        pitch_deg=(None if auto.get("pitch_deg") is None
                                   else _num(auto["pitch_deg"], path + ".pitch_deg")),
                        aim_distance_m=OSM_DEFAULTS["aim_distance_m"])
    base.validate("auto")
    opts = {k: auto[k] for k in ("spacing_m", "reach_m", "max_candidates", "n_yaws") if k in auto}
    for k, v in opts.items():
        if _num(v, f"{path}.{k}") <= 0:
            raise _fail(f"{path}.{k}", f"must be > 0, got {v!r}")
    if "max_candidates" in opts:
        opts["max_candidates"] = int(opts["max_candidates"])
    if "n_yaws" in opts:
        opts["n_yaws"] = int(opts["n_yaws"])
    samples = walk_samples(twin) if samples is None else samples
    walk_xy = (np.array([(d["x"], d["y"]) for _, d in twin.walk.nodes(data=True)], float)
               if twin.walk is not None and twin.walk.number_of_nodes() else None)
    problem = coverage_problem(twin, assets, base, walk_xy=walk_xy, **opts)
    chosen = greedy_cover(problem, count)
    cams = []
    for j, k in enumerate(chosen, 1):
        xy, yaw = problem.option(k)
        cams.append((f"auto-{j:02d}", CameraConfig(
            xy=xy, height_m=base.height_m, yaw_deg=yaw, pitch_deg=base.pitch_deg, hfov_deg=base.hfov_deg,
            aim_distance_m=base.aim_distance_m, fps=float(fps), conditions=conditions)))
    return cams, problem, chosen


# ------------------------------------------------------------------------------------------ others
def _microphones(twin, spec: Any) -> list[tuple[str, tuple[float, float]]]:
    if spec is None or spec == 0:
        return []
    if isinstance(spec, bool) or not isinstance(spec, int | list):
        raise _fail("acoustic", f"must be a count or a list of {{id, at|lonlat}}, got {spec!r}")
    if isinstance(spec, int):
        if spec < 0:
            raise _fail("acoustic", f"must be >= 0, got {spec}")
        assets = sorted(twin.assets, key=lambda a: (-int(a.capacity or 0), a.id))
        if not assets:
            raise _fail("acoustic", f"twin {twin.city} has no assets to place microphones around")
        out = []
        for k in range(spec):
            a = assets[k % len(assets)]
            ring = k // len(assets)
            ang = math.radians(90.0 * (ring - 1))
            r = 150.0 if ring else 0.0
            out.append((f"mic-{k + 1:02d}", (a.xy[0] + r * math.sin(ang), a.xy[1] + r * math.cos(ang))))
        return out
    out = []
    for i, item in enumerate(spec):
        path = f"acoustic[{i}]"
        if not isinstance(item, Mapping):
            raise _fail(path, f"must be a mapping {{id, at|lonlat}}, got {item!r}")
        _unknown(item, ("id", "at", "lonlat", "threshold_db"), path)
        mid = item.get("id")
        if not isinstance(mid, str) or not mid.strip():
            raise _fail(path + ".id", f"must be a non-empty string, got {mid!r}")
        out.append((mid.strip(), _where(twin, item, path)))
    return out


def _walk_segments(twin) -> tuple[list, np.ndarray, np.ndarray]:
    w = twin.walk
    edges = sorted({(u, v) if str(u) <= str(v) else (v, u) for u, v in w.edges()},
                   key=lambda e: (str(e[0]), str(e[1])))
    a = np.array([(w.nodes[u]["x"], w.nodes[u]["y"]) for u, _ in edges], float).reshape(-1, 2)
    b = np.array([(w.nodes[v]["x"], w.nodes[v]["y"]) for _, v in edges], float).reshape(-1, 2)
    return edges, a, b


def _line_across(twin, xy: tuple[float, float], width_m: float, path: str) -> tuple[np.ndarray, np.ndarray]:
    """A ``width_m`` segment centred on ``xy``, perpendicular to the nearest walk edge."""
    _, a, b = _walk_segments(twin)
    if len(a) == 0:
        raise _fail(path, "no walk edge to put the counting line across")
    p = np.asarray(xy, float)
    ab = b - a
    L2 = np.maximum((ab ** 2).sum(axis=1), 1e-12)
    s = np.clip(((p - a) * ab).sum(axis=1) / L2, 0, 1)
    foot = a + s[:, None] * ab
    k = int(np.argmin(np.hypot(*(foot - p).T)))
    direction = ab[k] / math.sqrt(L2[k])
    normal = np.array([-direction[1], direction[0]])
    return p - normal * width_m / 2, p + normal * width_m / 2


def _counters(twin, spec: Any) -> list[tuple[str, str, dict]]:
    """``(kind, id, kwargs)`` for each counter entry."""
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise _fail("counters", f"must be a list, got {spec!r}")
    out = []
    for i, item in enumerate(spec):
        path = f"counters[{i}]"
        if not isinstance(item, Mapping):
            raise _fail(path, f"must be a mapping, got {item!r}")
        kind, cid = item.get("kind"), item.get("id")
        if not isinstance(cid, str) or not cid.strip():
            raise _fail(path + ".id", f"must be a non-empty string, got {cid!r}")
        period = _num(item.get("period_s", 60.0), path + ".period_s")
        if period <= 0:
            raise _fail(path + ".period_s", f"must be > 0, got {period}")
        err = item.get("error", True)
        if kind == "line":
            _unknown(item, ("id", "kind", "at", "lonlat", "a", "b", "edge", "width_m", "period_s", "sample_s",
                            "error", "miss_rate"), path)
            width = _num(item.get("width_m", 6.0), path + ".width_m")
            if "a" in item or "b" in item:
                a = _point(twin, item.get("a"), path + ".a")
                b = _point(twin, item.get("b"), path + ".b")
            elif "edge" in item:
                a, b = _edge_line(twin, item["edge"], width, path + ".edge")
            else:
                a, b = _line_across(twin, _where(twin, item, path), width, path)
            kw = {"a": tuple(a), "b": tuple(b), "report_s": period, "error": bool(err),
                  "sample_s": _num(item.get("sample_s", 1.0), path + ".sample_s")}
            if "miss_rate" in item:
                kw["miss_rate"] = _num(item["miss_rate"], path + ".miss_rate")
            out.append(("line", cid.strip(), kw))
        elif kind == "area":
            _unknown(item, ("id", "kind", "at", "lonlat", "zone", "radius_m", "period_s", "error"), path)
            zone, name, cap = _area_zone(twin, item, path)
            out.append(("area", cid.strip(), {"zone": zone, "zone_name": name, "capacity": cap,
                                              "period_s": period, "error": bool(err)}))
        else:
            raise _fail(path + ".kind", f"must be line or area, got {kind!r}")
    return out


def _point(twin, v: Any, path: str) -> np.ndarray:
    if isinstance(v, list | tuple) and len(v) == 2 and all(isinstance(c, int | float) for c in v) \
            and abs(float(v[0])) > 360:     # projected metres, not lon/lat
        return np.array([float(v[0]), float(v[1])])
    return np.array(_place_xy(twin, v, path))


def _edge_line(twin, name: Any, width: float, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Across the edge of street ``name`` nearest the street's centre, at the edge's midpoint."""
    w = twin.walk
    key = str(name).lower()
    edges, a, b = _walk_segments(twin)

    def named(u, v) -> bool:
        for d in w.get_edge_data(u, v, default={}).values():
            n = d.get("name")
            if any(str(x).lower() == key for x in (n if isinstance(n, list) else [n]) if x):
                return True
        return False

    ok = np.flatnonzero([named(u, v) or named(v, u) for u, v in edges])
    if len(ok) == 0:
        raise _fail(path, f"no walk edge named {name!r}")
    mids = (a[ok] + b[ok]) / 2
    k = ok[int(np.argmin(np.hypot(*(mids - mids.mean(axis=0)).T)))]
    d = (b[k] - a[k]) / max(float(np.hypot(*(b[k] - a[k]))), 1e-9)
    normal = np.array([-d[1], d[0]])
    mid = (a[k] + b[k]) / 2
    return mid - normal * width / 2, mid + normal * width / 2


def _area_zone(twin, item: Mapping, path: str):
    """Zone polygon, its name and capacity for an area counter."""
    if "zone" in item:
        z = item["zone"]
        if not isinstance(z, list) or len(z) < 3:
            raise _fail(path + ".zone", f"must be a list of at least 3 [lon, lat] corners, got {z!r}")
        poly = shapely.Polygon(twin.to_xy(np.array(z, float)))
        if not poly.is_valid or poly.area <= 0:
            raise _fail(path + ".zone", "is not a valid polygon with area")
        return poly, str(item.get("id")), None
    at = item.get("at")
    if isinstance(at, str):
        key = at.strip().lower()
        for a in sorted(twin.assets, key=lambda a: a.id):
            if a.polygon is not None and key in (a.id.lower(), a.name.lower()):
                return a.polygon, a.name, int(a.capacity)
    xy = _where(twin, item, path)
    for a in sorted(twin.assets, key=lambda a: a.id):
        if a.polygon is not None and a.polygon.contains(shapely.Point(xy)):
            return a.polygon, a.name, int(a.capacity)
    r = _num(item.get("radius_m", 25.0), path + ".radius_m")
    return shapely.Point(xy).buffer(r), str(at if isinstance(at, str) else item.get("id")), None


# ------------------------------------------------------------------------------------------ entry point
def build_physical_sensors(twin, spec: Mapping | None, *, rng: np.random.Generator,
                           truth_sink: Callable | None = None) -> list[Sensor]:
    """Cameras, microphones and counters for the scenario's ``sensors`` mapping (see the module docstring).

    Raises
    ------
    PlacementError
        An unknown key, a bad value, an unknown place or asset type, or a duplicate sensor id.
    """
    spec = {} if spec is None else spec
    if not isinstance(spec, Mapping):
        raise _fail("", f"must be a mapping, got {spec!r}")
    _unknown(spec, _SPEC_KEYS, "")
    conds = _conditions(spec.get("conditions"))
    cams_spec = spec.get("cameras") or {}
    if not isinstance(cams_spec, Mapping):
        raise _fail("cameras", f"must be a mapping {{from_osm, list, auto}}, got {cams_spec!r}")
    _unknown(cams_spec, _CAMERAS_KEYS, "cameras")
    fps = _num(cams_spec.get("fps", OSM_DEFAULTS["fps"]), "cameras.fps")
    samples = walk_samples(twin)
    cams: list[tuple[str, CameraConfig]] = []
    if cams_spec.get("from_osm", False):
        cams += osm_cameras(twin, fps=fps, conditions=conds, samples=samples)
    items = cams_spec.get("list") or []
    if not isinstance(items, list):
        raise _fail("cameras.list", f"must be a list, got {items!r}")
    cams += [_list_camera(twin, item, i, fps, conds, samples) for i, item in enumerate(items)]
    if cams_spec.get("auto") is not None:
        cams += auto_cameras(twin, cams_spec["auto"], fps=fps, conditions=conds, samples=samples)[0]
    mics = _microphones(twin, spec.get("acoustic", 0))
    counters = _counters(twin, spec.get("counters"))
    ids = [c for c, _ in cams] + [m for m, _ in mics] + [c for _, c, _ in counters]
    seen: set[str] = set()
    for sid in ids:
        if sid in seen:
            raise _fail("", f"sensor id {sid!r} is used twice")
        seen.add(sid)
    gens = iter(rng.spawn(len(ids)))
    groups: dict[float, CameraGroup] = {}     # cameras with one frame rate are sampled together
    out: list[Sensor] = [Camera(cid, cfg, rng=next(gens), buildings=twin.buildings, truth_sink=truth_sink,
                                group=groups.setdefault(float(cfg.fps), CameraGroup()))
                         for cid, cfg in cams]
    mic_spec = spec.get("acoustic")
    thresholds = {it["id"]: it["threshold_db"] for it in mic_spec if "threshold_db" in it} \
        if isinstance(mic_spec, list) else {}
    for mid, xy in mics:
        kw = {"threshold_db": float(thresholds[mid])} if mid in thresholds else {}
        out.append(Microphone(mid, xy, rng=next(gens), **kw))
    for kind, cid, kw in counters:
        cls = LineCounter if kind == "line" else AreaCounter
        out.append(cls(cid, rng=next(gens), **kw))
    _attach(twin, [c for c in out if isinstance(c, Camera)])
    return out


def _attach(twin, cameras: list[Camera]) -> None:
    net = getattr(twin, "network", None)
    if net is None:
        return
    new = {c.id: c.xy for c in cameras if c.id not in net}
    if new:
        from twin.network import attach_cameras

        attach_cameras(net, new)
