"""Every build option in one frozen dataclass, with its default; the options are part of the cache key.

Options
-------
simplify : bool, default True
    Merge chains of degree-2 nodes into single edges with ``osmnx.simplify_graph`` (osmnx's default).
largest_component : bool, default True
    Keep only the largest strongly connected component (walk: weakly, since walk edges go both ways)
    so that every node can reach every other one.
default_height_m : float, default 9.0
    Height of a building with neither ``height`` nor ``building:levels`` (three storeys).
level_height_m : float, default 3.0
    Metres per ``building:levels`` storey.
switch_cell_m : float, default 400.0
    Side of the square grid cell that groups cameras onto one access switch.
max_cameras_per_switch : int, default 24
    A cell with more cameras gets more switches (cameras sorted by id, filled in order).
agg_cell_m : float, default 2000.0
    Side of the grid cell that groups access switches onto one aggregation switch.
max_switches_per_agg : int, default 16
    A cell with more switches gets more aggregation switches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["TwinOptions"]


@dataclass(frozen=True)
class TwinOptions:
    """How a twin is built (see the module docstring for every option)."""

    simplify: bool = True
    largest_component: bool = True
    default_height_m: float = 9.0
    level_height_m: float = 3.0
    switch_cell_m: float = 400.0
    max_cameras_per_switch: int = 24
    agg_cell_m: float = 2000.0
    max_switches_per_agg: int = 16

    def key(self) -> str:
        """A stable text form for the cache key."""
        return repr(sorted(asdict(self).items()))
