"""``concert_exit``: at ``at_s`` the audience leaves the venue's entrances within ``egress_s`` and walks off
as members of the crowd, every crowd event of theirs tagged; no attack (Helsinki twin)."""

from __future__ import annotations

import numpy as np

from agents.crowd import Crowd
from agents.lookalikes.concert import ConcertExit
from tests._lookalikes import play


def test_the_audience_leaves_at_once_through_the_entrances(helsinki):
    crowd = Crowd(helsinki, rng=np.random.default_rng(5))
    p = play(helsinki, "concert_exit", until=260.0, crowd=crowd, frames=False, at_s=30.0, people=300,
             egress_s=120.0)
    look = p.look
    assert look.venue.name == "Helsingin tuomiokirkko"        # the biggest church: the Cathedral
    (ce,) = [r for r in p.truth if r["kind"] == "concert_exit"]
    assert ce["t"] == 30.0 and ce["people"] == 300 and ce["lookalike"] == "concert_exit"
    sp = [r for r in p.truth if r["kind"] == "spawned"]
    assert len(sp) == 300 and all(r["lookalike"] == "concert_exit" for r in sp)
    t = np.array([r["t"] for r in sp])
    assert t.min() >= 30.0 and t.max() <= 150.0 + 0.5
    ent = np.array([look.model.walk.node_xy(e) for e in look.entrances])
    xy = np.array([r["xy"] for r in sp])
    assert np.hypot(*(xy[:, None] - ent[None]).transpose(2, 0, 1)).min(axis=1).max() < 1.0
    assert len(look.entrances) == 3 and len({r["t"] for r in sp}) > 100
    arrived = [r for r in p.truth if r["kind"] == "arrived"]
    assert arrived and all(r["lookalike"] == "concert_exit" for r in arrived)


def test_other_crowd_events_stay_untagged(helsinki):
    crowd = Crowd(helsinki, rng=np.random.default_rng(5))
    crowd.add_population(200)
    p = play(helsinki, "concert_exit", until=60.0, crowd=crowd, frames=False, at_s=10.0, people=50,
             egress_s=20.0)
    tagged = [r for r in p.truth if r.get("lookalike")]
    other = [r for r in p.truth if not r.get("lookalike")]
    assert other and all(r["id"] < 200 for r in other if isinstance(r["id"], int))
    assert all(r["id"] >= 200 for r in tagged if r["kind"] == "spawned")


def test_a_venue_given_by_lonlat_and_nothing_without_a_crowd(helsinki):
    church = next(a for a in helsinki.assets if a.name == "Vanha kirkko")
    crowd = Crowd(helsinki, rng=np.random.default_rng(5))
    p = play(helsinki, "concert_exit", until=5.0, crowd=crowd, frames=False, lonlat=list(church.lonlat),
             at_s=1.0, people=10, egress_s=2.0)
    assert p.look.venue.id == church.id
    q = play(helsinki, "concert_exit", until=5.0, frames=False, at_s=1.0)
    assert q.look.venue is None and q.truth == [] and isinstance(q.look, ConcertExit)
