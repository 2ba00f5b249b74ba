"""``street_vendors``: vendors and buskers stand at one pitch on a square for about an hour, a vendor with a
stall (furniture), a busker with an instrument case on the ground (an object); records tagged (Helsinki)."""

from __future__ import annotations

import numpy as np
import shapely

from agents.world import FURNITURE, OBJECT, PERSON
from tests._lookalikes import play, track


def test_about_one_per_hectare_of_square_at_any_time(helsinki):
    p = play(helsinki, "street_vendors", until=10.0, frames=False)
    area = sum(a.polygon.area for a in p.look.squares)
    present = [r for r in p.mine() if r["kind"] == "pitch_set_up"]
    expected = area / 1e4
    assert abs(len(present) - expected) < 4 * np.sqrt(expected) + 1
    assert {r["what"] for r in present} <= {"vendor", "busker"}


def test_performers_stand_for_the_session_with_stall_or_case(helsinki):
    p = play(helsinki, "street_vendors", until=120.0, per_hectare=10.0)
    recs = p.mine()
    setups = [r for r in recs if r["kind"] == "pitch_set_up"]
    squares = {a.id: a.polygon for a in p.look.squares}
    assert all(shapely.contains_xy(squares[r["place"]], *r["xy"]) for r in setups)
    assert all(1200.0 <= r["session_s"] <= 7200.0 for r in setups)
    r = setups[0]
    ts, xy, v = track(p.frames, r["id"])
    assert len(ts) == len(p.frames) and (v == 0).all() and np.hypot(*(xy - r["xy"]).T).max() < 1e-6
    cases = [x for x in recs if x["kind"] == "object_placed"]
    stalls = [x for x in recs if x["kind"] == "furniture_placed"]
    buskers = {x["id"] for x in setups if x["what"] == "busker"}
    assert {c["by"] for c in cases} == buskers and len(stalls) == len(setups) - len(buskers)
    gone = {x["id"] for x in recs if x["kind"] in ("furniture_removed", "object_removed")}
    tg = p.frames[-1][1]
    assert (tg.cls == FURNITURE).sum() == len([x for x in stalls if x["id"] not in gone])
    assert (tg.cls == PERSON).sum() >= len(setups) - len(gone)
    objs = p.model.individual_targets()
    assert (objs.cls == OBJECT).sum() == len([x for x in cases if x["id"] not in gone])
    spot = {s["id"]: np.array(s["xy"]) for s in setups}
    assert all(abs(np.hypot(*(np.array(c["xy"]) - spot[c["by"]])) - 1.0) < 0.01 for c in cases)


def test_sessions_end_and_things_go_with_their_owner(helsinki):
    p = play(helsinki, "street_vendors", until=1500.0, frames=False, per_hectare=5.0, session_s=600.0,
             session_sd_s=0.0, session_range_s=[600.0, 600.0])
    recs = p.mine()
    packed = [r for r in recs if r["kind"] == "pitch_packed_up"]
    removed = {r["id"]: r for r in recs if r["kind"] == "object_removed"}
    placed = [r for r in recs if r["kind"] == "object_placed"]
    assert packed and placed
    for r in placed:
        if r["id"] in removed:
            assert removed[r["id"]]["reason"] == "picked_up"
            done = next(x for x in packed if x["id"] == r["by"])
            assert removed[r["id"]]["t"] == done["t"]
    assert all(r["lookalike"] == "street_vendors" for r in p.truth)
    assert max(r["t"] for r in p.truth) <= 1500.0
