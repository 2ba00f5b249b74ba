"""A readable PNG map of a twin: walk and drive networks, buildings, assets by type, cameras with their view.

Cameras with a known direction get a 60° wedge; camera-to-switch links of the IT network are drawn faintly
with access switches as small squares. A legend, a scale bar and a title; matplotlib Agg; written atomically.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

from twin.files import write_atomic
from twin.graphs import edge_polylines
from twin.model import ASSET_TYPES, Twin, TwinError

__all__ = ["plot_twin"]

_ASSET_STYLE = {  # type -> (colour, marker)
    "station": ("#1f77b4", "s"), "square": ("#17becf", "D"), "stadium": ("#2ca02c", "*"),
    "school": ("#bcbd22", "^"), "hospital": ("#d62728", "P"), "police": ("#000080", "p"),
    "fire_station": ("#ff7f0e", "h"), "place_of_worship": ("#9467bd", "v"), "shopping": ("#e377c2", "o"),
    "substation": ("#8c564b", "X"), "telecom": ("#7f7f7f", "d"), "water_works": ("#00bfff", "8"),
    "stop": ("#2e8b57", "o"),
}
assert set(_ASSET_STYLE) == set(ASSET_TYPES)


def _nice(length: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k) not above ``length``."""
    p = 10 ** math.floor(math.log10(length))
    return max(m * p for m in (1, 2, 5) if m * p <= length)


def _draw_areas(ax, twin: Twin, handles: list) -> None:
    """Buildings and asset polygons."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    polys = twin.buildings.polygons
    if len(polys):
        rings = [np.asarray(p.exterior.coords)[:, :2] for p in polys]
        ax.add_collection(PolyCollection(rings, facecolors="#c9c3bb", edgecolors="#a39d95", linewidths=0.3,
                                         zorder=1))
        handles.append(Patch(facecolor="#c9c3bb", edgecolor="#a39d95", label=f"building ({len(polys)})"))
    for a in (a for a in twin.assets if a.polygon is not None):
        for part in getattr(a.polygon, "geoms", [a.polygon]):
            c = _ASSET_STYLE[a.type][0]
            ax.fill(*part.exterior.xy, facecolor=c, alpha=0.18, edgecolor=c, linewidth=0.6, zorder=1.5)


def _draw_networks(ax, twin: Twin, handles: list) -> None:
    """The walk and drive graphs, and the asset points by type."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    ax.add_collection(LineCollection(edge_polylines(twin.walk), colors="#3b6fc0", linewidths=0.5, alpha=0.9,
                                     zorder=3.5))
    handles.append(Line2D([], [], color="#3b6fc0", lw=1, label=f"walk network ({twin.walk.number_of_nodes()} "
                                                                 "nodes)"))
    if twin.drive.number_of_edges() and twin.drive is not twin.walk:
        ax.add_collection(LineCollection(edge_polylines(twin.drive), colors="#f0a040", linewidths=2.2,
                                         alpha=0.8, zorder=3))
        handles.append(Line2D([], [], color="#f0a040", lw=2.5, label=f"drive network "
                                                                   f"({twin.drive.number_of_nodes()} nodes)"))
    for kind in ASSET_TYPES:
        pts = np.array([a.xy for a in twin.assets if a.type == kind]).reshape(-1, 2)
        if len(pts):
            c, m = _ASSET_STYLE[kind]
            size = 14 if kind == "stop" else 46
            ax.scatter(pts[:, 0], pts[:, 1], s=size, c=c, marker=m, edgecolors="white", linewidths=0.6,
                       zorder=6)
            handles.append(Line2D([], [], ls="", marker=m, color=c, markeredgecolor="white", ms=7,
                                  label=f"{kind.replace('_', ' ')} ({len(pts)})"))


