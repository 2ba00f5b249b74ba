"""Playing one look-alike kind on a twin for its test: the model, the kind, its records and every frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import yaml

from agents.lookalikes import LOOKALIKE_KINDS
from agents.model import CityModel
from agents.world import Targets
from scenarios.schema import parse_scenario

__all__ = ["DT", "Play", "max_excess_step", "params", "play", "track"]

DT = 0.5


def params(key: str, **given):
    """The kind's typed ``Params`` as the engine hands them over (defaults filled in, ``given`` applied)."""
    text = yaml.safe_dump({"city": "helsinki", "lookalikes": {key: given}})
    return parse_scenario(text, filename="test.yaml").lookalikes()[key]


@dataclass
class Play:
    model: CityModel
    look: object
    truth: list[dict]
    frames: list[tuple[float, Targets]] = field(default_factory=list)

    def mine(self) -> list[dict]:
        """The records this look-alike made (tagged with its key)."""
        return [r for r in self.truth if r.get("lookalike") == self.look.key]


def play(twin, key: str, *, until: float = 300.0, seed: int = 3, crowd=None, frames: bool = True,
         **given) -> Play:
    """Run the look-alike ``key`` alone on ``twin`` (with ``crowd`` if given) for ``until`` seconds."""
    model = CityModel(twin, rng=np.random.default_rng(seed), crowd=crowd)
    look = LOOKALIKE_KINDS[key](model, params(key, **given), rng=np.random.default_rng(seed + 100))
    look.start(0.0)
    model.lookalikes.append(look)
    out = Play(model, look, model.drain_truth())
    t = 0.0
    while t < until - 1e-9:
        model.advance(t, DT)
        t += DT
        out.truth += model.drain_truth()
        if frames:
            out.frames.append((t, model.targets()))
    return out


def track(frames: list[tuple[float, Targets]], tid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times, positions (k, 2) and speeds of target ``tid`` over the frames it is in."""
    ts, xy, v = [], [], []
    for t, tg in frames:
        k = np.flatnonzero(tg.ids == tid)
        if len(k):
            ts.append(t)
            xy.append(tg.xy[k[0]])
            v.append(tg.speed[k[0]])
    return np.array(ts), np.array(xy).reshape(-1, 2), np.array(v)


def max_excess_step(frames: list[tuple[float, Targets]], cls: int | None = None) -> float:
    """The largest move of any target between two frames beyond what its speed explains (m)."""
    worst = 0.0
    for (_, a), (_, b) in zip(frames[:-1], frames[1:], strict=True):
        common, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
        if cls is not None:
            keep = a.cls[ia] == cls
            ia, ib = ia[keep], ib[keep]
        if not len(ia):
            continue
        d = np.hypot(*(a.xy[ia] - b.xy[ib]).T) - np.maximum(a.speed[ia], b.speed[ib]) * DT
        worst = max(worst, float(d.max()))
    return worst

