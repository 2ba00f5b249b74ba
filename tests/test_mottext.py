"""The plain-MOTChallenge parser gives pandas' numbers bit for bit, and declines everything else."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import analytics.mot as mot
from analytics.mot import iter_mot_frames, load_mot
from analytics.mottext import parse_plain
from sensors.export.numtext import GT_ROW
from twin.datapath import data_dir

MOT = data_dir() / "datasets" / "mot"


def _pandas(path) -> np.ndarray:
    """``load_mot``'s pandas parse (the reference)."""
    df = pd.read_csv(path, header=None, sep=",", skipinitialspace=True, dtype=float, engine="c")
    return df.to_numpy(dtype=float)


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


def _random_text(rng: np.random.Generator, n_rows: int, n_fields: int, eol: str) -> str:
    """Numbers of 0 to 8 decimals, negative ones, -0, leading zeros, integers up to 15 digits."""
    lines = []
    for r in range(n_rows):
        fields = [str(r // 3 + 1), str(int(rng.integers(-1, 10**6)))]
        for _ in range(n_fields - 2):
            dec = int(rng.integers(0, 9))
            v = rng.uniform(-5000, 5000) * 10.0 ** int(rng.integers(-3, 4))
            text = f"{v:.{dec}f}"
            kind = rng.random()
            if kind < 0.05:
                text = "-0" + ("." + "0" * dec if dec else "")
            elif kind < 0.1:
                text = "00" + f"{abs(v):.{min(dec, 4)}f}"
            elif kind < 0.12:
                text = str(int(rng.integers(10**14, 10**15)))
            if len(text.replace("-", "").replace(".", "")) > 15:
                text = f"{v:.1f}"
            fields.append(text)
        lines.append(",".join(fields))
    return eol.join(lines) + (eol if rng.random() < 0.5 else "")


@pytest.mark.parametrize("seed", range(6))
def test_random_plain_files_equal_pandas(tmp_path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_fields, eol = 6 + seed % 5, "\r\n" if seed % 3 == 0 else "\n"
    p = tmp_path / "rows.txt"
    p.write_bytes(_random_text(rng, 500, n_fields, eol).encode())
    got = parse_plain(p)
    assert got is not None and got.shape == (500, 10) and (got[:, n_fields:] == -1).all()
    assert _bits(got[:, :n_fields]) == _bits(_pandas(p))
    assert (np.signbit(got) & (got == 0)).any()  # -0 kept as -0.0, as pandas keeps it


def test_motchallenge_and_writer_files_equal_pandas(tmp_path) -> None:
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):  # \r\n line ends
        for name in ("gt.txt", "test.txt"):
            got = parse_plain(MOT / seq / name)
            assert got is not None and _bits(got) == _bits(_pandas(MOT / seq / name))  # 10 columns
    rows = [[1, 160, 1886.89, 136.26, 9.12, 33.37, 1, 1, 0.0], [2, 7, -0.5, 12.0, 10.1, 34.63, 1, 1, 0.25]]
    p = tmp_path / "gt.txt"
    p.write_text("".join(GT_ROW % (*r[:6], r[7], r[8]) for r in rows))
    assert parse_plain(p).tolist() == [r + [-1.0] for r in rows]
    assert _bits(load_mot(p)[:, :9]) == _bits(_pandas(p)) and (load_mot(p)[:, 9] == -1).all()


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty
        "1,2,3,4,5,6\n\n2,2,3,4,5,6\n",  # blank line
        "1, 2,3,4,5,6\n",  # space
        "1,2,3e1,4,5,6\n",  # exponent
        "1,2,+3,4,5,6\n",  # plus sign
        "1,2,3.,4,5,6\n",  # no digit after the point
        "1,2,.5,4,5,6\n",  # none before it
        "1,2,1234567890123456,4,5,6\n",  # 16 digits
        "1,2,3,4,5,6,\n",  # trailing comma
        "1,2,3,4,5,6\n1,2,3,4,5,6,7\n",  # field counts differ
        "1,2,3,4,5\n",  # five fields
        "1,2,3,4,5,6,7,8,9,10,11\n",  # eleven
        "1,2,3,4,5,6\r",  # lone carriage return
        "1,2,nan,4,5,6\n",
        "\ufeff1,2,3,4,5,6\n",  # byte-order mark
    ],
)
def test_declines_anything_not_plain(tmp_path, text: str) -> None:
    p = tmp_path / "odd.txt"
    p.write_text(text, encoding="utf-8")
    assert parse_plain(p) is None


def test_declines_missing_and_compressed_files(tmp_path) -> None:
    assert parse_plain(tmp_path / "missing.txt") is None
    p = tmp_path / "rows.txt.gz"
    p.write_bytes(gzip.compress(b"1,1,1,2,3,4,1,-1,-1,-1\n"))
    assert parse_plain(p) is None
    assert load_mot(p).tolist() == [[1, 1, 1, 2, 3, 4, 1, -1, -1, -1]]  # pandas reads it, as before


def test_load_mot_same_with_or_without_the_kernel(tmp_path, monkeypatch) -> None:
    """load_mot's rows (and its rules: box sizes, frame order) are the same whichever parser read them."""
    p = tmp_path / "t.txt"
    cases = [
        "1,1,1,2,3,4,1,-1,-1,-1\n1,2,5,5,5,5,0.5,-1,-1,-1\n2,1,1,2,3,4,0.8,-1,-1,-1\n",
        "1,-1,1,2,3,4,0.9\n2,-1,1,2,0,4,0.8\n",  # zero width: the streaming reader drops the row
        "2,1,1,2,3,4\n1,1,1,2,3,4\n",  # frames out of order
    ]
    for text in cases:
        p.write_text(text)
        fast = load_mot(p)
        monkeypatch.setattr(mot, "parse_plain", lambda path: None)
        slow = load_mot(p)
        monkeypatch.undo()
        assert _bits(fast) == _bits(slow)
        assert _bits(fast) == _bits(np.vstack([r for _, r in iter_mot_frames(p)]))
