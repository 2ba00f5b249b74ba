"""How incident fusion reads one alert dict: validation, its incident kind and group, source class and
sensor, location (alerts without a position that name a camera are placed at it), the hosts and network
segments it names, the hosts it targets, the cameras it reports lost, and the assets it is at."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from analytics.evidence import source_class
from analytics.fusion_context import FusionContext, is_ip

__all__ = ["ALERT_INCIDENT", "CAMERA_LOSS_KINDS", "GROUP", "PRECEDENCE", "FusionInputError", "LocationParams",
           "Obs", "read_alert"]

#: The incident kind each alert kind starts or supports (a ``running`` alert whose evidence says
#: ``dispersal``, a crowd fleeing at once, is a ``crowd_emergency``).
ALERT_INCIDENT: Mapping[str, str] = MappingProxyType({
    "gunshot": "armed_attack", "explosion": "explosion", "vehicle_intrusion": "vehicle_attack",
    "abandoned_object": "suspicious_object", "zone_intrusion": "intrusion",
    "loitering": "suspicious_behaviour", "running": "suspicious_behaviour",
    "crowd_density": "crowd_emergency", "crowd_anomaly": "crowd_emergency",
    "port_scan": "cyber_attack", "brute_force": "cyber_attack", "beaconing": "cyber_attack", "dos": "dos",
    "stream_loss": "video_tamper", "video_frozen": "video_tamper", "video_replay": "video_tamper",
    "camera_tamper": "video_tamper",
})
#: Alerts merge only within a group: physical events, cyber campaigns, camera losses. Across groups the
#: link is the ``hybrid`` flag, not a merge.
GROUP: Mapping[str, str] = MappingProxyType({
    "armed_attack": "physical", "explosion": "physical", "vehicle_attack": "physical",
    "suspicious_object": "physical", "intrusion": "physical", "suspicious_behaviour": "physical",
    "crowd_emergency": "physical", "cyber_attack": "cyber", "dos": "cyber", "video_tamper": "video",
})
#: Within a group, the kind an incident takes when alerts of several kinds merge: the first in this order
#: (the most severe: people running 20 m from a gunshot are the armed attack's victims, not a separate
#: behaviour; a DoS is the campaign's effect on the site, scans and logins its preparation).
PRECEDENCE: tuple[str, ...] = ("armed_attack", "explosion", "vehicle_attack", "crowd_emergency",
                               "suspicious_object", "intrusion", "suspicious_behaviour", "dos",
                               "cyber_attack", "video_tamper")
#: Alert kinds that report a camera's picture lost or untrustworthy.
CAMERA_LOSS_KINDS = frozenset({"stream_loss", "video_frozen", "video_replay", "camera_tamper"})


class FusionInputError(ValueError):
    """An alert dict that is not the alert record (one line naming the alert and field)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class LocationParams:
    """1-sigma location uncertainty of an alert by how its position was found (metres).

    Parameters
    ----------
    video_m : a camera's ground-plane point from its homography (default 5): calibration error grows with
        range to a few metres at 50 m.
    acoustic_m : an acoustic fix without its own ``evidence.sigma_m`` (default 25): the loudest-microphone
        fallback of ``analytics.acoustic``.
    zone_m : a zone's centre standing for a crowd anomaly of the whole zone (default 20).
    camera_m : an alert placed at its camera (stream loss, tamper; default 30): the camera watched roughly
        that far around itself.
    """

    video_m: float = 5.0
    acoustic_m: float = 25.0
    zone_m: float = 20.0
    camera_m: float = 30.0


@dataclass(slots=True)
class Obs:
    """One alert as fusion reads it."""

    id: str
    t: float
    kind: str
    conf: float
    source: list[str]
    zone: str | None
    lonlat: list[float] | None
    inc_kind: str
    group: str
    cls: str
    sensor_ids: tuple[str, ...]
    xy: tuple[float, float] | None
    sigma: float
    camera: str | None
    hosts: tuple[str, ...]          # addresses, for the incident's ``hosts``
    host_keys: tuple[str, ...]      # addresses and camera ids, for same-host association
    segments: tuple[tuple[str, str], ...]  # (segment, host)
    victims: tuple[str, ...]        # the hosts the alert says are targeted
    lost: tuple[str, ...]           # camera ids reported lost
    assets: tuple[str, ...]
    crowd_claim: bool               # video says there is (or was) a crowd: a counter can contradict it


