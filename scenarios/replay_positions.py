"""``positions.parquet``: where every person, vehicle and left object of a run is, sampled on a fixed period.

Why: a run records events and what cameras see, but not where the people are; ``run_sim.py replay`` draws
them from this table without re-simulating (``outputs.positions_every_s``, 0 writes none).

Columns: ``t`` (float32, simulated s, the k-th sample at ``k * every_s``), ``id`` (int64, the target id of
``agents.world.Targets``: crowd people below ``agents.model.ID_BASE``, everything else above), ``x``, ``y``
(float32, projected metres in the run's CRS, as every other file of the run; a UTM northing near 6.7e6 m is
thus held to 0.5 m, which a replay cannot show, for a quarter of the bytes of float64), ``role``
(dictionary-encoded string, one of ``ROLES``). Rows are in sample order, within a sample in the world's
target order. Street furniture (benches, bins) does not move and is left out; a sample with nobody in the
world has no rows.

Metadata (JSON texts): ``twin:table`` = ``positions``, ``twin:crs`` (e.g. ``"EPSG:32635"``: lon/lat are
derived with pyproj), ``twin:every_s``, ``twin:roles``. Written with pyarrow's ``ParquetWriter`` a row group
at a time (``GROUP_ROWS``), so memory stays bounded on long runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["GROUP_ROWS", "POSITIONS_FILE", "ROLES", "SCHEMA", "Positions", "PositionsWriter",
           "read_positions", "roles_of"]

#: The file's name in a run folder.
POSITIONS_FILE = "positions.parquet"
#: What a target is: a crowd pedestrian, an attacker (person or vehicle), a responder unit, a harmless
#: look-alike's person (vendor, jogger, someone waiting at a stop), a vehicle of the road traffic, a left
#: object (a bag, an attacker's or a look-alike's).
ROLES = ("crowd", "attacker", "responder", "lookalike", "vehicle", "object")
CROWD, ATTACKER, RESPONDER, LOOKALIKE, VEHICLE_ROLE, OBJECT_ROLE = range(len(ROLES))
SCHEMA = pa.schema([("t", pa.float32()), ("id", pa.int64()), ("x", pa.float32()), ("y", pa.float32()),
                    ("role", pa.dictionary(pa.int8(), pa.string()))])
_ENCODING = {"t": "BYTE_STREAM_SPLIT", "id": "DELTA_BINARY_PACKED", "x": "BYTE_STREAM_SPLIT",
             "y": "BYTE_STREAM_SPLIT"}
#: Rows per row group (a group is written once this many rows wait, and at the end).
GROUP_ROWS = 1 << 20


def roles_of(model: Any, targets: Any) -> np.ndarray:
    """The ``ROLES`` index (int8) of each of ``targets`` (an ``agents.world.Targets`` of ``model``, a
    ``agents.model.CityModel``): by who holds it, then by class; -1 for street furniture."""
    from agents.model import ID_BASE
    from agents.world import FURNITURE, VEHICLE

    ids, cls = targets.ids, targets.cls
    role = np.full(len(ids), LOOKALIKE, np.int8)
    crowd = ids < ID_BASE
    role[crowd] = CROWD
    # crowd rows a look-alike added (people waiting at stops, a concert's audience) are its people
    tagged = [rows for rows, tags in getattr(model, "_crowd_tags", ()) if "lookalike" in tags]
    if tagged:
        role[crowd & np.isin(ids, np.concatenate(tagged))] = LOOKALIKE
    role[~crowd & (cls == VEHICLE)] = VEHICLE_ROLE
    held = {ATTACKER: [], RESPONDER: []}
    for a in model.agents:
        code = {"attacker": ATTACKER, "responder": RESPONDER}.get(getattr(a, "role", ""))
        if code is not None and getattr(a, "tid", None) is not None:
            held[code].append(int(a.tid))
    for code, tids in held.items():
        if tids:
            role[np.isin(ids, np.array(tids, np.int64))] = code
    if model.objects:   # a look-alike's object (a vendor's stall, luggage set down) stays a look-alike's
        left = [o for o, d in model.objects.items() if "lookalike" not in d.get("tags", {})]
        role[np.isin(ids, np.array(left, np.int64))] = OBJECT_ROLE
    role[cls == FURNITURE] = -1
    return role


class PositionsWriter:
    """Writes ``positions.parquet`` sample by sample (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, *, every_s: float, crs: str) -> None:
        self.path, self.every_s, self.crs = Path(path), float(every_s), str(crs)
        self._w = pq.ParquetWriter(self.path, SCHEMA, compression="zstd", compression_level=6,
                                   use_dictionary=["role"], column_encoding=_ENCODING)
        self._parts: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
        self._rows = 0
        self.samples = 0

    def add(self, t: float, ids: np.ndarray, xy: np.ndarray, roles: np.ndarray) -> None:
        """One sample at simulated time ``t``: the targets' ids, ground positions (N, 2) and ``ROLES`` codes
        (rows with a negative code are left out)."""
        keep = roles >= 0
        self._parts.append((float(t), ids[keep].astype(np.int64), np.asarray(xy, float)[keep],
                            roles[keep].astype(np.int8)))
        self._rows += int(keep.sum())
        self.samples += 1
        if self._rows >= GROUP_ROWS:
            self._flush()

    def sample(self, t: float, model: Any, targets: Any) -> None:
        """Add the sample of ``targets`` (the world at ``t``) of ``model``, their roles from ``roles_of``."""
        self.add(t, targets.ids, targets.xy, roles_of(model, targets))

    def _flush(self) -> None:
        if not self._parts:
            return
        sizes = [len(p[1]) for p in self._parts]
        xy = np.concatenate([p[2] for p in self._parts]).reshape(-1, 2)
        role = pa.DictionaryArray.from_arrays(np.concatenate([p[3] for p in self._parts]),
                                              pa.array(ROLES, pa.string()))
        table = pa.table({"t": np.repeat(np.array([p[0] for p in self._parts], np.float32), sizes),
                          "id": np.concatenate([p[1] for p in self._parts]),
                          "x": xy[:, 0].astype(np.float32), "y": xy[:, 1].astype(np.float32),
                          "role": role}, schema=SCHEMA)
        self._w.write_table(table, row_group_size=max(1, table.num_rows))
        self._parts, self._rows = [], 0

    def close(self) -> Path:
        """Write what waits, the metadata, and close the file; returns its path."""
        self._flush()
        meta = {"table": "positions", "crs": self.crs, "every_s": self.every_s, "roles": list(ROLES),
                "samples": self.samples}
        self._w.add_key_value_metadata({f"twin:{k}": json.dumps(v) for k, v in meta.items()})
        self._w.close()
        return self.path

    def abort(self) -> None:
        """Close and drop the partial file."""
        try:
            self._w.close()
        finally:
            self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Positions:
    """A run's ``positions.parquet`` in memory: the rows (in sample order) and where each sample starts."""

    t: np.ndarray          # float (S,), the sample times
    start: np.ndarray      # int (S + 1,), rows of sample k are start[k]:start[k + 1]
    ids: np.ndarray        # int64 (N,)
    xy: np.ndarray         # float (N, 2), metres
    role: np.ndarray       # int8 (N,), index into ``roles``
    roles: tuple[str, ...]
    crs: str | None
    every_s: float | None

    def at(self, t: float) -> slice:
        """The rows of the last sample at or before ``t`` (the first sample before it)."""
        k = int(np.searchsorted(self.t, float(t) + 1e-6, side="right")) - 1
        k = min(max(k, 0), len(self.t) - 1)
        return slice(int(self.start[k]), int(self.start[k + 1]))


