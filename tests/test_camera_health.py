"""Camera health is what a video server sees (stream up/down, received fps and bitrate, reconnects), never
the camera's internal state; what reaches the server in each state (frozen, replayed loop, congested link,
offline)."""

from __future__ import annotations

import numpy as np
import pytest
from _physical_sensors import X0, Y0, people

from agents.world import WorldView
from sensors.camera import Camera, CameraConfig
from sensors.camera.stream import DEFAULT_BITRATE_KBPS, HEALTH_PERIOD_S, STALL_S
from sensors.cyber.streams import CameraLink

HEALTH_KEYS = {"camera_id", "t", "stream", "fps", "bitrate_kbps", "reconnects"}
INTERNAL = {"ok", "offline", "frozen", "degraded", "moved", "replayed"}


def cam(fps: float = 5.0) -> Camera:
    cfg = CameraConfig(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=10.0, hfov_deg=60.0, fps=fps,
                       bbox_noise=0.03, fp_per_frame=0.0, miss_rate=0.0)
    return Camera("c1", cfg, rng=np.random.default_rng(0))


def link(status="ok", *, connected=True, share=None, loop_s=0.0, keep_s=0.0, kbps=3000.0) -> CameraLink:
    return CameraLink(status, connected, share, loop_s, keep_s, kbps)


def play(c: Camera, n: int, t0: float = 0.0, *, crowd=None, plan=None) -> list[tuple[str, dict]]:
    """``n`` frames from ``t0``; ``plan(t)`` may change the camera (status, link) before each frame."""
    crowd = crowd if crowd is not None else people(np.column_stack([X0 + np.linspace(-6, 6, 8),
                                                                      np.full(8, Y0 + 20)]))
    out = []
    for k in range(n):
        t = t0 + k / c.config.fps
        if plan is not None:
            plan(c, t)
        out += list(c.measure(WorldView(t, crowd)))
    return out


def health(msgs):
    return [p for topic, p in msgs if topic == "camera/health"]


def frames(msgs):
    return [p for topic, p in msgs if topic == "camera/frame"]


@pytest.mark.parametrize("status", ["ok", "frozen", "moved", "replayed", "degraded", "offline"])
def test_health_carries_only_what_the_video_server_sees(status):
    """Whatever the camera's state, its health records have the same six fields and no state name."""
    c = cam()
    c.vms.set_link(link(loop_s=10.0, keep_s=10.0))

    def plan(cam_, t):
        if t >= 20.0 and cam_.status != status:
            cam_.set_status(status)

    hs = health(play(c, 300, plan=plan))
    assert hs and all(set(h) == HEALTH_KEYS for h in hs)
    assert all(h["stream"] in ("up", "down") and not set(map(str, h.values())) & INTERNAL for h in hs)
    last = hs[-1]
    if status in ("ok", "frozen", "moved", "replayed"):     # these look healthy to the server
        assert [h["stream"] for h in hs] == ["up"] * len(hs) and len(hs) == 1 + 59.8 // HEALTH_PERIOD_S
        assert last["fps"] == 5.0 and last["bitrate_kbps"] == 3000.0 and last["reconnects"] == 0
    elif status == "degraded":                              # a congested link: half the frames
        assert last["stream"] == "up" and last["fps"] == 2.5 and last["bitrate_kbps"] == 1500.0
    else:                                                    # offline: down after the stall timeout
        down = [h for h in hs if h["stream"] == "down"]
        assert down[0]["t"] == pytest.approx(19.8 + STALL_S) and last["fps"] == 0.0


def test_first_frame_opens_the_stream_and_periodic_records_follow():
    c = cam()
    hs = health(play(c, 101))
    assert [(h["t"], h["stream"], h["fps"], h["bitrate_kbps"], h["reconnects"]) for h in hs] == [
        (0.0, "up", 5.0, DEFAULT_BITRATE_KBPS, 0), (10.0, "up", 5.0, DEFAULT_BITRATE_KBPS, 0),
        (20.0, "up", 5.0, DEFAULT_BITRATE_KBPS, 0)]


def test_session_cut_and_reconnect():
    """A cut session is down at once; the next frame re-opens it (one reconnect); fps counts the new
    session only."""
    c = cam()

    def plan(cam_, t):
        cam_.vms.set_link(link(connected=not 12.0 <= t < 14.0))

    msgs = play(c, 100, plan=plan)
    hs = health(msgs)
    changes = [(h["t"], h["stream"], h["reconnects"]) for h in hs if h["t"] not in (0.0, 10.0)]
    assert changes == [(12.0, "down", 0), (14.0, "up", 1)]
    ts = [f["t"] for f in frames(msgs)]
    assert len(ts) == 100 - 10 and not [t for t in ts if 12.0 <= t < 14.0]
    again = health(play(c, 31, t0=20.0))
    assert again[0]["t"] == 20.0 and again[0]["fps"] == 5.0     # 6 s of session: 30 frames + 1 in 6.2 s


def test_frozen_stream_repeats_one_frame_and_replay_loops_the_recorded_past():
    c = cam()
    c.vms.set_link(link(keep_s=4.0))
    live = frames(play(c, 50))                    # 10 s live; the camera keeps its last 4 s (20 frames)
    c.set_status("frozen")
    frozen = frames(play(c, 10, t0=10.0))
    assert all(f["detections"] == live[-1]["detections"] for f in frozen)
    assert [f["frame"] for f in frozen] == list(range(51, 61)) and frozen[0]["t"] == 10.0
    c.set_status("ok")
    live2 = frames(play(c, 25, t0=12.0))          # 5 s live again
    c.vms.set_link(link("replayed", loop_s=4.0, keep_s=4.0))
    c.set_status("replayed")
    rep = frames(play(c, 45, t0=17.0))
    loop = [f["detections"] for f in live2[-20:]]
    assert [f["detections"] for f in rep] == (loop * 3)[:45]      # the last 4 s, over and over
    assert [f["frame"] for f in rep] == list(range(86, 131)) and len({f["t"] for f in rep}) == 45
    assert c.last_truth.ids.tolist() == list(range(8))            # the truth stays the live scene


def test_degraded_share_thins_frames_evenly():
    c = cam(fps=4.0)
    c.set_status("degraded")
    c.vms.set_link(link("degraded", share=0.25))
    got = [f["frame"] for f in frames(play(c, 40))]
    assert got == list(range(4, 41, 4))


def test_camera_offline_from_the_start_opens_its_first_session_late():
    """A camera dead when the run starts is down at once; its first session is not a reconnect."""
    c = cam()
    c.set_status("offline")

    def plan(cam_, t):
        if t >= 8.0 and cam_.status == "offline":
            cam_.set_status("ok")

    hs = health(play(c, 60, plan=plan))
    assert [(h["t"], h["stream"], h["reconnects"]) for h in hs] == [(0.0, "down", 0), (8.0, "up", 0),
                                                                    (10.0, "up", 0)]
    assert hs[-1]["fps"] == 5.0     # 11 frames over 2.2 s of session
