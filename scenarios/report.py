"""``report.html``: one self-contained page that shows a run, written into its folder.

Sections (``SECTIONS``): the scenario summary; a timeline of the true events against the alerts and the
incidents; a map of the twin with sensors, incidents, routes and responders; the metrics and the criteria
tables; the density and resilience curves. The page has no script and loads nothing: the style is inline and
the figures are PNGs (matplotlib Agg) inlined as data URIs, so it opens offline from any folder and makes no
request. Every text is escaped. Files that are missing or empty make their section say so; a section that
fails to draw says why, and the rest of the report is still written (a report never costs a run).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from scenarios.report_data import RunData, Series, lonlat_fit
from scenarios.report_figures import density_png, resilience_png, timeline_png
from scenarios.report_html import image, note, page
from scenarios.report_map import load_streets, map_png
from scenarios.report_tables import criteria_section, metrics_section, summary_section

__all__ = ["REPORT_FILE", "SECTIONS", "ReportError", "write_report"]

#: The report's file name in a run folder.
REPORT_FILE = "report.html"

#: ``(id, heading)`` of every section, in page order.
SECTIONS = (("summary", "Scenario summary"), ("timeline", "Timeline: true events, alerts and incidents"),
            ("map", "Map"), ("metrics", "Metrics"), ("criteria", "Criteria"),
            ("density", "Density: truth against sensed"), ("resilience", "Resilience"))

#: A section body's marker when it failed to draw (tests look for it).
FAILED = "This section could not be drawn"


class ReportError(ValueError):
    """A run folder the report cannot be written for (one line naming it)."""

    exit_code = 2


def _timeline(data: RunData) -> str:
    sc = data.yaml("scenario.yaml") or {}
    truth, alerts, incs = data.truth(), data.jsonl("alerts.jsonl"), data.jsonl("incidents.jsonl")
    attacks = [a for a in sc.get("attacks") or [] if isinstance(a, Mapping)]
    notes = [data.why(n) for n, got in (("ground_truth.jsonl", truth), ("alerts.jsonl", alerts),
                                        ("incidents.jsonl", incs)) if not got]
    if not (truth or alerts or incs or attacks):
        return note("No timeline: " + "; ".join(notes) + ".")
    duration = sc.get("duration_s")
    ends = [float(r["t"]) for r in [*truth, *alerts, *incs] if isinstance(r.get("t"), int | float)]
    span = float(duration) if isinstance(duration, int | float) else max(ends, default=1.0)
    out = image(timeline_png(truth, attacks, alerts, incs, duration_s=span), "timeline")
    return out + "".join(note(f"Not shown: {n}.") for n in notes)


def _map(data: RunData, streets: Sequence[np.ndarray] | None) -> str:
    sc = data.yaml("scenario.yaml")
    why = None
    if streets is None:
        streets, why = load_streets(sc)
    to_ll = lonlat_fit(data.truth())
    bbox = (sc or {}).get("bbox")
    bbox = bbox if isinstance(bbox, list) and len(bbox) == 4 else None
    out = image(map_png(data, streets, to_lonlat=to_ll, bbox=bbox), "map of the run")
    if why is not None:
        out += note(f"Drawn without streets: {why}.")
    if data.json("cop.geojson") is None:
        out += note(f"No incidents, sensors or routes from the picture: {data.why('cop.geojson')}.")
    if to_ll is None:
        out += note("Routes and cameras given only in metres are not drawn: the ground truth gives no "
                    "points to place them by.")
    return out


def _names(data: RunData) -> dict[str, str]:
    """Zone/asset id -> name, from the picture's assets and the resilience table."""
    names: dict[str, str] = {}
    cop = data.json("cop.geojson")
    for f in (cop or {}).get("features") or [] if isinstance(cop, Mapping) else []:
        p = f.get("properties") if isinstance(f, Mapping) else None
        if isinstance(p, Mapping) and p.get("layer") == "asset" and p.get("name"):
            names[str(p.get("id"))] = str(p["name"])
    res = data.series("resilience.csv", "q")
    if res is not None:
        names.update(res.names)
    return names


def _density(data: RunData) -> str:
    truth = data.series("crowd_density.csv", "people")
    if truth is None:
        return note(f"No density curves: {data.why('crowd_density.csv')}.")
    sensed = data.series("density_estimates.csv", "people")
    out = image(density_png(truth, sensed, names=_names(data)), "density per zone")
    if sensed is None:
        out += note(f"Truth only: {data.why('density_estimates.csv')}.")
    return out


def _resilience(data: RunData) -> str:
    res: Series | None = data.series("resilience.csv", "q")
    if res is None:
        return note(f"No resilience curves: {data.why('resilience.csv')}.")
    img, left = resilience_png(res)
    return image(img, "resilience Q(t)") + (note(f"{left} more assets not drawn.") if left else "")


def _guarded(build: Callable[[], str]) -> str:
    """A section's body, or a note saying why it could not be drawn (a report never fails the run)."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - any drawing failure is reported in the page instead
        msg = str(exc).splitlines()[0] if str(exc) else ""
        return note(f"{FAILED}: {type(exc).__name__}: {msg}")


def write_report(run_dir: str | os.PathLike, *, streets: Sequence[np.ndarray] | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` (see the module docstring) and return its path.

    Parameters
    ----------
    run_dir : path
        A run folder (``run_sim.py run``'s output).
    streets : list of (N, 2) arrays, optional
        The twin's streets as lon/lat polylines (the engine passes its walk network); when None the twin
        is loaded again from the run's ``scenario.yaml`` (city and bbox), and the map is drawn without
        streets if that fails.

    Raises
    ------
    ReportError
        ``run_dir`` is not a folder, holds none of a run's files, or cannot be written.
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise ReportError(f"run folder {os.fspath(run_dir)!r}: not a folder")
    if not any((d / n).is_file() for n in ("scenario.yaml", "ground_truth.jsonl", "metrics.json")):
        raise ReportError(f"run folder {os.fspath(run_dir)!r}: no scenario.yaml, ground_truth.jsonl or "
                          "metrics.json: not a run folder")
    data = RunData(d)
    builders: dict[str, Callable[[], str]] = {
        "summary": lambda: summary_section(data), "timeline": lambda: _timeline(data),
        "map": lambda: _map(data, streets), "metrics": lambda: metrics_section(data),
        "criteria": lambda: criteria_section(data), "density": lambda: _density(data),
        "resilience": lambda: _resilience(data)}
    sections = [(sid, title, _guarded(builders[sid])) for sid, title in SECTIONS]
    sc = data.yaml("scenario.yaml") or {}
    name = str(sc.get("name") or d.name)
    # not the folder's name: the engine writes the report into the run's temporary folder
    sub = (f"city {sc.get('city', '?')} · seed {sc.get('seed', '?')} · {sc.get('duration_s', '?')} s "
           f"simulated from {sc.get('start_time', '?')}")
    html = page(f"Run report: {name}", sub, sections)
    tmp = d / f".{REPORT_FILE}.tmp-{os.getpid()}"
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, d / REPORT_FILE)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        msg = f"run folder {os.fspath(run_dir)!r}: cannot write {REPORT_FILE} ({exc.strerror or exc})"
        raise ReportError(msg) from None
    return d / REPORT_FILE


