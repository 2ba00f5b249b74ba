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
