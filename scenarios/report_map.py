"""The report's map: the twin's streets with the density zones, sensors, incidents, recommended and
evacuation routes, responders' routes and where the attacks truly were, in WGS84 lon/lat.

The run folder does not hold the twin: the engine passes the walk network's streets (``streets_lonlat``);
the ``report`` command loads the twin again from the resolved scenario (``load_streets``, through the twin
cache). Everything else comes from the run's files: ``cop.geojson`` (incidents, affected assets, sensors,
responders, routes), ``crowd_zones.geojson``, ``actions.jsonl`` (recommended dispatch routes, in metres),
``events.jsonl`` camera calibrations (cameras' positions) and the ground truth (attacks, dispatches).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from scenarios.report_data import RunData, attack_of
from scenarios.report_figures import figure, png

__all__ = ["load_streets", "map_png", "streets_lonlat"]

ToLonLat = Callable[[Any], np.ndarray]


def streets_lonlat(twin) -> list[np.ndarray]:
    """The twin's walk network as one lon/lat polyline per street segment (each undirected edge once)."""
    from twin.graphs import edge_polylines

    g = twin.walk
    seen: set = set()
    coords: list[np.ndarray] = []
    for (u, v), pts in zip(g.edges(), edge_polylines(g), strict=True):
        key = (min(u, v, key=str), max(u, v, key=str), len(pts), round(float(pts[:, 0].sum()), 1))
        if key in seen:
            continue
        seen.add(key)
        coords.append(pts)
    if not coords:
        return []
    ll = twin.to_lonlat(np.concatenate(coords))
    return np.split(ll, np.cumsum([len(c) for c in coords])[:-1])


def load_streets(scenario: Mapping | None) -> tuple[list[np.ndarray] | None, str | None]:
    """The streets of the twin the resolved scenario names (city and bbox), or None and why not."""
    if not isinstance(scenario, Mapping) or scenario.get("city") is None:
        return None, "the scenario does not name its city"
    try:
        from twin import load_twin

        twin = load_twin(scenario["city"], bbox=scenario.get("bbox"))
        return streets_lonlat(twin), None
    except Exception as exc:  # any failure to rebuild the twin only costs the map its streets
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"the twin of {scenario.get('city')!r} could not be loaded ({msg})"


def _features(cop: Any, layer: str) -> list[dict]:
    feats = cop.get("features") if isinstance(cop, Mapping) else None
    return [f for f in feats or [] if isinstance(f, Mapping) and isinstance(f.get("properties"), Mapping)
            and f["properties"].get("layer") == layer and isinstance(f.get("geometry"), Mapping)]


def _rings(geom: Mapping) -> list[np.ndarray]:
    t, c = geom.get("type"), geom.get("coordinates") or []
    polys = [c] if t == "Polygon" else c if t == "MultiPolygon" else []
    return [np.asarray(p[0], dtype=float)[:, :2] for p in polys if p and len(p[0]) >= 3]


def _draw_base(ax, data: RunData, streets: Sequence[np.ndarray] | None, cop: Any, handles: list) -> None:
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if streets:
        ax.add_collection(LineCollection(list(streets), colors="#9aa3ad", linewidths=0.7, zorder=1))
        handles.append(Line2D([], [], color="#9aa3ad", lw=0.7, label="streets (walk network)"))
    zones = data.json("crowd_zones.geojson")
    rings = [r for f in (zones or {}).get("features") or [] if isinstance(f, Mapping)
             for r in _rings(f.get("geometry") or {})]
    if rings:
        ax.add_collection(PolyCollection(rings, facecolors="#cfe3f7", edgecolors="#8fb8de", linewidths=0.5,
                                         alpha=0.6, zorder=0))
        handles.append(Patch(facecolor="#cfe3f7", edgecolor="#8fb8de", label="density zones"))
    assets = [r for f in _features(cop, "asset") for r in _rings(f["geometry"])]
    if assets:
        ax.add_collection(PolyCollection(assets, facecolors="none", edgecolors="#17becf", linewidths=1.5,
                                         zorder=2))
        handles.append(Patch(facecolor="none", edgecolor="#17becf", label="affected assets"))


def _line(ax, pts: np.ndarray, handles: list, label: str, seen: set, **style) -> None:
    from matplotlib.lines import Line2D

    ax.plot(pts[:, 0], pts[:, 1], **style)
    if label not in seen:
        seen.add(label)
        handles.append(Line2D([], [], label=label, **{k: v for k, v in style.items() if k != "zorder"}))


def _draw_routes(ax, data: RunData, cop: Any, to_ll: ToLonLat | None, handles: list) -> None:
    seen: set = set()
    for f in _features(cop, "route"):
        pts = np.asarray(f["geometry"].get("coordinates") or [], dtype=float)
        if pts.ndim == 2 and len(pts) >= 2:
            kind = f["properties"].get("kind")
            colour = "#2ca02c" if kind == "evacuate" else "#e377c2"
            _line(ax, pts, handles, f"recommended route: {kind}", seen, color=colour, lw=2.2, alpha=0.85,
                  zorder=3)
    if to_ll is None:
        return
    for rec in data.jsonl("actions.jsonl"):
        a = rec.get("action")
        if isinstance(a, Mapping) and a.get("kind") == "dispatch" and isinstance(a.get("xy"), list) \
                and len(a["xy"]) >= 2:
            _line(ax, to_ll(a["xy"]), handles, "recommended dispatch route", seen, color="#1f77b4", lw=1.6,
                  ls="--", zorder=3)
    for r in data.truth():
        if r.get("kind") == "dispatched" and isinstance(r.get("lonlat"), list) \
                and isinstance(r.get("to_xy"), list):
            pts = np.vstack([np.asarray(r["lonlat"][:2], float), to_ll(r["to_xy"])])
            _line(ax, pts, handles, "responder: dispatched → scene (straight)", seen, color="#000080", lw=1.4,
                  ls=":", marker=">", ms=6, zorder=4)


