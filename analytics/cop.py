"""The common operational picture (COP) as RFC 7946 GeoJSON, and its updates over a run.

One FeatureCollection in WGS84 longitude/latitude holds five layers, each feature tagged with a ``layer``
property: incidents (kind, priority, state, risk R, confidence, hybrid), the assets they affect (with
their functionality Q and risk when given), sensors and their state, responders with their ETA, and the
recommended routes. ``cop_geojson`` builds it from plain dicts; ``CopWriter`` appends what changed at
each update to ``cop.jsonl`` and writes the final ``cop.geojson`` atomically. ``validate_geojson`` checks
the RFC 7946 rules a producer can get wrong.

RFC 7946 rules followed: positions are ``[longitude, latitude]`` (§3.1.1) in WGS84, with no ``crs``
member (§4, the old ``crs`` was removed); a linear ring is closed with >= 4 positions, exterior rings
counter-clockwise and holes clockwise (§3.1.6); a LineString has >= 2 positions (§3.1.4); a feature
without a location has ``"geometry": null`` (§3.2), so a network incident stays in the picture.
Coordinates are rounded to 7 decimals (about 1 cm; §11.2 notes 6 are about 10 cm).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["LAYERS", "CopError", "CopWriter", "cop_features", "cop_geojson", "validate_geojson"]

#: The layers of the picture, in the order their features are listed.
LAYERS = ("incident", "asset", "sensor", "responder", "route")
_LAYER_ARGS = ("incidents", "assets", "sensors", "responders", "routes")

#: A projection from metres ``[x, y]`` to ``[lon, lat]`` (e.g. ``analytics.geometry.LonLatProjector``);
#: None for a point it cannot place.
ToLonLat = Callable[[Sequence[float]], Sequence[float] | None]


class CopError(ValueError):
    """COP input that cannot be drawn (one line naming the feature, the field and the problem)."""


def _plain(value: Any) -> Any:
    """``value`` as plain JSON: non-finite floats become None, tuples lists, numpy scalars Python ones."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    if hasattr(value, "tolist"):  # numpy array
        return _plain(value.tolist())
    return str(value)


