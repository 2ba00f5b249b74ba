"""The camera kind: where a scenario's cameras go (``sensors.cameras``), in this order (ids unique):

``from_osm: true``
    every OSM ``man_made=surveillance`` camera of the twin, id ``cam-<osm id>``. Tagged direction and height
    are honoured; otherwise documented defaults: height 6 m, pitch aiming the image centre 20 m away on the
    ground, hfov 60 deg (90 deg for ``camera:type=dome|panning`` or ``revolving=yes``), 1920 x 1080, ``fps``
    (default 5). With no tagged direction the camera looks towards the densest walkable area: of 24 bearings
    (15 deg apart) the one whose +-30 deg wedge holds the most walk-graph sample points (every 10 m along
    the edges) between 5 and 60 m away, each weighted by the cosine of its angle off the bearing.
``list: [{id, at | lonlat, height_m, yaw_deg, pitch_deg, hfov_deg, resolution: [w, h], fps, ...}]``
    ``at`` is a PLACE (``twin.places``, or ``[lon, lat]``); a missing ``yaw_deg`` aims as above. Detector
    fields of ``sensors.camera.CameraConfig`` (``miss_rate``, ``fp_per_frame``, ``h50_px``, ``bbox_noise``,
    ``max_range_m``, ``detector``, ``near_fp_scale``, ``target_occlusion``, the ``persistent_fp_*`` rates, the
    ``calib_*_sigma_*`` calibration errors and the ``lens_*`` distortion...) may be given too.
``auto: {count: N, cover: [asset types]}``
    N cameras ``auto-01``... placed greedily for the largest visible area of those assets
    (``sensors.camera.coverage``; optional ``spacing_m``, ``reach_m``, ``max_candidates``, ``n_yaws``,
    ``height_m``, ``hfov_deg``, ``pitch_deg``).

``sensors.cameras.detector`` (default ``frcnn``) is the confidence profile of every camera that does not
name its own (``sensors.camera.detector``: ``frcnn`` strong, ``acf`` weak).
``sensors.conditions: {light, weather}`` sets every camera's conditions (a listed camera's own
``conditions`` replace them). Cameras with the same ``fps`` share one ``sensors.camera.CameraGroup``
(observed in one numpy pass per instant, drawing from the Generator of the group's first camera). Cameras
missing from ``twin.network`` are attached with ``twin.network.attach_cameras``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sensors.camera import Camera, CameraConfig, CameraGroup
from sensors.camera.coverage import coverage_problem, greedy_cover
from sensors.camera.detector import PROFILES
from sensors.export.mot import MotExporter
from sensors.kinds import PlacementContext, Planned, SensorKind, one_of_at_lonlat

__all__ = ["OSM_DEFAULTS", "AutoSpec", "CameraSpec", "Cameras", "CamerasSpec", "aim_yaw", "auto_cameras",
           "osm_cameras", "walk_samples"]

#: Defaults for OSM cameras whose tags do not say (documented in the module docstring).
OSM_DEFAULTS = {"height_m": 6.0, "aim_distance_m": 20.0, "hfov_deg": 60.0, "wide_hfov_deg": 90.0,
                "resolution": (1920, 1080), "fps": 5.0}


def _ranges(d: dict, path: str, rep) -> None:
    lo, hi = d.get("min_range_m", 1.0), d.get("max_range_m", 150.0)
    if isinstance(lo, int | float) and isinstance(hi, int | float) and not hi > lo:
        rep.error(f"{path}.max_range_m", f"must exceed min_range_m ({hi} <= {lo})")


def _opt(doc: str = "", **bounds) -> object:
    return field(default=None, metadata={"doc": doc, **bounds})


def _lens_ranges(d: dict, path: str, rep) -> None:
    for key in ("lens_k1_range", "lens_k2_range"):
        r = d.get(key)
        if isinstance(r, list) and (len(r) != 2 or (len(r) == 2 and r[0] > r[1])):
            rep.error(f"{path}.{key}", f"must be [low, high] with low <= high, got {r!r}")


_RANGE_META = {"item": {"ge": -1, "le": 1}, "min_len": 2, "doc": "[low, high] radial coefficient drawn"}


@dataclass(frozen=True)
class CameraSpec:
    """One listed camera; absent fields take ``CameraConfig``'s defaults (and ``yaw_deg`` aims itself)."""

    RULES = (one_of_at_lonlat, _ranges, _lens_ranges)

    id: str = field(metadata={"doc": "sensor id"})
    at: str | tuple[float, float] | None = field(default=None, metadata={"kind": "place"})
    lonlat: tuple[float, float] | None = field(default=None, metadata={"kind": "lonlat"})
    height_m: float | None = _opt("default 6 m", gt=0, le=200)
    yaw_deg: float | None = _opt("view bearing; absent = busiest way", ge=-360, le=360)
    pitch_deg: float | None = _opt("downward tilt; absent = aim 20 m away", ge=0, le=90)
    hfov_deg: float | None = _opt("horizontal field of view", ge=1, le=170)
    resolution: tuple[int, int] | None = field(default=None, metadata={"kind": "resolution"})
    fps: float | None = _opt("frames per second; default the cameras' fps", gt=0, le=60)
    conditions: tuple[str, ...] | None = field(default=None, metadata={
        "item": {"choices": ("dusk", "night", "rain", "snow", "fog")}, "doc": "this camera's conditions"})
    max_range_m: float | None = _opt(ge=0)
    min_range_m: float | None = _opt(ge=0)
    min_visible: float | None = _opt("share of a box that must be in the image", gt=0, le=1)
    h50_px: float | None = _opt("box height detected half the time", ge=0)
    h_scale_px: float | None = _opt(gt=0)
    miss_rate: float | None = _opt(ge=0, le=1)
    bbox_noise: float | None = _opt(ge=0)
    fp_per_frame: float | None = _opt("clutter boxes per frame", ge=0)
    aim_distance_m: float | None = _opt(ge=0)
    tamper_yaw_deg: float | None = _opt(ge=0)
    mount_clearance_m: float | None = _opt(ge=0)
    detector: str | None = field(default=None, metadata={
        "choices": tuple(PROFILES), "doc": "confidence profile (frcnn strong, acf weak), else the block's"})
    near_fp_scale: float | None = _opt("x the profile's part-box false detections per detection", ge=0)
    target_occlusion: bool | None = field(default=None, metadata={"doc": "nearer targets hide farther ones"})
    persistent_fp_static: float | None = _opt("mean whole-run false sources (poster, mannequin)", ge=0)
    persistent_fp_per_hour: float | None = _opt("transient false sources per hour", ge=0)
    persistent_fp_life_s: float | None = _opt("mean life of a transient false source beyond 2 s", ge=0)
    persistent_fp_detect: float | None = _opt("share of frames a false source is detected in", ge=0, le=1)
    calib_xy_sigma_m: float | None = _opt("published position error, per axis", ge=0, le=10)
    calib_height_sigma_m: float | None = _opt("published height error", ge=0, le=10)
    calib_yaw_sigma_deg: float | None = _opt("published yaw error", ge=0, le=10)
    calib_pitch_sigma_deg: float | None = _opt("published pitch error", ge=0, le=10)
    calib_roll_sigma_deg: float | None = _opt("published roll error", ge=0, le=10)
    lens_k1_range: tuple[float, ...] | None = field(default=None, metadata=_RANGE_META)
    lens_k2_range: tuple[float, ...] | None = field(default=None, metadata=_RANGE_META)
    lens_k_sigma: float | None = _opt("error of the published k1, k2", ge=0, le=0.2)


