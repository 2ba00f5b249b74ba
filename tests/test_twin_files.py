"""Atomic files (twin.files): whole or nothing under the final name, readable modes, no temp files left."""

from __future__ import annotations

import pickle
import stat

import pytest

from twin.files import AtomicBinaryFile, AtomicTextFile, write_atomic


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_text_file_appears_only_when_closed_and_is_readable_by_everyone(tmp_path):
    out = AtomicTextFile(tmp_path / "sub" / "a.txt")
    out.write("one\n")
    out.write("two\n")
    assert not (tmp_path / "sub" / "a.txt").exists()
    assert out.close() == tmp_path / "sub" / "a.txt"
    assert (tmp_path / "sub" / "a.txt").read_text() == "one\ntwo\n"
    assert _mode(tmp_path / "sub" / "a.txt") == 0o644
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.txt"]


def test_abort_leaves_nothing_and_keeps_an_older_file(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    out = AtomicTextFile(tmp_path / "a.txt")
    out.write("half")
    out.abort()
    assert (tmp_path / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_binary_file_as_context_manager_closes_or_aborts(tmp_path):
    with AtomicBinaryFile(tmp_path / "x.pkl", mode=0o600) as fh:
        pickle.dump({"a": 1}, fh)
    assert pickle.loads((tmp_path / "x.pkl").read_bytes()) == {"a": 1}
    assert _mode(tmp_path / "x.pkl") == 0o600
    with pytest.raises(RuntimeError), AtomicBinaryFile(tmp_path / "y.pkl") as fh:
        fh.write(b"partial")
        raise RuntimeError("writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pkl"]


def test_write_atomic_takes_text_or_bytes(tmp_path):
    assert write_atomic(tmp_path / "t.txt", "h\u00e9\n") == tmp_path / "t.txt"
    assert (tmp_path / "t.txt").read_bytes() == "h\u00e9\n".encode()
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert _mode(tmp_path / "b.bin") == 0o644


def test_write_atomic_into_a_folder_that_cannot_exist_raises_oserror(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):
        write_atomic(tmp_path / "file" / "a.txt", "data")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_gz_text_file_is_gzip_and_the_same_bytes_every_time(tmp_path):
    import gzip

    for name in ("a.txt.gz", "b.txt.gz"):
        out = AtomicTextFile(tmp_path / name)
        out.write("1,-1,23.96,586.94,24.37,67.13,0.978,-1,-1,-1\n" * 1000)
        assert not (tmp_path / name).exists()
        out.close()
    a, b = (tmp_path / "a.txt.gz").read_bytes(), (tmp_path / "b.txt.gz").read_bytes()
    assert a == b                                   # no name, zero mtime in the header: reproducible
    assert a[:2] == b"\x1f\x8b" and a[4:8] == b"\x00\x00\x00\x00"
    assert gzip.decompress(a).decode().count("\n") == 1000
    assert len(a) < 45_000 / 20                     # 45 kB of repeated rows
    assert _mode(tmp_path / "a.txt.gz") == 0o644


def test_gz_text_file_abort_leaves_nothing(tmp_path):
    out = AtomicTextFile(tmp_path / "x.jsonl.gz")
    out.write("{}\n")
    out.abort()
    assert list(tmp_path.iterdir()) == []
