"""The one-way data flow holds: analytics/ runs on real feeds, so it never imports the simulation."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIM = {"twin", "agents", "sensors", "scenarios", "exercise"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_analytics_sources_import_no_simulation_package():
    files = sorted((ROOT / "analytics").rglob("*.py"))
    assert files, "analytics/ has no modules"
    bad = {str(f.relative_to(ROOT)): sorted(_imports(f) & SIM) for f in files if _imports(f) & SIM}
    assert bad == {}


def test_importing_all_of_analytics_loads_no_simulation_module():
    code = (
        "import importlib, pkgutil, sys, analytics\n"
        "for m in pkgutil.walk_packages(analytics.__path__, 'analytics.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(sorted({{n.split('.')[0] for n in sys.modules}} & set({sorted(SIM)!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_agents_and_twin_do_not_import_downstream_layers():
    """Data flows twin -> agents -> sensors -> analytics; nothing upstream imports its downstream."""
    rules = {
        "twin": {"agents", "sensors", "analytics", "scenarios"},
        "agents": {"sensors", "analytics", "scenarios"},
    }
    bad = {}
    for pkg, banned in rules.items():
        for f in sorted((ROOT / pkg).rglob("*.py")):
            hit = _imports(f) & banned
            if hit:
                bad[str(f.relative_to(ROOT))] = sorted(hit)
    assert bad == {}
