"""Risk of an incident and of an asset: R = T x V x C, the threat-vulnerability-consequence form of Sandia's
Risk Assessment Methodology for Critical Infrastructure (RAM-CI), written for the US National Infrastructure
Protection Plan (NIPP).

Scales and units:

- **T**, threat (0..1): the likelihood that the incident is the attack it looks like, i.e. the incident's
  fused confidence.
- **V**, vulnerability (0..1): the probability that such an attack on the asset succeeds, RAM's
  ``1 - P_E`` with ``P_E`` the effectiveness of its protection. From the asset's type (``VULNERABILITY``); an
  asset's optional ``protection`` (0..1, the effectiveness of measures beyond its type's usual ones: guards,
  screening, barriers) scales it by ``1 - protection``. No asset: open ground (``open_space_v``).
- **C**, consequence, in **person-equivalents** (one person harmed = 1):
  ``C = harm x exposed x criticality + disruption x services``, where

  - ``exposed`` is the number of people within the incident kind's radius, estimated by
    ``analytics.exposure.Exposure`` from what the sensors sense (never the ground truth);
  - ``harm`` and ``disruption`` are the incident kind's share of the exposed people harmed and of the
    asset's service lost if the attack is real (``KINDS``);
  - ``criticality`` (>= 0, 1 = an ordinary crowded public place) weighs a person at the asset
    (``CRITICALITY``);
  - ``services`` sums over the asset's descendants in the dependency graph (those that lose a supply
    when it fails): ``service_weight x capacity x criticality x factor`` with ``factor`` the share of the
    dependent's function it loses (``1 - keep_q`` of ``analytics.resilience.CASCADE`` for the edge's kind
    and the dependent's type; along a path of several edges, the product; of several paths, the one that
    costs it most), and ``service_weight`` the person-equivalents of one person's worth of lost service
    (default 0.001).
- **R** = T x V x C, person-equivalents: the expected harm. ``priority(R)`` maps it to 1 (most urgent) .. 4.

Every table is a judgement documented with its basis; they are defaults of ``RiskParams`` and can be
replaced.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import networkx as nx

from analytics.exposure import Exposure
from analytics.resilience import CASCADE, finite_number

__all__ = ["CRITICALITY", "KINDS", "PRIORITY_THRESHOLDS", "VULNERABILITY", "KindProfile", "RiskError",
           "RiskParams", "asset_risk", "assess", "priority"]

#: Asset type -> V (0..1). Crowded places with no access control (squares, stops, open ground) are the
#: "soft targets" of the US DHS Soft Targets and Crowded Places Security Plan (2018): 0.9. The others are
#: assumed from their usual protection: staff and CCTV at stations (0.7), screening at stadiums on event
#: days and locked doors at schools (0.6), security staff at hospitals that stay open to all (0.6), open
#: doors at places of worship (0.8) and malls (0.75); fenced, unmanned utilities (0.5 for substations: a fence
#: does not stop a stand-off attack such as Metcalf 2013; 0.4 for exchanges and water works, mostly inside
#: buildings); staffed, armed police stations (0.2) and fire stations (0.4).
VULNERABILITY: dict[str, float] = {
    "station": 0.7, "square": 0.9, "stadium": 0.6, "school": 0.6, "hospital": 0.6, "police": 0.2,
    "fire_station": 0.4, "place_of_worship": 0.8, "shopping": 0.75, "substation": 0.5, "telecom": 0.4,
    "water_works": 0.4, "stop": 0.9,
}

#: Asset type -> criticality (>= 0; 1 = an ordinary crowded place). The lifeline sectors of the NIPP (2013)
#: and CISA's National Critical Functions (energy, water, communications, health care, emergency services)
#: weigh above ordinary crowded places; the numbers are assumed: hospital 3 (patients cannot flee, and the
#: city's casualties go there), substation 2.5, water works, exchanges, police and fire stations 2, schools
#: 1.5 (children), stations 1.5 (a transport node), stadiums 1.2 (dense, slow to clear), others 1.
CRITICALITY: dict[str, float] = {
    "station": 1.5, "square": 1.0, "stadium": 1.2, "school": 1.5, "hospital": 3.0, "police": 2.0,
    "fire_station": 2.0, "place_of_worship": 1.0, "shopping": 1.0, "substation": 2.5, "telecom": 2.0,
    "water_works": 2.0, "stop": 1.0,
}


class KindProfile(NamedTuple):
    """What an incident kind threatens: people within ``radius_m`` of it, the share ``harm`` of them harmed
    and the share ``disruption`` of the asset's service lost, if the attack is real."""

    radius_m: float
    harm: float
    disruption: float


