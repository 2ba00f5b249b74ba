"""Cross-camera ground-track fusion (analytics.ground_tracks): people walking through overlapping and
separate camera views, with each camera's own track ids, ground noise and sigmas."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from analytics.base import Detector
from analytics.ground_assoc import assign, near_pairs, one_per_camera
from analytics.ground_tracks import GroundTrackParams, GroundTrackParamsError, GroundTrackStage
from analytics.pipeline import GROUND, AnalyticsPipeline

FPS = 5.0
WALK = 1.4  # m/s


def square(x0: float, x1: float, y0: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


#: Two cameras 15 m south of a street, looking north; their views overlap for x in [25, 35].
CAMS = {"cam-a": {"view": square(-5, 35, -12, 12), "xy": [15.0, -15.0]},
        "cam-b": {"view": square(25, 65, -12, 12), "xy": [45.0, -15.0]}}


def walk(x0: float, y: float, n: int, *, speed: float = WALK, dy: float = 0.0) -> list[tuple[float, float]]:
    return [(x0 + speed * k / FPS, y + dy * k / FPS) for k in range(n)]


def frames(people: dict[int, list], seen: dict[str, tuple], *, ids: dict | None = None, noise: float = 0.3,
           sigma: float = 0.35, seed: int = 0, cls: str = "person") -> list[dict]:
    """``track/frame`` messages: camera ``c`` reports person ``p`` at step ``k`` while the person is inside
    ``seen[c]`` (x0, x1, y0, y1) as track ``c:ids[(c, p)]``, with Gaussian noise of ``noise`` m (more along
    the camera's ray) and ``xy_sigma`` ``sigma``."""
    rng = np.random.default_rng(seed)
    steps = max(len(p) for p in people.values())
    out = []
    for k in range(steps):
        for cam, (x0, x1, y0, y1) in sorted(seen.items()):
            tid, xy = [], []
            for pid, path in sorted(people.items()):
                if k >= len(path) or path[k] is None:
                    continue
                x, y = path[k]
                if x0 <= x <= x1 and y0 <= y <= y1:
                    tid.append(f"{cam}:{(ids or {}).get((cam, pid), pid)}")
                    xy.append([x + rng.normal(0, 0.6 * noise), y + rng.normal(0, noise)])
            out.append({"t": k / FPS, "topic": "track/frame", "camera_id": cam, "frame": k + 1, "ids": tid,
                        "cls": [cls] * len(tid), "bbox": None, "xy": np.array(xy).reshape(-1, 2),
                        "xy_sigma": np.full(len(tid), sigma)})
    return out


def seen_all(cams: dict) -> dict[str, tuple]:
    out = {}
    for c, v in cams.items():
        xs, ys = [p[0] for p in v["view"]], [p[1] for p in v["view"]]
        out[c] = (min(xs), max(xs), min(ys), max(ys))
    return out


def run(msgs: list[dict], cams: dict = CAMS, params: GroundTrackParams | None = None) -> list[dict]:
    stage = GroundTrackStage(params, views=cams)
    out = [g for m in msgs for g in stage.update(m)]
    return out + stage.flush()


def gid_of(out: list[dict]) -> dict[str, set[str]]:
    """Camera track -> the global ids it was listed under."""
    res: dict[str, set[str]] = {}
    for m in out:
        for g, mem in zip(m["ids"], m["members"], strict=True):
            for k in mem:
                res.setdefault(k, set()).add(g)
    return res


def together(out: list[dict]) -> set[tuple[str, str]]:
    """Pairs of camera tracks ever listed in one global track."""
    return {tuple(sorted(p)) for m in out for mem in m["members"] for p in itertools.combinations(mem, 2)}


def test_one_person_through_the_overlap_is_one_global_track() -> None:
    n = int(70 / WALK * FPS)                            # x from 0 to 70 m: A, both, B, then out of view
    msgs = frames({1: walk(0.0, 1.0, n)}, seen_all(CAMS), ids={("cam-a", 1): 4, ("cam-b", 1): 9})
    out = run(msgs)
    assert gid_of(out) == {"cam-a:4": {"g1"}, "cam-b:9": {"g1"}}
    both = [m for m in out if m["members"] == [["cam-a:4", "cam-b:9"]]]
    # in the overlap (x 25..35 m: 7.1 s, 36 instants) both are members from the 3rd instant that links them,
    # and A's last point stands for its track for max_age_s (0.6 s, 3 instants) after A lost him
    assert 34 - 2 <= len(both) <= 34 + 3
    assert all(m["cameras"] == [["cam-a", "cam-b"]] for m in both)
    # the fused point is tighter than either camera's (0.35 m along a ray each, rays 40-50 degrees apart)
    assert all(m["xy_sigma"][0] < 0.35 for m in both)
    true_x = [m["t"] * WALK for m in both]
    err = np.hypot(np.array([m["xy"][0][0] for m in both]) - true_x, [m["xy"][0][1] - 1.0 for m in both])
    assert err.mean() < 0.3
    # after leaving A's view (x > 35 m) the person goes on as g1 through B alone
    late = [m for m in out if m["t"] * WALK > 36.0 and m["ids"]]
    assert late and all(m["ids"] == ["g1"] and m["members"] == [["cam-b:9"]] for m in late)


def test_handover_continues_the_global_id_across_a_gap() -> None:
    """A loses the walker at x = 30 m and B picks him up at x = 31.5 m, a second later: one global id."""
    n = int(60 / WALK * FPS)
    msgs = frames({1: walk(0.0, 0.0, n)}, {"cam-a": (-5, 30, -12, 12), "cam-b": (31.5, 65, -12, 12)})
    out = run(msgs)
    assert gid_of(out) == {"cam-a:1": {"g1"}, "cam-b:1": {"g1"}}
    assert together(out) == set()


def test_no_handover_when_too_far_or_too_late() -> None:
    n = int(60 / WALK * FPS)
    far = frames({1: walk(0.0, 0.0, n)}, {"cam-a": (-5, 26, -12, 12), "cam-b": (34, 65, -12, 12)})
    assert gid_of(run(far)) == {"cam-a:1": {"g1"}, "cam-b:1": {"g2"}}   # 8 m in 5.7 s: more than 3 s


@pytest.mark.parametrize("seed", range(4))
def test_two_people_side_by_side_stay_two_tracks(seed: int) -> None:
    n = int(70 / WALK * FPS)
    msgs = frames({1: walk(0.0, 0.0, n), 2: walk(0.0, 1.5, n)}, seen_all(CAMS), seed=seed,
                  ids={("cam-a", 1): 1, ("cam-a", 2): 2, ("cam-b", 1): 5, ("cam-b", 2): 6})
    out = run(msgs)
    g = gid_of(out)
    assert g["cam-a:1"] == g["cam-b:5"] and g["cam-a:2"] == g["cam-b:6"]
    assert len(g["cam-a:1"]) == 1 and g["cam-a:1"] != g["cam-a:2"]
    assert together(out) == {("cam-a:1", "cam-b:5"), ("cam-a:2", "cam-b:6")}
    assert all(len(m["ids"]) == 2 for m in out if 8 < m["t"] < 45)


def test_cameras_that_do_not_overlap_never_link() -> None:
    cams = {"cam-a": {"view": square(-5, 30, -12, 12), "xy": [15.0, -15.0]},
            "cam-c": {"view": square(30.5, 60, -12, 12), "xy": [45.0, -15.0]}}
    n = int(20 * FPS)
    # two people standing 0.6 m apart either side of the views' border, each seen by one camera only
    still = {1: [(29.9, 0.0)] * n, 2: [(30.5, 0.0)] * n}
    out = run(frames(still, {"cam-a": (-5, 30, -12, 12), "cam-c": (30.5, 60, -12, 12)}), cams)
    assert together(out) == set()
    assert all(len(m["ids"]) == 2 for m in out)
    # a walker leaving A and appearing in C a second later is not handed over: C does not overlap A
    walker = frames({1: walk(0.0, 0.0, int(60 / WALK * FPS))}, {"cam-a": (-5, 30, -12, 12),
                                                                 "cam-c": (31.5, 60, -12, 12)})
    assert gid_of(run(walker, cams)) == {"cam-a:1": {"g1"}, "cam-c:1": {"g2"}}


@pytest.mark.parametrize("instants", [1, 2])
def test_a_brief_coincidence_does_not_link(instants: int) -> None:
    """B's track of someone else meets A's walker for one or two instants (a spurious box, or its track
    jumping through him) and then goes on 6 m away: never linked, and A's global track is untouched."""
    n = int(20 / WALK * FPS)
    a_path = walk(20.0, 0.0, n)
    b_path = [(x + 1.0, y + 6.0) for x, y in a_path]
    k0 = 40
    for k in range(k0, k0 + instants):
        b_path[k] = (a_path[k][0] + 0.1, a_path[k][1] - 0.1)
    msgs = frames({1: a_path}, {"cam-a": (-5, 35, -12, 12)}, seed=3)
    b_msgs = frames({2: b_path}, {"cam-b": (25, 65, -12, 12)}, seed=4)
    msgs = sorted(msgs + b_msgs, key=lambda m: (m["t"], m["camera_id"]))
    out = run(msgs)
    assert together(out) == set()
    assert gid_of(out)["cam-a:1"] == {"g1"}


def test_same_camera_tracks_are_never_merged() -> None:
    """Camera A's tracker splits one walker into two tracks 0.3 m apart; B sees him once: the global
    track holds one track of each camera at any instant."""
    n = int(20 / WALK * FPS)
    p = walk(25.0, 0.0, n)
    twin = [(x + 0.3, y) for x, y in p]
    msgs = frames({1: p, 2: twin}, {"cam-a": (-5, 35, -12, 12)}, seed=5)
    msgs += frames({1: p}, {"cam-b": (25, 65, -12, 12)}, seed=6)
    out = run(sorted(msgs, key=lambda m: (m["t"], m["camera_id"])))
    for m in out:
        for cams in m["cameras"]:
            assert len(cams) == len(set(cams))
        for mem in m["members"]:
            assert len({k.rsplit(":", 1)[0] for k in mem}) == len(mem)
    assert ("cam-a:1", "cam-b:1") in together(out) or ("cam-a:2", "cam-b:1") in together(out)


def test_a_link_breaks_when_the_tracks_diverge() -> None:
    """B's track follows a stroller (0.5 m/s) for 6 s, then (an id switch) someone who turns away at
    1.5 m/s: the link breaks once they are a gate apart and B's track gets an id of its own; the stroller
    keeps g1."""
    n = int(12 * FPS)
    a_path = walk(25.0, 0.0, n, speed=0.5)
    turn = 30
    b_path = [a_path[k] if k < turn else (a_path[turn][0], 1.5 * (k - turn) / FPS) for k in range(n)]
    msgs = frames({1: a_path}, {"cam-a": (-5, 35, -12, 12)}, seed=7)
    msgs += frames({1: b_path}, {"cam-b": (25, 65, -12, 12)}, seed=8)
    out = run(sorted(msgs, key=lambda m: (m["t"], m["camera_id"])))
    linked = [m["t"] for m in out if ["cam-a:1", "cam-b:1"] in m["members"]]
    assert min(linked) <= 1.0 and turn / FPS < max(linked) < turn / FPS + 3.0
    late = [m for m in out if m["t"] >= max(linked) + 0.1]
    assert late and all(len(m["ids"]) == 2 for m in late)
    assert gid_of(out)["cam-a:1"] == {"g1"}
    b_ids = {g for m in late for g, mem in zip(m["ids"], m["members"], strict=True) if "cam-b:1" in mem}
    assert b_ids and "g1" not in b_ids


def test_deterministic_plain_json_without_nan() -> None:
    n = int(70 / WALK * FPS)
    people = {1: walk(0.0, 0.0, n), 2: walk(0.0, 1.5, n), 3: walk(65.0, -4.0, n, speed=-WALK)}
    msgs = frames(people, seen_all(CAMS), seed=11)
    a = json.dumps(run(msgs), allow_nan=False, sort_keys=True)
    b = json.dumps(run(msgs), allow_nan=False, sort_keys=True)
    assert a == b
    for m in json.loads(a):
        assert m["topic"] == "track/ground"
        assert all(math.isfinite(v) for xy in m["xy"] for v in xy)
        assert all(math.isfinite(s) and s > 0 for s in m["xy_sigma"])
        assert m["ids"] == sorted(m["ids"], key=lambda g: int(g[1:]))


def test_stale_points_a_calibration_and_empty_frames() -> None:
    """Calibration records give the views; a camera at 2 fps beside one at 5 fps: its points stand for
    the track between its frames, so the walker stays one track."""
    rec_a = {"t": 0.0, "topic": "camera/calibration", "camera_id": "cam-a", "xy": [0.0, 0.0],
             "resolution": [100, 100], "image_to_ground": [[0.2, 0.0, -10.0], [0.0, -0.2, 30.0], [0, 0, 1]]}
    rec_b = dict(rec_a, camera_id="cam-b", xy=[10.0, 0.0],
                 image_to_ground=[[0.2, 0.0, 0.0], [0.0, -0.2, 30.0], [0, 0, 1]])
    stage = GroundTrackStage()
    for rec in (rec_a, rec_b):
        stage.update(rec)
    assert stage.views.matrix.tolist() == [[False, True], [True, False]]
    n = int(26 / WALK * FPS)
    msgs = frames({1: walk(-8.0, 20.0, n)}, {"cam-a": (-10, 10, 10, 30), "cam-b": (0, 20, 10, 30)}, seed=2)
    msgs = [m for m in msgs if m["camera_id"] == "cam-a" or round(m["t"] * FPS) % 2 == 0]  # B: 2.5 fps
    msgs.insert(5, {"t": msgs[4]["t"], "topic": "track/frame", "camera_id": "cam-b", "ids": [], "cls": [],
                    "xy": None, "xy_sigma": None})
    out = [g for m in msgs for g in stage.update(m)] + stage.flush()
    assert gid_of(out) == {"cam-a:1": {"g1"}, "cam-b:1": {"g1"}}
    assert len(out) == n


def test_params_are_checked() -> None:
    with pytest.raises(GroundTrackParamsError, match="gate_chi2"):
        GroundTrackParams(gate_chi2=0.0)
    with pytest.raises(GroundTrackParamsError, match="confirm_n"):
        GroundTrackParams(confirm_n=0)
    with pytest.raises(GroundTrackParamsError, match="forget_s"):
        GroundTrackParams(max_age_s=5.0, forget_s=1.0)


def test_near_pairs_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (400, 2))
    i, j = near_pairs(xy, 6.0)
    d = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    bi, bj = np.nonzero(np.triu(d <= 6.0, 1))
    assert i.tolist() == bi.tolist() and j.tolist() == bj.tolist()


