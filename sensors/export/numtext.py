"""Camera output as text at compiled speed: MOTChallenge det/gt rows, the JSON list of a frame's detections.

Why: a camera-heavy run writes tens of thousands of MOT rows and JSON detections per simulated second, and
Python's ``%`` formatting and ``json.dumps`` of them cost more than the simulation (``docs/performance.md``).
These numba kernels write digits straight into a byte buffer. The text is byte-identical to the Python
formatting (``DET_ROW`` / ``GT_ROW`` and ``sensors.export.bus.dumps``; tested on random and edge values);
values those fast paths cannot print exactly (non-finite, -0.0, |box| >= 1e5 px, confidence outside [0, 1])
fall back to the Python formatting, row by row for MOT and frame by frame for JSON.
Box values must already be rounded to 0.01 px and confidences / visibilities to 0.001 (as the cameras do).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["DET_ROW", "GT_ROW", "det_text", "detections_json", "gt_text", "warm_kernels"]

#: The row formats (the reference, and the fallback): box values 0.01 px, confidence / visibility 0.001.
DET_ROW = "%d,-1,%.7g,%.7g,%.7g,%.7g,%.3f,-1,-1,-1\n"
GT_ROW = "%d,%d,%.7g,%.7g,%.7g,%.7g,1,%d,%.3f\n"

#: Largest |box value| the fast path prints: below it ``%.7g`` of a 0.01 px value is its plain decimal.
_BOX_LIMIT = 1e5


def _b(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), np.uint8).copy()


#: Literal pieces of the rows (numba freezes these globals into the kernels).
_DET_A, _DET_B, _GT_B = _b(",-1,"), _b(",-1,-1,-1\n"), _b(",1,")
_J_HEAD, _J_MID, _J_TAIL = _b('{"bbox":['), _b('],"cls":"'), _b('","conf":')


@njit(cache=True)
def _uint(buf, pos, v):
    if v == 0:
        buf[pos] = 48
        return pos + 1
    n = 0
    t = v
    while t > 0:
        n += 1
        t //= 10
    p = pos + n - 1
    while v > 0:
        buf[p] = 48 + v % 10
        v //= 10
        p -= 1
    return pos + n


@njit(cache=True)
def _int(buf, pos, v):
    if v < 0:
        buf[pos] = 45
        return _uint(buf, pos + 1, -v)
    return _uint(buf, pos, v)


@njit(cache=True)
def _cents(buf, pos, c, json_style):
    """``c / 100`` as ``%.7g`` (``12``, ``12.5``, ``12.34``) or, ``json_style``, as ``repr`` (``12.0``)."""
    if c < 0:
        buf[pos] = 45
        pos += 1
        c = -c
    pos = _uint(buf, pos, c // 100)
    f = c % 100
    if f == 0:
        if json_style:
            buf[pos] = 46
            buf[pos + 1] = 48
            pos += 2
        return pos
    buf[pos] = 46
    buf[pos + 1] = 48 + f // 10
    pos += 2
    if f % 10 != 0:
        buf[pos] = 48 + f % 10
        pos += 1
    return pos


@njit(cache=True)
def _milli_fixed(buf, pos, m):
    """``%.3f`` of ``m / 1000`` for 0 <= m."""
    pos = _uint(buf, pos, m // 1000)
    f = m % 1000
    buf[pos] = 46
    buf[pos + 1] = 48 + f // 100
    buf[pos + 2] = 48 + (f // 10) % 10
    buf[pos + 3] = 48 + f % 10
    return pos + 4


@njit(cache=True)
def _milli_repr(buf, pos, m):
    """``repr`` of ``m / 1000`` for 0 <= m (``0.87``, ``0.9``, ``1.0``)."""
    pos = _uint(buf, pos, m // 1000)
    f = m % 1000
    buf[pos] = 46
    pos += 1
    if f == 0:
        buf[pos] = 48
        return pos + 1
    d = 100
    while f > 0:
        buf[pos] = 48 + f // d
        pos += 1
        f %= d
        d //= 10
    return pos


@njit(cache=True)
def _lit(buf, pos, text):
    for k in range(len(text)):
        buf[pos + k] = text[k]
    return pos + len(text)


@njit(cache=True)
def _box_ok(b, i):
    """Row ``i`` of boxes ``b`` (n, 4) printable by the kernels: finite, |v| < 1e5, no -0.0."""
    for k in range(4):
        v = b[i, k]
        if not (abs(v) < _BOX_LIMIT) or (v == 0.0 and np.signbit(v)):
            return False
    return True


@njit(cache=True)
def _unit_ok(v):
    return 0.0 <= v <= 1.0 and not (v == 0.0 and np.signbit(v))


@njit(cache=True)
def _det_rows(frames, boxes, conf, starts):
    """Rows into a buffer; ``starts[i]`` is where row i begins (a row the kernel cannot print is left
    empty: ``starts[i] == starts[i + 1]``, and the caller formats it)."""
    n = len(frames)
    buf = np.empty(n * 160 + 1, np.uint8)
    pos = 0
    for i in range(n):
        starts[i] = pos
        if not (_box_ok(boxes, i) and _unit_ok(conf[i])):
            continue
        pos = _int(buf, pos, frames[i])
        pos = _lit(buf, pos, _DET_A)
        for k in range(4):
            if k:
                buf[pos] = 44
                pos += 1
            pos = _cents(buf, pos, np.int64(np.rint(boxes[i, k] * 100.0)), False)
        buf[pos] = 44
        pos = _milli_fixed(buf, pos + 1, np.int64(np.rint(conf[i] * 1000.0)))
        pos = _lit(buf, pos, _DET_B)
    starts[n] = pos
    return buf[:pos]


@njit(cache=True)
def _gt_rows(frames, ids, boxes, cls, vis, starts):
    n = len(frames)
    buf = np.empty(n * 200 + 1, np.uint8)
    pos = 0
    for i in range(n):
        starts[i] = pos
        if not (_box_ok(boxes, i) and _unit_ok(vis[i])):
            continue
        pos = _int(buf, pos, frames[i])
        buf[pos] = 44
        pos = _int(buf, pos + 1, ids[i])
        for k in range(4):
            buf[pos] = 44
            pos = _cents(buf, pos + 1, np.int64(np.rint(boxes[i, k] * 100.0)), False)
        pos = _lit(buf, pos, _GT_B)
        pos = _int(buf, pos, cls[i])
        buf[pos] = 44
        pos = _milli_fixed(buf, pos + 1, np.int64(np.rint(vis[i] * 1000.0)))
        buf[pos] = 10
        pos += 1
    starts[n] = pos
    return buf[:pos]


@njit(cache=True)
def _det_json(boxes, cls, conf, names, name_off):
    """The JSON list, or an empty buffer when some value needs Python's formatting."""
    n = len(cls)
    buf = np.empty(n * 200 + 2, np.uint8)
    buf[0] = 91
    pos = 1
    for i in range(n):
        if not (_box_ok(boxes, i) and _unit_ok(conf[i])):
            return buf[:0]
        if i:
            buf[pos] = 44
            pos += 1
        pos = _lit(buf, pos, _J_HEAD)
        for k in range(4):
            if k:
                buf[pos] = 44
                pos += 1
            pos = _cents(buf, pos, np.int64(np.rint(boxes[i, k] * 100.0)), True)
        pos = _lit(buf, pos, _J_MID)
        c = cls[i]
        for j in range(name_off[c], name_off[c + 1]):
            buf[pos] = names[j]
            pos += 1
        pos = _lit(buf, pos, _J_TAIL)
        pos = _milli_repr(buf, pos, np.int64(np.rint(conf[i] * 1000.0)))
        buf[pos] = 125
        pos += 1
    buf[pos] = 93
    return buf[: pos + 1]


