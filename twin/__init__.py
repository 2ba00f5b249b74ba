"""The city twin: OSM loading, walk/drive graphs, buildings, assets, cameras and the city IT/OT network.

Public entry points: ``load_twin`` (every source, cached), ``synthetic_twin``, ``attach_cameras``,
``resolve_place``; the object is ``Twin`` (``twin.model``).
"""

from twin.load import load_twin
from twin.model import ASSET_TYPES, Asset, Buildings, OSMCamera, Twin, TwinError
from twin.network import attach_cameras
from twin.options import TwinOptions
from twin.places import Place, resolve_place
from twin.synthetic import synthetic_twin

__all__ = ["ASSET_TYPES", "Asset", "Buildings", "OSMCamera", "Place", "Twin", "TwinError", "TwinOptions",
           "attach_cameras", "load_twin", "resolve_place", "synthetic_twin"]
