"""Global ids of fused ground tracks (``analytics.ground_tracks``): linked camera tracks grouped into global
tracks, each group given a stable ``g<n>``, ended groups handed over to new tracks nearby, and the fused
position of each group.

Rules, each instant:

- a group is a connected component of the linked camera tracks; a group with two tracks of one camera
  drops its weakest links (fewest consecutive pairings, then the newest) until it has none;
- a group keeps the id most of its tracks had (ties: the group whose first track is oldest); a group whose
  tracks had several ids (two global tracks merged) keeps the oldest, the others are retired;
- a group of tracks that never had an id continues a global track that ended within ``handover_s``
  (``GroundTrackParams``) within reach, in another camera overlapping one of its cameras, when it is that
  track's only such candidate and that track is its only one; the unseen tracks still holding the
  continued id give it up;
- any other group gets the next id. New ids are numbered in the order of each group's first track.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from analytics.ground_assoc import ViewOverlap

__all__ = ["GlobalIds", "Labelled"]

_MASK = (1 << 32) - 1
#: Gid of a slot that never had one, and of one whose global track was handed over to another.
_NONE, _GAVE_UP = -1, -2


class Labelled(NamedTuple):
    """One instant's live global tracks, in id order, and the links the labelling dropped."""

    gids: np.ndarray           # (k,) id numbers
    xy: np.ndarray             # (k, 2) fused positions
    cov: np.ndarray            # (k, 3) fused covariance rows [xx, xy, yy] (m^2)
    members: list[list[int]]   # live slots of each, in slot order
    dropped: np.ndarray        # pair codes of links dropped (two tracks of one camera in one group)