def _text(buf: np.ndarray, starts: np.ndarray, slow_row) -> str:
    """The kernel's text with ``slow_row(i)`` spliced in for the rows it left empty."""
    text = buf.tobytes().decode("ascii")
    empty = np.flatnonzero(starts[1:] == starts[:-1])
    if not len(empty):
        return text
    out, prev = [], 0
    for i in empty.tolist():
        cut = int(starts[i])
        out += [text[prev:cut], slow_row(i)]
        prev = cut
    out.append(text[prev:])
    return "".join(out)


def det_text(frames: np.ndarray, boxes: np.ndarray, conf: np.ndarray) -> str:
    """``DET_ROW`` lines: frame (n,), box (n, 4) at 0.01 px, confidence (n,) at 0.001."""
    frames = np.ascontiguousarray(frames, np.int64).reshape(-1)
    boxes = np.ascontiguousarray(boxes, np.float64).reshape(-1, 4)
    conf = np.ascontiguousarray(conf, np.float64).reshape(-1)
    starts = np.empty(len(frames) + 1, np.int64)
    buf = _det_rows(frames, boxes, conf, starts)
    return _text(buf, starts, lambda i: DET_ROW % (frames[i], *boxes[i], conf[i]))


def gt_text(frames: np.ndarray, ids: np.ndarray, boxes: np.ndarray, cls: np.ndarray, vis: np.ndarray) -> str:
    """``GT_ROW`` lines: frame, true id, box (0.01 px), MOT class, visibility (0.001)."""
    frames, ids, cls = (np.ascontiguousarray(a, np.int64).reshape(-1) for a in (frames, ids, cls))
    boxes = np.ascontiguousarray(boxes, np.float64).reshape(-1, 4)
    vis = np.ascontiguousarray(vis, np.float64).reshape(-1)
    starts = np.empty(len(frames) + 1, np.int64)
    buf = _gt_rows(frames, ids, boxes, cls, vis, starts)
    return _text(buf, starts, lambda i: GT_ROW % (frames[i], ids[i], *boxes[i], cls[i], vis[i]))


