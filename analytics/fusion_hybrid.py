"""Cyber-physical correlation for incident fusion: which physical incidents are ``hybrid``, and why.

(a) Cameras near a physical incident were lost around its time; (b) a cyber incident against the video
system preceded it and blinded (or targeted) cameras that cover it. The gates are ``FusionParams``'
``hybrid_radius_m``, ``loss_before_s``, ``loss_after_s``, ``cyber_before_s``, ``cyber_lag_s`` and
``blind_after_s`` (see ``analytics.fusion``). Each pair is judged when either side changes, so neither the
order of the alerts nor a scan of all incidents is needed: a camera loss looks up the physical incidents
near the camera (grid), a physical incident the losses of the cameras near it, and a cyber incident that
gains a video-system target the open physical incidents.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from analytics.fusion_alerts import Obs

Fusion = Track = Any   # analytics.fusion's classes; not imported (that module imports this one)

__all__ = ["HybridLinker"]


def _when(dt: float) -> str:
    return f"{-dt:.0f} s before" if dt < 0 else f"{dt:.0f} s after"


class HybridLinker:
    """The camera-loss log and the cyber incidents against the video system of one ``Fusion``."""

    def __init__(self, fusion: Fusion) -> None:
        self.f = fusion
        self.p = fusion.p
        self.ctx = fusion.ctx
        self._losses: dict[str, list[tuple[float, str]]] = {}  # camera -> [(t, alert id)] in arrival order
        self._video_cyber: list[int] = []  # cyber incidents (track indices) against the video system
        self._by_camera: dict[str, list[int]] = {}  # camera -> those of them that blinded or targeted it
        # a loss older than this can no longer fall in the window of an incident still open
        self._horizon = self.p.loss_before_s + fusion._idle["physical"]
        self._next_prune = -math.inf

    def record_losses(self, ob: Obs) -> None:
        """Log the cameras a loss alert reports (dropping entries past the horizon). A camera the context
        does not place is placed where the alert is (a frozen or replayed picture's ground centre)."""
        if ob.camera is not None and ob.xy is not None:
            self.ctx.place_camera(ob.camera, ob.xy)
        for cam in ob.lost:
            log = self._losses.setdefault(cam, [])
            log.append((ob.t, ob.id))
            if log[0][0] < ob.t - self._horizon:
                log[:] = [e for e in log if e[0] >= ob.t - self._horizon]

    def prune(self, now: float) -> None:
        """Forget cyber incidents too old to precede any new physical incident (checked once a second)."""
        if now < self._next_prune:
            return
        self._next_prune = now + 1.0
        p, tracks = self.p, self.f.tracks
        old = [c for c in self._video_cyber if tracks[c].inc.t_last + p.blind_after_s < now - p.cyber_lag_s]
        for c in old:
            self._video_cyber.remove(c)
            for cam in tracks[c].blinded:
                self._by_camera[cam].remove(c)

    def check(self, tr: Track, t: float, touched: set[int]) -> None:
        """Judge a physical incident that changed against the losses and cyber incidents on record."""
        if not tr.loss_linked:
            self._link_losses(tr, t, touched)
        if self._video_cyber:
            found = {c for cam, _ in self.near(tr) for c in self._by_camera.get(cam, ())}
            for c in sorted(found - tr.cyber_linked):
                self._link_cyber(tr, self.f.tracks[c], t, touched)

    def losses_to_incidents(self, ob: Obs, touched: set[int]) -> None:
        """Judge the open physical incidents near the cameras a loss alert reports."""
        for tr in self._near_cameras(ob.lost):
            if not tr.loss_linked:
                self._link_losses(tr, ob.t, touched)

    def cyber_victims(self, tr: Track, ob: Obs, touched: set[int]) -> None:
        """A cyber incident's alert named targets: if it takes them down (``blinding_kinds``) and new ones are
        in the video system, judge the open physical incidents near the cameras they blind."""
        if ob.kind not in self.p.blinding_kinds:
            return
        new = [v for v in ob.victims if v not in tr.victims]
        tr.victims.update(new)
        blind = {v: self.ctx.blinded(v) for v in new}
        video = sorted(v for v, cams in blind.items() if cams)
        if not video:
            return
        added = frozenset().union(*(blind[v] for v in video)) - tr.blinded
        tr.video_victims.update(video)
        tr.blinded = tr.blinded | added
        if tr.idx not in self._video_cyber:  # new, or pruned before: index every camera it blinded
            self._video_cyber.append(tr.idx)
            added = tr.blinded
        for cam in sorted(added):
            self._by_camera.setdefault(cam, []).append(tr.idx)
        for phys in self._near_cameras(added):
            self._link_cyber(phys, tr, ob.t, touched)

    def _near_cameras(self, cams: Iterable[str]) -> list[Track]:
        """Open physical incidents within reach of any of ``cams`` (grid lookups per camera, or one pass
        over the open physical incidents when there are fewer of those than cameras), in order."""
        cams = set(cams)
        found: dict[int, Track] = {}
        if len(cams) > len(self.f._active):
            for tr in self.f.open_physical():
                if any(c in cams for c, _ in self.near(tr)):
                    found[tr.idx] = tr
        else:
            for cam in sorted(cams):
                reach = self.ctx.camera_reach(cam, self.p.hybrid_radius_m)
                if reach is not None:
                    found.update((tr.idx, tr) for tr in self.f.near_physical(*reach))
        return [found[i] for i in sorted(found)]

    def near(self, tr: Track) -> list[tuple[str, float]]:
        """The cameras near a physical incident's location (cached until it moves)."""
        if tr.near is None or tr.near[0] != tr.pos:
            tr.near = (tr.pos, self.ctx.cameras_near(tr.pos, self.p.hybrid_radius_m))
        return tr.near[1]

    def _link_losses(self, tr: Track, t: float, touched: set[int]) -> None:
        inc = tr.inc
        lo, hi = inc.t_first - self.p.loss_before_s, inc.t_last + self.p.loss_after_s
        hits = []
        for cam, d in self.near(tr):
            hit = next(((tl, aid) for tl, aid in self._losses.get(cam, ()) if lo <= tl <= hi), None)
            if hit is not None:
                where = f"{d:.0f} m away" if d != float("inf") else "its view holds the place"
                when = _when(hit[0] - inc.t_first)
                hits.append(f"{cam} ({where}) lost {when} the first alert (alert {hit[1]})")
        if not hits:
            return
        tr.loss_linked = True
        more = f" and {len(hits) - 3} more" if len(hits) > 3 else ""
        if inc.set_hybrid("cameras lost near it: " + "; ".join(hits[:3]) + more, t):
            touched.add(tr.idx)

    def _link_cyber(self, tr: Track, c: Track, t: float, touched: set[int]) -> None:
        pi, ci, p = tr.inc, c.inc, self.p
        if c.idx in tr.cyber_linked:
            return
        if not (ci.t_first <= pi.t_first + p.cyber_lag_s and pi.t_first - ci.t_first <= p.cyber_before_s
                and pi.t_first <= ci.t_last + p.blind_after_s):
            return
        cams = [cam for cam, _ in self.near(tr) if cam in c.blinded]
        if not cams:
            return
        tr.cyber_linked.add(c.idx)
        verb = "blinded" if ci.kind == "dos" else "targeted"
        more = f" and {len(cams) - 3} more" if len(cams) > 3 else ""
        hosts = ", ".join(sorted(c.video_victims)[:3])
        reason = (f"{ci.kind} incident {ci.id} against the video system ({hosts}) {verb} cameras covering it "
                  f"({', '.join(cams[:3])}{more}), starting {_when(ci.t_first - pi.t_first)} its first alert")
        if pi.set_hybrid(reason, t):
            touched.add(tr.idx)
