"""``run_sim.py`` start-up: building the parser (``--help``) imports no heavy library and none of the
simulation or the detectors; ``twin info`` of a cached twin imports only what the pickle needs; a bad input
still exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from run_sim import _CLI_MODULES

ROOT = Path(__file__).resolve().parent.parent
#: Libraries that take tens to hundreds of ms to import each.
HEAVY = {"numpy", "pandas", "scipy", "networkx", "shapely", "pyproj", "osmnx", "geopandas", "numba",
         "llvmlite", "matplotlib", "yaml", "mesa", "cv2", "osmium", "pyrosm", "supervision", "trackers",
         "motmetrics", "tqdm", "psutil"}
OURS = {"twin", "agents", "sensors", "analytics", "scenarios"}
#: Our modules that building the parser imports: the packages, their ``_cli`` and the analytics' error types.
PARSER = {"twin", "scenarios", "analytics", "analytics.base", "scenarios._cli_types", *_CLI_MODULES}
#: Prints every imported module's name as the last stderr line when the process exits.
_DUMP = ("import atexit, runpy, sys\n"
         "atexit.register(lambda: print('\\nMODULES ' + ' '.join(sorted(sys.modules)), file=sys.stderr))\n"
         "sys.argv = ['run_sim.py', *sys.argv[1:]]\n"
         "runpy.run_path('run_sim.py', run_name='__main__')\n")


def _run_sim(*args: str) -> tuple[int, str, str, set[str]]:
    """``run_sim.py ARGS`` in a fresh interpreter: exit code, stdout, stderr, the modules it imported."""
    res = subprocess.run([sys.executable, "-c", _DUMP, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    err, _, last = res.stderr.rstrip("\n").rpartition("\n")
    assert last.startswith("MODULES "), res.stderr
    return res.returncode, res.stdout, err, set(last.split()[1:])


def test_help_builds_the_parser_without_heavy_modules():
    rc, out, _, modules = _run_sim("--help")
    assert rc == 0
    assert all(cmd in out for cmd in ("twin", "run", "analyze"))
    assert {m.split(".")[0] for m in modules} & HEAVY == set()
    assert {m for m in modules if m.split(".")[0] in OURS} == PARSER


def test_each_subcommand_help_lists_its_options_without_heavy_modules():
    for argv, option in ((["twin", "info", "--help"], "--no-cache"), (["run", "--help"], "--duration"),
                         (["analyze", "--help"], "--zeek")):
        rc, out, _, modules = _run_sim(*argv)
        assert rc == 0 and option in out
        assert {m.split(".")[0] for m in modules} & HEAVY == set(), argv


def test_twin_info_from_the_cache_imports_only_what_the_pickle_needs():
    """The cached twin unpickles with numpy, networkx, shapely (and twin.model's pyproj): never osmnx,
    geopandas, pandas or scipy, which only a build uses."""
    from twin import load_twin
    from twin.summary import summary

    load_twin("kouvola")  # fills the test's private cache (TWIN_CACHE, see conftest)
    rc, out, err, modules = _run_sim("twin", "info", "kouvola", "--json")
    assert rc == 0, err
    got, want = json.loads(out), summary(load_twin("kouvola"))
    del got["build_s"], want["build_s"]  # the load's wall time
    assert got["cached"] is True and got == want
    assert {m.split(".")[0] for m in modules} & HEAVY == {"numpy", "networkx", "shapely", "pyproj"}
    assert {m for m in modules if m.split(".")[0] in OURS - {"twin"}} == PARSER - {"twin", "twin._cli"}
    assert modules & {"twin.osmread", "twin.graphs", "twin.assets", "twin.places", "twin.mapplot"} == set()


def test_bad_input_still_exits_2_with_one_line():
    for argv, text in ((["twin", "info", "atlantis"], "city 'atlantis': unknown"),
                       (["analyze"], "give at least one of"),
                       (["run", str(ROOT / "no-such.yaml")], "no-such.yaml")):
        rc, out, err, _ = _run_sim(*argv)
        assert rc == 2, argv
        assert out == "" and len(err.strip().splitlines()) == 1 and text in err, (argv, err)
        assert "Traceback" not in err
