"""The report's charts as PNG bytes (matplotlib's object API on Agg: no window, no global pyplot state).

``timeline_png``: the true events (attack phases, acts, cyber flows, the response) on rows above the alerts
(one row per alert kind) and the incidents (one row per incident kind, a bar from creation to last change,
a mark at each state change), time on x. ``density_png``: truth against sensed people for the busiest zones.
``resilience_png``: the functionality Q(t) of each asset the run touched.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np

from scenarios.report_data import RESPONSE_KINDS, Series, attack_of

__all__ = ["density_png", "figure", "png", "resilience_png", "timeline_png"]

#: Attack truth kinds drawn otherwise than as an act mark.
_NOT_ACTS = ("attack_phase", "attack_flow", "camera_status")
_STATE_COLOUR = {"new": "#d62728", "acknowledged": "#ff7f0e", "in_progress": "#bcbd22", "resolved": "#2ca02c",
                 "false_alarm": "#7f7f7f", "closed": "#1f77b4"}


def figure(w: float, h: float, *, left: float = 0.7, right: float = 0.2, top: float = 0.35,
           bottom: float = 0.55, wspace: float = 0.2, hspace: float = 0.2):
    """A ``w`` x ``h`` inch figure with fixed margins in inches (a fixed layout costs a fraction of
    matplotlib's constrained layout, which draws everything twice)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h,
                        wspace=wspace, hspace=hspace)
    return fig


def png(fig) -> bytes:
    """A figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _attack_rows(truth: Sequence[Mapping], attacks: Sequence[Mapping]) -> dict[str, list[Mapping]]:
    """Attack id -> its truth records, the scenario's attacks first, in their order."""
    rows: dict[str, list[Mapping]] = {str(a.get("id")): [] for a in attacks if a.get("id") is not None}
    for r in truth:
        aid = attack_of(dict(r))
        if aid is not None and isinstance(r.get("t"), int | float):
            rows.setdefault(aid, []).append(r)
    return rows


def _draw_attack(ax, y: float, recs: Sequence[Mapping]) -> None:
    flows = np.array([r["t"] for r in recs if r.get("kind") == "attack_flow"], dtype=float)
    if flows.size:
        ax.plot([flows.min(), max(flows.max(), flows.min() + 0.5)], [y, y], color="#9467bd", lw=6,
                alpha=0.45, solid_capstyle="butt")
    phases: dict[float, list[str]] = {}
    for r in recs:
        k, t = r.get("kind"), float(r["t"])
        if k == "attack_phase":
            ax.plot([t, t], [y - 0.35, y + 0.35], color="#444", lw=1)
            _label(phases, t, str(r.get("phase", "")))
        elif k == "camera_status":
            ax.plot(t, y, marker="s", color="#8c564b", ms=5)
    _labels(ax, phases, y + 0.38)
    acts = np.array([r["t"] for r in recs if r.get("kind") not in _NOT_ACTS], dtype=float)
    if acts.size:
        ax.plot(acts, np.full(acts.size, y), ls="none", marker="x", color="#d62728", ms=6, mew=1.5)


def _label(labels: dict[float, list[str]], t: float, text: str) -> None:
    """Collect ``text`` at ``t`` (one label per second, distinct texts joined)."""
    got = labels.setdefault(round(t), [])
    if text and text not in got:
        got.append(text)


def _labels(ax, labels: dict[float, list[str]], y: float) -> None:
    for t, texts in labels.items():
        ax.text(t, y, " / ".join(texts), fontsize=7, va="bottom", ha="left", clip_on=True)


def _incident_spans(incidents: Sequence[Mapping]) -> dict[str, dict[str, list]]:
    """Incident kind -> incident id -> its (t, state) records in time order."""
    out: dict[str, dict[str, list]] = {}
    for r in incidents:
        t = r.get("t", r.get("t_updated"))
        if r.get("id") is None or not isinstance(t, int | float):
            continue
        out.setdefault(str(r.get("kind")), {}).setdefault(str(r["id"]), []).append((float(t), r.get("state")))
    return out