#: ``CameraSpec`` fields that become ``CameraConfig`` numbers when given.
_NUMBERS = ("height_m", "yaw_deg", "pitch_deg", "hfov_deg", "fps", "max_range_m", "min_range_m",
            "min_visible", "h50_px", "h_scale_px", "miss_rate", "bbox_noise", "fp_per_frame",
            "aim_distance_m", "tamper_yaw_deg", "mount_clearance_m", "near_fp_scale", "persistent_fp_static",
            "persistent_fp_per_hour", "persistent_fp_life_s", "persistent_fp_detect", "calib_xy_sigma_m",
            "calib_height_sigma_m", "calib_yaw_sigma_deg", "calib_pitch_sigma_deg", "calib_roll_sigma_deg",
            "lens_k_sigma")
#: ``CameraSpec`` fields passed to ``CameraConfig`` as they are when given.
_AS_IS = ("target_occlusion", "lens_k1_range", "lens_k2_range")


@dataclass(frozen=True)
class AutoSpec:
    """Cameras placed for the largest visible area of some asset types (``sensors.camera.coverage``)."""

    count: int = field(metadata={"ge": 1, "doc": "how many cameras"})
    cover: tuple[str, ...] = field(default=("square", "station"), metadata={
        "min_len": 1, "doc": "asset types to cover"})
    spacing_m: float | None = _opt("coverage grid spacing", gt=0)
    reach_m: float | None = _opt("mounts this close to the assets", gt=0)
    max_candidates: int | None = _opt("mounts tried", ge=1)
    n_yaws: int | None = _opt("bearings tried per mount", ge=1)
    height_m: float | None = _opt(gt=0)
    hfov_deg: float | None = _opt(ge=1, le=170)
    pitch_deg: float | None = _opt(ge=0, le=90)


