"""Functionality Q(t) of each asset, its cascades along the dependency graph, and the resilience loss.

**Functionality** Q(t) in [0, 1] (1 = the asset serves fully, 0 = not at all) is the quantity of the
resilience triangle of Bruneau et al. (2003, "A framework to quantitatively assess and enhance the seismic
resilience of communities", Earthquake Spectra 19(4)): the **resilience loss** of an asset is
``integral of (1 - Q(t)) dt`` in seconds, reported also as equivalent outage hours (loss / 3600: the hours of
total outage that lose as much).

**Direct impacts** (``Resilience.impact``): an incident takes an asset down to ``q`` at ``t``; it stays there
for ``hold_s`` (default 0), then is restored over ``restore_s``, either linearly (Bruneau's triangle: the
default) or stepwise (all at once at the end). Several impacts on one asset combine as the worst of them
(Q is the minimum over its impacts and cascades).

**Cascades** follow the dependency graph (``networkx.DiGraph``, edge ``provider -> dependent`` with ``kind``
in {power, water, telecom}, as the twin builds it). A provider is **down** while its Q is below ``serve_q``
(default 0.5, assumed: below half its function a substation, water works or exchange no longer delivers).
``delay_s`` after it goes down (backup batteries, stored water), each dependent falls to ``keep_q`` (what it
does without that supply) and holds there until the provider is up again, then is restored over its own
``RESTORE_S`` of its type. Both numbers come from ``CASCADE`` by edge kind and dependent type. A provider back
before the delay has passed costs the dependent nothing. A dependent that falls below ``serve_q`` is down in
turn and cascades further (each dependency path once: a cycle ends where it would revisit an asset).

Everything is decided at impact time (the restore times are given), so Q(t) is a piecewise linear function
known in advance: ``q(t)`` evaluates all assets at once (numpy over the impacts), ``loss`` integrates it
exactly (breakpoints and the crossings of the impacts' lines). No output is NaN or infinite.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from analytics.files import atomic_write_lines

__all__ = ["CASCADE", "RESTORE_S", "Resilience", "ResilienceError", "ResilienceParams", "finite_number"]

#: Edge kind -> dependent type ("*": any other) -> (delay_s, keep_q): how long a dependent goes on as before
#: when the provider is down, and the functionality it keeps after that. Basis:
#:
#: - power, any: no backup: lighting, lifts, gates, ticketing and traction stop at once; escape lighting
#:   (EN 1838, at least 1 h) keeps only evacuation possible: 0.1, assumed.
#: - power, hospital: the essential electrical system on generators picks up within 10 s (NFPA 99 with
#:   NFPA 110 Type 10; IEC 60364-7-710 likewise) and carries life safety and critical care, while elective
#:   and non-essential services stop: keeps 0.6 (share assumed). The seconds before the generator are
#:   neglected.
#: - power, police and fire stations: standby generators are the rule at emergency services: 0.8, assumed.
#: - power, telecom: exchanges and base stations run on batteries for hours (3-8 h is usual): down after 4 h,
#:   assumed.
#: - power, water works: the pumps stop, gravity storage (towers, reservoirs) keeps some pressure: 0.2,
#:   assumed.
#: - power, square: an open-air place loses its lighting, displays and heating of the paving only; it serves
#:   on in daylight: 0.8, assumed.
#: - water, any: the mains and towers hold water for hours: 2 h, then 0.5 (sanitation, cooling, catering
#:   lost), assumed. Hospital: reserve tanks for about a day, then 0.4, assumed. Fire station: engines carry
#:   their own water: 0.7 after 2 h, assumed.
#: - telecom, any: phones and data lost; the authorities' radio network (TETRA, e.g. Finland's VIRVE) has
#:   its own sites and keeps dispatch going: 0.5, assumed. Station: displays and ticketing lost, the trains'
#:   own signalling network keeps them running: 0.7, assumed.
CASCADE: dict[str, dict[str, tuple[float, float]]] = {
    "power": {"*": (0.0, 0.1), "hospital": (0.0, 0.6), "police": (0.0, 0.8), "fire_station": (0.0, 0.8),
              "telecom": (4 * 3600.0, 0.0), "water_works": (0.0, 0.2), "square": (0.0, 0.8)},
    "water": {"*": (2 * 3600.0, 0.5), "hospital": (24 * 3600.0, 0.4), "fire_station": (2 * 3600.0, 0.7)},
    "telecom": {"*": (0.0, 0.5), "station": (0.0, 0.7)},
}

#: Asset type -> seconds a dependent needs, after its provider is back, to serve fully again (linear or
#: stepwise as ``ResilienceParams.recovery``). All assumed: a square or stop is lit again at once; a station
#: re-dispatches its trains and trams (15 min); a hospital transfers back to the mains and restarts its
#: non-essential services (30 min); an exchange's equipment reboots and re-registers (30 min); water works
#: re-pressurise the mains (1 h); a substation re-energises its feeders after inspection (1 h).
RESTORE_S: dict[str, float] = {
    "station": 900.0, "square": 60.0, "stadium": 900.0, "school": 600.0, "hospital": 1800.0, "police": 300.0,
    "fire_station": 300.0, "place_of_worship": 300.0, "shopping": 600.0, "substation": 3600.0,
    "telecom": 1800.0, "water_works": 3600.0, "stop": 60.0,
}

_RECOVERY = ("linear", "step")


class ResilienceError(ValueError):
    """An unusable resilience input: an unknown asset or edge kind, a q out of [0, 1], a time not finite."""


@dataclass(frozen=True, slots=True)
class ResilienceParams:
    """Cascade and recovery model.

    Parameters
    ----------
    recovery : "linear" (restored at a constant rate over the restore time: Bruneau's triangle) or "step"
        (restored all at once at its end); the default of impacts and cascades.
    serve_q : a provider below this functionality no longer supplies its dependents (default 0.5, assumed).
    cascade : edge kind -> dependent type -> (delay_s, keep_q); default ``CASCADE``.
    restore_s : asset type -> restore time (s) of a dependent after its provider is back; default
        ``RESTORE_S``; a type not in it takes ``default_restore_s``.
    default_restore_s : 600 s (assumed).
    every_asset : ``sample`` gives rows for every asset, not only those ever affected (default False:
        ``resilience.csv`` would otherwise hold mostly rows of 1.0).
    """

    recovery: str = "linear"
    serve_q: float = 0.5
    cascade: Mapping[str, Mapping[str, tuple[float, float]]] = field(default_factory=lambda: dict(CASCADE))
    restore_s: Mapping[str, float] = field(default_factory=lambda: dict(RESTORE_S))
    default_restore_s: float = 600.0
    every_asset: bool = False


def finite_number(name: str, value: Any, lo: float | None = None, hi: float | None = None, *,
                  error: type[ValueError] = ValueError) -> float:
    """``value`` as a float, finite and within [lo, hi], else ``error`` naming ``name`` (shared by the risk
    and resilience inputs, each with its own error class)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise error(f"{name}: not a number: {value!r}") from None
    if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = "" if lo is None else f" in [{lo:g}, {'inf' if hi is None else f'{hi:g}'}]"
        raise error(f"{name}: must be finite{rng}, got {value!r}")
    return v


def _finite(name: str, value: Any, lo: float | None = None, hi: float | None = None) -> float:
    return finite_number(name, value, lo, hi, error=ResilienceError)


def _fmt(x: float, digits: int) -> str:
    """A number for CSV: fixed ``digits`` decimals without trailing zeros (``10``, ``10.5``)."""
    s = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


class Resilience:
    """Functionality of every asset over time under impacts and their cascades (module docstring).

    Parameters
    ----------
    assets : the assets table (dicts with ``id``, ``type`` and ``name``), a sequence or a mapping by id.
    dependencies : the dependency graph on asset ids (``provider -> dependent``, attribute ``kind``).
    params : the model parameters.

    Raises
    ------
    ResilienceError
        If a graph node is not in the table, or an edge's kind has no ``cascade`` entry.

    Examples
    --------
    A substation lost at t = 0 for 10 min (restored linearly) takes its station down with it:

    >>> import networkx as nx
    >>> g = nx.DiGraph([("sub", "st", {"kind": "power"})])
    >>> res = Resilience([{"id": "sub", "type": "substation", "name": "S"},
    ...                   {"id": "st", "type": "station", "name": "Central"}], g)
    >>> res.impact(0.0, "sub", 0.0, 600.0, cause="INC-0001")
    2
    >>> res.q(300.0).round(3).tolist()
    [0.5, 0.1]
    >>> {a: round(v["outage_h"], 3) for a, v in res.loss(3600.0).items()}
    {'sub': 0.083, 'st': 0.188}
    """

    def __init__(self, assets: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
                 dependencies: nx.DiGraph | None = None, *,
                 params: ResilienceParams = ResilienceParams()) -> None:
        if params.recovery not in _RECOVERY:
            raise ResilienceError(f"recovery: must be one of {_RECOVERY}, got {params.recovery!r}")
        _finite("serve_q", params.serve_q, 0.0, 1.0)
        self.p = params
        rows = list(assets.values()) if isinstance(assets, Mapping) else list(assets)
        self.ids: list[str] = [str(a["id"]) for a in rows]
        self.index = {a: i for i, a in enumerate(self.ids)}
        self.types = [str(a.get("type", "")) for a in rows]
        self.names = [str(a.get("name", a["id"])) for a in rows]
        self.g = dependencies if dependencies is not None else nx.DiGraph()
        missing = [n for n in self.g.nodes if n not in self.index]
        if missing:
            raise ResilienceError(f"dependencies: node {missing[0]!r} is not in the assets table")
        for u, v, kind in self.g.edges(data="kind"):
            if kind not in params.cascade:
                raise ResilienceError(f"dependencies: edge {u!r} -> {v!r} has kind {kind!r} with no cascade "
                                      f"entry (known: {sorted(params.cascade)})")
        #: Every impact and cascade, in the order made: dicts with ``asset``, ``t0`` (falls to ``q``),
        #: ``t_rec`` (recovery starts), ``restore_s``, ``q``, ``mode``, ``cause`` and ``via`` (None for a
        #: direct impact, else ``[provider, dependent, kind]``).
        self.events: list[dict[str, Any]] = []
        self._arrays: dict[str, np.ndarray] | None = None

    # -- impacts ------------------------------------------------------------------------------------------

    def impact(self, t: float, asset_id: str, q: float, restore_s: float, cause: str = "", *,
               hold_s: float = 0.0, mode: str | None = None) -> int:
        """An incident takes ``asset_id`` down to functionality ``q`` at ``t``; after ``hold_s`` it is
        restored over ``restore_s`` (``mode`` "linear" or "step", default ``params.recovery``), and the loss
        cascades to its dependents. Returns how many events (this one and its cascades) were added; 0 when
        ``q`` is 1 (no loss).

        Raises
        ------
        ResilienceError
            If the asset is unknown, ``q`` is not in [0, 1], or a time is negative or not finite.
        """
        if asset_id not in self.index:
            raise ResilienceError(f"asset_id: {asset_id!r} is not in the assets table")
        t = _finite("t", t)
        q = _finite("q", q, 0.0, 1.0)
        restore_s = _finite("restore_s", restore_s, 0.0)
        hold_s = _finite("hold_s", hold_s, 0.0)
        mode = self.p.recovery if mode is None else mode
        if mode not in _RECOVERY:
            raise ResilienceError(f"mode: must be one of {_RECOVERY}, got {mode!r}")
        if q >= 1.0:
            return 0
        first = {"asset": asset_id, "t0": t, "t_rec": t + hold_s, "restore_s": restore_s, "q": q,
                 "mode": mode, "cause": str(cause), "via": None}
        queue = deque([(first, (asset_id,))])
        added = 0
        while queue:
            ev, path = queue.popleft()
            self.events.append(ev)
            added += 1
            down = self._down(ev)
            if down is None or ev["asset"] not in self.g:
                continue
            for dep in sorted(self.g.successors(ev["asset"])):
                if dep in path:
                    continue
                nxt = self._cascaded(ev, dep, down)
                if nxt is not None:
                    queue.append((nxt, (*path, dep)))
        self._arrays = None
        return added

    def _down(self, ev: Mapping[str, Any]) -> tuple[float, float] | None:
        """When an event's asset stops supplying its dependents: ``(t_down, t_up)``, or None if never."""
        q, serve = ev["q"], self.p.serve_q
        if q >= serve:
            return None
        if ev["mode"] == "step":
            t_up = ev["t_rec"] + ev["restore_s"]
        else:
            t_up = ev["t_rec"] + ev["restore_s"] * (serve - q) / (1.0 - q)
        return (ev["t0"], t_up) if t_up > ev["t0"] else None

    def _cascaded(self, ev: Mapping[str, Any], dep: str, down: tuple[float, float]) -> dict[str, Any] | None:
        """The event a provider's outage ``down`` gives dependent ``dep`` (None if it comes to nothing)."""
        prov = ev["asset"]
        kind = self.g.edges[prov, dep]["kind"]
        dtype = self.types[self.index[dep]]
        table = self.p.cascade[kind]
        delay, keep = table.get(dtype, table.get("*", (0.0, 1.0)))
        start = down[0] + float(delay)
        if start >= down[1] or keep >= 1.0:
            return None
        restore = float(self.p.restore_s.get(dtype, self.p.default_restore_s))
        return {"asset": dep, "t0": start, "t_rec": down[1], "restore_s": restore, "q": float(keep),
                "mode": self.p.recovery, "cause": ev["cause"], "via": [prov, dep, kind]}

    # -- functionality ------------------------------------------------------------------------------------

    def _ev(self) -> dict[str, np.ndarray]:
        """The events as arrays (rebuilt after an impact)."""
        if self._arrays is None:
            evs = self.events
            self._arrays = {
                "asset": np.array([self.index[e["asset"]] for e in evs], dtype=np.intp),
                "t0": np.array([e["t0"] for e in evs], dtype=float),
                "t_rec": np.array([e["t_rec"] for e in evs], dtype=float),
                "restore": np.array([e["restore_s"] for e in evs], dtype=float),
                "q": np.array([e["q"] for e in evs], dtype=float),
                "step": np.array([e["mode"] == "step" for e in evs], dtype=bool),
            }
        return self._arrays

    def _values(self, times: np.ndarray) -> np.ndarray:
        """(len(times), n_events): each event's functionality at each time (1 outside its span)."""
        e = self._ev()
        t = np.asarray(times, dtype=float)[:, None]
        since = t - e["t_rec"]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(e["restore"] > 0, since / np.where(e["restore"] > 0, e["restore"], 1.0), 1.0)
        frac = np.clip(frac, 0.0, 1.0)
        ramp = np.where(e["step"], np.where(since >= e["restore"], 1.0, e["q"]), e["q"] + (1 - e["q"]) * frac)
        v = np.where(t < e["t0"], 1.0, np.where(t < e["t_rec"], e["q"], ramp))
        return np.clip(v, 0.0, 1.0)

    def q_many(self, times: Iterable[float]) -> np.ndarray:
        """Functionality (len(times), n_assets) of every asset (columns in ``ids`` order) at each time."""
        ts = np.array([_finite("t", t) for t in times], dtype=float)
        out = np.ones((len(ts), len(self.ids)))
        if self.events and len(ts):
            np.minimum.at(out.T, self._ev()["asset"], self._values(ts).T)
        return out

    def q(self, t: float) -> np.ndarray:
        """Functionality of every asset at ``t`` (in ``ids`` order); Q is right-continuous: at the instant
        of a drop it is already the dropped value."""
        return self.q_many([t])[0]

    def affected(self) -> list[str]:
        """Ids of the assets with any impact or cascade, in table order."""
        hit = set(self._ev()["asset"].tolist()) if self.events else set()
        return [a for i, a in enumerate(self.ids) if i in hit]

    def sample(self, times: Iterable[float], *,
               every_asset: bool | None = None) -> list[tuple[float, str, float]]:
        """Rows ``(t, asset, q)`` at each time for the affected assets (or every asset with ``every_asset``,
        default ``params.every_asset``), by time then table order."""
        times = list(times)
        qs = self.q_many(times)
        every = self.p.every_asset if every_asset is None else every_asset
        cols = range(len(self.ids)) if every else [self.index[a] for a in self.affected()]
        return [(float(t), self.ids[j], float(qs[k, j])) for k, t in enumerate(times) for j in cols]

    def write_csv(self, path: str | os.PathLike, rows: Iterable[tuple[float, str, float]]) -> None:
        """Write rows as ``resilience.csv`` (``t,asset,name,type,q``), atomically (temp file, then rename)."""
        def line(values: list[str]) -> str:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(values)
            return buf.getvalue()

        body = []
        for t, a, q in rows:
            i = self.index[a]
            body.append(line([_fmt(t, 3), a, self.names[i], self.types[i], _fmt(q, 4)]))
        atomic_write_lines(path, ["t,asset,name,type,q", *body])

    # -- resilience loss ----------------------------------------------------------------------------------

    def loss(self, t_end: float) -> dict[str, dict[str, float]]:
        """Resilience loss up to ``t_end`` of every asset affected before it: ``{asset: {loss_s, outage_h,
        min_q, t_min}}`` (``loss_s`` = integral of 1 - Q in s, ``outage_h`` = loss_s / 3600, ``min_q`` the
        lowest Q and ``t_min`` when it was first reached). The integral is exact (Q is piecewise linear)."""
        t_end = _finite("t_end", t_end)
        out: dict[str, dict[str, float]] = {}
        if not self.events:
            return out
        e = self._ev()
        for j in sorted(set(e["asset"][e["t0"] <= t_end].tolist())):
            sel = {k: v[(e["asset"] == j) & (e["t0"] <= t_end)] for k, v in e.items()}
            loss_s, min_q, t_min = _integrate(sel, t_end)
            out[self.ids[j]] = {"loss_s": loss_s, "outage_h": loss_s / 3600.0, "min_q": min_q, "t_min": t_min}
        return out


def _lines(e: Mapping[str, np.ndarray], a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of each event's functionality on (a, b), an interval with no breakpoint inside."""
    m = 0.5 * (a + b)
    end = e["t_rec"] + e["restore"]
    hold = (m >= e["t0"]) & (m < e["t_rec"])
    ramping = (m >= e["t_rec"]) & (m < end)
    rate = (1 - e["q"]) / np.where(e["restore"] > 0, e["restore"], 1.0)
    slope = np.where(ramping & ~e["step"], rate, 0.0)
    level = np.where(hold | (ramping & e["step"]), e["q"], 1.0)
    intercept = np.where(slope != 0, e["q"] - slope * e["t_rec"], level)
    return slope, intercept


def _integrate(e: Mapping[str, np.ndarray], t_end: float) -> tuple[float, float, float]:
    """Exact ``(integral of 1 - Q, min Q, first time of min Q)`` from the first event to ``t_end``, Q the
    minimum of the events' piecewise linear functions."""
    bps = np.unique(np.concatenate([e["t0"], e["t_rec"], e["t_rec"] + e["restore"], [t_end]]))
    bps = bps[(bps >= e["t0"].min()) & (bps <= t_end)]
    loss, min_q, t_min = 0.0, 1.0, float(e["t0"].min())
    for a, b in zip(bps[:-1], bps[1:], strict=True):
        s, c = _lines(e, a, b)
        i, j = np.triu_indices(len(s), 1)
        ds = s[i] - s[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            tc = np.where(ds != 0, (c[j] - c[i]) / np.where(ds != 0, ds, 1.0), a)
        pts = np.unique(np.concatenate([[a, b], tc[(tc > a) & (tc < b)]]))
        qv = np.clip((s[None, :] * pts[:, None] + c[None, :]).min(axis=1), 0.0, 1.0)
        loss += float(np.sum((pts[1:] - pts[:-1]) * (2.0 - qv[1:] - qv[:-1]) / 2.0))
        if qv[0] < min_q - 1e-12:  # Q only jumps down: its lowest value on a piece is at the start
            min_q, t_min = float(qv[0]), float(a)
    return loss, min_q, t_min
