"""``run_sim.py twin info|map|fetch``: thin wrappers over load_twin, summary, plot_twin and fetch_city.

Every input error is a ``TwinError`` (exit_code 2): run_sim prints one line on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]

# Only the standard library at the top: run_sim.py imports this module to build its parser. The twin's
# modules (numpy, networkx, shapely, pyproj) are imported by the commands.


def _city(text: str):
    """A CLI CITY: a name, a path, a place, or a JSON mapping ``{"synthetic": {...}}``."""
    if text.lstrip().startswith("{"):
        from twin.model import TwinError

        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise TwinError(f"city {text!r}: not valid JSON ({exc.msg})") from None
    return text


def _info(args: argparse.Namespace) -> int:
    from twin.load import load_twin
    from twin.summary import summary, summary_text

    twin = load_twin(_city(args.city), bbox=args.bbox, use_cache=not args.no_cache)
    print(json.dumps(summary(twin), sort_keys=False) if args.json else summary_text(twin))
    return 0


def _map(args: argparse.Namespace) -> int:
    from twin.load import load_twin
    from twin.mapplot import plot_twin
    from twin.model import TwinError

    if not str(args.out).lower().endswith(".png"):
        raise TwinError(f"--out {args.out}: the map is a PNG, the file name must end in .png")
    twin = load_twin(_city(args.city), bbox=args.bbox, use_cache=not args.no_cache)
    print(plot_twin(twin, args.out))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from twin.fetch import fetch_city

    print(fetch_city(args.name, bbox=args.bbox))
    return 0


def register(subparsers) -> None:
    """Add ``twin`` with ``info``, ``map`` and ``fetch`` to the run_sim parser."""
    p = subparsers.add_parser("twin", help="build, inspect, map or download a city twin")
    sub = p.add_subparsers(dest="twin_command", required=True, metavar="ACTION")
    bbox_help = "clip to minlon,minlat,maxlon,maxlat (WGS84)"
    city_help = ("known city (helsinki, kouvola, bilbao, trikala, pilsen), OSM file, place:NAME, "
                 "or JSON {\"synthetic\": {...}}")

    info = sub.add_parser("info", help="print the twin's key figures")
    info.add_argument("city", metavar="CITY", help=city_help)
    info.add_argument("--json", action="store_true", help="one JSON object on stdout")
    info.add_argument("--bbox", help=bbox_help)
    info.add_argument("--no-cache", action="store_true", help="build from the source, ignore the cache")
    info.set_defaults(func=_info)

    mp = sub.add_parser("map", help="draw the twin to a PNG")
    mp.add_argument("city", metavar="CITY", help=city_help)
    mp.add_argument("--out", required=True, metavar="FILE.png")
    mp.add_argument("--bbox", help=bbox_help)
    mp.add_argument("--no-cache", action="store_true", help="build from the source, ignore the cache")
    mp.set_defaults(func=_map)

    fetch = sub.add_parser("fetch", help="download a pilot city's OSM extract (needs internet)")
    fetch.add_argument("name", metavar="NAME", help="bilbao, trikala or pilsen")
    fetch.add_argument("--bbox", help=bbox_help + " (default: the city's bbox)")
    fetch.set_defaults(func=_fetch)