def _points(ax, pts: list, handles: list, label: str, **style) -> None:
    from matplotlib.lines import Line2D

    if not pts:
        return
    a = np.asarray(pts, dtype=float).reshape(-1, 2)
    ax.plot(a[:, 0], a[:, 1], ls="none", **style)
    handles.append(Line2D([], [], ls="none", label=f"{label} ({len(a)})",
                          **{k: v for k, v in style.items() if k != "zorder"}))


def _draw_points(ax, data: RunData, cop: Any, to_ll: ToLonLat | None, handles: list) -> None:
    sensors = _features(cop, "sensor")
    seen = {str(f["properties"].get("id")) for f in sensors}
    cams = [f["geometry"]["coordinates"] for f in sensors if f["properties"].get("kind") == "camera"]
    other = [f["geometry"]["coordinates"] for f in sensors if f["properties"].get("kind") != "camera"]
    if to_ll is not None:
        for c in data.calibrations():
            cid = str(c.get("camera_id"))
            if cid not in seen and cid.removeprefix("cam-") not in seen and isinstance(c.get("xy"), list):
                cams.append(to_ll(c["xy"])[0].tolist())
    _points(ax, cams, handles, "cameras", marker="^", color="#5b2c83", ms=6, zorder=5)
    _points(ax, other, handles, "other sensors", marker="d", color="#5b2c83", ms=5, zorder=5)
    attacks = [r["lonlat"][:2] for r in data.truth()
               if attack_of(r) is not None and isinstance(r.get("lonlat"), list)]
    _points(ax, attacks, handles, "attack positions (truth)", marker="x", color="#8b0000", ms=5, mew=1.2,
            zorder=6, alpha=0.6)
    resp = [f["geometry"]["coordinates"] for f in _features(cop, "responder")]
    _points(ax, resp, handles, "responders (end of run)", marker="s", color="#000080", ms=6, zorder=6)
    incs = _features(cop, "incident")
    _points(ax, [f["geometry"]["coordinates"] for f in incs], handles, "incidents", marker="*",
            color="#d62728", ms=13, mec="#400", zorder=7)
    for f in incs:
        x, y = f["geometry"]["coordinates"][:2]
        ax.annotate(str(f["properties"].get("id")), (x, y), xytext=(5, 5), textcoords="offset points",
                    fontsize=8, color="#8b0000", zorder=8)


#: The map's margins in inches (the legend stands right of the map).
_MARGINS = {"left": 0.9, "right": 3.4, "top": 0.2, "bottom": 0.55}


def _fit(fig, ax) -> None:
    """Equal metres on both axes (lon scaled by cos(lat)), the figure's height fitted to the extent, and
    enough decimals on the ticks to tell them apart on a small site."""
    from matplotlib.ticker import FormatStrFormatter

    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    k = 1.0 / max(math.cos(math.radians((y0 + y1) / 2)), 0.05)
    ax.set_aspect(k)
    w = fig.get_figwidth()
    height = (w - _MARGINS["left"] - _MARGINS["right"]) * k * abs(y1 - y0) / max(abs(x1 - x0), 1e-9)
    h = min(max(height, 3.0), 10.0) + _MARGINS["top"] + _MARGINS["bottom"]
    fig.set_size_inches(w, h)
    fig.subplots_adjust(left=_MARGINS["left"] / w, right=1 - _MARGINS["right"] / w,
                        top=1 - _MARGINS["top"] / h, bottom=_MARGINS["bottom"] / h)
    digits = min(max(4, 1 - math.floor(math.log10(max(min(abs(x1 - x0), abs(y1 - y0)), 1e-9) / 5))), 7)
    ax.xaxis.set_major_formatter(FormatStrFormatter(f"%.{digits}f"))
    ax.yaxis.set_major_formatter(FormatStrFormatter(f"%.{digits}f"))


def map_png(data: RunData, streets: Sequence[np.ndarray] | None, *, to_lonlat: ToLonLat | None,
            bbox: Sequence[float] | None) -> bytes:
    """The map (see the module docstring); ``bbox`` (W, S, E, N) frames it when given."""
    cop = data.json("cop.geojson")
    fig = figure(12.5, 8.5, **_MARGINS)
    ax = fig.add_subplot()
    handles: list = []
    _draw_base(ax, data, streets, cop, handles)
    _draw_routes(ax, data, cop, to_lonlat, handles)
    _draw_points(ax, data, cop, to_lonlat, handles)
    if bbox is not None and len(bbox) == 4:
        ax.set_xlim(bbox[0], bbox[2])
        ax.set_ylim(bbox[1], bbox[3])
    else:
        ax.autoscale_view()
    _fit(fig, ax)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return png(fig)
