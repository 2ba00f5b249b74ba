"""Refactoring keeps behaviour: three library scenarios give byte-identical outputs at their own seeds.

The expected sha256 sums are in ``tests/data/output_hashes.json``. A commit that changes behaviour on
purpose updates them and says why in its message.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from scenarios.engine import run_scenario

HERE = Path(__file__).resolve().parent
LIBRARY = HERE.parent / "scenarios" / "library"
EXPECTED = {k: v for k, v in json.loads((HERE / "data" / "output_hashes.json").read_text()).items()
            if not k.startswith("_")}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_outputs_are_byte_identical(scenario, tmp_path):
    res = run_scenario(LIBRARY / scenario, out=tmp_path / "run", quiet=True)
    got = {name: _sha256(res.out_dir / name) for name in EXPECTED[scenario]}
    assert got == EXPECTED[scenario]


def test_outputs_do_not_depend_on_the_interpreters_hash_seed(tmp_path):
    """Two processes with different ``PYTHONHASHSEED`` and fresh twin caches (the twin built anew in each:
    osmnx merges street attributes through sets) give the same bytes."""
    import os
    import subprocess
    import sys

    digests = []
    for seed in ("1", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TWIN_CACHE": str(tmp_path / f"cache-{seed}")}
        out = tmp_path / f"run-{seed}"
        scenario = str(LIBRARY / "kouvola" / "school-intrusion.yaml")
        subprocess.run([sys.executable, "run_sim.py", "run", scenario, "--out", str(out), "--duration", "60",
                        "--quiet"], cwd=HERE.parent, env=env, check=True, capture_output=True)
        names = ("ground_truth.jsonl", "events.jsonl", "alerts.jsonl", "sensors/frames/frames.parquet",
                 "sensors/frames/det.parquet", "sensors/frames/track.parquet")
        digests.append({n: _sha256(out / n) for n in names})
    assert digests[0] == digests[1]
