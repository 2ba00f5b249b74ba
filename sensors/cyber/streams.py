"""The cameras' RTSP streams to ``vms``: one long session per camera, cut and re-opened by attacks; and what
the network does to each stream at an instant (``CameraLink``, read by the cameras)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sensors.cyber.flows import FlowTable, make_uids
from sensors.cyber.syslog import format_syslog
from sensors.cyber.topology import NetIndex
from sensors.cyber.traffic import LogLines, TrafficParams, long_sessions, unanswered

__all__ = ["CameraLink", "camera_streams"]


class CameraLink(NamedTuple):
    """What the network does to one camera's stream at an instant (``CyberRange.camera_links``).

    The camera turns it into what the video server receives (``sensors.camera.stream``): frames, their
    rate and bitrate, lost and re-opened sessions. None of it is published as such.
    """

    #: ``ok``, ``degraded``, ``replayed`` or ``offline`` (the highest-priority attack window now).
    status: str
    #: False between a session break and its resume (the video server has no session with the camera).
    connected: bool
    #: Share of the frames that get through while ``degraded``; None: the camera's default.
    share: float | None
    #: Length (s) of the replay loop while ``replayed``, else 0.
    loop_s: float
    #: Seconds of its recent picture the camera must keep: the longest loop any attack will replay of it.
    keep_s: float
    #: The stream's nominal bitrate (kbit/s), as the range's traffic carries it; None: the camera's default.
    bitrate_kbps: float | None


def camera_streams(net: NetIndex, rng: np.random.Generator, params: TrafficParams, bitrate_Bps: np.ndarray,
                   breaks: list, run_end: float, epoch0: float) -> tuple[FlowTable, LogLines]:
    """Stream sessions (Zeek long-connection rows) plus the server's unanswered reconnects while cut, and the
    recorder's ``stream lost``/``stream restored`` lines in the ``vms`` syslog.

    ``breaks`` holds ``(cam_idx, t_break, state, t_resume, attack)``: the session of each listed camera ends
    at ``t_break`` with ``state`` and the next one starts at ``t_resume``.
    """
    n = len(net.cameras)
    T = float(run_end)
    first = rng.uniform(0.0, params.startup_s, n)
    cuts: dict[int, list] = {}
    for cams, tb, st, tr, _ in breaks:
        for c, b, r in zip(np.asarray(cams).tolist(), np.asarray(tb).tolist(), np.asarray(tr).tolist(),
                           strict=True):
            cuts.setdefault(c, []).append((b, st, r))
    plain = np.array([c for c in range(n) if c not in cuts], dtype=np.int64)
    cam = [plain]
    s0 = [first[plain]]
    s1 = [np.full(len(plain), T)]
    st = [np.full(len(plain), "S1", dtype=object)]
    retry_c, retry_t0, retry_t1 = [], [], []
    for c in sorted(cuts):                      # only cameras an attack touches: a handful of small lists
        s = first[c]
        for b, state, r in sorted(cuts[c]):
            if b > s:
                cam.append([c])
                s0.append([s])
                s1.append([b])
                st.append(np.array([state], dtype=object))
                retry_c.append(c)
                retry_t0.append(b)
                retry_t1.append(r)
            s = max(s, r)
        if s < T:
            cam.append([c])
            s0.append([s])
            s1.append([T])
            st.append(np.array(["S1"], dtype=object))
    cam = np.concatenate(cam).astype(np.int64)
    s0, s1, st = np.concatenate(s0), np.concatenate(s1), np.concatenate(st)
    vms = net.ip["vms"]
    sessions = long_sessions(rng, orig_h=vms, resp_h=net.cam_ip[cam], resp_p=554, service="rtsp", start=s0,
                             end=s1, state=st, rate_Bps=bitrate_Bps[cam], run_end=T,
                             thresholds=params.long_conn_s)
    # reconnect attempts every reconnect_s while the stream is down
    rc = np.asarray(retry_c, dtype=np.int64)
    t0, t1 = np.asarray(retry_t0, float), np.minimum(np.asarray(retry_t1, float), T)
    cnt = np.maximum(np.ceil((t1 - t0) / params.reconnect_s).astype(np.int64) - 1, 0)
    idx = np.repeat(np.arange(len(rc)), cnt)
    kk = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt) + 1
    t = t0[idx] + kk * params.reconnect_s
    m = len(t)
    retries = FlowTable.make(m, start=t, dur=0.0, orig_h=vms, orig_p=rng.integers(32768, 61000, m),
                             resp_h=net.cam_ip[rc[idx]], resp_p=554, proto="tcp", state="S0", history="S",
                             uid=make_uids(rng, m))
    unanswered(retries, np.ones(m, bool))
    return FlowTable.concat([sessions, retries]), _recorder_log(net, rng, breaks, T, epoch0)


def _recorder_log(net: NetIndex, rng: np.random.Generator, breaks: list, T: float, epoch0: float) -> LogLines:
    """What the video management software logs when a camera's stream drops and when it comes back."""
    logs = LogLines.empty()
    pid = int(rng.integers(900, 4000))
    why = {"RSTO": "no data for 5 s, connection aborted", "RSTR": "connection reset by peer"}
    for cams, tb, state, tr, _ in breaks:
        for c, b, r in zip(np.asarray(cams).tolist(), np.asarray(tb).tolist(), np.asarray(tr).tolist(),
                           strict=True):
            cid, ip = net.camera_ids[c], net.cam_ip[c]
            if b < T:
                logs.add(b, "vms", format_syslog(epoch0 + b, "vms", "vmsd", pid,
                         f"recorder: camera {cid} ({ip}:554) stream lost: {why.get(state, state)}",
                         facility="local0", severity="warning"))
            if r < T:
                logs.add(r, "vms", format_syslog(epoch0 + r, "vms", "vmsd", pid,
                         f"recorder: camera {cid} ({ip}:554) stream restored after {r - b:.1f} s",
                         facility="local0", severity="notice"))
    return logs
