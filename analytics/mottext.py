"""MOTChallenge text in its plain form parsed by a numba kernel: the numbers pandas' C parser gives, faster.

Why: scoring a city run reads 442 MOTChallenge files (200 MB, 4.5 M rows); pandas' ``read_csv`` took 1.3 s
of it (``docs/performance.md``). ``parse_plain`` takes only the plain form the project's writers produce:
every line 6 to 10 comma-separated fields, the same count on every line, each field ``-?digits(.digits)?``
with at most 15 digits, lines ended by ``\\n`` or ``\\r\\n`` (the last one may not be), nothing else (no
blank lines, spaces, exponents). Such a number is ``mantissa / 10**decimals`` with both exact in a double, so
the one division rounds it correctly, as pandas' parser does. Anything else is declined (None) and
``analytics.mot.load_mot`` goes on as before (pandas, then the streaming reader).
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

__all__ = ["parse_plain"]

_POW10 = np.array([10.0**k for k in range(16)])  # exact doubles
_COMMA, _NL, _CR, _MINUS, _DOT, _ZERO = 44, 10, 13, 45, 46, 48


@njit(cache=True, nogil=True)
def _parse(buf, out):
    """Fill ``out`` (lines x 10, -1 past the fields) from ``buf``; the fields per line, or -1 if not plain."""
    n = len(buf)
    pos = 0
    row = 0
    n_fields = -1
    while pos < n:
        field = 0
        while True:
            neg = buf[pos] == _MINUS
            if neg:
                pos += 1
            mant = 0
            digits = 0
            while pos < n and _ZERO <= buf[pos] <= _ZERO + 9:
                mant = mant * 10 + (np.int64(buf[pos]) - _ZERO)
                digits += 1
                pos += 1
            if digits == 0:
                return -1
            dec = 0
            if pos < n and buf[pos] == _DOT:
                pos += 1
                while pos < n and _ZERO <= buf[pos] <= _ZERO + 9:
                    mant = mant * 10 + (np.int64(buf[pos]) - _ZERO)
                    dec += 1
                    pos += 1
                if dec == 0:
                    return -1
            if digits + dec > 15 or field >= 10:
                return -1
            v = mant / _POW10[dec]
            out[row, field] = -v if neg else v
            field += 1
            if pos == n:
                break
            c = buf[pos]
            pos += 1
            if c == _CR and pos < n and buf[pos] == _NL:
                pos += 1
                break
            if c == _NL:
                break
            if c != _COMMA or pos == n:
                return -1
        if n_fields < 0:
            n_fields = field
        if field != n_fields or field < 6:
            return -1
        out[row, field:] = -1.0
        row += 1
    return n_fields if row == len(out) else -1


@njit(cache=True, nogil=True)
def _lines(buf):
    """Lines of the text: its newlines, plus one if the last line has none."""
    n = 0
    for b in buf:
        n += b == _NL
    return n + (buf[-1] != _NL)


def parse_plain(path: str | os.PathLike) -> np.ndarray | None:
    """The rows of a plain MOTChallenge file (see the module docstring) as an (N, 10) array, columns the
    file lacks -1 as ``load_mot`` pads them; None if it is not plain, empty, or unreadable (``load_mot``
    decides then)."""
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except (OSError, ValueError):
        return None
    if not len(buf):
        return None
    out = np.empty((_lines(buf), 10))
    return out if _parse(buf, out) > 0 else None
