"""Zeek ``conn.log`` readers for both encodings Zeek writes: TSV with a ``#fields`` header, and JSON lines.

The reader streams the file in blocks of whole lines and parses each block with pandas' C parser into a
DataFrame (the vectorised path the cyber detectors' ``update_batch`` takes); ``iter_conn_messages`` turns
the same blocks into per-record bus messages ``{"t": ts, "topic": "net/conn", **record}``. Malformed rows
are counted in a ``ReadStats`` with their line numbers, never fatal.
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

from analytics.base import AnalyticsInputError, ReadStats
from analytics.files import first_data_line, open_binary, open_text

__all__ = ["CONN_COLUMNS", "chunk_messages", "iter_conn_chunks", "iter_conn_messages"]

#: The conn.log fields the detectors use, with the dtype each chunk gives them.
CONN_COLUMNS: dict[str, str] = {
    "ts": "float64",
    "uid": "object",
    "id.orig_h": "object",
    "id.orig_p": "float64",
    "id.resp_h": "object",
    "id.resp_p": "float64",
    "proto": "object",
    "service": "object",
    "duration": "float64",
    "orig_bytes": "float64",
    "resp_bytes": "float64",
    "conn_state": "object",
    "local_orig": "object",
    "local_resp": "object",
}


def iter_conn_chunks(
    path: str | os.PathLike, stats: ReadStats | None = None, *, chunk_bytes: int = 16 << 20
) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of about ``chunk_bytes`` of file each, with ``CONN_COLUMNS`` (absent ones NaN).

    Raises
    ------
    AnalyticsInputError
        If the file is missing or is neither Zeek TSV (``#separator``/``#fields`` header) nor Zeek JSON.
    """
    stats = stats if stats is not None else ReadStats(str(path))
    n0, first = first_data_line(path)
    if first.startswith("#separator") or first.startswith("#fields"):
        yield from _tsv_chunks(path, stats, chunk_bytes)
    elif first.lstrip().startswith("{"):
        try:
            rec = json.loads(first)
        except ValueError:
            rec = None
        if not isinstance(rec, dict) or "ts" not in rec:
            raise AnalyticsInputError(f"{path}: line {n0}: not a Zeek JSON conn record (no 'ts')")
        yield from _json_chunks(path, stats, max(1, chunk_bytes // 256))
    else:
        raise AnalyticsInputError(f"{path}: line {n0}: not a Zeek conn.log (no #separator header, not JSON)")


def _tsv_chunks(path: str | os.PathLike, stats: ReadStats, chunk_bytes: int) -> Iterator[pd.DataFrame]:
    """Blocks of whole lines. Header lines at a block's start or end are read first; a clean body (no other
    header line, tabs = rows x (fields - 1)) goes straight to pandas' C parser with native dtypes; any
    other body is split per line: rows with the wrong number of fields are counted as malformed."""
    hdr: dict[str, Any] = {"fields": None, "na": ["-", "(empty)"]}
    lineno = 0
    rest = b""
    with open_binary(path) as fh:
        while True:
            data = fh.read(chunk_bytes)
            blk = rest + data
            if not blk:
                break
            if data:
                cut = blk.rfind(b"\n") + 1
                if cut == 0:
                    rest = blk
                    continue
                blk, rest = blk[:cut], blk[cut:]
            else:
                rest = b""
                blk = blk if blk.endswith(b"\n") else blk + b"\n"
            base = lineno
            lineno += blk.count(b"\n")
            stats.lines = lineno
            head = 0
            while blk.startswith(b"#", head):
                head = blk.index(b"\n", head) + 1
            tail = len(blk)
            while tail > head:
                j = blk.rfind(b"\n", head, tail - 1) + 1
                if not blk.startswith(b"#", max(j, head)):
                    break
                tail = max(j, head)
            for line in (blk[:head] + blk[tail:]).splitlines():
                _header(line, hdr)
            body = blk[head:tail]
            if body:
                yield from _tsv_body(path, body, base + blk.count(b"\n", 0, head), hdr, stats)


def _header(line: bytes, hdr: dict[str, Any]) -> None:
    key, _, val = line.decode("utf-8", "replace").rstrip("\r").partition("\t")
    if key == "#fields":
        hdr["fields"] = val.split("\t")
    elif key == "#unset_field":
        hdr["na"][0] = val
    elif key == "#empty_field":
        hdr["na"][1] = val


def _tsv_body(
    path: str | os.PathLike, body: bytes, base: int, hdr: dict[str, Any], stats: ReadStats
) -> Iterator[pd.DataFrame]:
    fields, n = hdr["fields"], body.count(b"\n")
    if (
        fields is not None
        and (body.find(b"#") < 0 or b"\n#" not in body)
        and body.count(b"\t") == n * (len(fields) - 1)
    ):
        try:
            df = _read_tsv(body, fields, hdr["na"], typed=True)
        except ValueError:
            df = None
        if df is not None and len(df) == n:  # (a blank line would be skipped: then go line by line)
            yield _typed(df, stats, np.arange(base + 1, base + n + 1))
            return
    lines = body.split(b"\n")[:-1]
    good: list[int] = []
    for i, line in enumerate(lines):
        if line.startswith(b"#"):
            _header(line, hdr)  # a header in mid-block (logs concatenated): rows after it use it
            fields = hdr["fields"]
        elif fields is None:
            if line.strip():
                raise AnalyticsInputError(f"{path}: line {base + i + 1}: data before the #fields header")
        elif line.count(b"\t") == len(fields) - 1:
            good.append(i)
        elif line.strip():
            stats.bad(base + i + 1)
    if good:
        text = b"\n".join([lines[i] for i in good]) + b"\n"
        try:
            df = _read_tsv(text, fields, hdr["na"], typed=True)
        except ValueError:
            df = _read_tsv(text, fields, hdr["na"], typed=False)
        yield _typed(df, stats, base + 1 + np.asarray(good))


def _read_tsv(data: bytes, fields: list[str], na: list[str], *, typed: bool) -> pd.DataFrame:
    use = [c for c in CONN_COLUMNS if c in fields]
    return pd.read_csv(
        io.BytesIO(data),
        sep="\t",
        header=None,
        names=fields,
        usecols=use,
        na_values=na,
        keep_default_na=False,
        dtype={c: CONN_COLUMNS[c] for c in use} if typed else str,
        engine="c",
        encoding_errors="replace",
    )


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


def _typed(df: pd.DataFrame, stats: ReadStats, linenos) -> pd.DataFrame:
    """Coerce a chunk to ``CONN_COLUMNS`` dtypes (missing text is NaN); rows whose ``ts`` is not a number
    are malformed."""
    out = {}
    for col, dtype in CONN_COLUMNS.items():
        if col not in df:
            out[col] = (
                np.full(len(df), np.nan) if dtype == "float64" else np.full(len(df), np.nan, dtype=object)
            )
        elif dtype == "float64":
            c = df[col]
            out[col] = (
                c.to_numpy() if c.dtype == np.float64 else pd.to_numeric(c, errors="coerce").to_numpy(float)
            )
        else:
            out[col] = df[col].to_numpy(dtype=object)
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
    for df in iter_conn_chunks(path, stats, chunk_bytes=2 << 20):
        yield from chunk_messages(df)


def chunk_messages(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """The records of one chunk as ``net/conn`` messages, NaN as None and ports/byte counts as int."""
    for rec in df.to_dict("records"):
        for k, v in rec.items():
            if isinstance(v, float) and v != v:
                rec[k] = None
            elif k in _INT_COLUMNS and v is not None:
                rec[k] = int(v)
            elif k in _BOOL_COLUMNS and v is not None:
                rec[k] = _BOOL.get(v if isinstance(v, bool) else str(v))
        yield {"t": rec["ts"], "topic": "net/conn", **rec}


_INT_COLUMNS = frozenset({"id.orig_p", "id.resp_p", "orig_bytes", "resp_bytes"})
#: Zeek bool fields: ``T``/``F`` in TSV, true/false in JSON (anything else: unknown, None).
_BOOL_COLUMNS = frozenset({"local_orig", "local_resp"})
_BOOL = {"T": True, "F": False, True: True, False: False, "true": True, "false": False}