class _Ended(NamedTuple):
    gid: int
    t: float
    x: float
    y: float
    cams: tuple[int, ...]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of ``n`` nodes and edges ``(a, b)``, numbered in order of their first node."""
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    k, label = connected_components(graph, directed=False)
    first = np.full(k, n, np.int64)
    np.minimum.at(first, label, np.arange(n))
    rank = np.empty(k, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(k)
    return k, rank[label]


def _resolve(edges: tuple[np.ndarray, np.ndarray], codes: np.ndarray, hits: np.ndarray, cams: np.ndarray,
             label: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """The links to drop so that no group in ``bad`` holds two tracks of one camera: each group's links are
    added strongest first (most consecutive pairings, then the oldest pair) unless they would join two
    tracks of one camera (union-find over the few groups in conflict)."""
    a, b = edges
    inside = np.isin(label[a], bad)
    dropped = []
    parent: dict[int, int] = {}
    owned: dict[int, set[int]] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    order = np.lexsort((codes, -hits))
    for k in order[inside[order]].tolist():
        ra, rb = root(int(a[k])), root(int(b[k]))
        if ra == rb:
            continue
        ca, cb = owned.setdefault(ra, {int(cams[ra])}), owned.setdefault(rb, {int(cams[rb])})
        if ca & cb:
            dropped.append(int(codes[k]))
            continue
        parent[rb] = ra
        ca |= cb
    return np.array(sorted(dropped), dtype=np.int64)


class GlobalIds:
    """The global id of every camera track, kept from instant to instant (rules in the module docstring)."""

    def __init__(self, params: Any, views: ViewOverlap | None = None) -> None:
        self.p = params
        self.views = views if views is not None else ViewOverlap()
        self.gid = np.zeros(0, np.int64)
        self.next_id = 1
        self._shown: dict[int, _Ended] = {}
        self._ended: list[_Ended] = []

    def forget(self, slots: np.ndarray) -> None:
        """Camera tracks dropped for good (nothing kept per slot beyond its gid)."""

    def label(self, t: float, act: np.ndarray, live: np.ndarray, slots: Any, linked: np.ndarray,
              link_hits: np.ndarray, pending: np.ndarray) -> Labelled:
        """Label the active camera tracks ``act`` (slots; ``live`` the ones with a current point) from the
        linked pairs (codes ``lo << 32 | hi``, with their consecutive pairings) and the pairs still being
        counted (``pending``), and return the instant's live global tracks."""
        if len(self.gid) < len(slots):
            self.gid = np.concatenate([self.gid, np.full(len(slots) - len(self.gid) + 64, _NONE)])
        nodes = act[~self._held(act, slots, linked, pending)]
        node_of = np.full(len(slots), -1, np.int64)
        node_of[nodes] = np.arange(len(nodes))
        edges = (node_of[linked >> 32], node_of[linked & _MASK])
        ncomp, label = _components(len(nodes), *edges)
        cams = slots.cam[nodes]
        _, first, counts = np.unique(label * (len(self.views.ids) + 1) + cams, return_index=True,
                                     return_counts=True)
        dropped = np.zeros(0, np.int64)
        if (counts > 1).any():
            bad = np.unique(label[first[counts > 1]])
            dropped = _resolve(edges, linked, link_hits, cams, label, bad)
            keep = ~np.isin(linked, dropped)
            ncomp, label = _components(len(nodes), edges[0][keep], edges[1][keep])
        is_live = np.zeros(len(slots), bool)
        is_live[live] = True
        fused = self._fuse(t, nodes, label, ncomp, slots, is_live[nodes])
        comp_gid, retired = self._keep_ids(nodes, label, ncomp, is_live[nodes])
        self._continue(t, nodes, label, comp_gid, fused, slots, is_live[nodes], retired)
        fresh = np.flatnonzero((comp_gid == _NONE) & (fused[2] > 0))
        comp_gid[fresh] = self.next_id + np.arange(len(fresh))
        self.next_id += len(fresh)
        prev, vals = self.gid[nodes], comp_gid[label]
        # a group that is not seen now and kept no id: its tracks give up the ids they had
        self.gid[nodes] = np.where(vals != _NONE, vals, np.where(prev >= 0, _GAVE_UP, prev))
        return self._rows(t, nodes[is_live[nodes]], label[is_live[nodes]], comp_gid, fused, slots, dropped)

    def _held(self, act: np.ndarray, slots: Any, linked: np.ndarray, pending: np.ndarray) -> np.ndarray:
        """Which active tracks wait before getting an id: new tracks (at most ``confirm_n`` points, no id,
        no link) that are being counted against a track that has an id (they may join it)."""
        g = self.gid
        in_link = np.zeros(len(slots), bool)
        in_link[linked >> 32] = True
        in_link[linked & _MASK] = True
        lo, hi = pending >> 32, pending & _MASK
        partner = np.zeros(len(slots), bool)
        partner[lo[g[hi] >= 0]] = True
        partner[hi[g[lo] >= 0]] = True
        return (g[act] == _NONE) & (slots.seen[act] <= self.p.confirm_n) & partner[act] & ~in_link[act]

    def _fuse(self, t: float, nodes: np.ndarray, label: np.ndarray, ncomp: int, slots: Any,
              live: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inverse-covariance weighted mean of each group's live points (information form, ``fuse_floor_m``
        and the motion a stale point may have missed added to each): (xy (k, 2), covariance rows (k, 3),
        live points (k,)); groups with none get zeros."""
        n = nodes[live]
        age = np.maximum(t - slots.t[n], 0.0)
        c = slots.cov[n].copy()
        c[:, [0, 2]] += (self.p.fuse_floor_m ** 2 + (self.p.reach_mps * age) ** 2)[:, None]
        det = c[:, 0] * c[:, 2] - c[:, 1] ** 2
        info = np.column_stack([c[:, 2], -c[:, 1], c[:, 0]]) / det[:, None]      # inverse, as rows
        x, y = slots.xy[n, 0], slots.xy[n, 1]
        lab = label[live]
        weights = (info[:, 0], info[:, 1], info[:, 2], info[:, 0] * x + info[:, 1] * y,
                   info[:, 1] * x + info[:, 2] * y)
        a, b, d, u, v = (np.bincount(lab, weights=w, minlength=ncomp) for w in weights)
        cnt = np.bincount(lab, minlength=ncomp)
        ok = cnt > 0
        xy, cov = np.zeros((ncomp, 2)), np.zeros((ncomp, 3))
        det = a[ok] * d[ok] - b[ok] ** 2
        cov[ok] = np.column_stack([d[ok], -b[ok], a[ok]]) / det[:, None]
        xy[ok, 0] = cov[ok, 0] * u[ok] + cov[ok, 1] * v[ok]
        xy[ok, 1] = cov[ok, 1] * u[ok] + cov[ok, 2] * v[ok]
        return xy, cov, cnt

    def _keep_ids(self, nodes: np.ndarray, label: np.ndarray, ncomp: int, live: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Each group's kept id (-1: none) and the ids retired (merged into another group's). An id goes to
        the group holding most of its live tracks, then most of its tracks, then the oldest group."""
        comp_gid = np.full(ncomp, _NONE, np.int64)
        prev = self.gid[nodes]
        has = prev >= 0
        if not has.any():
            return comp_gid, np.zeros(0, np.int64)
        code = prev[has] * ncomp + label[has]
        u, inv, cnt = np.unique(code, return_inverse=True, return_counts=True)
        n_live = np.bincount(inv, weights=live[has].astype(float), minlength=len(u))
        g, c = u // ncomp, u % ncomp
        o = np.lexsort((c, -cnt, -n_live, g))
        g, c = g[o], c[o]
        first = np.r_[True, g[1:] != g[:-1]]
        g, c = g[first], c[first]
        o = np.lexsort((g, c))                         # per group: the oldest id it won
        g, c = g[o], c[o]
        first = np.r_[True, c[1:] != c[:-1]]
        comp_gid[c[first]] = g[first]
        return comp_gid, np.setdiff1d(prev[has], comp_gid)

    def _continue(self, t: float, nodes: np.ndarray, label: np.ndarray, comp_gid: np.ndarray,
                  fused: tuple[np.ndarray, np.ndarray, np.ndarray], slots: Any, live: np.ndarray,
                  retired: np.ndarray) -> None:
        """Handover: groups of tracks that never had an id, live, continue ended global tracks nearby when
        the match is unambiguous (a global track ends when it was shown at the last instant and is not seen
        now, nor merged)."""
        p = self.p
        taken = set(comp_gid[(comp_gid >= 0) & (fused[2] > 0)].tolist())
        gone = set(self._shown) - taken - set(retired.tolist())
        self._ended += [self._shown[g] for g in sorted(gone)]
        self._ended = [e for e in self._ended if t - e.t <= p.handover_s and e.gid not in taken]
        ever = np.bincount(label, weights=(self.gid[nodes] != _NONE).astype(float), minlength=len(comp_gid))
        cand = np.flatnonzero((comp_gid < 0) & (ever == 0) & (fused[2] > 0))
        if not len(cand) or not self._ended:
            return
        ended = self._ended
        ov = self.views.matrix.copy()
        if p.handover_same_camera:
            ov |= np.eye(len(ov), dtype=bool)
        ecam = np.zeros((len(ended), len(self.views.ids)), bool)
        for k, e in enumerate(ended):
            ecam[k, list(e.cams)] = True
        pos = np.full(len(comp_gid), -1)
        pos[cand] = np.arange(len(cand))
        mem = np.flatnonzero((pos[label] >= 0) & live)
        elig = np.zeros((len(cand), len(ended)), np.int64)
        cam_m = slots.cam[nodes[mem]]
        reach_cams = ov[cam_m].astype(np.int64) @ ecam.T.astype(np.int64)
        if not p.handover_same_camera:      # another camera's track: not one of the ended track's cameras
            reach_cams[ecam[:, cam_m].T] = 0
        np.add.at(elig, pos[label[mem]], reach_cams)
        ex = np.array([[e.x, e.y] for e in ended])
        et = np.array([e.t for e in ended])
        dist = np.hypot(*(fused[0][cand][:, None, :] - ex[None, :, :]).transpose(2, 0, 1))
        reach = p.handover_m + p.reach_mps * (t - et)[None, :]
        ok = (elig > 0) & (dist <= reach)
        ok &= (ok.sum(axis=1, keepdims=True) == 1) & (ok.sum(axis=0, keepdims=True) == 1)   # unambiguous only
        rows, cols = np.nonzero(ok)
        for q, e in zip(cand[rows].tolist(), cols.tolist(), strict=True):
            g = ended[e].gid
            comp_gid[q] = g
            held_by = np.unique(label[(self.gid[nodes] == g) & (label != q)])
            comp_gid[held_by] = _GAVE_UP               # the ended track's unseen tracks give the id up
        gone = {ended[e].gid for e in cols.tolist()}
        self._ended = [e for e in ended if e.gid not in gone]

    def _rows(self, t: float, live_nodes: np.ndarray, live_label: np.ndarray, comp_gid: np.ndarray,
              fused: tuple[np.ndarray, np.ndarray, np.ndarray], slots: Any, dropped: np.ndarray) -> Labelled:
        """The instant's live global tracks in id order (kept as the last shown, for handover)."""
        comps = np.unique(live_label)
        comps = comps[np.argsort(comp_gid[comps], kind="stable")]
        order = np.lexsort((live_nodes, live_label))
        lab, nod = live_label[order], live_nodes[order]
        starts = np.searchsorted(lab, comps)
        ends = np.searchsorted(lab, comps, side="right")
        bounds = list(zip(starts.tolist(), ends.tolist(), strict=True))
        members = [nod[a:b].tolist() for a, b in bounds]
        gids = comp_gid[comps]
        xy, cov = fused[0][comps], fused[1][comps]
        cams = slots.cam[nod].tolist()
        last = np.maximum.reduceat(slots.t[nod], starts).tolist() if len(nod) else []
        rows = zip(gids.tolist(), last, xy.tolist(), bounds, strict=True)
        self._shown = {g: _Ended(g, tl, x, y, tuple(sorted(set(cams[a:b]))))
                       for g, tl, (x, y), (a, b) in rows}
        return Labelled(gids, xy, cov, members, dropped)