@dataclass(frozen=True)
class CamerasSpec:
    """The ``sensors.cameras`` block."""

    from_osm: bool = field(default=False, metadata={"doc": "the OSM man_made=surveillance cameras"})
    osm_max: int | None = field(default=None, metadata={
        "ge": 1, "doc": "with from_osm, at most this many: those nearest the OSM cameras' median position"})
    list: tuple[CameraSpec, ...] = ()
    auto: AutoSpec | None = None
    fps: float = field(default=5.0, metadata={"gt": 0, "le": 60, "doc": "frame rate of OSM and auto cameras"})
    detector: str = field(default="frcnn", metadata={
        "choices": tuple(PROFILES), "doc": "confidence profile of cameras that do not name one"})


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


def osm_cameras(twin, *, fps: float = 5.0, conditions: tuple[str, ...] = (),
                samples: np.ndarray | None = None, detector: str = "frcnn") -> list[tuple[str, CameraConfig]]:
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
            resolution=OSM_DEFAULTS["resolution"], fps=float(fps), conditions=conditions, detector=detector)))
    return out


def nearest_centre(cams: list[tuple[str, CameraConfig]], n: int | None) -> list[tuple[str, CameraConfig]]:
    """The ``n`` cameras nearest the cameras' median position (all when ``n`` is None), in their order.

    >>> cfg = [(c, CameraConfig(xy=(x, 0.0))) for c, x in (("a", 0.0), ("b", 10.0), ("c", 11.0), ("d", 99.0))]
    >>> [c for c, _ in nearest_centre(cfg, 2)]
    ['b', 'c']
    """
    if n is None or n >= len(cams):
        return cams
    xy = np.array([c.xy for _, c in cams], dtype=float)
    d = np.hypot(*(xy - np.median(xy, axis=0)).T)
    keep = np.sort(np.argsort(d, kind="stable")[:n])
    return [cams[i] for i in keep]


def _list_camera(item: CameraSpec, xy: tuple[float, float], fps: float, conditions: tuple[str, ...],
                 samples: np.ndarray, detector: str = "frcnn") -> CameraConfig:
    kw: dict = {k: float(getattr(item, k)) for k in _NUMBERS if getattr(item, k) is not None}
    kw.update({k: getattr(item, k) for k in _AS_IS if getattr(item, k) is not None})
    kw["detector"] = item.detector if item.detector is not None else detector
    kw.setdefault("fps", fps)
    if "yaw_deg" not in kw:
        kw["yaw_deg"] = aim_yaw(xy, samples)
    res = item.resolution if item.resolution is not None else OSM_DEFAULTS["resolution"]
    conds = item.conditions if item.conditions is not None else conditions
    return CameraConfig(xy=xy, resolution=(int(res[0]), int(res[1])), conditions=tuple(conds), **kw)


def _or(value, default):
    return default if value is None else value