#: Incident kind -> profile. Radii: 46 m for a bomb or an object treated as one until cleared (the
#: mandatory evacuation distance of a briefcase or suitcase bomb, 150 ft, in the US NCTC/DHS/FBI Bomb Threat
#: Stand-Off chart); the rest assumed (100 m of open line of fire round gunshots, 50 m of a ramming vehicle's
#: path or a crowd emergency, 25 m round an intruder or a suspicious person). Cyber kinds threaten no point:
#: radius 0, only the service term. The shares are assumed. ``other`` is used for a kind not listed.
KINDS: dict[str, KindProfile] = {
    "explosion": KindProfile(46.0, 0.5, 1.0),
    "suspicious_object": KindProfile(46.0, 0.5, 1.0),
    "armed_attack": KindProfile(100.0, 0.2, 0.3),
    "vehicle_attack": KindProfile(50.0, 0.3, 0.2),
    "crowd_emergency": KindProfile(50.0, 0.05, 0.1),
    "intrusion": KindProfile(25.0, 0.05, 0.3),
    "suspicious_behaviour": KindProfile(25.0, 0.02, 0.05),
    "cyber_attack": KindProfile(0.0, 0.0, 0.3),
    "dos": KindProfile(0.0, 0.0, 0.3),
    "video_tamper": KindProfile(0.0, 0.0, 0.1),
    "other": KindProfile(50.0, 0.1, 0.3),
}

#: R thresholds (person-equivalents) of priorities 1, 2 and 3; below the last, priority 4. Assumed: an
#: expected 5 people harmed is a mass-casualty scale, 1 a person, 0.1 a precursor worth a look.
PRIORITY_THRESHOLDS = (5.0, 1.0, 0.1)

#: Incident states whose threat is over: they give no asset risk.
_CLOSED = ("resolved", "false_alarm", "closed")


class RiskError(ValueError):
    """An unusable risk input: a confidence out of [0, 1], an unknown asset or type, a bad protection."""


@dataclass(frozen=True, slots=True)
class RiskParams:
    """Risk tables and scales (module docstring).

    Parameters
    ----------
    vulnerability, criticality : by asset type (defaults ``VULNERABILITY``, ``CRITICALITY``).
    kinds : incident kind -> ``KindProfile`` (default ``KINDS``; its ``other`` entry serves unlisted kinds).
    cascade : edge kind -> dependent type -> (delay_s, keep_q); the dependents' factor is ``1 - keep_q``
        (default ``analytics.resilience.CASCADE``, so risk and resilience agree).
    open_space_v, open_space_criticality : V and criticality with no asset (0.9: open ground is a soft target;
        1.0).
    service_weight : person-equivalents per person of capacity whose service is lost (0.001, assumed: a
        thousand people without a place's service weigh as one person harmed).
    thresholds : R thresholds of priorities 1..3 (default ``PRIORITY_THRESHOLDS``).
    """

    vulnerability: Mapping[str, float] = field(default_factory=lambda: dict(VULNERABILITY))
    criticality: Mapping[str, float] = field(default_factory=lambda: dict(CRITICALITY))
    kinds: Mapping[str, KindProfile] = field(default_factory=lambda: dict(KINDS))
    cascade: Mapping[str, Mapping[str, tuple[float, float]]] = field(default_factory=lambda: dict(CASCADE))
    open_space_v: float = 0.9
    open_space_criticality: float = 1.0
    service_weight: float = 0.001
    thresholds: tuple[float, float, float] = PRIORITY_THRESHOLDS


