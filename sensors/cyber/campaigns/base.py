"""The cyber campaign base: one subclass per attack kind, each with its phases, effects and traffic.

A scenario's cyber entry is ``{kind, target, start_s=0, duration_s=300, src?, id?, ...}``; ``target`` is a
network node id (``vms``, ``soc``, a switch, a camera id) or one of the network's IPs; ``src`` is the
attacker (a node id or an IP; default: a deterministic external address).

A kind is one module: a ``Campaign`` subclass that names its ``kind``, its ``phases`` (each with its MITRE
ATT&CK technique id), the alert kinds that count as detecting it (``detected_by``) and its scenario entry
(``Params``, a frozen dataclass extending ``CampaignParams``; field metadata as in ``scenarios.specs``), and
implements ``traffic`` (its flows, syslog lines and phase windows), optionally ``effects`` (hosts that stop
answering, broken streams, camera states) and ``target_problem`` (which nodes it can aim at). Defining the
subclass registers it (``CAMPAIGNS``).
"""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from sensors.cyber.errors import CyberError
from sensors.cyber.flows import FlowTable
from sensors.cyber.topology import OPEN_PORTS, NetIndex
from sensors.cyber.traffic import LogLines, TrafficParams
from twin.registry import Registry

__all__ = ["CAMPAIGNS", "OPEN_PORTS", "Campaign", "CampaignContext", "CampaignParams", "Effects",
           "attack_traffic", "external_ips", "make_campaigns", "status_code", "technique"]

#: Every cyber attack kind: name -> ``Campaign`` subclass, in definition order.
CAMPAIGNS: Registry[type[Campaign]] = Registry("cyber campaign kind")

_EXT_FIRST = (5, 31, 37, 45, 46, 62, 77, 80, 89, 91, 93, 103, 109, 141, 176, 178, 185, 188, 193, 194, 195,
              212)
_STATUS_CODE = {"ok": 0, "degraded": 1, "replayed": 2, "offline": 3}


@dataclass(frozen=True)
class CampaignParams:
    """The fields of every cyber attack entry; a kind's ``Params`` adds its own after them."""

    target: str = field(metadata={"doc": "network node: vms, soc, an access switch or a camera id"})
    id: str | None = field(default=None, metadata={
        "doc": "label in the ground truth; default <kind>-<index>"})
    start_s: float = field(default=0.0, metadata={"ge": 0, "doc": "when the attack starts (s)"})
    duration_s: float = field(default=300.0, metadata={"gt": 0, "doc": "how long it lasts (s)"})
    src: str | None = field(default=None, metadata={
        "doc": "attacker: a network node or an IP; default external"})


@dataclass
class Effects:
    """What the attacks do to the network: unanswered windows, broken streams and camera states.

    ``windows`` entries are ``(cam_idx, t0, t1, status, attack index[, arg])``: ``status`` is what reaches the
    video server from those cameras in ``[t0, t1)`` (``status_code``): ``degraded`` (a congested link: the
    share ``arg`` of the frames gets through; without it the camera's own default,
    ``sensors.camera.stream.DEGRADED_SHARE``), ``replayed`` (the attacker's loop
    of the camera's last ``arg`` seconds instead of the live picture) or ``offline`` (nothing). ``breaks`` are
    the video server's view of the RTSP sessions: the session ends at ``t_break`` and the next one opens at
    ``t_resume``.
    """

    outages: list = field(default_factory=list)    # (t0, t1, down_ips array, attack index)
    breaks: list = field(default_factory=list)     # (cam_idx, t_break, state, t_resume, attack index)
    windows: list = field(default_factory=list)    # (cam_idx, t0, t1, status, attack index[, arg])


@dataclass(frozen=True)
class CampaignContext:
    """What every campaign's traffic and effects are generated from (one per cyber range)."""

    net: NetIndex
    rng: np.random.Generator
    bitrate_Bps: np.ndarray        # per camera stream
    run_end: float
    epoch0: float
    traffic: TrafficParams