def timeline_png(truth: Sequence[Mapping], attacks: Sequence[Mapping], alerts: Sequence[Mapping],
                 incidents: Sequence[Mapping], *, duration_s: float) -> bytes:
    """The timeline chart (see the module docstring)."""
    arows = _attack_rows(truth, attacks)
    span = max(float(duration_s), 1.0)
    kinds = {str(a.get("id")): str(a.get("kind")) for a in attacks}
    response = [r for r in truth if r.get("kind") in RESPONSE_KINDS and isinstance(r.get("t"), int | float)]
    timed = [a for a in alerts if isinstance(a.get("t"), int | float)]
    alert_kinds = sorted({str(a.get("kind")) for a in timed})
    spans = _incident_spans(incidents)
    for aid, rs in arows.items():
        kinds.setdefault(aid, next((str(r["attack"]) for r in rs if r.get("attack")), "?"))
    labels = ([f"attack {aid} ({kinds[aid]})" for aid in arows] + (["response (truth)"] if response else [])
              + [f"alert: {k}" for k in alert_kinds] + [f"incident: {k}" for k in sorted(spans)])
    n = max(len(labels), 1)
    fig = figure(12.5, 1.5 + 0.42 * n, left=0.25 + 0.065 * max((len(x) for x in labels), default=10), top=0.6)
    ax = fig.add_subplot()
    y = n - 1
    for recs in arows.values():
        _draw_attack(ax, y, recs)
        y -= 1
    if response:
        said: dict[float, list[str]] = {}
        for r in response:
            mk = {"dispatched": ">", "on_scene": "s", "evacuate_order": "^", "closure": "D"}[r["kind"]]
            ax.plot(float(r["t"]), y, marker=mk, color="#1f77b4", ms=6)
            _label(said, float(r["t"]), f"{r.get('unit')} {r['kind']}" if r.get("unit") else str(r["kind"]))
        _labels(ax, said, y + 0.2)
        y -= 1
    for k in alert_kinds:
        ts = np.array([a["t"] for a in timed if str(a.get("kind")) == k], dtype=float)
        ax.plot(ts, np.full(ts.size, y), ls="none", marker="o", color="#ff7f0e", ms=5, alpha=0.8)
        y -= 1
    for k in sorted(spans):
        for iid, recs in spans[k].items():
            recs.sort(key=lambda p: p[0])
            t0, t1 = recs[0][0], max(recs[-1][0], recs[0][0] + 0.5)
            ax.plot([t0, t1], [y, y], color="#2ca02c", lw=5, alpha=0.35, solid_capstyle="butt")
            prev = None
            for t, state in recs:
                if state != prev:
                    ax.plot(t, y, marker="o", color=_STATE_COLOUR.get(str(state), "#000"), ms=5)
                    prev = state
            late = t0 > 0.85 * span
            ax.text(t0, y + 0.2, iid, fontsize=7, clip_on=True, ha="right" if late else "left")
        y -= 1
    ax.set_yticks(range(n - 1, n - 1 - len(labels), -1), labels, fontsize=8)
    ax.set_ylim(-0.7, n - 0.2)
    ax.set_xlim(0, span)
    ax.set_xlabel("simulated time (s)")
    ax.grid(axis="x", alpha=0.3)
    _timeline_legend(ax)
    return png(fig)


def _timeline_legend(ax) -> None:
    from matplotlib.lines import Line2D

    h = [Line2D([], [], color="#444", lw=1, label="attack phase"),
         Line2D([], [], ls="none", marker="x", color="#d62728", label="act (shot, placement, impact...)"),
         Line2D([], [], color="#9467bd", lw=6, alpha=0.45, label="attack traffic"),
         Line2D([], [], ls="none", marker="o", color="#ff7f0e", label="alert"),
         Line2D([], [], color="#2ca02c", lw=5, alpha=0.35, label="incident open")]
    h += [Line2D([], [], ls="none", marker="o", color=c, label=f"incident {s}")
          for s, c in _STATE_COLOUR.items()]
    ax.legend(handles=h, fontsize=7, ncol=6, loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)


def density_png(truth: Series, sensed: Series | None, *, names: Mapping[str, str], zones: int = 4) -> bytes:
    """People per zone over time, truth (line) against sensed (dots), for the ``zones`` busiest zones."""
    keys = np.unique(truth.key)
    peak = np.array([truth.value[truth.key == k].max() for k in keys])
    top = [str(k) for k in keys[np.argsort(-peak, kind="stable")][:zones]]
    cols = 2 if len(top) > 1 else 1
    rows = (len(top) + cols - 1) // cols
    fig = figure(12.5, 2.6 * rows + 0.3, hspace=0.5, wspace=0.15)
    for i, z in enumerate(top):
        ax = fig.add_subplot(rows, cols, i + 1)
        m = truth.key == z
        order = np.argsort(truth.t[m], kind="stable")
        ax.plot(truth.t[m][order], truth.value[m][order], color="#1f77b4", lw=1.5, label="truth")
        if sensed is not None:
            s = sensed.key == z
            if s.any():
                ax.plot(sensed.t[s], sensed.value[s], ls="none", marker=".", color="#ff7f0e", ms=4,
                        label="sensed")
        name = names.get(z)
        ax.set_title(f"{name} ({z})" if name and name != z else z, fontsize=9)
        ax.set_xlabel("simulated time (s)", fontsize=8)
        ax.set_ylabel("people", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    return png(fig)


def resilience_png(series: Series, *, most: int = 8) -> tuple[bytes, int]:
    """Q(t) per asset for the ``most`` assets whose Q fell lowest; returns the PNG and the assets left out."""
    keys = np.unique(series.key)
    low = np.array([series.value[series.key == k].min() for k in keys])
    top = [str(k) for k in keys[np.argsort(low, kind="stable")][:most]]
    fig = figure(12.5, 3.4)
    ax = fig.add_subplot()
    for k in top:
        m = series.key == k
        order = np.argsort(series.t[m], kind="stable")
        name = series.names.get(k)
        ax.step(series.t[m][order], series.value[m][order], where="post", lw=1.5,
                label=f"{name} ({k})" if name and name != k else k)
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("functionality Q")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return png(fig), max(len(keys) - len(top), 0)