def priority(R: float, *, thresholds: Sequence[float] = PRIORITY_THRESHOLDS) -> int:
    """Priority 1 (most urgent) .. 4 of a risk ``R``: 1 at or above ``thresholds[0]``, 2 at or above
    ``thresholds[1]``, 3 at or above ``thresholds[2]``, else 4.

    >>> [priority(r) for r in (12.0, 5.0, 1.0, 0.3, 0.0)]
    [1, 1, 2, 3, 4]

    Raises
    ------
    RiskError
        If ``R`` is negative or not finite.
    """
    R = _number("R", R, 0.0)
    return next((i + 1 for i, th in enumerate(thresholds) if R >= th), len(thresholds) + 1)


def _number(name: str, value: Any, lo: float | None = None, hi: float | None = None) -> float:
    return finite_number(name, value, lo, hi, error=RiskError)


def _table(assets: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    """The assets by id (a mapping is used as it is)."""
    return assets if isinstance(assets, Mapping) else {str(a["id"]): a for a in assets}


def _by_type(table: Mapping[str, float], name: str, kind: str) -> float:
    try:
        return float(table[kind])
    except KeyError:
        raise RiskError(f"{name}: no entry for asset type {kind!r}") from None


def _services(asset_id: str, table: Mapping[str, Any], graph: nx.DiGraph | None,
              p: RiskParams) -> tuple[float, list[str]]:
    """Person-equivalents of the services that depend on ``asset_id`` and their ids (module docstring)."""
    if graph is None or asset_id not in graph:
        return 0.0, []

    def cost(u: str, v: str, d: Mapping[str, Any]) -> float | None:
        f = _factor(d.get("kind"), v, table, p)
        return -math.log(f) if f > 0 else None  # a hidden edge: no loss passes it

    dist = nx.single_source_dijkstra_path_length(graph, asset_id, weight=cost)
    total, ids = 0.0, []
    for dep, c in sorted(dist.items()):
        if dep == asset_id:
            continue
        a = table.get(dep)
        if a is None:
            raise RiskError(f"dependencies: node {dep!r} is not in the assets table")
        cap = _number(f"assets[{dep!r}].capacity", a.get("capacity", 0), 0.0)
        total += p.service_weight * cap * _by_type(p.criticality, "criticality", a["type"]) * math.exp(-c)
        ids.append(dep)
    return total, ids


def _factor(kind: Any, dep: str, table: Mapping[str, Any], p: RiskParams) -> float:
    """Share of dependent ``dep``'s function lost without its supply of ``kind`` (``1 - keep_q``)."""
    if kind not in p.cascade:
        raise RiskError(f"dependencies: edge kind {kind!r} has no cascade entry (known: {sorted(p.cascade)})")
    a = table.get(dep)
    if a is None:
        raise RiskError(f"dependencies: node {dep!r} is not in the assets table")
    rule = p.cascade[kind]
    keep = rule.get(a["type"], rule.get("*", (0.0, 1.0)))[1]
    return min(1.0, max(0.0, 1.0 - float(keep)))


def _exposed(incident: Mapping[str, Any], asset: Mapping[str, Any] | None, radius: float,
             exposure: Exposure | None, t: float) -> tuple[float, float]:
    """People exposed: within ``radius`` of the incident's point, else the fresh estimate of its zone, else
    within ``radius`` of the asset; 0 with no point, no zone estimate or a zero radius."""
    if exposure is None or radius <= 0:
        return 0.0, 0.0
    if incident.get("xy") is not None:
        return exposure.exposed(incident["xy"], radius, t)
    if incident.get("zone") is not None:
        est = exposure.zone_people(str(incident["zone"]), t)
        if est is not None:
            return est
    if asset is not None and asset.get("xy") is not None:
        return exposure.exposed(asset["xy"], radius, t)
    return 0.0, 0.0


def _score(incident: Mapping[str, Any], asset_id: str | None, table: Mapping[str, Any],
           dependencies: nx.DiGraph | None, exposure: Exposure | None, t: float, p: RiskParams) -> dict:
    """The risk dict of one incident at one asset (None: open ground)."""
    T = _number("confidence", incident.get("confidence"), 0.0, 1.0)
    prof = p.kinds.get(str(incident.get("kind")))
    prof = prof if prof is not None else p.kinds["other"]
    asset = None
    if asset_id is None:
        V, crit, services, deps = p.open_space_v, p.open_space_criticality, 0.0, []
    else:
        asset = table.get(asset_id)
        if asset is None:
            raise RiskError(f"assets: incident asset {asset_id!r} is not in the assets table")
        prot = _number(f"assets[{asset_id!r}].protection", asset.get("protection", 0.0), 0.0, 1.0)
        V = _by_type(p.vulnerability, "vulnerability", asset["type"]) * (1.0 - prot)
        crit = _by_type(p.criticality, "criticality", asset["type"])
        services, deps = _services(asset_id, table, dependencies, p)
    exposed, sigma = _exposed(incident, asset, prof.radius_m, exposure, t)
    C = prof.harm * exposed * crit + prof.disruption * services
    R = T * V * C
    return {"T": round(T, 4), "V": round(V, 4), "C": round(C, 4), "R": round(R, 4),
            "exposed": round(exposed, 2), "exposed_sigma": round(sigma, 2), "criticality": crit,
            "dependents": deps, "asset": asset_id, "services": round(services, 4),
            "harm": prof.harm, "disruption": prof.disruption, "radius_m": prof.radius_m}


def assess(incident: Mapping[str, Any], *,
           assets: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
           dependencies: nx.DiGraph | None = None, exposure: Exposure | None = None, t: float,
           params: RiskParams = RiskParams()) -> dict[str, Any]:
    """The risk of an incident: the incident dict's ``risk`` (module docstring for the scales).

    Each asset in ``incident["assets"]`` is scored (open ground if none) and the highest R is kept:
    ``{T, V, C, R, exposed, exposed_sigma, criticality, dependents, asset}`` plus ``services``, ``harm``,
    ``disruption`` and ``radius_m``, so that ``C = harm * exposed * criticality + disruption * services``
    and ``R = T * V * C`` (up to rounding).

    Examples
    --------
    A gunshot (confidence 0.9) on a square with 100 people estimated within 100 m:

    >>> ex = Exposure({"sq": [[0, 0], [200, 0], [200, 200], [0, 200]]})
    >>> ex.observe(0.0, "sq", 100 * 40000 / (math.pi * 100**2))
    >>> inc = {"kind": "armed_attack", "confidence": 0.9, "xy": [100.0, 100.0], "assets": ["sq1"]}
    >>> r = assess(inc, assets=[{"id": "sq1", "type": "square", "capacity": 400, "xy": [100, 100]}],
    ...            exposure=ex, t=0.0)
    >>> r["exposed"], r["C"], r["R"], priority(r["R"])
    (100.0, 20.0, 16.2, 1)

    Raises
    ------
    RiskError
        If the confidence is not in [0, 1], an asset is not in the table, a type has no table entry, or a
        protection is not in [0, 1].
    """
    table = _table(assets)
    ids = [str(a) for a in incident.get("assets") or []] or [None]
    t = _number("t", t)
    best = None
    for aid in ids:
        s = _score(incident, aid, table, dependencies, exposure, t, params)
        if best is None or s["R"] > best["R"]:
            best = s
    return best


def asset_risk(incidents: Iterable[Mapping[str, Any]], *,
               assets: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
               dependencies: nx.DiGraph | None = None, exposure: Exposure | None = None, t: float,
               params: RiskParams = RiskParams()) -> dict[str, dict[str, Any]]:
    """The risk of each asset: the highest over the open incidents that list it in ``assets`` (states
    resolved, false_alarm and closed are over). ``{asset: {R, T, V, C, priority, incident}}`` for the assets
    at risk, in the order first met."""
    table = _table(assets)
    t = _number("t", t)
    out: dict[str, dict[str, Any]] = {}
    for inc in incidents:
        if inc.get("state") in _CLOSED:
            continue
        for aid in dict.fromkeys(str(a) for a in inc.get("assets") or []):
            s = _score(inc, aid, table, dependencies, exposure, t, params)
            if aid not in out or s["R"] > out[aid]["R"]:
                out[aid] = {"R": s["R"], "T": s["T"], "V": s["V"], "C": s["C"],
                            "priority": priority(s["R"], thresholds=params.thresholds),
                            "incident": inc.get("id")}
    return out