def external_ips(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` plausible public IPv4 addresses (attackers outside the city network)."""
    a = np.asarray(_EXT_FIRST)[rng.integers(0, len(_EXT_FIRST), n)]
    b = rng.integers(1, 255, (n, 3))
    return [f"{x}.{y}.{z}.{w}" for x, (y, z, w) in zip(a.tolist(), b.tolist(), strict=True)]


class Campaign(ABC):
    """One cyber attack of a run: its entry, its resolved target and source, its window."""

    #: Registry key and the ``kind`` of scenario entries this class plays (empty: not a kind).
    kind: ClassVar[str] = ""
    #: ``(phase, MITRE ATT&CK technique id)`` in order.
    phases: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Alert kinds that count as detecting this kind of attack (scoring).
    detected_by: ClassVar[frozenset[str]] = frozenset()
    #: The scenario entry this kind reads.
    Params: ClassVar[type[CampaignParams]] = CampaignParams
    #: True: without a given ``src`` its packets carry forged sources (the truth says "spoofed").
    spoofs_source: ClassVar[bool] = False
    #: Scoring window (``scenarios.detection``): from its first packet or the first camera it cuts (the first
    #: ``attack_flow`` or ``camera_status`` record) to the end of its last phase, plus ``grace_s`` (at most
    #: 60 s: detectors count flows over windows).
    observable_from: ClassVar[tuple[str, ...]] = ("attack_flow", "camera_status")
    grace_s: ClassVar[float] = 60.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            CAMPAIGNS.add(cls.kind, cls)

    def __init__(self, index: int, params: CampaignParams, *, target: Any, start: float, end: float,
                 src_ip: str, src_node: Any = None) -> None:
        self.index = index                 # position in the scenario's attacks list
        self.id = str(params.id or f"{self.kind}-{index}")
        self.params = params
        self.target = target               # network node id
        self.start, self.end = float(start), float(end)
        self.src_ip = src_ip
        self.src_node = src_node           # network node id when ``src`` names one
        self.src_given = params.src is not None   # False: the attacker's address was made up here

    @classmethod
    def target_problem(cls, net: NetIndex, target: Any) -> str | None:
        """Why ``target`` cannot be attacked by this kind (None: it can)."""
        return None

    def effects(self, k: int, ctx: CampaignContext, eff: Effects) -> None:
        """Add what this attack (index ``k`` among the run's campaigns) does to the network to ``eff``;
        by default nothing (the attack only adds traffic)."""
        return None

    @abstractmethod
    def traffic(self, k: int, ctx: CampaignContext) -> tuple[FlowTable, LogLines, list[tuple]]:
        """Its conn records (tagged ``attack=k`` and phase), syslog lines and ``(phase, t0, t1)`` windows."""


def technique(kind: str, phase: str) -> str:
    """The ATT&CK technique id of ``phase`` of attack ``kind``."""
    return dict(CAMPAIGNS[kind].phases)[phase]


def status_code(status: str) -> int:
    """Priority of a camera status when several attacks overlap (offline > replayed > degraded > ok)."""
    return _STATUS_CODE[status]


def _source(params: CampaignParams, net: NetIndex, rng: np.random.Generator, where: str):
    """``(ip, node)`` of the attacker: the node or IP ``src`` names, else a made-up external address."""
    if params.src is None:
        return external_ips(rng, 1)[0], None
    try:
        node = net.resolve(params.src, f"{where}.src")
        return net.ip[node], node
    except CyberError:
        try:
            return str(ipaddress.ip_address(str(params.src))), None
        except ValueError:
            raise CyberError(f"{where}.src: {params.src!r} is neither a network node nor an IP") from None


def make_campaigns(entries: list[tuple[int, str, CampaignParams]], net: NetIndex, rng: np.random.Generator,
                   run_end: float, report: Any = None) -> list[Campaign]:
    """The campaigns of ``entries`` (``(index in attacks, kind, params)``), targets and sources resolved.

    Problems that need the network (an unknown target or source, a target the kind cannot attack) go to
    ``report.error(path, message)`` when a report is given (the scenario's one report); without one, the
    first raises ``CyberError``.
    """
    out = []
    for i, kind, p in entries:
        where = f"attacks[{i}]"
        cls = CAMPAIGNS[kind]
        try:
            if p.start_s >= run_end:
                raise CyberError(f"{where}.start_s: {p.start_s:g} is not before the run end ({run_end:g} s)")
            target = net.resolve(p.target, f"{where}.target")
            why = cls.target_problem(net, target)
            if why is not None:
                raise CyberError(f"{where}.target: {why}")
            src_ip, src_node = _source(p, net, rng, where)
        except CyberError as exc:
            if report is None:
                raise
            path, _, msg = str(exc).partition(": ")
            report.error(path, msg)
            continue
        start = float(p.start_s)
        out.append(cls(i, p, target=target, start=start, end=min(start + float(p.duration_s), run_end),
                       src_ip=src_ip, src_node=src_node))
    return out


def _phase_truth(a: Campaign, net: NetIndex, phase: str, t0: float, t1: float, cameras: list[str]) -> dict:
    """``src``/``dst`` are addresses as a network feed shows them (a spoofed flood without ``src`` is
    "spoofed"); ``target`` is the node id, ``cameras`` the camera ids the attack takes offline, degrades or
    replays."""
    spoofed = a.spoofs_source and not a.src_given
    rec = {"t": round(t0, 6), "kind": "attack_phase", "attack": a.kind, "phase": phase, "id": a.id,
           "technique": technique(a.kind, phase), "src": "spoofed" if spoofed else a.src_ip,
           "dst": net.ip[a.target], "target": str(a.target), "t_end": round(t1, 6)}
    if cameras:
        rec["cameras"] = cameras
    xy = net.xy(a.target)
    if xy is not None:
        rec["xy"] = [xy[0], xy[1]]
    return rec


def attack_traffic(campaigns: list[Campaign], ctx: CampaignContext,
                   effects: Effects | None = None) -> tuple[FlowTable, LogLines, list[dict]]:
    """Every attack's flows (tagged with attack index and phase), syslog lines and ``attack_phase`` truth."""
    parts, logs, truth = [], LogLines.empty(), []
    hit: dict[int, list[str]] = {}
    for w in (effects.windows if effects else []):
        cams, k = w[0], w[4]
        hit.setdefault(k, []).extend(ctx.net.camera_ids[i] for i in np.asarray(cams).tolist())
    for k, a in enumerate(campaigns):
        ft, lines, phases = a.traffic(k, ctx)
        logs.extend(lines)
        parts.append(ft)
        cams = sorted(set(hit.get(k, [])))
        truth += [_phase_truth(a, ctx.net, ph, t0, t1, cams) for ph, t0, t1 in phases]
    return FlowTable.concat(parts), logs, truth