def auto_cameras(twin, auto: AutoSpec, *, fps: float = 5.0, conditions: tuple[str, ...] = (),
                 samples: np.ndarray | None = None, detector: str = "frcnn"):
    """``(cameras, problem, chosen)``: the ``auto`` cameras and the coverage problem they solve.

    Raises
    ------
    ValueError
        The twin has no asset of the types to cover.
    """
    assets = sorted((a for a in twin.assets if a.type in set(auto.cover)), key=lambda a: a.id)
    if not assets:
        have = sorted({a.type for a in twin.assets})
        raise ValueError(f"no assets of types {list(auto.cover)} in twin {twin.city}; it has {have}")
    base = CameraConfig(xy=(0.0, 0.0), fps=float(fps), conditions=conditions,
                        height_m=float(_or(auto.height_m, OSM_DEFAULTS["height_m"])),
                        hfov_deg=float(_or(auto.hfov_deg, OSM_DEFAULTS["hfov_deg"])),
                        pitch_deg=None if auto.pitch_deg is None else float(auto.pitch_deg),
                        aim_distance_m=OSM_DEFAULTS["aim_distance_m"])
    opts = {k: getattr(auto, k) for k in ("spacing_m", "reach_m", "max_candidates", "n_yaws")
            if getattr(auto, k) is not None}
    walk_xy = (np.array([(d["x"], d["y"]) for _, d in twin.walk.nodes(data=True)], float)
               if twin.walk is not None and twin.walk.number_of_nodes() else None)
    problem = coverage_problem(twin, assets, base, walk_xy=walk_xy, **opts)
    chosen = greedy_cover(problem, auto.count)
    cams = []
    for j, k in enumerate(chosen, 1):
        xy, yaw = problem.option(k)
        cams.append((f"auto-{j:02d}", CameraConfig(
            xy=xy, height_m=base.height_m, yaw_deg=yaw, pitch_deg=base.pitch_deg, hfov_deg=base.hfov_deg,
            aim_distance_m=base.aim_distance_m, fps=float(fps), conditions=conditions, detector=detector)))
    return cams, problem, chosen


class Cameras(SensorKind):
    """CCTV cameras with their detectors; exports MOTChallenge files per camera."""

    key = "cameras"
    rank = 0
    Spec = CamerasSpec
    default = CamerasSpec()
    exporters = (MotExporter,)

    def plan(self, spec: CamerasSpec, ctx: PlacementContext) -> list[Planned]:
        twin, fps = ctx.twin, float(spec.fps)
        samples = ctx.memo("walk_samples", lambda: walk_samples(twin))
        cams: list[tuple[str, str, CameraConfig]] = []
        if spec.from_osm:
            cams += [(cid, "sensors.cameras.from_osm", cfg)
                     for cid, cfg in nearest_centre(osm_cameras(twin, fps=fps, conditions=ctx.conditions,
                                                                samples=samples, detector=spec.detector),
                                                    spec.osm_max)]
        for i, item in enumerate(spec.list):
            path = f"sensors.cameras.list[{i}]"
            xy = ctx.where(item, path)
            if xy is not None:
                cams.append((item.id.strip(), path,
                             _list_camera(item, xy, fps, ctx.conditions, samples, spec.detector)))
        if spec.auto is not None:
            try:
                found = auto_cameras(twin, spec.auto, fps=fps, conditions=ctx.conditions, samples=samples,
                                     detector=spec.detector)[0]
            except ValueError as exc:
                ctx.error("sensors.cameras.auto.cover", str(exc))
                found = []
            cams += [(cid, "sensors.cameras.auto", cfg) for cid, cfg in found]
        return [Planned(cid, path, cfg) for cid, path, cfg in cams]

    def build(self, planned: Planned, rng: np.random.Generator, ctx: PlacementContext) -> Camera:
        cfg = planned.config
        groups = ctx.memo("camera_groups", dict)     # cameras with one frame rate are sampled together
        return Camera(planned.id, cfg, rng=rng, buildings=ctx.twin.buildings, truth_sink=ctx.truth_sink,
                      group=groups.setdefault(float(cfg.fps), CameraGroup()))

    def make(self, planned, gens, ctx):
        out = super().make(planned, gens, ctx)
        _attach(ctx.twin, out)
        return out


def _attach(twin, cameras: list[Camera]) -> None:
    net = getattr(twin, "network", None)
    if net is None:
        return
    new = {c.id: c.xy for c in cameras if c.id not in net}
    if new:
        from twin.network import attach_cameras

        attach_cameras(net, new)
