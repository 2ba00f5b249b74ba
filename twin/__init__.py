"""The city twin: OSM loading, walk/drive graphs, buildings, assets, cameras and the city IT/OT network.

Public entry points: ``load_twin`` (every source, cached), ``synthetic_twin``, ``attach_cameras``,
``resolve_place``; the object is ``Twin`` (``twin.model``).

The names are imported from their modules on first use (``from twin import load_twin`` works as ever), so
importing ``twin._cli`` to build run_sim.py's parser loads none of numpy, networkx, shapely or pyproj.
"""

import importlib

_HOME = {
    "load_twin": "twin.load",
    "ASSET_TYPES": "twin.model", "Asset": "twin.model", "Buildings": "twin.model", "OSMCamera": "twin.model",
    "Twin": "twin.model", "TwinError": "twin.model",
    "attach_cameras": "twin.network",
    "TwinOptions": "twin.options",
    "Place": "twin.places", "resolve_place": "twin.places",
    "synthetic_twin": "twin.synthetic",
}

__all__ = ["ASSET_TYPES", "Asset", "Buildings", "OSMCamera", "Place", "Twin", "TwinError", "TwinOptions",
           "attach_cameras", "load_twin", "resolve_place", "synthetic_twin"]


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'twin' has no attribute {name!r}")