def test_one_per_camera_keeps_the_cheapest_consistent_pairs() -> None:
    # tracks 0, 1 of camera 0 and 2, 3 of camera 1: the crossed pairs are dearer
    cam = np.array([0, 0, 1, 1])
    i, j = np.array([0, 0, 1, 1]), np.array([2, 3, 2, 3])
    keep = one_per_camera(i, j, cam, np.array([1.0, 2.0, 2.5, 0.5]), 4.0)
    assert keep.tolist() == [True, False, False, True]
    assert assign(np.array([[1.0, 9.0]]), 3.0)[1].tolist() == [0]
    assert assign(np.array([[7.0]]), 3.0)[0].tolist() == []     # two misses (6) beat one dear pair (7)


class _Sink(Detector):
    topics = ("track/ground",)

    def __init__(self) -> None:
        self.got: list[dict] = []

    def update(self, msg: dict) -> list[dict]:
        self.got.append(msg)
        return []


def _camera_stream() -> list[dict]:
    """Calibrations and camera frames (boxes) of two cameras whose ground views overlap for x in [0, 10]:
    a walker at y = 20 m from x = -8 to 18 m."""
    recs = [{"t": 0.0, "topic": "camera/calibration", "camera_id": c, "xy": [x0 + 10.0, 0.0], "fps": FPS,
             "resolution": [100, 100], "image_to_ground": [[0.2, 0.0, x0], [0.0, -0.2, 30.0], [0, 0, 1]]}
            for c, x0 in (("cam-a", -10.0), ("cam-b", 0.0))]
    out = list(recs)
    for k in range(int(26 / WALK * FPS)):
        x = -8.0 + WALK * k / FPS
        for c, x0 in (("cam-a", -10.0), ("cam-b", 0.0)):
            u = (x - x0) / 0.2
            dets = [{"bbox": [u - 5.0, 20.0, 10.0, 30.0], "cls": "person", "conf": 0.9}] if 3 < u < 97 else []
            out.append({"t": k / FPS, "topic": "camera/frame", "camera_id": c, "frame": k + 1,
                        "detections": dets})
    return out


