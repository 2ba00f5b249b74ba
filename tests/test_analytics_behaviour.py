"""Each behaviour detector fires on a constructed ground track and stays quiet on its control."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.behaviour import (
    AbandonedObjectDetector,
    RunningDetector,
    ZoneIntrusionDetector,
)
from analytics.loitering import LoiteringDetector, LoiteringParams

DT = 0.2  # 5 fps


def frames(tracks: dict[str, tuple[str, np.ndarray]], n: int, cam: str = "cam1"):
    """``tracks`` maps id -> (cls, (n, 2) positions); NaN rows mean the track is absent in that frame."""
    for k in range(n):
        ids = [i for i, (_, p) in tracks.items() if np.isfinite(p[k]).all()]
        yield {
            "t": k * DT,
            "topic": "track/frame",
            "camera_id": cam,
            "ids": [f"{cam}:{i}" for i in ids],
            "cls": [tracks[i][0] for i in ids],
            "xy": np.array([tracks[i][1][k] for i in ids]).reshape(-1, 2),
        }


def run(det, msgs):
    return [a for m in msgs for a in det.update(m)]


def line(start, velocity, n, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(start, float) + np.outer(np.arange(n) * DT, velocity) + rng.normal(0, noise, (n, 2))


def test_loitering_stander_vs_walker() -> None:
    n = int(400 / DT)
    rng = np.random.default_rng(1)
    stander = np.array([50.0, 50.0]) + np.cumsum(rng.normal(0, 0.05, (n, 2)), axis=0).clip(-4, 4)
    walker = line([0, 0], [1.3, 0.0], n)
    standers_too = LoiteringParams(min_speed_mps=0.0)  # the dwell alone (the movement test has its own)
    tracks = {"a": ("person", stander), "b": ("person", walker)}
    alerts = run(LoiteringDetector(standers_too), frames(tracks, n))
    assert len(alerts) == 1
    a = alerts[0]
    assert a["kind"] == "loitering" and a["evidence"]["track"] == "cam1:a" and a["t"] == 300.0
    assert np.hypot(a["xy"][0] - 50, a["xy"][1] - 50) < 5 and a["source"] == ["cam1"]


def test_loitering_circling_scout_across_an_id_switch() -> None:
    """A scout circling at 8 m (an anchor disc around the first position would restart every lap) whose
    track is re-numbered
    after a 3 s occlusion halfway is one loiterer at 300 s; a slow walker (0.5 m/s) through the same place
    is none."""
    n = int(400 / DT)
    ang = np.arange(n) * DT * 1.0 / 8.0  # 1 m/s on an 8 m circle
    circle = np.column_stack([50 + 8 * np.cos(ang), 50 + 8 * np.sin(ang)])
    cut, gap = int(150 / DT), int(3 / DT)
    first, second = circle.copy(), circle.copy()
    first[cut:] = np.nan
    second[: cut + gap] = np.nan
    slow = line([0, 45], [0.5, 0.0], n)
    tracks = {"a": ("person", first), "b": ("person", second), "w": ("person", slow)}
    alerts = run(LoiteringDetector(), frames(tracks, n))
    assert [a["evidence"]["track"] for a in alerts] == ["cam1:b"]
    assert alerts[0]["t"] == 300.0 and alerts[0]["evidence"]["dwell_s"] == 300.0
    assert np.hypot(*(np.array(alerts[0]["evidence"]["centre_xy"]) - 50)) < 2


def test_loitering_scout_whose_id_a_walker_carries_off_or_that_is_duplicated() -> None:
    """At 150 s a walker crossing the circling scout takes the scout's id away with it, and the tracker
    gives the scout a new id 1 s before: the new id inherits the area once the old one steps out of it
    (loitering at 300 s, not 450 s). Likewise when the scout's old track just dies 2 s after a duplicate
    started: the duplicate inherits the area at the next sweep."""
    n = int(400 / DT)
    ang = np.arange(n) * DT * 1.0 / 8.0
    circle = np.column_stack([50 + 8 * np.cos(ang), 50 + 8 * np.sin(ang)])
    cut = int(150 / DT)
    old, new = circle.copy(), circle.copy()
    old[cut:] = line(circle[cut], [1.4, 0.0], n - cut)  # carried off by the walker, east at 1.4 m/s
    new[: cut - int(1 / DT)] = np.nan
    alerts = run(LoiteringDetector(), frames({"a": ("person", old), "b": ("person", new)}, n))
    assert [a["evidence"]["track"] for a in alerts] == ["cam1:b"] and alerts[0]["t"] == 300.0
    old, new = circle.copy(), circle.copy()
    old[cut + int(2 / DT):] = np.nan
    new[:cut] = np.nan
    alerts = run(LoiteringDetector(), frames({"a": ("person", old), "b": ("person", new)}, n))
    assert [a["evidence"]["track"] for a in alerts] == ["cam1:b"] and 300.0 <= alerts[0]["t"] <= 312.0
    # without the takeover the new id would start its own clock: 149 + 300 s, past the run's end
    p = LoiteringParams(keep_s=1e9)
    old[cut:] = line(circle[cut], [1.4, 0.0], n - cut)
    new[cut - int(1 / DT):cut] = circle[cut - int(1 / DT):cut]
    assert run(LoiteringDetector(p), frames({"a": ("person", old), "b": ("person", new)}, n)) == []


def test_abandoned_bag_vs_attended_bag() -> None:
    n = int(150 / DT)
    bag = np.tile([10.0, 10.0], (n, 1))
    owner = np.full((n, 2), np.nan)
    owner[: int(20 / DT)] = [10.5, 10.0]  # owner stands by the bag for 20 s, then leaves
    owner[int(20 / DT) : int(30 / DT)] = line([10.5, 10.0], [1.3, 0], int(10 / DT))
    bag2 = np.tile([40.0, 10.0], (n, 1))
    minder = np.tile([41.0, 10.5], (n, 1))  # the second bag is attended all along
    tracks = {
        "bag": ("object", bag),
        "owner": ("person", owner),
        "bag2": ("object", bag2),
        "m": ("person", minder),
    }
    alerts = run(AbandonedObjectDetector(), frames(tracks, n))
    assert [(a["kind"], a["evidence"]["track"]) for a in alerts] == [("abandoned_object", "cam1:bag")]
    # owner is beyond 3 m from 21.8 s on (at 1.3 m/s from 20 s) -> unattended 60 s later
    assert 81.0 <= alerts[0]["t"] <= 82.5
    assert alerts[0]["evidence"]["owner"] == "cam1:owner"
    # in a crowd: strangers keep standing next to the bag after its owner walks away; it is still abandoned
    stranger = np.tile([11.0, 11.0], (n, 1))
    stranger[: int(25 / DT)] = np.nan  # arrives after the owner put the bag down
    alerts = run(AbandonedObjectDetector(), frames({**tracks, "s": ("person", stranger)}, n))
    assert [(a["evidence"]["track"], a["evidence"]["people_near"]) for a in alerts] == [("cam1:bag", 1)]
    # a bag that appears with nobody near has no owner: then any person nearby attends it
    ownerless = {"bag": ("object", bag), "s": ("person", stranger)}
    alerts = run(AbandonedObjectDetector(), frames(ownerless, n))
    assert alerts == []  # the stranger who stays by it from 25 s on is all the attendance it has


def test_abandoned_bag_renumbered_by_the_tracker_keeps_its_owner_and_clock() -> None:
    """The bag's track is lost at 40 s and the same bag comes back as a new track 2 s later: its owner
    (who left at 20 s) and its unattended clock carry over, so a stranger who passes it at 60 s does not
    reset it (ownerless, the new track would be attended by him); the alert comes at 81.8 s as without
    the re-numbering. The same bag re-found 40 s after it was lost (past forget_s) starts afresh."""
    n = int(150 / DT)
    bag, bag_b = np.tile([10.0, 10.0], (n, 1)), np.tile([10.2, 10.1], (n, 1))
    bag[int(40 / DT):] = np.nan
    bag_b[: int(42 / DT)] = np.nan
    owner = np.full((n, 2), np.nan)
    owner[: int(20 / DT)] = [10.5, 10.0]
    owner[int(20 / DT) : int(30 / DT)] = line([10.5, 10.0], [1.3, 0], int(10 / DT))
    passer = np.full((n, 2), np.nan)
    passer[int(50 / DT):] = line([0, 12], [1.0, 0], n - int(50 / DT))  # by the bag at about 60 s
    tracks = {"bag": ("object", bag), "bag_b": ("object", bag_b), "owner": ("person", owner),
              "p": ("person", passer)}
    alerts = run(AbandonedObjectDetector(), frames(tracks, n))
    got = [(a["evidence"]["track"], a["evidence"]["owner"]) for a in alerts]
    assert got == [("cam1:bag_b", "cam1:owner")]
    assert 81.0 <= alerts[0]["t"] <= 82.5
    bag_b[: int(80 / DT)] = np.nan  # back only after forget_s (30 s): a new object with nobody near
    alerts = run(AbandonedObjectDetector(), frames({**tracks, "bag_b": ("object", bag_b)}, n))
    assert [a["evidence"]["owner"] for a in alerts] == [None] and 139.8 <= alerts[0]["t"] <= 140.2


def test_running_single_and_dispersal_vs_walkers() -> None:
    n = int(20 / DT)
    walkers = {f"w{i}": ("person", line([0, 3 * i], [1.4, 0], n, noise=0.05, seed=i)) for i in range(6)}
    assert run(RunningDetector(), frames(walkers, n)) == []
    runner = {"r": ("person", line([0, 40], [5.0, 0], n, noise=0.05))}
    alerts = run(RunningDetector(), frames({**walkers, **runner}, n))
    assert len(alerts) == 1 and alerts[0]["evidence"]["track"] == "cam1:r"
    assert 4.5 < alerts[0]["evidence"]["speed_mps"] < 5.5 and not alerts[0]["evidence"]["dispersal"]
    # the same runner far from the camera, ground position uncertain by 1.5 m: 5 m/s is not 3 m/s + 2 sigma
    far = [{**m, "xy_sigma": np.full(len(m["ids"]), 1.5)} for m in frames(runner, n)]
    assert run(RunningDetector(), far) == []
    near = [{**m, "xy_sigma": np.full(len(m["ids"]), 0.2)} for m in frames(runner, n)]
    assert len(run(RunningDetector(), near)) == 1
    # dispersal: six people standing, then all running outwards at once
    k0 = int(5 / DT)
    crowd = {}
    for i in range(6):
        ang = 2 * np.pi * i / 6
        p = np.tile([100.0, 100.0], (n, 1))
        p[k0:] = line([100, 100], [4 * np.cos(ang), 4 * np.sin(ang)], n - k0)
        crowd[f"c{i}"] = ("person", p)
    alerts = run(RunningDetector(), frames(crowd, n))
    assert len(alerts) == 1 and alerts[0]["evidence"]["dispersal"] and alerts[0]["evidence"]["n_running"] == 6
    # they start at 5 s; the 2 s displacement passes the dispersal speed, 2 m/s, after 1 s, which must then
    # hold 2 s (a lone runner would need 3 m/s held 4 s: 10.5 s)
    assert 8.0 <= alerts[0]["t"] <= 8.4


def test_a_panicking_crowd_at_a_jog_is_a_dispersal_a_few_joggers_or_fast_walkers_are_not() -> None:
    """A panic moves a crowd at a fast jog (2.6 m/s here, tracks uncertain by 0.5 m), below the lone
    runner's 3 m/s: four people at once that fast is a dispersal; three are not, nor are eight brisk
    walkers at 1.8 m/s."""
    n = int(20 / DT)
    k0 = int(5 / DT)

    def crowd(count: int, speed: float) -> dict:
        out = {}
        for i in range(count):
            ang = 2 * np.pi * i / count
            p = np.tile([100.0, 100.0], (n, 1)) + [3 * np.cos(ang), 3 * np.sin(ang)]
            p[k0:] = line(p[0], [speed * np.cos(ang), speed * np.sin(ang)], n - k0, noise=0.05, seed=i)
            out[f"c{i}"] = ("person", p)
        return out

    sigma = lambda ms: [{**m, "xy_sigma": np.full(len(m["ids"]), 0.5)} for m in ms]  # noqa: E731
    alerts = run(RunningDetector(), sigma(frames(crowd(4, 2.6), n)))
    assert len(alerts) == 1 and alerts[0]["evidence"]["dispersal"] and alerts[0]["evidence"]["n_running"] == 4
    assert run(RunningDetector(), sigma(frames(crowd(3, 2.6), n))) == []
    assert run(RunningDetector(), sigma(frames(crowd(8, 1.8), n))) == []


def test_zone_intrusion_inside_vs_outside() -> None:
    n = int(30 / DT)
    zone = [[20, -5], [30, -5], [30, 5], [20, 5]]
    intruder = line([0, 0], [1.0, 0], n)  # enters x=20 at 20 s
    bystander = line([0, 10], [1.0, 0], n)  # walks past, 5 m north of the zone
    alerts = run(
        ZoneIntrusionDetector([zone]), frames({"i": ("person", intruder), "b": ("person", bystander)}, n)
    )
    assert len(alerts) == 1 and alerts[0]["evidence"]["track"] == "cam1:i"
    assert alerts[0]["evidence"]["zone"] == "restricted_0" and 21.0 <= alerts[0]["t"] <= 21.4
    assert run(ZoneIntrusionDetector(None), frames({"i": ("person", intruder)}, n)) == []


def test_running_needs_an_unbroken_run() -> None:
    """A walker whose track is lost for 1.6 s at a time and re-found 4 m on (a fast jump each time) has
    been "fast" for over 4 s counting from the first jump, but never for 4 s without a gap: no runner."""
    n = int(40 / DT)
    p = line([0, 0], [1.3, 0], n)
    p[:, 0] += 4.0 * (np.arange(n) // 15)  # jumps 4 m every 3 s
    p[np.arange(n) % 15 >= 7] = np.nan  # seen 1.4 s, lost 1.6 s
    assert run(RunningDetector(), frames({"w": ("person", p)}, n)) == []
    runner = line([0, 0], [4.0, 0], n)  # the same gaps for a real runner: each stretch is too short too
    runner[np.arange(n) % 15 >= 7] = np.nan
    assert run(RunningDetector(), frames({"r": ("person", runner)}, n)) == []
    runner = line([0, 0], [4.0, 0], n)
    runner[np.arange(n) % 5 == 4] = np.nan  # one frame in five missed: a 0.4 s gap is one run
    assert len(run(RunningDetector(), frames({"r": ("person", runner)}, n))) == 1


def test_zone_intrusion_a_still_false_detection_vs_an_intruder() -> None:
    """A "person" that is inside from its first sight and never moves (a poster, a mannequin) alerts only
    after static_inside_s (20 s); one seen walking in alerts after 1 s, even where the still one stands
    (episodes are 5 m apart), and a person seen first inside but moving alerts once it moved 1.5 m."""
    n = int(60 / DT)
    zone = [[20, -10], [40, -10], [40, 10], [20, 10]]
    poster = np.tile([30.0, 5.0], (n, 1))
    poster[int(12 / DT):] = np.nan  # there for 12 s
    assert run(ZoneIntrusionDetector([zone]), frames({"f": ("person", poster)}, n)) == []
    still = np.tile([30.0, 5.0], (n, 1))
    still[::7] = np.nan  # missed one frame in 7: gaps do not restart the 20 s
    alerts = run(ZoneIntrusionDetector([zone]), frames({"s": ("person", still)}, n))
    assert len(alerts) == 1 and 19.9 <= alerts[0]["t"] <= 20.3
    walker = line([10, -5], [1.0, 0], n)  # enters at x=20 after 10 s
    alerts = run(ZoneIntrusionDetector([zone]), frames({"s": ("person", still), "w": ("person", walker)}, n))
    assert [a["evidence"]["track"] for a in alerts] == ["cam1:w", "cam1:s"]
    assert 11.0 <= alerts[0]["t"] <= 11.4
    inside_walker = line([22, 0], [0.5, 0], n)  # first seen inside, walking: 1.5 m after 3 s
    alerts = run(ZoneIntrusionDetector([zone]), frames({"i": ("person", inside_walker)}, n))
    assert len(alerts) == 1 and 2.8 <= alerts[0]["t"] <= 3.2


def test_loitering_is_walking_about_not_standing() -> None:
    """Five minutes standing (box jitter 0.4 m: at an event, a stop, a stall) is no loitering; pacing a
    6 m beat at 0.6 m/s for five minutes is, at 300 s."""
    n = int(400 / DT)
    rng = np.random.default_rng(4)
    stander = np.array([50.0, 50.0]) + rng.normal(0, 0.4, (n, 2))
    k = np.arange(n) * DT * 0.6 % 12.0
    pacer = np.column_stack([10 + np.minimum(k, 12.0 - k), np.full(n, 10.0)]) + rng.normal(0, 0.2, (n, 2))
    alerts = run(LoiteringDetector(), frames({"s": ("person", stander), "p": ("person", pacer)}, n))
    assert [a["evidence"]["track"] for a in alerts] == ["cam1:p"] and alerts[0]["t"] == 300.0
    assert 0.4 <= alerts[0]["evidence"]["mean_speed_mps"] <= 0.8
    still_ok = LoiteringDetector(LoiteringParams(min_speed_mps=0.0))
    standers = run(still_ok, frames({"s": ("person", stander)}, n))
    assert len(standers) == 1  # with the movement test off, the stander loiters too


def test_abandoned_needs_an_object_seen_in_most_frames() -> None:
    """A bin that the detector calls a bag in a third of the frames (tracked in short stretches) is never
    an abandoned bag; the same bag seen in 9 frames of 10 is, after 60 s with nobody near."""
    n = int(120 / DT)
    flicker = np.tile([10.0, 10.0], (n, 1))
    flicker[(np.arange(n) // 5) % 3 != 0] = np.nan  # seen 1 s, missed 2 s
    assert run(AbandonedObjectDetector(), frames({"b": ("object", flicker)}, n)) == []
    mostly = np.tile([10.0, 10.0], (n, 1))
    mostly[np.arange(n) % 10 == 9] = np.nan
    alerts = run(AbandonedObjectDetector(), frames({"b": ("object", mostly)}, n))
    assert len(alerts) == 1 and 60.0 <= alerts[0]["t"] <= 60.4 and alerts[0]["evidence"]["seen_frac"] >= 0.85


def test_abandoned_bag_whose_id_moves_off_keeps_its_place() -> None:
    """At 40 s the bag's track id jumps 5 m onto another object and the bag comes back under a new id:
    the bag keeps its owner and clock (alert at 81.8 s, as without the switch)."""
    n = int(120 / DT)
    bag = np.tile([10.0, 10.0], (n, 1))
    bag[int(40 / DT):] = [15.0, 10.0]
    bag_b = np.tile([10.0, 10.0], (n, 1))
    bag_b[: int(41 / DT)] = np.nan
    owner = np.full((n, 2), np.nan)
    owner[: int(20 / DT)] = [10.5, 10.0]
    owner[int(20 / DT) : int(30 / DT)] = line([10.5, 10.0], [1.3, 0], int(10 / DT))
    minder = np.tile([16.0, 10.0], (n, 1))  # the other object is attended
    tracks = {"bag": ("object", bag), "bag_b": ("object", bag_b), "owner": ("person", owner),
              "m": ("person", minder)}
    alerts = run(AbandonedObjectDetector(), frames(tracks, n))
    got = [(a["evidence"]["track"], a["evidence"]["owner"]) for a in alerts]
    assert got == [("cam1:bag_b", "cam1:owner")] and 81.0 <= alerts[0]["t"] <= 82.5


def test_the_area_left_behind_is_the_area_as_it_was() -> None:
    """A track steps out of a 70-s dwell between two samples (sample_s 1 s, 5 fps): the area left behind
    holds the kept positions and their sums, not the unkept position outside."""
    from analytics.loitering import _Dwell

    d = _Dwell()
    for k in range(351):  # 70 s standing at the origin
        d.add(k * DT, 0.5 * np.cos(k), 0.5 * np.sin(k), 144.0, 1.0, 60.0)
    assert d.left is None
    d.add(351 * DT, 20.0, 0.0, 144.0, 1.0, 60.0)  # 0.2 s after the last sample: not kept
    left = d.left
    assert left is not None and len(left.pts) == 71 and left.pts[-1][0] == 70.0
    assert left.sx == pytest.approx(sum(p[1] for p in left.pts)) and left.sy == pytest.approx(
        sum(p[2] for p in left.pts))
