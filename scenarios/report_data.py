"""The run folder's files as the report reads them: each loader returns the data, or None and says why.

A report must open on any run folder, finished or cut short, scored or not: a missing, empty or unreadable
file is not an error here but a sentence the section shows (``RunData.missing``), so the reader knows what
the section lacks and why.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = ["RESPONSE_KINDS", "RunData", "Series", "TRUTH_NEEDLES", "attack_of", "lonlat_fit"]

#: Ground-truth kinds of the response (scheduled orders, dispatches, arrivals), shown beside the attacks.
RESPONSE_KINDS = ("dispatched", "on_scene", "evacuate_order", "closure")
#: Substrings that select the truth lines the report reads (attack records carry ``attack``/``attack_id``).
TRUTH_NEEDLES = ('"attack', '"object_placed"', '"object_removed"', *(f'"{k}"' for k in RESPONSE_KINDS))


def _own_objects(records: list[dict]) -> list[dict]:
    """The records with the objects an attacker placed (``by`` its target id) or that were removed tagged
    with the attack's ``attack_id`` (the objects' own records do not name it)."""
    who = {r["id"]: r["attack_id"] for r in records
           if r.get("attack_id") is not None and r.get("id") is not None}
    for r in records:
        if r.get("kind") == "object_placed" and r.get("lookalike") is None and r.get("by") in who:
            who[r["id"]] = r["attack_id"] = who[r["by"]]
        elif r.get("kind") == "object_removed" and r.get("lookalike") is None and r.get("id") in who:
            r["attack_id"] = who[r["id"]]
    return records


def attack_of(rec: dict) -> str | None:
    """The id of the attack a truth record belongs to: ``attack_id``, or ``id`` of a record naming its
    ``attack`` kind (the cyber attacks' flows); None for everything else (look-alikes, crowd...)."""
    if rec.get("lookalike") is not None:
        return None
    if rec.get("attack_id") is not None:
        return str(rec["attack_id"])
    if rec.get("attack") is not None and rec.get("id") is not None:
        return str(rec["id"])
    return None


@dataclass
class Series:
    """A ``t,<key>,<value>`` CSV as columns: times, keys and values (numpy arrays of equal length)."""

    t: np.ndarray
    key: np.ndarray
    value: np.ndarray
    names: dict[str, str] = field(default_factory=dict)   # key -> display name, where the file gives one


class RunData:
    """Lazy, tolerant reads of one run folder; ``missing[name]`` says why a file gave nothing."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = Path(run_dir)
        self.missing: dict[str, str] = {}
        self._cache: dict[str, Any] = {}

    def why(self, name: str) -> str:
        """The reason ``name`` gave nothing (for a section's note)."""
        return self.missing.get(name, f"{name} is missing")

    def _text(self, name: str) -> str | None:
        path = self.dir / name
        if not path.is_file():
            self.missing[name] = f"{name} is missing"
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.missing[name] = f"{name} cannot be read ({type(exc).__name__})"
            return None
        if not text.strip():
            self.missing[name] = f"{name} is empty"
            return None
        return text

    def _memo(self, name: str, parse, key: str | None = None) -> Any:
        key = key or name
        if key not in self._cache:
            text = self._text(name)
            try:
                self._cache[key] = None if text is None else parse(text)
                if text is not None and not self._cache[key]:
                    self.missing[name] = f"{name} has no records"
            except (ValueError, TypeError, KeyError, IndexError, StopIteration, yaml.YAMLError) as exc:
                self.missing[name] = f"{name} is not valid ({type(exc).__name__})"
                self._cache[key] = None
        return self._cache[key]

    def json(self, name: str) -> Any:
        """A JSON file's content, or None."""
        return self._memo(name, json.loads)

    def yaml(self, name: str) -> Any:
        """A YAML mapping, or None."""
        return self._memo(name, _yaml_mapping)

    def jsonl(self, name: str) -> list[dict]:
        """The JSON objects of a JSON-lines file (bad lines skipped); [] when missing or empty."""
        return self._memo(name, _jsonl) or []

    def lines_with(self, name: str, needles: tuple[str, ...], *, head: int = 0) -> list[dict]:
        """The JSON objects of the lines of a (possibly large) JSON-lines file that contain one of
        ``needles``, plus its first ``head`` lines; read as a stream, parsed only when they match."""
        path = self.dir / name
        if not path.is_file():
            self.missing[name] = f"{name} is missing"
            return []
        out = []
        try:
            with open(path, encoding="utf-8") as fh:
                for i, line in enumerate(fh):
                    if i < head or any(n in line for n in needles):
                        rec = _record(line)
                        if rec is not None:
                            out.append(rec)
        except (OSError, UnicodeDecodeError) as exc:
            self.missing[name] = f"{name} cannot be read ({type(exc).__name__})"
        return out

    def calibrations(self) -> list[dict]:
        """The cameras' ``camera/calibration`` messages of ``events.jsonl`` (id, xy, yaw...)."""
        if "#calib" not in self._cache:
            self._cache["#calib"] = [r for r in self.lines_with("events.jsonl", ("camera/calibration",))
                                     if r.get("topic") == "camera/calibration"]
        return self._cache["#calib"]

    def truth(self) -> list[dict]:
        """The ground-truth records the report shows (attacks' phases, acts and flows; the response's
        orders, dispatches and arrivals) and the first lines (to fit the projection)."""
        if "#truth" not in self._cache:
            recs = self.lines_with("ground_truth.jsonl", TRUTH_NEEDLES, head=400)
            self._cache["#truth"] = _own_objects(recs)
        return self._cache["#truth"]

    def series(self, name: str, value: str) -> Series | None:
        """A ``t,<key column>,<value>`` CSV (``crowd_density.csv``, ``resilience.csv``...) as columns."""
        return self._memo(name, lambda text: _series(text, value), key=f"{name}#{value}")


def _yaml_mapping(text: str) -> dict:
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("not a mapping")
    return data


def _record(line: str) -> dict | None:
    """One JSON-lines record, None for a line that is not a JSON object (the report skips it)."""
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


def _jsonl(text: str) -> list[dict]:
    return [r for r in map(_record, text.splitlines()) if r is not None]


def _series(text: str, value: str) -> Series | None:
    """Columns ``t``, the second column (the key) and ``value``; a ``name`` column names the keys."""
    rows = list(csv.reader(text.splitlines()))
    if len(rows) < 2:
        return None
    head = rows[0]
    it, iv = head.index("t"), head.index(value)
    ik = next(i for i, h in enumerate(head) if i not in (it, iv))
    iname = head.index("name") if "name" in head else None
    body = [r for r in rows[1:] if len(r) == len(head)]
    t = np.array([r[it] for r in body], dtype=float)
    v = np.array([r[iv] for r in body], dtype=float)
    ok = np.isfinite(t) & np.isfinite(v)
    keys = np.array([r[ik] for r in body], dtype=object)
    names = {r[ik]: r[iname] for r in body} if iname is not None else {}
    return Series(t=t[ok], key=keys[ok], value=v[ok], names=names) if ok.any() else None


def lonlat_fit(records: list[dict]):
    """A metres -> lon/lat function fitted (affine, least squares) on records that carry both ``xy`` and
    ``lonlat`` (the ground truth does): the run folder does not name its projection, and over a city's
    extent the projected grid is affine to well under a metre. None when fewer than 3 distinct points."""
    pairs = [(r["xy"], r["lonlat"]) for r in records
             if isinstance(r.get("xy"), list) and isinstance(r.get("lonlat"), list)
             and len(r["xy"]) >= 2 and len(r["lonlat"]) >= 2]
    if len(pairs) < 3:
        return None
    xy = np.array([p[0][:2] for p in pairs], dtype=float)
    ll = np.array([p[1][:2] for p in pairs], dtype=float)
    ok = np.isfinite(xy).all(axis=1) & np.isfinite(ll).all(axis=1)
    xy, ll = xy[ok], ll[ok]
    if len(np.unique(xy.round(1), axis=0)) < 3:
        return None
    origin = xy.mean(axis=0)
    a = np.column_stack([xy - origin, np.ones(len(xy))])
    coef, *_ = np.linalg.lstsq(a, ll, rcond=None)

    def to_lonlat(pts) -> np.ndarray:
        p = np.asarray(pts, dtype=float).reshape(-1, 2)
        return np.column_stack([p - origin, np.ones(len(p))]) @ coef

    return to_lonlat
