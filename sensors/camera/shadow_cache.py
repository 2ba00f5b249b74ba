"""Camera shadows kept on disk beside the twin cache, so later runs in the same city load them instead of
casting them again.

Why: a shadow (``sensors.camera.occlusion.shadow`` plus its raster) depends only on the buildings, the
camera's place and height, its range and the target height, and every camera casts its own at its first frame.
Planners re-run a city with other crowds and attacks, CI re-runs the library: loading a cached shadow costs a
small fraction of casting it (figures in ``docs/performance.md``). Entries live in ``<TWIN_CACHE>/shadows/``
(``twin.cache.cache_dir``), keyed by a hash of the buildings, the parameters, the occlusion code and the GEOS
version; an unreadable entry is cast again and rewritten; a cache folder that cannot be written is skipped
(the run does not fail).
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import numpy as np
import shapely

import sensors.camera.occlusion as occlusion
import sensors.camera.raster as raster
from sensors.camera.occlusion import Shadow, shadow
from sensors.camera.raster import ShadowRaster
from twin.cache import cache_dir
from twin.files import write_atomic

__all__ = ["cached_shadow", "shadow_dir"]

log = logging.getLogger(__name__)

#: The code that casts and rasterises shadows: an entry made by other code is another entry.
_CODE = hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in (occlusion, raster))).hexdigest()[:16]


def shadow_dir() -> Path:
    return cache_dir() / "shadows"


def _key(buildings, xy, src_z, dst_z, range_m, clearance_m) -> str:
    text = repr((_CODE, shapely.geos_version_string, buildings.digest, float(xy[0]), float(xy[1]),
                 float(src_z), float(dst_z), float(range_m), float(clearance_m)))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def cached_shadow(buildings, xy: tuple[float, float], src_z: float, dst_z: float, *, range_m: float,
                  clearance_m: float = 2.0) -> Shadow | None:
    """``sensors.camera.occlusion.shadow(...)`` with its raster, from the cache when it holds it."""
    if buildings is None or len(buildings.polygons) == 0:
        return None
    path = shadow_dir() / f"{_key(buildings, xy, src_z, dst_z, range_m, clearance_m)}.npz"
    if path.is_file():
        try:
            return _load(path)
        except Exception as exc:  # noqa: BLE001 - a damaged entry is cast again and rewritten
            log.warning("shadow cache entry %s unreadable (%s): casting it again", path.name, exc)
    sh = shadow(buildings, xy, src_z, dst_z, range_m=range_m, clearance_m=clearance_m)
    if sh is not None:
        sh.raster()
    _store(path, sh)
    return sh


def _store(path: Path, sh: Shadow | None) -> None:
    if sh is None:
        arrays = {"none": np.ones(1, np.uint8)}
    else:
        r = sh.raster()
        ext = np.full(4, np.nan) if sh.extent is None else np.asarray(sh.extent, float)
        arrays = {
            "parts": np.frombuffer(shapely.to_wkb(shapely.geometrycollections(sh.parts)), np.uint8),
            "geometry": np.frombuffer(shapely.to_wkb(sh.geometry), np.uint8),
            "codes": r.codes,
            "meta": np.concatenate([[r.x0, r.y0, r.cell_m, r.off], ext]),
        }
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    try:
        write_atomic(path, buf.getvalue(), mode=0o600)
    except OSError as exc:  # a read-only or full cache folder: run on without caching
        log.debug("shadow cache not written (%s)", exc)


def _load(path: Path) -> Shadow | None:
    with np.load(path, allow_pickle=False) as z:
        if "none" in z.files:
            return None
        parts = shapely.get_parts(shapely.from_wkb(z["parts"].tobytes()))
        geometry = shapely.from_wkb(z["geometry"].tobytes())
        codes, meta = z["codes"], z["meta"]
    x0, y0, cell, off = meta[:4]
    extent = None if np.isnan(meta[4:]).any() else tuple(float(v) for v in meta[4:])
    raster = ShadowRaster(float(x0), float(y0), float(cell), codes, int(off))
    return Shadow.restore(parts, geometry, extent=extent, raster=raster)
