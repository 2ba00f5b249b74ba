"""File helpers of the readers and writers: open a text or binary file (a missing or unreadable one is our
input error), find the first data line, write a file atomically.

A text file whose name ends in ``.gz`` is gzip-compressed: ``open_text`` reads it, ``atomic_write_lines``
writes it (no file name and a zero time stamp in the gzip header: the same lines give the same bytes).
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, TextIO

from analytics.base import AnalyticsInputError

__all__ = ["atomic_write_lines", "first_data_line", "open_binary", "open_text"]


def open_text(path: str | os.PathLike) -> TextIO:
    """Open ``path`` for reading text, turning a missing/unreadable file into ``AnalyticsInputError``."""
    p = Path(path)
    if not p.is_file():
        raise AnalyticsInputError(f"{p}: no such file")
    try:
        if p.suffix == ".gz":
            return gzip.open(p, "rt", encoding="utf-8", errors="replace", newline=None)
        return open(p, encoding="utf-8", errors="replace", newline=None)  # noqa: SIM115 - caller closes
    except OSError as exc:
        raise AnalyticsInputError(f"{p}: cannot read ({exc.strerror})") from None


def open_binary(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for reading bytes, turning a missing/unreadable file into ``AnalyticsInputError``."""
    p = Path(path)
    if not p.is_file():
        raise AnalyticsInputError(f"{p}: no such file")
    try:
        return open(p, "rb")  # noqa: SIM115 - caller closes
    except OSError as exc:
        raise AnalyticsInputError(f"{p}: cannot read ({exc.strerror})") from None


def first_data_line(path: str | os.PathLike) -> tuple[int, str]:
    """``(line number, text)`` of the first non-blank line; an empty file is an input error."""
    try:
        with open_text(path) as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    return n, line.rstrip("\n")
    except (gzip.BadGzipFile, EOFError) as exc:
        raise AnalyticsInputError(f"{path}: line 1: not a whole gzip file ({exc})") from None
    raise AnalyticsInputError(f"{path}: line 1: file is empty")


def atomic_write_lines(path: str | os.PathLike, lines: Iterable[str]) -> Path:
    """Write ``lines`` (each gets a newline) to a temp file beside ``path``, then rename it into place
    (gzip-compressed if ``path`` ends in ``.gz``)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        if p.suffix == ".gz":
            with os.fdopen(fd, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                           compresslevel=6) as packed, io.TextIOWrapper(
                    packed, encoding="utf-8", newline="\n", write_through=False) as fh:
                for line in lines:
                    fh.write(line + "\n")
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for line in lines:
                    fh.write(line + "\n")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; an output file is for every reader
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
