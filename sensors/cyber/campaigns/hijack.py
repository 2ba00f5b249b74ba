"""``stream_hijack``: the attacker seizes the RTSP sessions of the target camera (or of every camera behind a
switch or ``vms``): the server's session is reset (``hijack_control``, T0813 Denial of Control) and, once the
server has reconnected, it receives the attacker's replay instead of the live picture for the window
(``denial_of_view``, T0815 Denial of View).

The replay is a loop of the camera's own last ``loop_s`` seconds before the attack (recorded while the
attacker sat on the path), re-sent with new timestamps and frame numbers at the stream's own rate and
bitrate: to the video server it is a healthy stream after one brief reconnect. Only its content (the same
frames coming round again every ``loop_s``) gives it away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensors.cyber.campaigns.base import Campaign, CampaignContext, CampaignParams, Effects
from sensors.cyber.topology import SWITCH_KINDS
from sensors.cyber.traffic import LogLines, long_sessions

__all__ = ["StreamHijack"]


class StreamHijack(Campaign):
    """The target cameras' streams go to the attacker; the video server gets a replayed loop."""

    kind = "stream_hijack"
    phases = (("hijack_control", "T0813"), ("denial_of_view", "T0815"))
    #: The session reset is a real (brief) stream loss; the replay is found from the frames' content.
    detected_by = frozenset({"stream_loss", "video_replay", "video_frozen"})

    @dataclass(frozen=True)
    class Params(CampaignParams):
        loop_s: float = field(default=30.0, metadata={
            "gt": 0, "le": 120, "doc": "seconds of the camera's own recent picture the attacker loops"})

    @classmethod
    def target_problem(cls, net, target):
        kind = net.kind[target]
        if kind in ("camera", "vms") or kind in SWITCH_KINDS:
            return None
        return f"{target!r} ({kind}) carries no camera stream; use a camera, a switch or vms"

    def effects(self, k: int, ctx: CampaignContext, eff: Effects) -> None:
        rng = ctx.rng
        cams = ctx.net.cameras_behind(self.target)
        if len(cams):
            tb = self.start + rng.uniform(0.0, 0.5, len(cams))
            eff.breaks.append((cams, tb, "RSTR", tb + rng.uniform(1.0, 3.0, len(cams)), k))
            t0, t1 = np.full(len(cams), self.start), np.full(len(cams), self.end)
            eff.windows.append((cams, t0, t1, "replayed", k, float(self.params.loop_s)))

    def traffic(self, k: int, ctx: CampaignContext):
        net, rng = ctx.net, ctx.rng
        cams = net.cameras_behind(self.target)
        n = len(cams)
        start = self.start + rng.uniform(0.0, 0.3, n)
        ft = long_sessions(rng, orig_h=self.src_ip, resp_h=net.cam_ip[cams], resp_p=554, service="rtsp",
                           start=start, end=np.full(n, self.end), state="SF", rate_Bps=ctx.bitrate_Bps[cams],
                           run_end=ctx.run_end, attack=k, phase="denial_of_view",
                           thresholds=ctx.traffic.long_conn_s)
        return ft, LogLines.empty(), [("hijack_control", self.start, self.start),
                                      ("denial_of_view", self.start, self.end)]