def _bad(where: str, field: str, what: str, v: Any) -> FusionInputError:
    return FusionInputError(f"alert {where}: {field} must be {what}, got {v!r}"[:300])


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _strings(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list | tuple):
        return [s for s in v if isinstance(s, str)]
    return []


def read_alert(alert: Any, n: int, ctx: FusionContext, loc: LocationParams) -> Obs:
    """Validate and read the ``n``-th alert (from 1; its id is ``A<n>`` unless it has one)."""
    if not isinstance(alert, Mapping):
        raise FusionInputError(f"alert #{n}: must be a JSON object, got {type(alert).__name__}")
    aid = alert.get("id", f"A{n}")
    where = f"#{n}" if "id" not in alert else repr(aid)
    if not isinstance(aid, str) or not aid:
        raise _bad(where, "id", "a non-empty string", aid)
    t, kind, conf = alert.get("t"), alert.get("kind"), alert.get("conf")
    if not _finite(t):
        raise _bad(where, "t", "a finite number of seconds", t)
    if kind not in ALERT_INCIDENT:
        raise _bad(where, "kind", "a known alert kind (" + ", ".join(ALERT_INCIDENT) + ")", kind)
    if not _finite(conf) or not 0.0 <= conf <= 1.0:
        raise _bad(where, "conf", "a number in [0, 1]", conf)
    source, zone, ev = alert.get("source") or [], alert.get("zone"), alert.get("evidence") or {}
    if not isinstance(source, list | tuple) or not all(isinstance(s, str) for s in source):
        raise _bad(where, "source", "a list of strings", source)
    if zone is not None and not isinstance(zone, str):
        raise _bad(where, "zone", "a string or null", zone)
    if not isinstance(ev, Mapping):
        raise _bad(where, "evidence", "an object", ev)
    xy = _point(alert.get("xy"), where, "xy")
    lonlat = _point(alert.get("lonlat"), where, "lonlat")
    inc_kind = ALERT_INCIDENT[kind]
    if kind == "running" and ev.get("dispersal"):
        inc_kind = "crowd_emergency"    # a crowd fleeing at once (the detector's dispersal), not one runner
    group = GROUP[inc_kind]
    cls = source_class(alert, cameras=ctx.cam_xy)
    camera = _camera(kind, source, ev, ctx) if cls in ("video", "health") or group == "video" else None
    xy, sigma = _locate(kind, cls, xy, ev, camera, ctx, loc)
    hosts, keys = _hosts(group, source, camera, ctx, ev)
    return Obs(
        id=aid, t=float(t), kind=kind, conf=float(conf), source=list(source), zone=zone,
        lonlat=None if lonlat is None else list(lonlat), inc_kind=inc_kind, group=group, cls=cls,
        sensor_ids=_sensor(cls, kind, source, camera), xy=xy, sigma=sigma, camera=camera, hosts=hosts,
        host_keys=keys, segments=tuple((s, h) for h in keys if (s := ctx.segment(h)) is not None),
        victims=_victims(kind, source, ev) if group == "cyber" else (),
        lost=_lost(kind, source, ev, camera, ctx),
        assets=tuple(ctx.assets_at(xy)) if group != "cyber" else (),
        crowd_claim=cls == "video" and (kind in ("crowd_density", "crowd_anomaly")
                                        or (kind == "running" and bool(ev.get("dispersal")))),
    )


def _point(v: Any, where: str, field: str) -> tuple[float, float] | None:
    if v is None:
        return None
    if not isinstance(v, list | tuple) or len(v) != 2 or not all(_finite(c) for c in v):
        raise _bad(where, field, "[x, y] of two finite numbers or null", v)
    return float(v[0]), float(v[1])