def _position(lonlat: Sequence[float] | None, what: str) -> list[float] | None:
    """``[lon, lat]`` rounded to 7 decimals; None for no or non-finite input; CopError when out of range
    (a projection that gives metres, or lat/lon swapped outside +-90)."""
    if lonlat is None:
        return None
    lon, lat = float(lonlat[0]), float(lonlat[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise CopError(f"{what}: {[lon, lat]!r} is not a WGS84 lon/lat position")
    return [round(lon, 7), round(lat, 7)]


def _locate(item: Mapping[str, Any], to_lonlat: ToLonLat | None, what: str) -> list[float] | None:
    """An item's position: its ``lonlat`` if given, else its ``xy`` through ``to_lonlat``."""
    if item.get("lonlat") is not None:
        return _position(item["lonlat"], f"{what} lonlat")
    xy = item.get("xy")
    if xy is None or to_lonlat is None or not all(math.isfinite(float(v)) for v in xy[:2]):
        return None
    return _position(to_lonlat(xy), f"{what} xy")


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Twice the signed area of a closed ring in the lon/lat plane (> 0: counter-clockwise)."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring[:-1], ring[1:], strict=True))


def _polygon(xys: Sequence[Sequence[float]], to_lonlat: ToLonLat | None, what: str) -> dict | None:
    """A Polygon geometry from a ring in metres: closed, counter-clockwise; None when degenerate."""
    if to_lonlat is None:
        return None
    ring: list[list[float]] = []
    for xy in xys:
        p = _position(to_lonlat(xy), f"{what} polygon")
        if p is None:
            return None
        if not ring or p != ring[-1]:
            ring.append(p)
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        return None
    ring.append(ring[0])
    area = _ring_area(ring)
    if area == 0:
        return None
    return {"type": "Polygon", "coordinates": [ring if area > 0 else ring[::-1]]}


def _point(pos: list[float] | None) -> dict | None:
    return None if pos is None else {"type": "Point", "coordinates": pos}


def _feature(layer: str, fid: Any, geometry: dict | None, props: Mapping[str, Any]) -> dict:
    return {"type": "Feature", "id": f"{layer}:{fid}", "geometry": geometry,
            "properties": _plain({"layer": layer, "id": fid, **props})}


def _incident(inc: Mapping[str, Any], to_lonlat: ToLonLat | None) -> dict:
    risk = inc.get("risk") if isinstance(inc.get("risk"), Mapping) else {}
    iid = inc.get("id")
    return _feature("incident", iid, _point(_locate(inc, to_lonlat, f"incident {iid}")), {
        "kind": inc.get("kind"), "priority": inc.get("priority"), "state": inc.get("state"),
        "R": risk.get("R"), "confidence": inc.get("confidence"), "hybrid": bool(inc.get("hybrid")),
        "hybrid_reason": inc.get("hybrid_reason"), "sigma_m": inc.get("sigma_m"), "zone": inc.get("zone"),
        "assets": list(inc.get("assets") or []), "hosts": list(inc.get("hosts") or []),
        "cameras": list(inc.get("cameras") or []), "n_alerts": len(inc.get("alerts") or []),
        "t_updated": inc.get("t_updated"),
    })


def _affected(incidents: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Asset id -> the ids of the incidents that affect it (listed in ``assets`` or as risk dependents)."""
    out: dict[str, list[str]] = {}
    for inc in incidents:
        risk = inc.get("risk") if isinstance(inc.get("risk"), Mapping) else {}
        for aid in [*(inc.get("assets") or []), *(risk.get("dependents") or [])]:
            ids = out.setdefault(str(aid), [])
            if inc.get("id") not in ids:
                ids.append(inc.get("id"))
    return out


def _asset(asset: Mapping[str, Any], incidents: list[str], to_lonlat: ToLonLat | None) -> dict:
    aid = asset.get("id")
    geom = _polygon(asset["polygon"], to_lonlat, f"asset {aid}") if asset.get("polygon") else None
    geom = geom or _point(_locate(asset, to_lonlat, f"asset {aid}"))
    props = {"type": asset.get("type"), "name": asset.get("name"), "capacity": asset.get("capacity"),
             "incidents": incidents}
    props.update({k: asset[k] for k in ("Q", "risk") if k in asset})
    return _feature("asset", aid, geom, props)


def _route(route: Mapping[str, Any], to_lonlat: ToLonLat | None) -> dict:
    rid = route.get("id")
    line: list[list[float]] = []
    for xy in route.get("xy") or []:
        p = _locate({"xy": xy}, to_lonlat, f"route {rid}")
        if p is not None and (not line or p != line[-1]):
            line.append(p)
    geom = {"type": "LineString", "coordinates": line} if len(line) >= 2 else None
    return _feature("route", rid, geom, {"incident": route.get("incident"), "kind": route.get("kind"),
                                         "why": route.get("why")})


def cop_features(*, incidents: Sequence[Mapping[str, Any]] = (), assets: Sequence[Mapping[str, Any]] = (),
                 sensors: Sequence[Mapping[str, Any]] = (), responders: Sequence[Mapping[str, Any]] = (),
                 routes: Sequence[Mapping[str, Any]] = (), to_lonlat: ToLonLat | None) -> list[dict]:
    """The picture's features, layer by layer in ``LAYERS`` order, each layer in its input order.

    Assets appear only when affected: listed by an incident (``assets`` or ``risk.dependents``) or with a
    functionality ``Q`` below 1 (a cascade reached them). Their ``Q`` and ``risk`` are copied when given.
    Feature ids are ``<layer>:<id>``.

    Raises
    ------
    CopError
        A position outside WGS84 lon/lat ranges (a wrong projection), or two features with one id.
    """
    layers = {"incidents": incidents, "assets": assets, "sensors": sensors, "responders": responders,
              "routes": routes}
    feats = [f for name in _LAYER_ARGS for f in _layer(name, layers[name], incidents, to_lonlat)]
    _unique(feats)
    return feats


def _layer(name: str, items: Sequence[Mapping[str, Any]], incidents: Sequence[Mapping[str, Any]],
           to_lonlat: ToLonLat | None) -> list[dict]:
    """The features of one layer (``name`` as in ``cop_features``' arguments); assets need the incidents."""
    if name == "incidents":
        return [_incident(inc, to_lonlat) for inc in items]
    if name == "assets":
        hit, out = _affected(incidents), []
        for asset in items:
            q = asset.get("Q")
            if str(asset.get("id")) in hit or (q is not None and math.isfinite(float(q)) and float(q) < 1.0):
                out.append(_asset(asset, hit.get(str(asset.get("id")), []), to_lonlat))
        return out
    if name == "sensors":
        return [_feature("sensor", s.get("id"), _point(_locate(s, to_lonlat, f"sensor {s.get('id')}")),
                         {"kind": s.get("kind"), "state": s.get("state")}) for s in items]
    if name == "responders":
        return [_feature("responder", r.get("id"), _point(_locate(r, to_lonlat, f"responder {r.get('id')}")),
                         {"kind": r.get("kind"), "state": r.get("state"), "eta_s": r.get("eta_s"),
                          "incident": r.get("incident")}) for r in items]
    return [_route(r, to_lonlat) for r in items]


#: Layers whose features depend on their own item only (assets also depend on the incidents).
_MEMO_LAYERS = ("incidents", "sensors", "responders", "routes")


def _unique(feats: Iterable[Mapping[str, Any]]) -> None:
    """CopError when two features share an id."""
    seen: set[str] = set()
    for f in feats:
        if f["id"] in seen:
            raise CopError(f"feature {f['id']}: two features with this id")
        seen.add(f["id"])


def cop_geojson(*, incidents: Sequence[Mapping[str, Any]] = (), assets: Sequence[Mapping[str, Any]] = (),
                sensors: Sequence[Mapping[str, Any]] = (), responders: Sequence[Mapping[str, Any]] = (),
                routes: Sequence[Mapping[str, Any]] = (), to_lonlat: ToLonLat | None) -> dict:
    """The common operational picture as one RFC 7946 FeatureCollection (see ``cop_features``).

    ``to_lonlat`` places items given only in metres (``xy``); items with ``lonlat`` use it directly.
    """
    return {"type": "FeatureCollection",
            "features": cop_features(incidents=incidents, assets=assets, sensors=sensors,
                                     responders=responders, routes=routes, to_lonlat=to_lonlat)}


class _CachedProjection:
    """``to_lonlat`` with its answers kept by point (sensors, assets and routes are mostly static)."""

    def __init__(self, to_lonlat: ToLonLat | None, max_size: int = 200_000) -> None:
        self._fn, self._max, self._cache = to_lonlat, max_size, {}

    def __call__(self, xy: Sequence[float]) -> Sequence[float] | None:
        key = (float(xy[0]), float(xy[1]))
        out = self._cache.get(key)
        if out is None and key not in self._cache:
            if len(self._cache) >= self._max:
                self._cache.clear()
            out = self._cache[key] = None if self._fn is None else self._fn(xy)
        return out


def _dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


class CopWriter:
    """Writes the picture's changes to ``cop.jsonl`` as a run goes, and the final ``cop.geojson``.

    Each ``update`` rebuilds the layers it is given (and the assets when given incidents) and appends
    one line ``{"t": t, "changed": [features new or different since the last update], "removed": [feature
    ids]}``, or nothing when nothing changed. Replaying the lines in order gives the picture at any time;
    the last state is what ``close`` writes to ``cop.geojson`` (to a temporary file in the same folder, then
    renamed, so a reader never sees half a file).

    Parameters
    ----------
    path_geojson, path_jsonl
        Where the final picture and the updates go (the jsonl is truncated when the writer opens).
    to_lonlat
        The projection of metres to lon/lat (see ``cop_geojson``); its answers are cached by point.
    """

    def __init__(self, path_geojson: str | os.PathLike, path_jsonl: str | os.PathLike,
                 to_lonlat: ToLonLat | None) -> None:
        self.path_geojson, self.path_jsonl = Path(path_geojson), Path(path_jsonl)
        self._to_lonlat = _CachedProjection(to_lonlat)
        self._layers: dict[str, Sequence[Mapping[str, Any]]] = {name: () for name in _LAYER_ARGS}
        self._feats: dict[str, list[dict]] = {name: [] for name in _LAYER_ARGS}  # by layer, as last built
        self._state: dict[str, dict] = {}
        self._memo: dict[str, dict] = {}
        self._fh = open(self.path_jsonl, "w", encoding="utf-8")  # closed by close()
        self.lines = 0

    def _memo_layer(self, name: str, items: Sequence[Mapping[str, Any]]) -> list[dict]:
        """The layer's features, an item equal to the one last built under its id reusing that feature
        (a picture refreshed every few seconds rebuilds mostly unchanged routes and incidents)."""
        memo = self._memo.setdefault(name, {})
        fresh: dict[Any, tuple[Mapping[str, Any], dict]] = {}
        out = []
        for item in items:
            key = item.get("id")
            hit = memo.get(key)
            same = hit is not None and hit[0] == item
            feat = hit[1] if same else _layer(name, [item], (), self._to_lonlat)[0]
            fresh[key] = (item, feat)
            out.append(feat)
        self._memo[name] = fresh
        return out

    def update(self, t: float, **layers: Sequence[Mapping[str, Any]]) -> dict | None:
        """Take the layers given (``incidents``, ``assets``, ``sensors``, ``responders``, ``routes``; a
        layer not given keeps its last value) at scenario time ``t``; return the line written, if any."""
        if self._fh is None:
            raise CopError("update: the writer is closed")
        if not math.isfinite(float(t)):
            raise CopError(f"t: {t!r} must be finite")
        unknown = sorted(set(layers) - set(_LAYER_ARGS))
        if unknown:
            raise CopError(f"update: unknown layers {unknown} (known: {', '.join(_LAYER_ARGS)})")
        self._layers.update({k: list(v) for k, v in layers.items()})
        redo = set(layers) | ({"assets"} if "incidents" in layers else set())  # assets follow incidents
        for name in redo:
            if name in _MEMO_LAYERS:
                self._feats[name] = self._memo_layer(name, self._layers[name])
            else:
                self._feats[name] = _layer(name, self._layers[name], self._layers["incidents"],
                                           self._to_lonlat)
        feats = [f for name in _LAYER_ARGS for f in self._feats[name]]
        _unique(feats)
        new = {f["id"]: f for f in feats}
        changed = [f for fid, f in new.items() if self._state.get(fid) != f]
        removed = [fid for fid in self._state if fid not in new]
        self._state = new
        if not changed and not removed:
            return None
        line = {"t": float(t), "changed": changed, "removed": removed}
        self._fh.write(_dumps(line) + "\n")
        self.lines += 1
        return line

    def picture(self) -> dict:
        """The current picture as a FeatureCollection."""
        return {"type": "FeatureCollection", "features": list(self._state.values())}

    def close(self) -> dict:
        """Close ``cop.jsonl`` and write the final ``cop.geojson`` atomically; return the picture."""
        obj = self.picture()
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        text = _dumps(obj) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".cop-", suffix=".tmp", dir=self.path_geojson.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path_geojson)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return obj

    def __enter__(self) -> CopWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self.close()


_GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
               "GeometryCollection")


def validate_geojson(obj: Any, *, bbox: Sequence[float] | None = None) -> list[str]:
    """The RFC 7946 problems in a GeoJSON object, each ``"<path>: <problem>"``; empty when valid.

    Checked: ``type`` members and the members each type needs; no ``crs`` anywhere; positions of 2-3
    finite numbers with longitude in [-180, 180] and latitude in [-90, 90] (and inside
    ``bbox = (lon_min, lat_min, lon_max, lat_max)`` when given, which catches swapped lon/lat where the
    ranges cannot); LineStrings of >= 2 positions; linear rings closed with >= 4 positions, exterior
    counter-clockwise and holes clockwise; a Feature's ``geometry`` and ``properties`` members (object or
    null) and ``id`` (string or number).

    >>> validate_geojson({"type": "Point", "coordinates": [60.17, 24.94]}, bbox=(24.5, 60.0, 25.3, 60.4))
    ['$.coordinates: [60.17, 24.94] outside bbox (24.5, 60.0, 25.3, 60.4)']
    """
    out: list[str] = []
    _check(obj, "$", out, None if bbox is None else tuple(bbox))
    return out


def _check(obj: Any, path: str, out: list[str], bbox: tuple | None) -> None:
    if not isinstance(obj, Mapping):
        out.append(f"{path}: not a JSON object")
        return
    if "crs" in obj:
        out.append(f"{path}: has a 'crs' member (removed in RFC 7946; coordinates are WGS84)")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            out.append(f"{path}.features: missing or not an array")
            return
        for i, f in enumerate(feats):
            if isinstance(f, Mapping) and f.get("type") != "Feature":
                out.append(f"{path}.features[{i}]: type {f.get('type')!r} is not 'Feature'")
            else:
                _check(f, f"{path}.features[{i}]", out, bbox)
    elif kind == "Feature":
        if "id" in obj and (isinstance(obj["id"], bool) or not isinstance(obj["id"], str | int | float)):
            out.append(f"{path}.id: must be a string or a number")
        props = obj.get("properties", ...)
        if not (props is None or isinstance(props, Mapping)):
            out.append(f"{path}.properties: missing, or not an object or null")
        if "geometry" not in obj:
            out.append(f"{path}.geometry: missing (null for an unlocated feature)")
        elif obj["geometry"] is not None:
            _check_geometry(obj["geometry"], f"{path}.geometry", out, bbox)
    elif kind in _GEOMETRIES:
        _check_geometry(obj, path, out, bbox)
    else:
        out.append(f"{path}.type: {kind!r} is not a GeoJSON type")


def _check_geometry(g: Any, path: str, out: list[str], bbox: tuple | None) -> None:
    if not isinstance(g, Mapping) or g.get("type") not in _GEOMETRIES:
        out.append(f"{path}: not a geometry object")
        return
    if "crs" in g:
        out.append(f"{path}: has a 'crs' member (removed in RFC 7946; coordinates are WGS84)")
    kind = g["type"]
    if kind == "GeometryCollection":
        geoms = g.get("geometries")
        if not isinstance(geoms, list):
            out.append(f"{path}.geometries: missing or not an array")
            return
        for i, sub in enumerate(geoms):
            _check_geometry(sub, f"{path}.geometries[{i}]", out, bbox)
        return
    c = g.get("coordinates")
    depth = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
             "MultiPolygon": 3}[kind]
    p = f"{path}.coordinates"
    if depth == 0:
        _check_position(c, p, out, bbox)
    elif kind == "MultiPoint":
        for i, pos in enumerate(_array(c, p, out)):
            _check_position(pos, f"{p}[{i}]", out, bbox)
    elif kind == "LineString":
        _check_line(c, p, out, bbox)
    elif kind == "MultiLineString":
        for i, line in enumerate(_array(c, p, out)):
            _check_line(line, f"{p}[{i}]", out, bbox)
    elif kind == "Polygon":
        _check_polygon(c, p, out, bbox)
    else:
        for i, poly in enumerate(_array(c, p, out)):
            _check_polygon(poly, f"{p}[{i}]", out, bbox)


def _array(value: Any, path: str, out: list[str]) -> list:
    if not isinstance(value, list):
        out.append(f"{path}: not an array")
        return []
    return value


def _check_position(pos: Any, path: str, out: list[str], bbox: tuple | None) -> bool:
    ok = (isinstance(pos, list) and 2 <= len(pos) <= 3
          and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in pos))
    if not ok:
        out.append(f"{path}: {pos!r} is not a position [lon, lat(, alt)] of finite numbers")
        return False
    lon, lat = pos[0], pos[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        out.append(f"{path}: {pos!r} out of range (lon in [-180, 180], lat in [-90, 90]; lon first)")
        return False
    if bbox is not None and not (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]):
        out.append(f"{path}: {pos!r} outside bbox {bbox}")
        return False
    return True


