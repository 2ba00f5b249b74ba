"""A twin's key figures as one JSON-able dict (``twin info --json``) and as readable text."""

from __future__ import annotations

from collections import Counter

import networkx as nx

from twin.model import ASSET_TYPES, Twin

__all__ = ["summary", "summary_text"]


def _length_km(g: nx.MultiDiGraph) -> float:
    """Street length in km counting each two-way street once (an edge and its reverse are one street)."""
    seen, total = set(), 0.0
    for u, v, d in g.edges(data=True):
        key = (min(str(u), str(v)), max(str(u), str(v)), round(float(d.get("length", 0.0)), 2))
        if key not in seen:
            seen.add(key)
            total += float(d.get("length", 0.0))
    return round(total / 1000.0, 3)


def _graph(g: nx.MultiDiGraph) -> dict:
    return {"nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "length_km": _length_km(g)}


def summary(twin: Twin) -> dict:
    """The key figures: city, crs, bbox_wgs84, walk, drive, buildings, assets by type, named features,
    cameras, network..."""
    counts = Counter(a.type for a in twin.assets)
    return {
        "city": twin.city,
        "source": twin.source,
        "crs": twin.crs,
        "bbox_wgs84": [round(float(v), 7) for v in twin.bbox_wgs84],
        "walk": _graph(twin.walk),
        "drive": _graph(twin.drive),
        "buildings": int(len(twin.buildings.polygons)),
        "assets": {t: counts[t] for t in ASSET_TYPES if counts[t]},
        "dependencies": twin.dependencies.number_of_edges(),
        "features": len(getattr(twin, "features", None) or ()),
        "cameras": len(twin.cameras),
        "network": {"nodes": twin.network.number_of_nodes(), "edges": twin.network.number_of_edges(),
                    "access_switches": sum(1 for _, d in twin.network.nodes(data=True)
                                           if d.get("kind") == "access_switch")},
        "build_s": round(float(twin.build_s), 3),
        "cached": bool(twin.cached),
    }


def summary_text(twin: Twin) -> str:
    """The summary as a few readable lines."""
    s = summary(twin)
    b = s["bbox_wgs84"]
    assets = ", ".join(f"{k} {v}" for k, v in s["assets"].items()) or "none"
    return "\n".join([
        f"twin {s['city']}  ({s['crs']}, source {s['source']})",
        f"  bbox      {b[0]:.5f},{b[1]:.5f},{b[2]:.5f},{b[3]:.5f} (lon/lat)",
        f"  walk      {s['walk']['nodes']} nodes, {s['walk']['edges']} edges, {s['walk']['length_km']} km",
        f"  drive     {s['drive']['nodes']} nodes, {s['drive']['edges']} edges, {s['drive']['length_km']} km",
        f"  buildings {s['buildings']}",
        f"  assets    {sum(s['assets'].values())}: {assets}; {s['dependencies']} dependencies",
        f"  features  {s['features']} other named OSM objects (places)",
        f"  cameras   {s['cameras']} on {s['network']['access_switches']} access switches "
        f"(network {s['network']['nodes']} nodes, {s['network']['edges']} links)",
        f"  {'loaded from cache' if s['cached'] else 'built'} in {s['build_s']:.2f} s",
    ])