class _Names:
    """Class names as one byte buffer with offsets (what the JSON kernel copies)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        enc = [n.encode("ascii") for n in names]
        self.buf = np.frombuffer(b"".join(enc) or b" ", np.uint8).copy()
        self.off = np.concatenate([[0], np.cumsum([len(e) for e in enc])]).astype(np.int64)


_NAMES: dict[tuple[str, ...], _Names] = {}


def detections_json(
    boxes: np.ndarray, cls: np.ndarray, conf: np.ndarray, names: tuple[str, ...]
) -> str | None:
    """The JSON text ``sensors.export.bus.dumps`` gives a frame's detection list ``[{"bbox": [x, y, w, h],
    "cls": names[cls], "conf": c}, ...]``, or None when a value needs Python's own formatting (the caller's
    fallback). Names must be plain ASCII without characters JSON escapes."""
    nm = _NAMES.get(names)
    if nm is None:
        nm = _NAMES[names] = _Names(names)
    b = np.ascontiguousarray(boxes, np.float64).reshape(-1, 4)
    k = np.ascontiguousarray(cls, np.int64).reshape(-1)
    buf = _det_json(b, k, np.ascontiguousarray(conf, np.float64).reshape(-1), nm.buf, nm.off)
    return buf.tobytes().decode("ascii") if len(buf) else None


def warm_kernels() -> None:
    """Compile (first use) or load (numba's cache) every kernel now, on tiny inputs, so the first real call
    does not wait for them."""
    one = np.ones(1)
    det_text(one, np.ones((1, 4)), one * 0.5)
    gt_text(one, one, np.ones((1, 4)), one, one * 0.5)
    detections_json(np.ones((1, 4)), np.zeros(1, np.int64), one * 0.5, ("x",))
