"""Zones of a twin: the areas whose people are counted (``crowd_density.csv``) and their GeoJSON.

A zone per asset except stops: its polygon, else a ``POINT_ZONE_M`` disc round its position. Stops
(``NO_ZONE_TYPES``) get none: a disc round a stop covers the street it stands on, whose passers-by and halting
vehicles are not a crowd at an asset. A synthetic twin without assets gets one 5 m disc per walk node and one
band per street (its width) instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from twin.model import Twin

__all__ = ["NO_ZONE_TYPES", "POINT_ZONE_M", "density_zones", "zones_geojson"]

#: Radius of the zone round an asset with no polygon (m).
POINT_ZONE_M = 25.0
#: Asset types without a density zone.
NO_ZONE_TYPES = ("stop",)


def _synthetic_zones(twin: Twin) -> dict[str, Any]:
    g = twin.walk
    zones: dict[str, Any] = {}
    for n in sorted(g.nodes, key=str):
        zones[f"node:{n}"] = shapely.Point(g.nodes[n]["x"], g.nodes[n]["y"]).buffer(5.0)
    seen = set()
    for u, v, d in sorted(g.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))):
        key = tuple(sorted((str(u), str(v))))
        if key in seen:
            continue
        seen.add(key)
        ends = [(g.nodes[u]["x"], g.nodes[u]["y"]), (g.nodes[v]["x"], g.nodes[v]["y"])]
        line = shapely.LineString(ends)
        zones[f"edge:{key[0]}-{key[1]}"] = line.buffer(float(d.get("width_m", 2.0)) / 2, cap_style="flat")
    return zones


def density_zones(twin: Twin) -> dict[str, Any]:
    """Zone name -> shapely polygon (metres), by asset id, stops left out (see the module docstring)."""
    zones: dict[str, Any] = {}
    for a in sorted((a for a in twin.assets if a.type not in NO_ZONE_TYPES), key=lambda a: a.id):
        zones[a.id] = a.polygon if a.polygon is not None else shapely.Point(*a.xy).buffer(POINT_ZONE_M)
    if not zones and twin.city.startswith("synthetic"):
        zones = _synthetic_zones(twin)
    return zones


def zones_geojson(twin: Twin, zones: dict[str, Any]) -> dict:
    """The zones as a GeoJSON FeatureCollection in WGS84 (corners to 1e-7 degree), with their areas."""
    feats = []
    for name, poly in zones.items():
        ring = np.asarray(poly.exterior.coords)
        ll = np.round(twin.to_lonlat(ring), 7).tolist()
        feats.append({"type": "Feature", "properties": {"zone": name, "area_m2": round(poly.area, 1)},
                      "geometry": {"type": "Polygon", "coordinates": [ll]}})
    return {"type": "FeatureCollection", "features": feats}
