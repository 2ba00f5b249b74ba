"""analytics.files: gzip-compressed text (``.gz``) is read and written like plain text, reproducibly."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from analytics.base import AnalyticsInputError
from analytics.events import iter_jsonl
from analytics.files import atomic_write_lines, first_data_line, open_text
from analytics.mot import iter_mot_frames, load_mot, write_mot

ROWS = [[1, 1, 23.96, 586.94, 24.37, 67.13, 1, -1, -1, -1],
        [1, 2, 348.81, 497.85, 22.66, 77.71, 1, -1, -1, -1],
        [2, 1, 26.38, 583.08, 23.16, 70.73, 1, -1, -1, -1]]


def test_gz_lines_are_gzip_and_reproducible(tmp_path):
    a = atomic_write_lines(tmp_path / "a.jsonl.gz", ['{"t":0.5,"topic":"x"}', '{"t":1.0,"topic":"y"}'])
    b = atomic_write_lines(tmp_path / "b.jsonl.gz", ['{"t":0.5,"topic":"x"}', '{"t":1.0,"topic":"y"}'])
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()) == b'{"t":0.5,"topic":"x"}\n{"t":1.0,"topic":"y"}\n'
    assert first_data_line(a) == (1, '{"t":0.5,"topic":"x"}')
    assert [m["t"] for m in iter_jsonl(a)] == [0.5, 1.0]
    with open_text(a) as fh:
        assert fh.read().count("\n") == 2


def test_mot_rows_from_gz_equal_plain(tmp_path):
    write_mot(tmp_path / "track.txt", ROWS)
    write_mot(tmp_path / "track.txt.gz", ROWS)
    assert gzip.decompress((tmp_path / "track.txt.gz").read_bytes()) == (tmp_path / "track.txt").read_bytes()
    plain, packed = load_mot(tmp_path / "track.txt"), load_mot(tmp_path / "track.txt.gz")
    assert packed.shape == (3, 10) and np.array_equal(plain, packed)
    assert [f for f, _ in iter_mot_frames(tmp_path / "track.txt.gz")] == [1, 2]


def test_a_gz_file_that_is_not_gzip_is_an_input_error(tmp_path):
    (tmp_path / "events.jsonl.gz").write_text('{"t": 0}\n')
    with pytest.raises(AnalyticsInputError, match=r"events.jsonl.gz: line 1: not a whole gzip file"):
        list(iter_jsonl(tmp_path / "events.jsonl.gz"))
