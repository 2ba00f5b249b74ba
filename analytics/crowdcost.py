"""What a sensed crowd costs a walker: Weidmann's fundamental diagram applied to walk-graph edges.

Walking speed at density rho (persons/m²) is Weidmann's (1993) ``v(rho) = v0 (1 - exp(-gamma (1/rho -
1/rho_max)))`` with ``v0`` = 1.34 m/s, ``gamma`` = 1.913 P/m², ``rho_max`` = 5.4 P/m² (the crowd model of the
simulator uses the same diagram, so an estimate and the walk it predicts agree). The penalty of a density is
``v0 / v(rho)``, the factor by which it lengthens the walk: 1 on an empty street, about 1.3 at 1 P/m², 2.2 at
2 P/m², capped at ``1 / min_speed_factor`` near the jam density so a jammed street stays passable at a cost.
A density also carries a flow: ``rho v(rho)`` persons per metre of width per second.

Densities come either per zone, ``{zone: rho}`` with the zones' polygons ``{zone: polygon}``, or per edge,
``{(u, v): rho}`` or ``{(u, v, key): rho}`` (also read for the reverse edge ``(v, u)`` when that has none).
Where zones overlap, a point takes the densest zone's density. An edge pays its zone's penalty on the part of
its length inside the zone; its mean density is the length-weighted mean along it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from analytics.graphgeo import EdgeTable, RecommendError, as_polygon

__all__ = ["DensityField", "WalkCostParams", "density_field", "density_penalty", "edge_costs", "edge_density",
           "line_densities", "specific_flow", "speed_factor"]


@dataclass(frozen=True, slots=True)
class WalkCostParams:
    """Weidmann's diagram and its floor.

    Parameters
    ----------
    v0_mps : free walking speed (default 1.34 m/s, Weidmann's mean).
    gamma : shape of the diagram (default 1.913 P/m²).
    rho_max : jam density (default 5.4 P/m²).
    min_speed_factor : the least ``v(rho)/v0`` (default 0.05: a jam multiplies a walk by at most 20).
    """

    v0_mps: float = 1.34
    gamma: float = 1.913
    rho_max: float = 5.4
    min_speed_factor: float = 0.05


def speed_factor(rho: np.ndarray | float, params: WalkCostParams = WalkCostParams()) -> np.ndarray:
    """``v(rho) / v0`` in ``[min_speed_factor, 1]``.

    >>> speed_factor(np.array([0.0, 1.0, 2.0])).round(3).tolist()
    [1.0, 0.79, 0.452]
    """
    rho = np.asarray(rho, dtype=float)
    with np.errstate(divide="ignore"):
        inv = np.where(rho > 0, 1.0 / np.maximum(rho, 1e-12), np.inf)
    f = -np.expm1(-params.gamma * (inv - 1.0 / params.rho_max))
    return np.clip(f, params.min_speed_factor, 1.0)


def density_penalty(rho: np.ndarray | float, params: WalkCostParams = WalkCostParams()) -> np.ndarray:
    """The factor a density multiplies walking time by: ``v0 / v(rho)`` (1 when empty)."""
    return 1.0 / speed_factor(rho, params)


def specific_flow(rho: np.ndarray | float, params: WalkCostParams = WalkCostParams()) -> np.ndarray:
    """Persons per metre of width per second at density ``rho``: ``rho v(rho)``.

    >>> round(float(specific_flow(1.0)), 3)
    1.058
    """
    rho = np.asarray(rho, dtype=float)
    return rho * params.v0_mps * speed_factor(rho, params)


@dataclass(frozen=True, slots=True)
class DensityField:
    """Sensed densities ready to apply: disjoint ``pieces`` (geometry, density) from zones, densest first, or
    ``per_edge`` densities keyed by ``(u, v)`` / ``(u, v, key)``."""

    pieces: tuple = ()
    per_edge: Mapping | None = None

    @property
    def empty(self) -> bool:
        return not self.pieces and not self.per_edge


def _density(value: Any, field: str) -> float:
    try:
        rho = float(value)
    except (TypeError, ValueError):
        raise RecommendError(f"{field}: density must be a number of persons/m², got {value!r}") from None
    if not math.isfinite(rho) or rho < 0:
        raise RecommendError(f"{field}: density must be finite and >= 0, got {value!r}")
    return rho


def density_field(densities: Mapping | None, zones: Mapping | None = None) -> DensityField:
    """Check ``densities`` (per zone or per edge, see the module docstring) and prepare them.

    Raises
    ------
    RecommendError
        A density that is not a finite number >= 0, a zone with no polygon in ``zones``, or keys that mix
        zone names and edges.
    """
    if not densities:
        return DensityField()
    tuple_keys = [isinstance(k, tuple) for k in densities]
    if all(tuple_keys):
        return DensityField(per_edge={k: _density(v, f"densities[{k!r}]") for k, v in densities.items()})
    if any(tuple_keys):
        raise RecommendError("densities: keys must be all zone names or all (u, v[, key]) edges")
    rows = []
    for name, value in densities.items():
        rho = _density(value, f"densities[{name!r}]")
        if zones is None or name not in zones:
            raise RecommendError(f"densities[{name!r}]: zone has no polygon in zones")
        if rho > 0:
            rows.append((-rho, str(name), as_polygon(zones[name], f"zones[{name!r}]")))
    pieces, covered = [], None
    for neg, _name, poly in sorted(rows, key=lambda r: (r[0], r[1])):
        piece = poly if covered is None else poly.difference(covered)
        covered = poly if covered is None else covered.union(poly)
        if not piece.is_empty and piece.area > 0:
            pieces.append((piece, -neg))
    return DensityField(pieces=tuple(pieces))


def edge_density(field: DensityField, u: Any, v: Any, k: Any) -> float:
    """The per-edge density of edge ``(u, v, k)``: its own, else its reverse's (0 if none is given)."""
    for key in ((u, v, k), (u, v), (v, u, k), (v, u)):
        if field.per_edge and key in field.per_edge:
            return field.per_edge[key]
    return 0.0


def line_densities(lines: np.ndarray, field: DensityField, *, tree: shapely.STRtree | None = None,
                   ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, float]]]:
    """For zone densities: each line's length-weighted mean density, and per piece the lines it crosses with
    the length inside it ``(line indices, lengths in m, density)``."""
    lines = np.asarray(lines, dtype=object)
    total = shapely.length(lines) if len(lines) else np.zeros(0)
    acc = np.zeros(len(lines))
    hits = []
    tree = tree if tree is not None else shapely.STRtree(lines)
    for piece, rho in field.pieces:
        idx = np.sort(tree.query(piece, predicate="intersects"))
        if not len(idx):
            continue
        inside = shapely.length(shapely.intersection(lines[idx], piece))
        keep = inside > 0
        idx, inside = idx[keep], inside[keep]
        np.add.at(acc, idx, inside * rho)
        hits.append((idx, inside, rho))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(total > 0, acc / np.where(total > 0, total, 1.0), 0.0)
    return mean, hits


def edge_costs(table: EdgeTable, field: DensityField, params: WalkCostParams = WalkCostParams(),
               ) -> tuple[np.ndarray, np.ndarray]:
    """Walking time (s) of every edge of ``table`` with the sensed crowd, and each edge's mean density.

    An edge of length L takes ``L / v0`` plus, for each part of length l inside a density rho,
    ``l (penalty(rho) - 1) / v0``; per-edge densities apply to the whole edge.
    """
    base = table.length / params.v0_mps
    if field.per_edge:
        rho = np.array([edge_density(field, *e) for e in table.edges], dtype=float)
        return base * density_penalty(rho, params), rho
    if not field.pieces:
        return base, np.zeros(len(table.edges))
    mean, hits = line_densities(table.lines, field, tree=table.tree)
    geom_len = shapely.length(table.lines)
    scale = np.where(geom_len > 0, table.length / np.where(geom_len > 0, geom_len, 1.0), 1.0)
    extra = np.zeros(len(table.edges))
    for idx, inside, rho in hits:
        extra[idx] += inside * scale[idx] * (float(density_penalty(rho, params)) - 1.0) / params.v0_mps
    return base + extra, mean