def _check_line(line: Any, path: str, out: list[str], bbox: tuple | None) -> None:
    pts = _array(line, path, out)
    if isinstance(line, list) and len(pts) < 2:
        out.append(f"{path}: a LineString needs >= 2 positions, has {len(pts)}")
    for i, pos in enumerate(pts):
        _check_position(pos, f"{path}[{i}]", out, bbox)


def _check_polygon(rings: Any, path: str, out: list[str], bbox: tuple | None) -> None:
    rings = _array(rings, path, out)
    if isinstance(rings, list) and not rings:
        out.append(f"{path}: a Polygon needs an exterior ring")
    for k, ring in enumerate(rings):
        rp = f"{path}[{k}]"
        pts = _array(ring, rp, out)
        if not all(_check_position(pos, f"{rp}[{i}]", out, bbox) for i, pos in enumerate(pts)):
            continue
        if len(pts) < 4:
            out.append(f"{rp}: a linear ring needs >= 4 positions, has {len(pts)}")
            continue
        if pts[0] != pts[-1]:
            out.append(f"{rp}: ring not closed (first {pts[0]} != last {pts[-1]})")
            continue
        area = _ring_area(pts)
        if k == 0 and area <= 0:
            out.append(f"{rp}: exterior ring is {'clockwise' if area < 0 else 'degenerate'}, must be "
                       "counter-clockwise")
        elif k > 0 and area >= 0:
            out.append(f"{rp}: hole is {'counter-clockwise' if area > 0 else 'degenerate'}, must be "
                       "clockwise")
