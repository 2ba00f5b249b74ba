"""Compiled Kalman predict and update for XYXY box filters kept as rows of arrays (``x`` (n, 8), ``P``
(n, 8, 8)), applied in place to a list of rows.

Why: the trackers hold thousands of filters (a city run: about 10,000 over 221 cameras) and predict all of
them every frame; numpy spends that time on the 4 x 4 blocks' per-call overhead, not on arithmetic. Each
row is computed by its own scalar loop in a fixed order (no fused multiply-add: numba compiles without
fast-math), so a row's result never depends on which other rows share the call: the per-camera tracker
(``analytics.bytetrack_pool``) and the multi-camera one (``analytics.multitrack``) get bit-identical states.
The algebra is the library's (``trackers`` ``KalmanFilter``: constant-velocity ``F``, ``H = [I 0]``, Joseph
form update), written out for that structure; it equals the library's matrix products up to rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["predict_rows", "update_rows", "warm_kernels"]


@njit(cache=True)
def predict_rows(
    x: np.ndarray, P: np.ndarray, rows: np.ndarray, step: np.ndarray, Q: np.ndarray, q_of: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``x = F x``, ``P = F P F^T + Q`` for each of ``rows`` in place, with ``F = [[I, s I], [0, I]]``: row
    ``rows[i]`` steps ``s = step[i]`` frames and gets noise ``Q[q_of[i]]``."""
    for i in range(len(rows)):
        r = rows[i]
        s = step[i]
        q = q_of[i]
        for a in range(4):
            x[r, a] = x[r, a] + s * x[r, a + 4]
        for a in range(4):  # F P: position rows gain s x velocity rows
            for j in range(8):
                P[r, a, j] = P[r, a, j] + s * P[r, a + 4, j]
        for a in range(8):  # (F P) F^T: position columns gain s x velocity columns
            for b in range(4):
                P[r, a, b] = P[r, a, b] + s * P[r, a, b + 4]
        for a in range(8):
            for b in range(8):
                P[r, a, b] = P[r, a, b] + Q[q, a, b]


@njit(cache=True)
def _inverse4(S: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out = S^-1`` for a 4 x 4 matrix: Gauss-Jordan elimination with partial pivoting (first largest)."""
    A = S.copy()
    for a in range(4):
        for b in range(4):
            out[a, b] = 1.0 if a == b else 0.0
    for c in range(4):
        p = c
        for r in range(c + 1, 4):
            if abs(A[r, c]) > abs(A[p, c]):
                p = r
        if p != c:
            for b in range(4):
                A[c, b], A[p, b] = A[p, b], A[c, b]
                out[c, b], out[p, b] = out[p, b], out[c, b]
        d = A[c, c]
        for b in range(4):
            A[c, b] = A[c, b] / d
            out[c, b] = out[c, b] / d
        for r in range(4):
            if r != c:
                f = A[r, c]
                for b in range(4):
                    A[r, b] = A[r, b] - f * A[c, b]
                    out[r, b] = out[r, b] - f * out[c, b]


@njit(cache=True)
def update_rows(
    x: np.ndarray, P: np.ndarray, rows: np.ndarray, z: np.ndarray, R: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Kalman update of each of ``rows`` in place with box measurement ``z[i]``: ``K = P H^T S^-1``,
    ``x += K (z - H x)``, ``P = (I - K H) P (I - K H)^T + K R K^T`` (Joseph form, as the library)."""
    S = np.empty((4, 4))
    Si = np.empty((4, 4))
    K = np.empty((8, 4))
    KR = np.empty((8, 4))
    T = np.empty((8, 8))
    y = np.empty(4)
    for i in range(len(rows)):
        r = rows[i]
        for a in range(4):
            y[a] = z[i, a] - x[r, a]
            for b in range(4):
                S[a, b] = P[r, a, b] + R[a, b]
        _inverse4(S, Si)
        for a in range(8):
            for b in range(4):
                acc = P[r, a, 0] * Si[0, b]
                for c in range(1, 4):
                    acc = acc + P[r, a, c] * Si[c, b]
                K[a, b] = acc
        for a in range(8):
            acc = K[a, 0] * y[0]
            for c in range(1, 4):
                acc = acc + K[a, c] * y[c]
            x[r, a] = x[r, a] + acc
        for a in range(8):  # T = (I - K H) P
            for b in range(8):
                acc = K[a, 0] * P[r, 0, b]
                for c in range(1, 4):
                    acc = acc + K[a, c] * P[r, c, b]
                T[a, b] = P[r, a, b] - acc
        for a in range(8):  # K R
            for b in range(4):
                acc = K[a, 0] * R[0, b]
                for c in range(1, 4):
                    acc = acc + K[a, c] * R[c, b]
                KR[a, b] = acc
        for a in range(8):  # P = T (I - K H)^T + (K R) K^T
            for b in range(8):
                acc = T[a, 0] * K[b, 0]
                kr = KR[a, 0] * K[b, 0]
                for c in range(1, 4):
                    acc = acc + T[a, c] * K[b, c]
                    kr = kr + KR[a, c] * K[b, c]
                P[r, a, b] = (T[a, b] - acc) + kr


def warm_kernels() -> None:
    """Compile (first use) or load (numba's cache) both kernels now, on a tiny input."""
    x, P = np.zeros((1, 8)), np.eye(8)[None].copy()
    rows = np.zeros(1, np.int64)
    predict_rows(x, P, rows, np.ones(1), np.eye(8)[None], rows)
    update_rows(x, P, rows, np.ones((1, 4)), np.eye(4))
