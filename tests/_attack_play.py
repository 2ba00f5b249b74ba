"""Playing one attacker on the Kouvola twin for its test: the site, a typed scenario entry, and the run's
records and targets step by step (shared by the attacker kinds' tests)."""

from __future__ import annotations

import numpy as np

from agents.attackers import make_attacker
from agents.crowd import Crowd
from agents.model import CityModel
from scenarios.schema import parse_scenario
from twin import load_twin

DT = 0.5


def kouvola_site() -> tuple:
    """The Kouvola twin, its best-connected walk node (a street crossing in the centre) and that node's xy."""
    tw = load_twin("kouvola")
    at = min(tw.walk.degree, key=lambda kv: (-kv[1], str(kv[0])))[0]
    return tw, at, np.array([tw.walk.nodes[at]["x"], tw.walk.nodes[at]["y"]])


def spec(kind: str, **params) -> tuple[str, object]:
    """A scenario attack entry as the engine hands it over: its kind and typed params, defaults filled in."""
    extra = "".join(f", {k}: {v}" for k, v in params.items())
    text = f"city: kouvola\nattacks:\n  - {{kind: {kind}, at: x{extra}}}\n"
    (_, kind, p), = parse_scenario(text, filename="s.yaml").attacks()
    return kind, p


def play(site, entry: tuple[str, object], *, people: int = 0, until: float = 400.0, seed: int = 2,
         crowd_seen: bool = False):
    """Run ``entry`` at the site's node (``people`` gathered there) for ``until`` s: the model, the attacker,
    the truth records and per step ``(t, individual targets)``, plus the crowd's targets with
    ``crowd_seen``."""
    tw, at, xy = site
    crowd = Crowd(tw, rng=np.random.default_rng(1))
    if people:
        crowd.add_gathering(at, people, arrive_s=(0, 0))
    model = CityModel(tw, rng=np.random.default_rng(seed), crowd=crowd)
    atk = make_attacker(model, *entry, at_node=at, at_xy=xy)
    truth, seen = [], []
    t = 0.0
    while t < until:
        model.advance(t, DT)
        t += DT
        truth += model.drain_truth()
        seen.append((t, model.individual_targets(), model.crowd.targets()) if crowd_seen
                    else (t, model.individual_targets()))
    return model, atk, truth, seen


def phases(truth, atk) -> list[tuple[str, float]]:
    return [(r["phase"], r["t"]) for r in truth if r["kind"] == "attack_phase" and r["id"] == atk.tid]
