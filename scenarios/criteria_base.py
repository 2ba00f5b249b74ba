"""What a criterion evaluator sees and returns: the scored run folder (``RunData``, read lazily) and one
``Measurement``; the registry of evaluators keyed by measure key (``scenarios.criteria_kinds.CRITERIA``).

Alert ids are ``A<n>`` for line n of ``alerts.jsonl``, as the incident stage numbers them. Which alerts
detect which attack is decided by the scorer's own strict rules (``scenarios.detection.matches`` with
``scenarios.evaluation.rules``), so the evidence of a criterion names the alerts the metrics counted.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from analytics.events import iter_jsonl

__all__ = ["EVALUATORS", "CriteriaError", "Measurement", "RunData", "evaluator", "finite"]


class CriteriaError(ValueError):
    """A run folder the criteria cannot be evaluated on (no ``metrics.json``, unreadable files)."""

    exit_code = 2


@dataclass(frozen=True)
class Measurement:
    """What an evaluator measured for one criterion.

    ``actual`` is None when there is no measurement (``why`` says why: the result is then a failure);
    ``crossed_t`` is the simulated time the limit ``expected`` was first crossed (None if it was not, or if
    the run ended before it could be known); ``evidence`` the ids of alerts, incidents, CAP messages or
    attacks behind the figure.
    """

    subject: str
    expected: float
    actual: float | None
    crossed_t: float | None = None
    evidence: list[str] = field(default_factory=list)
    why: str | None = None


Evaluator = Callable[[dict, "RunData"], Measurement]

#: Measure key -> its evaluator (filled by ``scenarios.criteria_measures``).
EVALUATORS: dict[str, Evaluator] = {}


def evaluator(key: str) -> Callable[[Evaluator], Evaluator]:
    """Register ``fn`` as the evaluator of the measure ``key``."""
    def deco(fn: Evaluator) -> Evaluator:
        EVALUATORS[key] = fn
        return fn
    return deco


def finite(v: Any) -> float | None:
    """``v`` as a float when it is a finite number, else None."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def _lines(path: Path) -> list[dict]:
    return list(iter_jsonl(path)) if path.is_file() and path.stat().st_size else []


class RunData:
    """A scored run folder, each file read once when first needed.

    Raises
    ------
    CriteriaError
        When the folder has no ``metrics.json`` (the run was not scored) or it is not a JSON object.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir)
        path = self.dir / "metrics.json"
        if not path.is_file():
            raise CriteriaError(f"{path}: missing (the run was not scored)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CriteriaError(f"{path}: line 1: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise CriteriaError(f"{path}: not a JSON object")
        self.metrics: dict = data
        self.detection: dict = data.get("detection") or {}
        self.incident_figures: dict | None = data.get("incidents")

    @cached_property
    def scenario(self) -> dict:
        """The run's resolved ``scenario.yaml`` ({} without one)."""
        path = self.dir / "scenario.yaml"
        if not path.is_file():
            return {}
        try:
            d = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CriteriaError(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
        return d if isinstance(d, dict) else {}

    @property
    def duration_s(self) -> float:
        """The run's simulated duration (the scorer's, else the scenario's)."""
        d = finite(self.detection.get("duration_s")) or finite(self.scenario.get("duration_s"))
        return d or 0.0

    @cached_property
    def alerts(self) -> list[dict]:
        return _lines(self.dir / "alerts.jsonl")

    @cached_property
    def incident_records(self) -> list[dict]:
        """Every state change of ``incidents.jsonl``, in file order."""
        return _lines(self.dir / "incidents.jsonl")

    @cached_property
    def truth(self) -> list[dict]:
        return _lines(self.dir / "ground_truth.jsonl")

    @cached_property
    def cap_ids(self) -> list[str]:
        """The identifiers of the CAP messages (``alerts/<identifier>.xml``), sorted."""
        folder = self.dir / "alerts"
        return sorted(p.stem for p in folder.glob("*.xml")) if folder.is_dir() else []

    def resilience_series(self, asset: str) -> list[tuple[float, float]]:
        """``(t, q)`` of ``asset`` in ``resilience.csv``, by time."""
        path = self.dir / "resilience.csv"
        if not path.is_file():
            return []
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [(float(r["t"]), float(r["q"])) for r in csv.DictReader(fh) if r.get("asset") == asset]
        return sorted(rows)

    @cached_property
    def matches(self) -> dict[str, list[int]]:
        """Attack id -> indices (0-based lines of ``alerts.jsonl``) of the alerts that detect it."""
        from scenarios.detection import attacks_from_truth, matches
        from scenarios.evaluation import read_zones, rules

        rule_set = rules()
        zones = read_zones(self.dir)
        out: dict[str, list[int]] = {}
        for atk in attacks_from_truth(self.truth, rule_set, self.duration_s):
            rule = rule_set.get(atk.kind)
            out[atk.id] = [i for i, al in enumerate(self.alerts)
                           if rule is not None and matches(atk, al, rule, zones)]
        return out

    @cached_property
    def false_alarms(self) -> list[int]:
        """Indices of the alerts that detect no attack, in time order."""
        used = {i for hits in self.matches.values() for i in hits}
        idx = [i for i in range(len(self.alerts)) if i not in used]
        return sorted(idx, key=lambda i: float(self.alerts[i]["t"]))


    def attack_rows(self) -> list[dict]:
        """``metrics.json`` ``detection.attacks``."""
        return list(self.detection.get("attacks") or [])
