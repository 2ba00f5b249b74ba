"""Twin build benchmark: cold build (cache bypassed), cached load, peak RSS, for every available city.

Each city runs in fresh subprocesses (peak RSS and imports are its own); the cache is a temporary folder.
Targets on 2 cores: Helsinki cold build < 15 s, cached load < 1 s, peak RSS < 1.5 GB.
Usage: python bench/twin_build.py [CITY ...]   (default: helsinki, kouvola and pilot cities with an extract)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from twin import load_twin
import_s = time.perf_counter() - t0
city, mode = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
twin = load_twin(city, use_cache=(mode == "cached"))
wall = time.perf_counter() - t0
if mode == "warm":                      # fill the cache for the "cached" run
    load_twin(city)
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"wall_s": wall, "import_s": import_s, "cached": twin.cached, "rss_mb": rss_mb,
                  "walk": twin.walk.number_of_nodes(), "drive": twin.drive.number_of_nodes(),
                  "buildings": len(twin.buildings.polygons), "assets": len(twin.assets),
                  "stops": sum(a.type == "stop" for a in twin.assets),
                  "features": len(getattr(twin, "features", ())), "cameras": len(twin.cameras)}))
"""


def _available() -> list[str]:
    from twin.cities import CITIES, city_file
    from twin.model import TwinError

    out = []
    for name in CITIES:
        try:
            city_file(name)
        except TwinError:
            continue
        out.append(name)
    return out


def _run(city: str, mode: str, env: dict) -> dict:
    res = subprocess.run([sys.executable, "-c", _CHILD, city, mode], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{city} ({mode}) failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    cities = argv or _available()
    print(f"{'city':10s} {'cold_s':>7s} {'cached_s':>8s} {'import_s':>8s} {'peak_rss_mb':>11s} "
          f"{'walk':>6s} {'drive':>6s} {'bldg':>6s} {'assets':>6s} {'stops':>5s} {'feats':>5s} {'cams':>5s}")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TWIN_CACHE=tmp, PYTHONPATH=str(ROOT))
        for city in cities:
            cold = _run(city, "warm", env)      # use_cache=False build, then one cached write
            cached = _run(city, "cached", env)
            assert cached["cached"], f"{city}: second load did not come from the cache"
            print(f"{city:10s} {cold['wall_s']:7.2f} {cached['wall_s']:8.3f} {cached['import_s']:8.2f} "
                  f"{max(cold['rss_mb'], cached['rss_mb']):11.0f} {cold['walk']:6d} {cold['drive']:6d} "
                  f"{cold['buildings']:6d} {cold['assets']:6d} {cold['stops']:5d} {cold['features']:5d} "
                  f"{cold['cameras']:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
