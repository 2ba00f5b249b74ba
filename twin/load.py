"""The single entry point: ``load_twin(city)`` for every source, through the on-disk cache.

``city`` is one of
- a known city name (``twin.cities.CITIES``: helsinki, kouvola, bilbao, trikala, pilsen); a pilot city's
  extract (which may be a whole region) is clipped to the city's default bbox unless ``bbox`` is given,
- a path to an OSM file (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``),
- a mapping ``{"synthetic": {...}}`` (see ``twin.synthetic``), never cached (it builds in milliseconds),
- a place name for osmnx geocoding, needs internet: ``"place:Name"`` or any text with a comma
  (``"Kamppi, Helsinki, Finland"``); a bare unknown word is an unknown city, not a place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from twin.cities import CITIES, OSM_SUFFIXES, city_file, parse_bbox
from twin.model import Twin, TwinError
from twin.options import TwinOptions
from twin.synthetic import synthetic_twin

__all__ = ["load_twin"]


def _looks_like_path(city: str) -> bool:
    return os.sep in city or "/" in city or city.lower().endswith(OSM_SUFFIXES)


def load_twin(city, *, bbox=None, options: TwinOptions | None = None, use_cache: bool = True) -> Twin:
    """Load (from the cache) or build the twin of ``city``.

    Parameters
    ----------
    city : str | os.PathLike | Mapping
        See the module docstring.
    bbox : str | sequence of 4 floats | None
        ``minlon,minlat,maxlon,maxlat`` to clip a file to (or the area to download for a place name).
    options : TwinOptions | None
        Build options (part of the cache key); default ``TwinOptions()``.
    use_cache : bool
        Read and write the on-disk cache (``TWIN_CACHE``, else ``<repo>/.cache/twin``).

    Raises
    ------
    TwinError
        Any bad input; the message is one line naming it.
    """
    opts = options or TwinOptions()
    if not isinstance(opts, TwinOptions):
        raise TwinError(f"options: must be a TwinOptions, got {type(opts).__name__}")
    box = parse_bbox(bbox)
    if isinstance(city, Mapping):
        if set(city) != {"synthetic"}:
            raise TwinError(f"city {dict(city)!r}: a mapping must be {{synthetic: {{...}}}}")
        if box is not None:
            raise TwinError("bbox: not allowed with a synthetic twin")
        return synthetic_twin(city["synthetic"])
    if isinstance(city, os.PathLike):
        city = os.fspath(city)
    if not isinstance(city, str) or not city.strip():
        raise TwinError(f"city {city!r}: must be a city name, an OSM file path, a place or {{synthetic:...}}")
    name = city.strip()
    low = name.lower()
    if low in CITIES:
        kind, target = "file", city_file(low)
        box = box or CITIES[low].bbox   # a pilot city's extract is clipped to its default bbox
    elif low.startswith("place:") or ("," in name and not _looks_like_path(name)):
        kind, target = "place", name.split(":", 1)[1].strip() if low.startswith("place:") else name
    elif _looks_like_path(name) or Path(name).exists():
        kind, target = "file", Path(name)
    else:
        raise TwinError(f"city {name!r}: unknown; known cities: {', '.join(CITIES)}; or give an OSM file "
                        f"path, a place name like 'place:{name}', or {{synthetic: ...}}")
    from twin.build import from_file, from_place  # heavy imports (osmnx) only when a real twin is built

    if kind == "place":
        return from_place(target, bbox=box, options=opts, use_cache=use_cache)
    return from_file(target, city=low if low in CITIES else None, bbox=box, options=opts, use_cache=use_cache)
