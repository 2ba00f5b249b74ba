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


PACKAGES = ("twin", "agents", "sensors", "analytics", "scenarios")
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the packages (a package is its ``__init__``)."""
    out = {}
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            parts = p.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _imported(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Modules of ours that ``path`` imports anywhere (lazy and TYPE_CHECKING imports count too)."""
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in mods and t != name)
    return out


def test_no_import_cycle_between_modules():
    import networkx as nx

    mods = _modules()
    g = nx.DiGraph()
    for name, path in mods.items():
        g.add_edges_from((name, t) for t in _imported(name, path, mods))
    assert list(nx.simple_cycles(g)) == []


def test_no_package_imports_another_packages_private_module():
    mods = _modules()
    bad = {name: sorted(t for t in _imported(name, path, mods)
                        if t.split(".")[0] != name.split(".")[0]
                        and any(part.startswith("_") for part in t.split(".")[1:]))
           for name, path in mods.items()}
    assert {k: v for k, v in bad.items() if v} == {}


def test_functions_and_modules_stay_small():
    long_functions, long_modules = [], []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append((name, text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append((f"{name}.{node.name}", n))
    assert long_modules == [] and long_functions == []
