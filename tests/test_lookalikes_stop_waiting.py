"""``stop_waiting``: passengers walk to a tram or bus stop, stand there for minutes (until the next vehicle)
and vanish when it comes; others alight and walk away. Stops come from the twin's stop assets, else from
its main streets (Helsinki twin)."""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.lookalikes.sites import transit_stops
from agents.world import PERSON
from tests._lookalikes import play, track
from twin.model import Asset


def test_stops_fall_back_to_main_streets(helsinki):
    """A twin whose extract maps no stop gets stops along its main streets."""
    tw = dataclasses.replace(helsinki, assets=[a for a in helsinki.assets if a.type != "stop"])
    stops, source = transit_stops(tw)
    assert source == "main_streets" and len(stops) >= 5
    xy = np.array([s.xy for s in stops])
    d = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    assert d[np.triu_indices(len(xy), 1)].min() > 200.0          # spaced out along the streets


def test_stop_assets_are_used_when_the_twin_has_them(helsinki):
    a = next(x for x in helsinki.assets if x.type == "square")
    stop = Asset(id="n1", type="tram_stop", name="Test stop", xy=a.xy, lonlat=a.lonlat, capacity=50,
                 node=a.node, tags={"railway": "tram_stop"})
    platform = dataclasses.replace(stop, id="n2", type="square", xy=(a.xy[0] + 5, a.xy[1]), tags={
        "public_transport": "platform"})
    others = [x for x in helsinki.assets if x.type != "stop"]    # the extract's own stops left out
    tw = dataclasses.replace(helsinki, assets=[*others, stop, platform])
    stops, source = transit_stops(tw)
    assert source == "assets" and [s.name for s in stops] == ["Test stop"]   # the platform is the same stop
    p = play(tw, "stop_waiting", until=400.0, frames=False)
    assert {r["stop_name"] for r in p.truth if r["kind"] == "waiting"} == {"Test stop"}
    stops, source = transit_stops(helsinki)      # the embedded extract maps its tram and bus stops
    assert source == "assets" and len(stops) >= 20 and "Kauppatori" in {s.name for s in stops}


def test_passengers_wait_for_minutes_then_board(helsinki):
    p = play(helsinki, "stop_waiting", until=900.0)
    recs = p.mine()
    waiting = {r["id"]: r for r in recs if r["kind"] == "waiting"}
    boarded = {r["id"]: r for r in recs if r["kind"] == "boarded"}
    both = sorted(set(waiting) & set(boarded))
    waits = np.array([boarded[i]["t"] - waiting[i]["t"] for i in both])
    assert len(both) > 50
    assert waits.min() >= 0 and waits.max() <= 300.0 + 20.0 + 1e-6
    assert 100.0 < waits.mean() < 200.0                        # half a 300 s headway on average
    i = max(both, key=lambda k: boarded[k]["t"] - waiting[k]["t"])
    ts, xy, v = track(p.frames, i)
    still = (ts >= waiting[i]["t"] + 0.5) & (ts <= boarded[i]["t"])
    assert still.sum() > 100 and (v[still] == 0).all()
    assert np.hypot(*(xy[still] - xy[still][0]).T).max() == 0.0
    assert ts.max() <= boarded[i]["t"] + 0.5                    # gone with the vehicle


def test_alighting_passengers_walk_away(helsinki):
    p = play(helsinki, "stop_waiting", until=400.0)
    alight = [r for r in p.mine() if r["kind"] == "spawned" and r.get("alighted")]
    assert alight
    left = {r["id"]: r for r in p.mine() if r["kind"] == "left"}
    r = next(a for a in alight if a["id"] in left)
    ts, xy, v = track(p.frames, r["id"])
    assert np.isclose(v[1:-1], 1.3).mean() > 0.5 and np.hypot(*(xy[-1] - xy[0])) > 10.0
    assert all(x["lookalike"] == "stop_waiting" for x in p.truth)
    assert all((tg.cls == PERSON).all() for _, tg in p.frames)


def test_no_record_before_its_time(helsinki):
    p = play(helsinki, "stop_waiting", until=300.0, frames=False)
    ts = [r["t"] for r in p.truth]
    assert max(ts) <= 300.0 and min(ts) >= 0.0