def _draw_cameras(ax, twin: Twin, handles: list, size: float) -> None:
    """Access switches with their camera links, and cameras with their view wedges."""
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Wedge

    net = twin.network
    sw = {n: d["xy"] for n, d in net.nodes(data=True) if d.get("kind") == "access_switch"}
    links = [np.array([net.nodes[c]["xy"], sw[s]]) for s in sw for c in net.neighbors(s)
             if net.nodes[c].get("kind") == "camera"]
    ax.add_collection(LineCollection(links, colors="#7a2a8a", linewidths=0.35, alpha=0.35, zorder=4))
    sxy = np.array(list(sw.values())).reshape(-1, 2)
    ax.scatter(sxy[:, 0], sxy[:, 1], s=22, marker="s", c="#7a2a8a", edgecolors="white", linewidths=0.5,
               zorder=7)
    handles.append(Line2D([], [], ls="-", marker="s", color="#7a2a8a", ms=5, lw=0.6,
                          label=f"access switch ({len(sw)}) + links"))
    cxy = np.array([c.xy for c in twin.cameras])
    r = 0.025 * size
    wedges = [Wedge(c.xy, r, 90 - c.direction_deg - 30, 90 - c.direction_deg + 30)
              for c in twin.cameras if c.direction_deg is not None]
    if wedges:
        ax.add_collection(PatchCollection(wedges, facecolor="#d62728", alpha=0.35, edgecolor="#d62728",
                                          linewidth=0.5, zorder=7))
    ax.scatter(cxy[:, 0], cxy[:, 1], s=9, c="#d62728", edgecolors="black", linewidths=0.3, zorder=8)
    handles.append(Line2D([], [], ls="", marker="o", color="#d62728", markeredgecolor="black", ms=4,
                          label=f"camera ({len(twin.cameras)}; {len(wedges)} with view wedge)"))


def _draw_frame(ax, twin: Twin, extent: tuple, pad: float, handles: list) -> None:
    """Limits, scale bar, north arrow, title and legend."""
    x0, y0, x1, y1 = extent
    w, h = max(x1 - x0, 40.0), max(y1 - y0, 40.0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    # scale bar, bottom left, on a white box
    bar = _nice(0.2 * w)
    bx, by = x0 - pad + 0.04 * (w + 2 * pad), y0 - pad + 0.05 * (h + 2 * pad)
    ax.plot([bx, bx + bar], [by, by], color="black", lw=3, solid_capstyle="butt", zorder=10)
    label = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
    ax.text(bx + bar / 2, by + 0.012 * (h + 2 * pad), label, ha="center", va="bottom", fontsize=9, zorder=10,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5})
    ax.annotate("N", xy=(0.965, 0.95), xytext=(0.965, 0.87), xycoords="axes fraction", ha="center",
                fontsize=11, fontweight="bold", arrowprops={"arrowstyle": "-|>", "color": "black"})
    b = twin.bbox_wgs84
    ax.set_title(f"City twin: {twin.city} — {len(twin.buildings.polygons)} buildings, "
                 f"{len(twin.assets)} assets, {len(twin.cameras)} cameras\n"
                 f"{twin.crs}, bbox {b[0]:.4f},{b[1]:.4f},{b[2]:.4f},{b[3]:.4f}", fontsize=11)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              borderaxespad=0.0)


def plot_twin(twin: Twin, out: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Draw ``twin`` to the PNG ``out`` (parent folders are created) and return its path.

    Raises
    ------
    TwinError
        ``out`` does not end in ``.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise TwinError(f"--out {out}: the map is a PNG, the file name must end in .png")
    walk_xy = np.array([(d["x"], d["y"]) for g in (twin.walk, twin.drive) for _, d in g.nodes(data=True)])
    x0, y0 = walk_xy.min(axis=0)
    x1, y1 = walk_xy.max(axis=0)
    w, h = max(x1 - x0, 40.0), max(y1 - y0, 40.0)
    pad = 0.04 * max(w, h)
    fig, ax = plt.subplots(figsize=(11, max(4.0, min(14.0, 11 * h / w)) + 0.6))
    ax.set_facecolor("#f7f7f4")
    handles: list = []
    _draw_areas(ax, twin, handles)
    _draw_networks(ax, twin, handles)
    if twin.cameras:
        _draw_cameras(ax, twin, handles, max(w, h))
    _draw_frame(ax, twin, (x0, y0, x1, y1), pad, handles)
    fig.tight_layout()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, dpi=dpi, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return write_atomic(out, buf.getvalue())
