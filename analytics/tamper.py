"""A camera that was moved (turned, knocked, re-aimed) found from its picture no longer matching its
calibration: the ground positions of its tracks (``track/frame``, projected through the published
homography) suddenly fall where none fell before, or in a pattern that is the old one turned about the
camera.

When a camera is turned by an angle about its mast, its published calibration still maps the image to the
old view, so every track it reports lands on the ground rotated about the camera by minus that angle, at
the same distance from it. The detector keeps, per camera, the ground positions of its tracks (one sample
of each track per ``sample_s``) as a baseline (every sample older than ``window_s``; it keeps learning)
and compares the last ``window_s`` with it in two ways:

- new ground (``via: new_ground``): people and vehicles keep to the same walkways, crossings and lanes, so
  the cells a camera's tracks cover settle and grow slowly. At least ``novel_share`` of the recent samples,
  from ``min_tracks`` tracks or more, outside every covered cell (and its neighbours): the picture shows
  ground the calibration never saw used.
- turned pattern (``via: turned``): on a wide, evenly used square the turned view lands on covered cells
  too, but the density pattern (where people stand and walk, in range and bearing from the camera) comes
  out rotated. The recent pattern, in polar cells about the camera, is compared with the baseline at every
  rotation within +-``max_turn_deg``: when the best rotation is at least ``min_turn_deg`` away from none
  and fits ``turn_gain`` times better than none, for ``confirm`` checks in a row at the same rotation, the
  camera was turned by about that much (``turn_deg``, clockwise as seen from above).

Rotations are about the camera's position from its calibration record (``xy``); a camera whose record
has none is centred on its first tracks, where the turned-pattern test means little.

Hard cases, by design quiet: people standing still (the same cells, the same pattern), an empty scene (no
samples), a scene too young or too sparse to judge (``min_baseline`` samples). Crowds that move as one
(a procession sweeping round the camera) could look turned; measured false alarms are in
``docs/performance.md``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.base import Detector, EpisodeFilter, make_alert
from analytics.geometry import camera_position

__all__ = ["CameraTamperDetector", "TamperParams"]

#: Row and column offsets of a cell's 3 x 3 neighbourhood.
_DR, _DC = (a.ravel()[None, :] for a in np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij"))


@dataclass(frozen=True, slots=True)
class TamperParams:
    """Camera tampering from ground-track statistics (see the module docstring).

    Parameters
    ----------
    cell_m : side of a ground cell of the new-ground test (default 2 m: about a walkway's width, larger
        than the ground jitter of a near track).
    extent_m : tracks within this distance of the camera are counted (default 160 m: beyond the simulator's
        and most detectors' useful range for people).
    ring_m, sector_deg : the turned-pattern test's polar cells (default 4 m by 2 degrees).
    sample_s : one sample of every track per this many seconds per camera (default 1 s).
    window_s : the recent window compared with the baseline (default 30 s).
    min_baseline : samples the baseline must hold before a camera is judged (default 300, e.g. five minutes
        of one person, or one minute of five).
    min_recent : samples the recent window must hold (default 30).
    min_tracks : distinct tracks among the recent samples (default 3: one walker on a new path is not a
        moved camera).
    novel_share : share of recent samples outside the covered cells that means moved (default 0.5).
    max_turn_deg, min_turn_deg : rotations searched, and the least one that counts (default 90 and 20
        degrees: in the simulated scenes a crowd fleeing a rammer or a panic made patterns that fit best
        turned by up to 16 degrees, ``docs/performance.md``).
    turn_gain : how much better the best rotation must fit than none (cosine similarity ratio, default
        1.25).
    turn_keep : the best rotation must also fit at least this share of the camera's usual unturned fit
        (its running mean over the checks that found no turn; default 0.35: a turn by half the field of
        view keeps about half the view, so about half the usual fit; a crowd that moved keeps less).
    confirm : consecutive checks that must find the same rotation (within 4 degrees; default 2).
    check_s : how often each camera is checked (default 5 s).
    hold_s : alerts of one camera within this time are one episode (default 1800 s).
    conf : confidence given to the alert.
    """

    cell_m: float = 2.0
    extent_m: float = 160.0
    ring_m: float = 4.0
    sector_deg: float = 2.0
    sample_s: float = 1.0
    window_s: float = 30.0
    min_baseline: int = 300
    min_recent: int = 30
    min_tracks: int = 3
    novel_share: float = 0.5
    max_turn_deg: float = 90.0
    min_turn_deg: float = 20.0
    turn_gain: float = 1.25
    turn_keep: float = 0.35
    confirm: int = 2
    check_s: float = 5.0
    hold_s: float = 1800.0
    conf: float = 0.7


class _Ground:
    """One camera's ground statistics: baseline cell counts and covered cells (dilated by one cell), the
    baseline's polar histogram, the recent samples, the rotation the last checks found."""

    __slots__ = ("base_n", "centre", "count", "covered", "level", "n", "next_check", "next_sample", "polar",
                 "recent", "turns")

    def __init__(self, centre: tuple[float, float], n: int, polar_shape: tuple[int, int]) -> None:
        self.centre = centre
        self.n = n
        self.count = np.zeros(n * n, np.int32)
        self.covered = np.zeros(n * n, bool)
        self.polar = np.zeros(polar_shape[0] * polar_shape[1])
        self.base_n = 0
        #: (t, cell indices, polar indices, track ids) per sample time
        self.recent: deque[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = deque()
        self.turns: deque[int] = deque()
        self.level = math.nan              # running mean of the unturned fit over checks that found no turn
        self.next_sample = -math.inf
        self.next_check = -math.inf

    def learn(self, idx: np.ndarray, pidx: np.ndarray) -> None:
        """Add samples (flat cell and polar indices) to the baseline; mark their cells and neighbours
        covered."""
        np.add.at(self.count, idx, 1)
        np.add.at(self.polar, pidx, 1.0)
        self.base_n += len(idx)
        n = self.n
        r, c = np.divmod(idx, n)
        rr, cc = r[:, None] + _DR, c[:, None] + _DC
        ok = (rr >= 0) & (rr < n) & (cc >= 0) & (cc < n)
        self.covered[rr[ok] * n + cc[ok]] = True


class CameraTamperDetector(Detector):
    """Each camera's ground tracks against where they ran before; one alert per episode."""

    name = "camera_tamper"
    alert_kinds = ("camera_tamper",)
    Params = TamperParams
    topics = ("camera/calibration", "track/frame")

    def __init__(self, params: TamperParams = TamperParams()) -> None:
        self.p = params
        self._n = max(1, math.ceil(2 * params.extent_m / params.cell_m))
        self._rings = max(1, math.ceil(params.extent_m / params.ring_m))
        self._sectors = max(4, round(360.0 / params.sector_deg))
        self._cams: dict[str, _Ground] = {}
        self._centre: dict[str, tuple[float, float]] = {}
        self._episodes = EpisodeFilter(params.hold_s)

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        cam = str(msg.get("camera_id"))
        if msg.get("topic") == "camera/calibration":
            pos = camera_position(msg)
            if pos is not None:
                self._centre[cam] = pos
            return []
        if msg.get("topic") != "track/frame":
            return []
        xy, ids = msg.get("xy"), msg.get("ids")
        if xy is None or not ids:
            return []
        t = float(msg["t"])
        pts = np.asarray(xy, float).reshape(-1, 2)
        g = self._cams.get(cam)
        if g is None:
            fin = pts[np.isfinite(pts).all(axis=1)]
            centre = self._centre.get(cam) or (tuple(fin.mean(axis=0)) if len(fin) else None)
            if centre is None:
                return []
            g = self._cams[cam] = _Ground((float(centre[0]), float(centre[1])), self._n,
                                          (self._rings, self._sectors))
        if t < g.next_sample:
            return []
        g.next_sample = t + self.p.sample_s
        idx, pidx, keep = self._cells(g, pts)
        g.recent.append((t, idx, pidx, np.asarray(ids, dtype=str)[keep]))
        while g.recent and g.recent[0][0] <= t - self.p.window_s:
            old = g.recent.popleft()
            g.learn(old[1], old[2])
        if t < g.next_check:
            return []
        g.next_check = t + self.p.check_s
        return self._check(cam, g, t)

    def _cells(self, g: _Ground, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat indices of the points in the camera's square raster and polar grid (compass bearing from
        the camera), and which points those are (finite, within ``extent_m`` on both)."""
        p = self.p
        rel = pts - np.asarray(g.centre)
        keep = np.isfinite(rel).all(axis=1)
        rel = np.where(keep[:, None], rel, 0.0)
        half = self._n * p.cell_m / 2.0
        ij = np.floor((rel + half) / p.cell_m).astype(np.int64)
        ring = np.floor(np.hypot(rel[:, 0], rel[:, 1]) / p.ring_m).astype(np.int64)
        keep &= (ij >= 0).all(axis=1) & (ij < self._n).all(axis=1) & (ring < self._rings)
        sector = np.floor(np.degrees(np.arctan2(rel[:, 0], rel[:, 1])) % 360.0 / (360.0 / self._sectors))
        sector = np.minimum(sector.astype(np.int64), self._sectors - 1)
        return ij[keep, 1] * self._n + ij[keep, 0], ring[keep] * self._sectors + sector[keep], keep

    def _check(self, cam: str, g: _Ground, t: float) -> list[dict[str, Any]]:
        p = self.p
        if g.base_n < p.min_baseline or not g.recent:
            return []
        idx = np.concatenate([r[1] for r in g.recent])
        tracks = len(np.unique(np.concatenate([r[3] for r in g.recent])))
        if len(idx) < p.min_recent or tracks < p.min_tracks:
            g.turns.clear()
            return []
        share = float((~g.covered[idx]).mean())
        turn, fit, fit0 = self._turn(g, np.concatenate([r[2] for r in g.recent]))
        turned = (abs(turn) >= p.min_turn_deg - 1e-9 and fit >= p.turn_gain * fit0
                  and fit >= p.turn_keep * g.level)     # False while no usual fit is known (NaN)
        if not turned:
            g.level = fit0 if math.isnan(g.level) else 0.9 * g.level + 0.1 * fit0
        step = 360.0 / self._sectors
        g.turns.append(round(turn / step) if turned else 0)
        while len(g.turns) > p.confirm:
            g.turns.popleft()
        turns = list(g.turns)
        steady = len(turns) == p.confirm and all(turns) and max(turns) - min(turns) <= round(4.0 / step)
        if share >= p.novel_share:
            via = "new_ground"
        elif steady:
            via = "turned"
        else:
            return []
        if not self._episodes.admit(t, cam):
            return []
        ev = {"camera_id": cam, "via": via, "novel_share": round(share, 3), "turn_deg": turn,
              "turn_fit": round(fit, 3), "fit_unturned": round(fit0, 3), "samples": int(len(idx)),
              "tracks": tracks, "baseline_samples": int(g.base_n)}
        return [make_alert(t, "camera_tamper", p.conf, xy=g.centre, source=[cam], evidence=ev)]

    def _turn(self, g: _Ground, pidx: np.ndarray) -> tuple[float, float, float]:
        """The camera turn (degrees clockwise, within +-``max_turn_deg``) whose undoing best lays the recent
        polar histogram onto the baseline's, its cosine similarity, and the similarity with no turn."""
        shape = (self._rings, self._sectors)
        rec = np.bincount(pidx, minlength=shape[0] * shape[1]).reshape(shape).astype(float)
        base = g.polar.reshape(shape)
        norm = float(np.linalg.norm(rec) * np.linalg.norm(base))
        if norm <= 0:
            return 0.0, 0.0, 0.0
        # circular cross-correlation along the bearing axis, summed over rings: score[k] = sum(base *
        # roll(rec, k)), i.e. the recent pattern turned k sectors clockwise
        score = np.fft.irfft((np.fft.rfft(base, axis=1) * np.conj(np.fft.rfft(rec, axis=1))).sum(axis=0),
                             n=self._sectors) / norm
        step = 360.0 / self._sectors
        kmax = int(self.p.max_turn_deg // step)
        ks = np.arange(-kmax, kmax + 1)
        cand = score[ks % self._sectors]
        best = int(np.argmax(cand))
        return float(round(ks[best] * step, 1)), float(cand[best]), float(score[0])
