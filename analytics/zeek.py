"""Zeek ``conn.log`` readers for both encodings Zeek writes: TSV with a ``#fields`` header, and JSON lines.

The reader streams in chunks of lines and parses each chunk with pandas' C parser (the vectorised path the
cyber detectors' ``update_batch`` takes); ``iter_conn_messages`` turns the same chunks into per-record bus
messages ``{"t": ts, "topic": "net/conn", **record}``.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

from analytics._io import first_data_line, open_text
from analytics.base import AnalyticsInputError, ReadStats

__all__ = ["CONN_COLUMNS", "chunk_messages", "iter_conn_chunks", "iter_conn_messages"]

#: The conn.log fields the detectors use, with the dtype each chunk gives them.
CONN_COLUMNS: dict[str, str] = {
    "ts": "float64", "uid": "object", "id.orig_h": "object", "id.orig_p": "float64", "id.resp_h": "object",
    "id.resp_p": "float64", "proto": "object", "service": "object", "duration": "float64",
    "orig_bytes": "float64", "resp_bytes": "float64", "conn_state": "object",
}


def iter_conn_chunks(
    path: str | os.PathLike, stats: ReadStats | None = None, *, chunk_lines: int = 200_000
) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of at most ``chunk_lines`` records with the ``CONN_COLUMNS`` (missing ones as NaN).

    Raises
    ------
    AnalyticsInputError
        If the file is missing or is neither Zeek TSV (``#separator``/``#fields`` header) nor Zeek JSON.
    """
    stats = stats if stats is not None else ReadStats(str(path))
    n0, first = first_data_line(path)
    if first.startswith("#separator") or first.startswith("#fields"):
        yield from _tsv_chunks(path, stats, chunk_lines)
    elif first.lstrip().startswith("{"):
        try:
            rec = json.loads(first)
        except ValueError:
            rec = None
        if not isinstance(rec, dict) or "ts" not in rec:
            raise AnalyticsInputError(f"{path}: line {n0}: not a Zeek JSON conn record (no 'ts')")
        yield from _json_chunks(path, stats, chunk_lines)
    else:
        raise AnalyticsInputError(f"{path}: line {n0}: not a Zeek conn.log (no #separator header, not JSON)")


def _tsv_chunks(path: str | os.PathLike, stats: ReadStats, chunk_lines: int) -> Iterator[pd.DataFrame]:
    fields: list[str] | None = None
    unset, empty = "-", "(empty)"
    lineno = 0
    with open_text(path) as fh:
        while True:
            lines = list(islice(fh, chunk_lines))
            if not lines:
                break
            good: list[str] = []
            good_no: list[int] = []
            for line in lines:
                lineno += 1
                if line.startswith("#"):
                    key, _, val = line.rstrip("\n").partition("\t")
                    if key == "#fields":
                        fields = val.split("\t")
                    elif key == "#unset_field":
                        unset = val
                    elif key == "#empty_field":
                        empty = val
                    continue
                if fields is None:
                    raise AnalyticsInputError(f"{path}: line {lineno}: data before the #fields header")
                if line.count("\t") != len(fields) - 1:
                    if line.strip():
                        stats.bad(lineno)
                    continue
                good.append(line)
                good_no.append(lineno)
            stats.lines = lineno
            if not good:
                continue
            use = [c for c in CONN_COLUMNS if c in fields]
            df = pd.read_csv(
                io.StringIO("".join(good)), sep="\t", header=None, names=fields, usecols=use,
                na_values=[unset, empty], keep_default_na=False, dtype=str, engine="c",
            )
            yield _typed(df, stats, good_no)


def _json_chunks(path: str | os.PathLike, stats: ReadStats, chunk_lines: int) -> Iterator[pd.DataFrame]:
    lineno = 0
    with open_text(path) as fh:
        while True:
            lines = list(islice(fh, chunk_lines))
            if not lines:
                break
            recs: list[dict[str, Any]] = []
            nos: list[int] = []
            for line in lines:
                lineno += 1
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    rec = None
                if not isinstance(rec, dict):
                    stats.bad(lineno)
                    continue
                recs.append(rec)
                nos.append(lineno)
            stats.lines = lineno
            if recs:
                df = pd.DataFrame.from_records(recs, columns=list(CONN_COLUMNS))
                yield _typed(df, stats, nos)


def _typed(df: pd.DataFrame, stats: ReadStats, linenos: list[int]) -> pd.DataFrame:
    """Coerce a chunk to ``CONN_COLUMNS`` dtypes; rows whose ``ts`` is not a number are malformed."""
    out = {}
    for col, dtype in CONN_COLUMNS.items():
        if col not in df:
            out[col] = np.full(len(df), np.nan) if dtype == "float64" else np.full(len(df), None, dtype=object)
        elif dtype == "float64":
            out[col] = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        else:
            s = df[col].astype(object)
            out[col] = s.where(s.notna(), None).to_numpy(dtype=object)
    frame = pd.DataFrame(out)
    bad = ~np.isfinite(frame["ts"].to_numpy())
    if bad.any():
        for i in np.flatnonzero(bad):
            stats.bad(linenos[i])
        frame = frame[~bad].reset_index(drop=True)
    stats.records += len(frame)
    return frame


def iter_conn_messages(path: str | os.PathLike, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Yield each conn record as a bus message ``{"t": ts, "topic": "net/conn", **fields}`` (NaN -> None)."""
    for df in iter_conn_chunks(path, stats, chunk_lines=20_000):
        yield from chunk_messages(df)


def chunk_messages(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """The records of one chunk as ``net/conn`` messages, NaN as None and ports/byte counts as int."""
    for rec in df.to_dict("records"):
        for k, v in rec.items():
            if isinstance(v, float) and v != v:
                rec[k] = None
            elif k in _INT_COLUMNS and v is not None:
                rec[k] = int(v)
        yield {"t": rec["ts"], "topic": "net/conn", **rec}


_INT_COLUMNS = frozenset({"id.orig_p", "id.resp_p", "orig_bytes", "resp_bytes"})
