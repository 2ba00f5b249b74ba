"""The people table: every column documented, rows grown in chunks with defaults, spawns announced once."""

import re

import numpy as np

import agents.people as people_module
from agents.people import COLUMNS, People


def test_every_column_is_in_the_documented_table_with_its_dtype():
    rows = re.findall(r"^``(\w+)``\s+(\w+)", people_module.__doc__, flags=re.M)
    documented = dict(rows)
    assert set(documented) == {name for name, _, _ in COLUMNS}
    for name, dtype, _ in COLUMNS:
        assert np.dtype(dtype).name == documented[name], name


def test_rows_grow_in_chunks_keep_values_and_start_at_defaults():
    p = People(chunk=8)
    a = p.add(5)
    p.offset[a] = np.arange(5.0)
    b = p.add(10)                     # past the first chunk: the buffer grows
    assert a.tolist() == list(range(5)) and b.tolist() == list(range(5, 15))
    assert len(p) == p.n == 15 and p.capacity >= 15
    assert p.offset[:5].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    for name, dtype, default in COLUMNS:
        col = getattr(p, name)
        assert col.dtype == np.dtype(dtype) and len(col) == p.capacity
        assert np.all(col[5:15] == default), name


def test_a_spawn_is_announced_once():
    p = People()
    rows = p.add(4)
    assert p.take_announced() is None
    p.announce(rows[:2])
    p.announce(rows[1:3])             # row 1 is already queued
    assert p.take_announced().tolist() == [0, 1, 2]
    assert p.take_announced() is None
    assert p.announced[: p.n].tolist() == [True, True, True, False]