def _camera(kind: str, source: list[str], ev: Mapping[str, Any], ctx: FusionContext) -> str | None:
    """The camera an alert names: ``evidence.camera_id``, a source that is a camera or its address, or the
    stream's destination ``evidence.dst``; for a camera the context does not know, ``evidence.camera_id``
    or else the first source that is not an address (camera alerts have their camera as source)."""
    names = [ev.get("camera_id"), *source, ev.get("dst")]
    for name in names:
        if isinstance(name, str):
            cam = ctx.camera_named(name)
            if cam is not None:
                return cam
    cid = ev.get("camera_id")
    if isinstance(cid, str):
        return cid
    return next((s for s in source if not is_ip(s)), None)


def _locate(kind: str, cls: str, xy: tuple[float, float] | None, ev: Mapping[str, Any], camera: str | None,
            ctx: FusionContext, loc: LocationParams) -> tuple[tuple[float, float] | None, float]:
    if xy is None:
        if kind in CAMERA_LOSS_KINDS and camera is not None and camera in ctx.cam_xy:
            return ctx.cam_xy[camera], loc.camera_m
        return None, 0.0
    if cls == "acoustic":
        s = ev.get("sigma_m")
        return xy, float(s) if _finite(s) and s > 0 else loc.acoustic_m
    if cls == "counter" or (kind == "crowd_anomaly" and ev.get("reason") in ("dispersal", "density_jump")):
        return xy, loc.zone_m
    if kind in CAMERA_LOSS_KINDS:
        return xy, loc.camera_m
    return xy, loc.video_m


def _hosts(group: str, source: list[str], camera: str | None, ctx: FusionContext,
           ev: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The hosts an alert names and its association keys. A stream lost on the video server's side
    (``evidence.src``, the server whose RTSP session ended) is keyed by that server too, so the streams one
    outage cuts are one incident."""
    if group == "physical":
        return (), ()
    ips = [s for s in source if is_ip(s)]
    keys = list(ips)
    if group == "video" and camera is not None:
        ip = ctx.cam_ip.get(camera)
        if ip is not None:
            ips.append(ip)
        keys += [camera, *([ip] if ip else [])]
    if group == "video":
        keys += [s for s in _strings(ev.get("src")) if is_ip(s)]
    return tuple(sorted(set(ips))), tuple(sorted(set(keys)))


def _sensor(cls: str, kind: str, source: list[str], camera: str | None) -> tuple[str, ...]:
    """The ids that name the sensor behind an alert (see ``analytics.evidence.EvidencePool``): the camera
    for video and health, the counter or microphones, and for cyber the detector and its hosts."""
    if cls in ("video", "health") and camera is not None:
        return (camera,)
    if cls == "cyber":
        return tuple(f"{kind}:{h}" for h in source) or (kind,)
    return tuple(source)


def _victims(kind: str, source: list[str], ev: Mapping[str, Any]) -> tuple[str, ...]:
    """The hosts a cyber alert says are attacked: a DoS's destination, a scan's or brute force's targets,
    a beaconing (compromised) internal host."""
    if kind == "dos":
        hosts = [*source, *_strings(ev.get("dst"))]
    elif kind in ("port_scan", "brute_force"):
        hosts = _strings(ev.get("dst"))
    elif kind == "beaconing":
        hosts = [*_strings(ev.get("src")), *source]
    else:
        hosts = list(source)
    return tuple(sorted(set(hosts)))


def _lost(kind: str, source: list[str], ev: Mapping[str, Any], camera: str | None,
          ctx: FusionContext) -> tuple[str, ...]:
    """Cameras a loss alert reports: its camera, or every camera a lost server or switch cuts off."""
    if kind not in CAMERA_LOSS_KINDS:
        return ()
    if camera is not None:
        return (camera,)
    out: set[str] = set()
    for h in [*source, *_strings(ev.get("dst"))]:
        out |= ctx.blinded(h)
    return tuple(sorted(out))