@pytest.mark.parametrize("batch", [False, True])
def test_pipeline_stage_publishes_track_ground(batch: bool) -> None:
    sink = _Sink()
    pipe = AnalyticsPipeline(detectors=[sink], ground_tracks=True, batch_frames=batch)
    for m in _camera_stream():
        pipe.push(m)
    pipe.flush()
    assert len(sink.got) == int(26 / WALK * FPS) and pipe.last_ground == sink.got[-1:]
    g = gid_of(sink.got)
    assert set(g) == {"cam-a:0", "cam-b:0"} and g["cam-a:0"] == g["cam-b:0"] == {"g1"}
    assert any(m["members"] == [["cam-a:0", "cam-b:0"]] for m in sink.got)
    assert pipe.error_report()["errors_by_detector"][GROUND] == 0


def test_pipeline_stage_is_off_by_default() -> None:
    sink = _Sink()
    pipe = AnalyticsPipeline(detectors=[sink])
    for m in _camera_stream():
        pipe.push(m)
    pipe.flush()
    assert pipe.ground is None and sink.got == [] and pipe.last_ground == []
    assert GROUND not in pipe.error_report()["errors_by_detector"]


def test_an_ambiguous_handover_is_not_taken() -> None:
    """Two tracks start in B beside where A's walker was lost: either could be him, neither continues g1."""
    n = int(40 / WALK * FPS)
    p1 = walk(0.0, 0.0, n)
    p2 = [None] * len(p1)
    for k in range(len(p1)):
        if p1[k][0] > 31.0:
            p2[k] = (p1[k][0], 1.2)      # someone B picks up at the same moment, 1.2 m to the side
    msgs = frames({1: p1, 2: p2}, {"cam-a": (-5, 30, -12, 12), "cam-b": (31.0, 65, -12, 12)}, seed=9)
    g = gid_of(run(msgs))
    assert g["cam-a:1"] == {"g1"} and "g1" not in g["cam-b:1"] | g["cam-b:2"]


@pytest.mark.parametrize("same", [False, True])
def test_handover_within_one_camera_only_when_asked(same: bool) -> None:
    """A's tracker loses the walker for 0.8 s and re-numbers him: a new global id, unless
    ``handover_same_camera``."""
    n = int(20 / WALK * FPS)
    path: list = walk(0.0, 0.0, n)
    msgs = frames({1: path}, {"cam-a": (-5, 35, -12, 12)}, ids={("cam-a", 1): 1})
    for m in msgs:
        if 5.0 < m["t"] < 5.8:
            m["ids"], m["cls"], m["xy"], m["xy_sigma"] = [], [], np.zeros((0, 2)), np.zeros(0)
        elif m["t"] >= 5.8:
            m["ids"] = [k.replace(":1", ":2") for k in m["ids"]]
    g = gid_of(run(msgs, params=GroundTrackParams(handover_same_camera=same)))
    assert g == ({"cam-a:1": {"g1"}, "cam-a:2": {"g1"}} if same else {"cam-a:1": {"g1"}, "cam-a:2": {"g2"}})
