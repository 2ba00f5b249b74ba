"""Cached camera shadows answer like fresh ones; damaged entries and read-only folders are survived."""

from __future__ import annotations

import numpy as np
from _physical_sensors import X0, Y0, buildings

from sensors.camera import shadow_cache
from sensors.camera.occlusion import shadow
from sensors.camera.shadow_cache import cached_shadow, shadow_dir

BOXES = [
    (X0 + 20, Y0 + 20, X0 + 40, Y0 + 30),
    (X0 - 50, Y0 - 30, X0 - 40, Y0 + 10),
    (X0 + 5, Y0 - 8, X0 + 9, Y0 - 2),
]
ARGS = dict(range_m=80.0, clearance_m=2.0)


def _points(n: int = 20_000) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.column_stack([X0 + rng.uniform(-90, 90, n), Y0 + rng.uniform(-90, 90, n)])


def test_second_call_loads_the_same_shadow_from_disk(monkeypatch):
    bld = buildings(BOXES, [15.0, 4.0, 9.0])
    fresh = shadow(bld, (X0, Y0), 6.0, 0.75, **ARGS)
    first = cached_shadow(bld, (X0, Y0), 6.0, 0.75, **ARGS)
    assert len(list(shadow_dir().glob("*.npz"))) == 1

    def no_casting(*a, **k):
        raise AssertionError("cast again although cached")

    monkeypatch.setattr(shadow_cache, "shadow", no_casting)
    again = cached_shadow(bld, (X0, Y0), 6.0, 0.75, **ARGS)
    pts = _points()
    hidden = fresh.hides(pts)
    assert 500 < hidden.sum() < len(pts) - 500                 # the buildings really hide ground
    assert np.array_equal(first.hides(pts), hidden) and np.array_equal(again.hides(pts), hidden)
    assert np.array_equal(again.raster().codes, fresh.raster().codes)


def test_other_buildings_or_heights_are_other_entries():
    a = cached_shadow(buildings(BOXES, [15.0, 4.0, 9.0]), (X0, Y0), 6.0, 0.75, **ARGS)
    b = cached_shadow(buildings(BOXES, [15.0, 4.0, 1.0]), (X0, Y0), 6.0, 0.75, **ARGS)
    c = cached_shadow(buildings(BOXES, [15.0, 4.0, 9.0]), (X0, Y0), 6.0, 3.5, **ARGS)
    assert len(list(shadow_dir().glob("*.npz"))) == 3
    pts = _points()
    assert not np.array_equal(a.hides(pts), b.hides(pts)) and not np.array_equal(a.hides(pts), c.hides(pts))


def test_no_buildings_in_range_is_cached_as_no_shadow():
    far = buildings([(X0 + 500, Y0 + 500, X0 + 510, Y0 + 510)], [30.0])
    assert cached_shadow(far, (X0, Y0), 6.0, 0.75, **ARGS) is None
    assert cached_shadow(far, (X0, Y0), 6.0, 0.75, **ARGS) is None
    assert len(list(shadow_dir().glob("*.npz"))) == 1


def test_a_damaged_entry_is_cast_again_and_rewritten(caplog):
    bld = buildings(BOXES, [15.0, 4.0, 9.0])
    cached_shadow(bld, (X0, Y0), 6.0, 0.75, **ARGS)
    (entry,) = shadow_dir().glob("*.npz")
    entry.write_bytes(b"not an npz file")
    sh = cached_shadow(bld, (X0, Y0), 6.0, 0.75, **ARGS)
    assert "unreadable" in caplog.text
    assert np.array_equal(sh.hides(_points()), shadow(bld, (X0, Y0), 6.0, 0.75, **ARGS).hides(_points()))
    assert entry.stat().st_size > 1000                          # rewritten


def test_a_cache_folder_that_cannot_be_written_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("TWIN_CACHE", str(blocker))              # shadows/ cannot be made under a file
    sh = cached_shadow(buildings(BOXES, [15.0, 4.0, 9.0]), (X0, Y0), 6.0, 0.75, **ARGS)
    assert sh is not None and sh.hides(_points()).any()


def test_buildings_digest_follows_footprints_and_heights():
    a, b = buildings(BOXES, [15.0, 4.0, 9.0]), buildings(BOXES, [15.0, 4.0, 9.0])
    assert a.digest == b.digest and len(a.digest) == 64
    assert buildings(BOXES, [15.0, 4.0, 1.0]).digest != a.digest
    assert buildings(BOXES[:2], [15.0, 4.0]).digest != a.digest
