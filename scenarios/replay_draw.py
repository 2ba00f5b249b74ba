"""The replay's figure: every artist created once, then updated frame by frame (``Scene.update``).

Layers, bottom up: the twin's buildings and streets; each camera's ground view (yellow, red while its stream
is down) and position; people, look-alikes and vehicles as small dots; attackers, responders and left objects
as larger dots edged in black; alert markers with their kind, fading; incident circles with id, kind and
priority; the clock, the legend and the list of alerts and incidents without a place.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from scenarios.replay_data import Backdrop, RunRecord

__all__ = ["ALERT_COLOUR", "PRIORITY_COLOURS", "ROLE_STYLE", "Scene"]

#: Colour, dot size (points^2) and whether it is drawn as a key figure (larger, black edge), by role.
ROLE_STYLE = {"crowd": ("#4c6a9c", 5.0, False), "lookalike": ("#2ca02c", 9.0, False),
              "vehicle": ("#505050", 22.0, False), "attacker": ("#e0001b", 70.0, True),
              "responder": ("#0047ff", 60.0, True), "object": ("#d100d1", 50.0, True)}
_OTHER = ("#999999", 5.0, False)
#: Incident circle colour by priority (1 most urgent).
PRIORITY_COLOURS = {1: "#d00000", 2: "#ff7f00", 3: "#d4b000", 4: "#3a7bd5"}
#: Colour of alert markers and their labels.
ALERT_COLOUR = "#ff4500"
_DONE = ("resolved", "false_alarm", "closed")
_MIN_RADIUS_M = 8.0
_LOG_LINES = 8
_LABEL_MERGE_M = 25.0
#: Alert kinds about a camera itself: drawn at the camera when they name it (by id or address) but no place.
_CAMERA_KINDS = ("stream_loss", "video_frozen", "video_replay", "camera_tamper")


def _extent(rec: RunRecord) -> tuple[float, float, float, float]:
    pts = [rec.positions.xy] if len(rec.positions.xy) else []
    for cam in rec.cameras:
        pts.extend(np.asarray([xy], float) for xy in cam.xy if xy is not None)
    for inc in rec.incidents:
        if inc.get("xy") is not None:
            pts.append(np.asarray([inc["xy"]], float))
    if not pts:
        return 0.0, 100.0, 0.0, 100.0
    allp = np.vstack(pts)
    lo, hi = allp.min(axis=0) - 20.0, allp.max(axis=0) + 20.0
    half = float((hi - lo).max()) / 2.0          # a square, as the figure is
    cx, cy = (lo + hi) / 2.0
    return float(cx - half), float(cx + half), float(cy - half), float(cy + half)


class Scene:
    """The figure of one replay (see the module docstring); ``frames`` is how many the clock counts."""

    def __init__(self, rec: RunRecord, *, backdrop: Backdrop | None, fade_s: float, frames: int) -> None:
        self.rec, self.fade_s, self.frames = rec, float(fade_s), int(frames)
        self.fig = Figure(figsize=(8, 8))
        FigureCanvasAgg(self.fig)
        ax = self.ax = self.fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_facecolor("white")
        x0, x1, y0, y1 = _extent(rec)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        if backdrop is not None:
            ax.add_collection(PolyCollection(backdrop.buildings, facecolors="#e6e1d7", edgecolors="#cdc6b8",
                                             linewidths=0.4, zorder=0))
            ax.add_collection(LineCollection(backdrop.streets, colors="#c4c4c4", linewidths=0.7, zorder=0.5))
        self.views = ax.add_collection(PolyCollection([], zorder=1, linewidths=0.6))
        self.cams = ax.scatter([], [], s=18, marker="^", c="#222222", zorder=1.5)
        self._people_style(rec.positions.roles)
        self.crowd = ax.scatter(np.zeros(0), np.zeros(0), s=5, zorder=3, linewidths=0)
        self.keys = ax.scatter(np.zeros(0), np.zeros(0), s=50, zorder=3.5, edgecolors="black", linewidths=0.8)
        self.alert_dots = ax.scatter(np.zeros(0), np.zeros(0), s=90, marker="X", zorder=4, linewidths=0)
        self._alert_labels: list = []
        self._incidents: dict[str, tuple[Circle, object]] = {}
        self._inc_history = self._incident_history(rec.incidents)
        self._alert_t = np.array([float(a.get("t", 0.0)) for a in rec.alerts], float)
        box = {"boxstyle": "round,pad=0.3", "facecolor": "white", "alpha": 0.85, "edgecolor": "#888888"}
        self.clock = ax.text(0.015, 0.985, "", transform=ax.transAxes, va="top", ha="left", fontsize=11,
                             family="monospace", zorder=6, bbox=box)
        self.log = ax.text(0.985, 0.985, "", transform=ax.transAxes, va="top", ha="right", fontsize=7.5,
                           family="monospace", zorder=6, bbox=box)
        self.log.set_visible(False)
        self._start = self._start_time(rec.start_time)
        self._legend()

    # ---- setup helpers
    def _people_style(self, roles: tuple[str, ...]) -> None:
        styles = [ROLE_STYLE.get(r, _OTHER) for r in roles] or [_OTHER]
        self._rgba = to_rgba_array([s[0] for s in styles])
        self._size = np.array([s[1] for s in styles], float)
        self._key = np.array([s[2] for s in styles], bool)

    def _legend(self) -> None:
        handles = [Line2D([], [], ls="", marker="o", ms=max(3.0, np.sqrt(s)), color=c,
                          mec="black" if key else c, label=role)
                   for role, (c, s, key) in ROLE_STYLE.items()]
        handles += [Line2D([], [], ls="", marker="X", ms=8, color=ALERT_COLOUR, label="alert"),
                    Line2D([], [], ls="", marker="o", ms=10, mfc="none", mec=PRIORITY_COLOURS[1],
                           label="incident (P1..P4)"),
                    Line2D([], [], ls="", marker="s", ms=8, color="#ffd84d", alpha=0.5, label="camera view")]
        self.ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.85, ncol=2)

    @staticmethod
    def _start_time(text) -> datetime | None:
        try:
            return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
        except ValueError:
            return None

    @staticmethod
    def _incident_history(records: list[dict]) -> dict[str, tuple[np.ndarray, list[dict]]]:
        by: dict[str, list[dict]] = {}
        for r in records:
            by.setdefault(str(r.get("id")), []).append(r)
        out = {}
        for iid, rs in by.items():
            rs = sorted(rs, key=lambda r: float(r.get("t_updated", r.get("t_first", 0.0))))
            out[iid] = (np.array([float(r.get("t_updated", r.get("t_first", 0.0))) for r in rs]), rs)
        return out

    # ---- per frame
    def update(self, t: float, k: int) -> None:
        """Set every artist to simulated time ``t`` (frame ``k``)."""
        cam_xy = self._update_cameras(t)
        self._update_people(t)
        lines = self._update_alerts(t, cam_xy)
        lines += self._update_incidents(t)
        self.log.set_text("\n".join(lines[-_LOG_LINES:]))
        self.log.set_visible(bool(lines))
        clock = f"t = {t:7.1f} s"
        if self._start is not None:
            clock += f"   {(self._start + timedelta(seconds=t)).strftime('%H:%M:%S')}"
        self.clock.set_text(f"{clock}\nframe {k + 1}/{self.frames}")

    def _update_cameras(self, t: float) -> dict[str, tuple[float, float]]:
        verts, colours, pos = [], [], {}
        for cam in self.rec.cameras:
            view, xy, up = cam.at(t)
            if xy is not None:
                pos[cam.id] = xy
            if view is not None:
                verts.append(view)
                colours.append((1.0, 0.85, 0.3, 0.28) if up else (0.9, 0.1, 0.1, 0.35))
        self.views.set_verts(verts)
        self.views.set_facecolors(colours)
        self.views.set_edgecolors([(c[0], c[1] * 0.7, c[2], 0.8) for c in colours])
        xy = np.array(list(pos.values()), float).reshape(-1, 2)
        self.cams.set_offsets(xy)
        return pos

    def _update_people(self, t: float) -> None:
        pos = self.rec.positions
        if not len(pos.t):
            return
        rows = pos.at(t)
        xy, role = pos.xy[rows], pos.role[rows].astype(np.int64)
        key = self._key[role]
        for art, m in ((self.crowd, ~key), (self.keys, key)):
            art.set_offsets(xy[m])
            art.set_facecolors(self._rgba[role[m]])
            art.set_sizes(self._size[role[m]])

    def _alert_place(self, a: dict, cam_xy: dict) -> tuple[float, float] | None:
        if a.get("xy") is not None:
            return float(a["xy"][0]), float(a["xy"][1])
        if a.get("kind") not in _CAMERA_KINDS:
            return None
        ev = a.get("evidence") or {}
        for key in [ev.get("camera_id"), ev.get("dst"), *(a.get("source") or [])]:
            if not isinstance(key, str):
                continue
            if key in cam_xy:
                return cam_xy[key]
            if key in self.rec.camera_hosts:
                return self.rec.camera_hosts[key]
        return None

    def _update_alerts(self, t: float, cam_xy: dict) -> list[str]:
        live = np.flatnonzero((self._alert_t <= t + 1e-9) & (self._alert_t > t - self.fade_s))
        pts, rgba, labels, lines = [], [], [], []
        for i in live.tolist():
            a = self.rec.alerts[i]
            place = self._alert_place(a, cam_xy)
            alpha = 1.0 - 0.8 * (t - self._alert_t[i]) / self.fade_s
            if place is None:
                src = ",".join(str(s) for s in (a.get("source") or [])[:2])
                lines.append(f"{self._alert_t[i]:6.0f}s {a.get('kind')} {src}")
                continue
            pts.append(place)
            rgba.append((1.0, 0.27, 0.0, alpha))
            kind = str(a.get("kind"))
            # one label for a cluster of alerts of a kind (the newest, drawn last, wins the place)
            labels = [lb for lb in labels
                      if lb[1] != kind or math.dist(lb[0], place) > _LABEL_MERGE_M]
            labels.append((place, kind, alpha))
        self.alert_dots.set_offsets(np.array(pts, float).reshape(-1, 2))
        self.alert_dots.set_facecolors(rgba)
        while len(self._alert_labels) < len(labels):
            self._alert_labels.append(self.ax.text(0, 0, "", fontsize=7, color=ALERT_COLOUR, zorder=4.5,
                                                   ha="left", va="top", fontweight="bold"))
        for j, txt in enumerate(self._alert_labels):
            if j < len(labels):
                (x, y), kind, alpha = labels[j]
                txt.set_position((x + 5.0, y - 5.0))
                txt.set_text(kind)
                txt.set_alpha(alpha)
            txt.set_visible(j < len(labels))
        return lines

    def _update_incidents(self, t: float) -> list[str]:
        lines = []
        for iid, (ts, rs) in self._inc_history.items():
            j = int(np.searchsorted(ts, t + 1e-9, side="right")) - 1
            art = self._incidents.get(iid)
            if j < 0:
                if art is not None:
                    art[0].set_visible(False)
                    art[1].set_visible(False)
                continue
            inc = rs[j]
            pr, state = int(inc.get("priority") or 4), str(inc.get("state"))
            label = f"{iid} {inc.get('kind')} P{pr}" + (f" ({state})" if state != "new" else "")
            if inc.get("xy") is None:
                lines.append(label)
                continue
            self._draw_incident(iid, inc, pr, state, label)
        return lines

    def _draw_incident(self, iid: str, inc: dict, pr: int, state: str, label: str) -> None:
        xy = (float(inc["xy"][0]), float(inc["xy"][1]))
        r = max(float(inc.get("sigma_m") or 0.0), _MIN_RADIUS_M)
        art = self._incidents.get(iid)
        if art is None:
            circle = Circle(xy, r, fill=False, lw=2.0, zorder=5)
            self.ax.add_patch(circle)
            text = self.ax.text(0, 0, "", fontsize=8, zorder=5.5, ha="center", va="bottom", fontweight="bold",
                                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7,
                                      "edgecolor": "none"})
            art = self._incidents[iid] = (circle, text)
        circle, text = art
        colour = PRIORITY_COLOURS.get(pr, PRIORITY_COLOURS[4])
        done = state in _DONE
        circle.set_center(xy)
        circle.set_radius(r)
        circle.set_edgecolor(colour)
        circle.set_linestyle("--" if done else "-")
        circle.set_alpha(0.5 if done else 1.0)
        text.set_position((xy[0], xy[1] + r + 2.0))
        text.set_text(label)
        text.set_color(colour)
        for a in art:
            a.set_visible(True)

    def close(self) -> None:
        """Drop the figure's artists (nothing global to release: no pyplot)."""
        self.fig.clear()
