"""MOTChallenge text files (det.txt, gt.txt, tracker results): a streaming reader by frame, a whole-file
loader and a writer.

Rows are ``frame, id, bb_left, bb_top, bb_width, bb_height, conf, x, y, z`` (frames 1-based; det.txt has
id -1). Frames are yielded in file order, each once, so a file must be grouped by frame as MOTChallenge
files are; a row of an earlier frame after a later one is counted as malformed. ``load_mot`` gives the
rows of ``iter_mot_frames`` stacked: a clean file is parsed whole by pandas' C parser, any other file goes
through the streaming reader, whose rules decide.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from analytics.base import AnalyticsInputError, ReadStats
from analytics.files import atomic_write_lines, first_data_line, open_text
from analytics.mottext import parse_plain

__all__ = ["iter_mot_frames", "load_mot", "write_mot"]


def _parse(line: str) -> list[float] | None:
    parts = line.replace(" ", "").split(",")
    if len(parts) < 6:
        return None
    try:
        vals = [float(v) for v in parts[:10]]
    except ValueError:
        return None
    vals += [-1.0] * (10 - len(vals))
    return vals if vals[4] > 0 and vals[5] > 0 else None


def iter_mot_frames(
    path: str | os.PathLike, stats: ReadStats | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame, rows)`` with ``rows`` an (N, 10) float array, streaming the file frame by frame.

    Raises
    ------
    AnalyticsInputError
        If the file is missing or its first line is not a MOTChallenge row.
    """
    stats = stats if stats is not None else ReadStats(str(path))
    n0, first = first_data_line(path)
    if _parse(first) is None:
        raise AnalyticsInputError(f"{path}: line {n0}: not a MOTChallenge row (frame,id,x,y,w,h,conf,...)")
    cur, rows, done = None, [], set()
    with open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            stats.lines = n
            if not line.strip():
                continue
            vals = _parse(line)
            if vals is None or int(vals[0]) in done:
                stats.bad(n)
                continue
            frame = int(vals[0])
            if frame != cur:
                if rows:
                    yield cur, np.array(rows)
                    done.add(cur)
                cur, rows = frame, []
            rows.append(vals)
            stats.records += 1
    if rows:
        yield cur, np.array(rows)


def load_mot(path: str | os.PathLike, stats: ReadStats | None = None) -> np.ndarray:
    """All rows of a MOTChallenge file as one (N, 10) array (for scoring, which needs every frame).

    The rows, the errors and the malformed-line rules are those of ``iter_mot_frames``: a clean file (every
    row numeric with 6 to 10 fields, positive box sizes, frames in order) is parsed at once by pandas' C
    parser; any other file, or a call that asks for ``stats``, is read by ``iter_mot_frames``.

    Raises
    ------
    AnalyticsInputError
        If the file is missing or its first line is not a MOTChallenge row.
    """
    rows = _load_clean(path) if stats is None else None
    if rows is not None:
        return rows
    frames = [rows for _, rows in iter_mot_frames(path, stats)]
    return np.vstack(frames) if frames else np.empty((0, 10))


def _load_clean(path: str | os.PathLike) -> np.ndarray | None:
    """The (N, 10) rows of a clean file by one C parse, or None where ``iter_mot_frames`` must decide.
    A file in the writers' plain form is parsed by ``analytics.mottext`` (the same numbers, faster)."""
    a = parse_plain(path)
    if a is None:
        try:
            df = pd.read_csv(path, header=None, sep=",", skipinitialspace=True, dtype=float, engine="c")
            a = df.to_numpy(dtype=float)
        except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
    if a.ndim != 2 or not 6 <= a.shape[1] <= 10 or not len(a):
        return None
    if np.isnan(a).any() or (a[:, 4] <= 0).any() or (a[:, 5] <= 0).any():
        return None
    if (np.diff(a[:, 0].astype(int)) < 0).any():
        return None  # a frame repeated after a later one: the streaming reader drops such rows
    if a.shape[1] < 10:
        a = np.hstack([a, np.full((len(a), 10 - a.shape[1]), -1.0)])
    return a


def write_mot(path: str | os.PathLike, rows: Iterable[Iterable[float]]) -> None:
    """Write MOTChallenge rows (frame, id, x, y, w, h, conf, x, y, z) atomically."""

    def fmt(r: Iterable[float]) -> str:
        r = list(r)
        return ",".join(
            [str(int(r[0])), str(int(r[1]))] + [f"{v:.2f}" for v in r[2:6]] + [f"{v:g}" for v in r[6:10]]
        )

    atomic_write_lines(path, (fmt(r) for r in rows))