def read_positions(path: str | os.PathLike, *, t_from: float | None = None,
                   t_to: float | None = None) -> Positions:
    """Read a ``positions.parquet`` (see the module docstring); with ``t_from``/``t_to`` only the samples
    from the last one at or before ``t_from`` to ``t_to`` (row groups outside are not read)."""
    pf = pq.ParquetFile(path)
    meta = {k.decode(): v.decode() for k, v in (pf.metadata.metadata or {}).items()}
    filters = []
    if t_from is not None:
        every = float(json.loads(meta.get("twin:every_s", "0")) or 0.0)
        filters.append(("t", ">=", float(np.float32(t_from - every - 1e-3))))
    if t_to is not None:
        filters.append(("t", "<=", float(np.float32(t_to + 1e-3))))
    table = pq.read_table(path, filters=filters or None, schema=SCHEMA) if filters else pf.read()
    t = table.column("t").to_numpy().astype(float)
    role_col = table.column("role").combine_chunks()
    if pa.types.is_dictionary(role_col.type):
        names = tuple(role_col.dictionary.to_pylist())
        codes = role_col.indices.to_numpy(zero_copy_only=False).astype(np.int8)
    else:
        names, inv = np.unique(role_col.to_numpy(zero_copy_only=False).astype(str), return_inverse=True)
        names, codes = tuple(names.tolist()), inv.astype(np.int8)
    # samples are contiguous runs of equal t
    edges = np.flatnonzero(np.diff(t)) + 1 if len(t) else np.zeros(0, int)
    start = np.concatenate([[0], edges, [len(t)]]).astype(np.int64)
    times = t[start[:-1]] if len(t) else np.zeros(0)
    xy = np.column_stack([table.column("x").to_numpy(), table.column("y").to_numpy()]).astype(float)
    every = meta.get("twin:every_s")
    return Positions(t=times, start=start if len(t) else np.zeros(1, np.int64),
                     ids=table.column("id").to_numpy().astype(np.int64), xy=xy, role=codes, roles=names,
                     crs=json.loads(meta["twin:crs"]) if "twin:crs" in meta else None,
                     every_s=json.loads(every) if every is not None else None)
