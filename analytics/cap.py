"""OASIS Common Alerting Protocol (CAP) 1.2 messages for incidents.

``cap_xml`` writes one CAP 1.2 ``<alert>`` for an incident dict (the shared incident contract: id, kind,
state, priority, confidence, lonlat, sigma_m, zone, risk, actions, ...; an optional ``place``, the name of
where it is, is used for the headline and the area's description before the zone id). ``CapPublisher``
decides when a message is due as incidents change: an Alert the first time an incident's risk R reaches the
threshold, an Update when what a recipient sees changes, and a Cancel or an all-clear Update at the end. Each
message's ``references`` lists every earlier message of the incident, so a recipient can follow the
thread from any one of them.

The producer rules come from the CAP 1.2 specification (OASIS Standard, 1 July 2010): identifier and
sender without spaces, commas, ``<`` or ``&`` (§3.2.1); ``sent``/``expires`` as dateTime with a numeric
offset, no "Z" and no fractions (§3.3.2, also the XSD's pattern); a polygon of >= 4 ``lat,lon`` pairs
whose first and last are equal, a circle ``lat,lon radius_km`` (§3.2.4). Elements go in the XSD's
sequence order. The code tables (category, urgency, severity, certainty, responseType) are module
constants with the spec's wording beside each choice.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from lxml import etree

__all__ = [
    "CAP_NS",
    "CATEGORY",
    "EVENT",
    "SEVERITY",
    "URGENCY",
    "CapError",
    "CapParams",
    "CapPublisher",
    "cap_area",
    "cap_certainty",
    "cap_time",
    "cap_xml",
    "response_types",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"

#: CAP ``<category>`` by incident kind. The spec's codes: "Security" - law enforcement, military, homeland
#: and local/private security; "Safety" - general emergency and public safety; "Infra" - utility,
#: telecommunication, other non-transport infrastructure; "CBRNE" - chemical, biological, radiological,
#: nuclear or high-yield explosive threat or attack. A kind not listed is "Other"; a hybrid (cyber-physical)
#: incident adds "Infra" (its video or network infrastructure was hit too).
CATEGORY: dict[str, tuple[str, ...]] = {
    "armed_attack": ("Security",),
    "explosion": ("Security", "CBRNE"),
    "vehicle_attack": ("Security",),
    "suspicious_object": ("Security",),
    "intrusion": ("Security",),
    "suspicious_behaviour": ("Security",),
    "crowd_emergency": ("Safety",),
    "cyber_attack": ("Security", "Infra"),
    "dos": ("Security", "Infra"),
    "video_tamper": ("Security", "Infra"),
}

#: CAP ``<event>`` text by incident kind (a kind not listed: its name with spaces).
EVENT: dict[str, str] = {
    "armed_attack": "Armed attack",
    "explosion": "Explosion",
    "vehicle_attack": "Vehicle ramming attack",
    "suspicious_object": "Suspicious unattended object",
    "intrusion": "Intrusion into a restricted zone",
    "suspicious_behaviour": "Suspicious behaviour",
    "crowd_emergency": "Crowd emergency",
    "cyber_attack": "Cyber attack on city systems",
    "dos": "Denial of service on city systems",
    "video_tamper": "Video surveillance loss or tampering",
}

#: CAP ``<urgency>`` by incident priority (1 = most urgent). "Immediate" - responsive action SHOULD be
#: taken immediately; "Expected" - soon (within next hour); "Future" - in the near future. A resolved,
#: closed or false-alarm incident is "Past" - responsive action is no longer required.
URGENCY: dict[int, str] = {1: "Immediate", 2: "Immediate", 3: "Expected", 4: "Future"}

#: CAP ``<severity>`` by incident priority. "Extreme" - extraordinary threat to life or property;
#: "Severe" - significant threat; "Moderate" - possible threat; "Minor" - minimal to no known threat (also
#: every false alarm).
SEVERITY: dict[int, str] = {1: "Extreme", 2: "Severe", 3: "Moderate", 4: "Minor"}

_TERMINAL = frozenset({"resolved", "closed", "false_alarm"})
_STATUS = frozenset({"Actual", "Exercise", "System", "Test", "Draft"})
_MSG_TYPES = frozenset({"Alert", "Update", "Cancel"})
_SCOPES = frozenset({"Public", "Restricted", "Private"})
_FORBIDDEN = re.compile(r"[\s,<&]")  # CAP §3.2.1 identifier/sender: no spaces, commas, < or &
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_HEADLINE_MAX = 139  # the issue: "headline under 140 characters"
_R95 = math.sqrt(-2.0 * math.log(0.05))  # 2.448: the 95 % circle of an isotropic 2-D Gaussian, in sigmas


class CapError(ValueError):
    """A CAP field that would break the CAP 1.2 rules (one line naming the field and the problem)."""


@dataclass(frozen=True, slots=True)
class CapParams:
    """How CAP messages are produced.

    Parameters
    ----------
    sender
        The CAP ``<sender>``, globally unique "e.g. based on an Internet domain name" (CAP §3.2.1). The
        default uses the ``.invalid`` top-level domain (RFC 2606), which can never belong to anyone.
    risk_threshold
        An incident's first message is sent when its risk R (``incident["risk"]["R"]``, null = 0) is at
        least this, on the risk module's scale (R = T·V·C; the default assumes R in 0..1).
    expires_s
        ``<expires>`` is ``sent`` plus this many seconds; an Update before then supersedes the message.
    move_m
        An Update is sent when the area's centre moves, or its radius changes, by more than this (metres).
    min_radius_m
        The smallest circle radius: a precise fix still names an area people can act on (a city block).
    scope, restriction
        CAP ``<scope>`` and, for "Restricted" ("for dissemination only to users with a known operational
        requirement"), the ``<restriction>`` text. Restricted by default: an incident's evidence (hosts,
        cameras) is for operators and responders; a public warning is a separate decision.
    sender_name, language
        ``<senderName>`` and ``<language>`` of the ``<info>`` block.
    id_prefix
        The first part of every identifier (letters, digits, ``.``, ``_``, ``-``).
    max_actions
        At most this many actions are written into ``<instruction>`` (the rest are counted).
    """

    sender: str = "cap@city-twin-testbed.invalid"
    risk_threshold: float = 0.3
    expires_s: float = 3600.0
    move_m: float = 50.0
    min_radius_m: float = 50.0
    scope: str = "Restricted"
    restriction: str = "City security operators and responders"
    sender_name: str = "City security digital twin testbed"
    language: str = "en"
    id_prefix: str = "twin"
    max_actions: int = 8

    def __post_init__(self) -> None:
        _check_token("sender", self.sender)
        if _SAFE_ID.search(self.id_prefix) or not self.id_prefix:
            raise CapError(f"id_prefix: {self.id_prefix!r} must be letters, digits, '.', '_' or '-'")
        for name in ("risk_threshold", "move_m", "min_radius_m"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise CapError(f"{name}: {v!r} must be a finite number >= 0")
        if not (math.isfinite(self.expires_s) and self.expires_s >= 1):
            raise CapError(f"expires_s: {self.expires_s!r} must be a finite number >= 1")
        if self.scope not in _SCOPES:
            raise CapError(f"scope: {self.scope!r} is not one of {sorted(_SCOPES)}")
        if self.max_actions < 1:
            raise CapError(f"max_actions: {self.max_actions!r} must be >= 1")


def _check_token(name: str, value: Any) -> str:
    """``value`` as a CAP identifier/sender token, or CapError naming ``name``."""
    if not isinstance(value, str) or not value or _FORBIDDEN.search(value) or _XML_BAD.search(value):
        raise CapError(f"{name}: {value!r} must be non-empty without spaces, commas, '<' or '&'")
    return value


def _text(value: Any) -> str:
    """``value`` as XML-safe text (characters XML 1.0 forbids removed)."""
    return _XML_BAD.sub("", str(value))


def cap_time(dt: datetime) -> str:
    """A CAP dateTime: whole seconds and a numeric offset; UTC as ``-00:00`` (CAP §3.3.2: "Alphabetic
    timezone designators such as 'Z' MUST NOT be used. The timezone for UTC MUST be represented as
    '-00:00'").

    >>> cap_time(datetime(2026, 6, 11, 22, 39, 0, 700000, tzinfo=timezone(timedelta(hours=3))))
    '2026-06-11T22:39:00+03:00'
    >>> cap_time(datetime(2026, 6, 11, 19, 39, tzinfo=UTC))
    '2026-06-11T19:39:00-00:00'
    """
    off = dt.utcoffset() if isinstance(dt, datetime) else None
    if off is None:
        raise CapError(f"sent: {dt!r} must be a timezone-aware datetime")
    minutes, rest = divmod(int(off.total_seconds()), 60)
    if rest:
        raise CapError(f"sent: offset {off} is not a whole number of minutes")
    sign = "+" if minutes > 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return f"{dt.replace(microsecond=0):%Y-%m-%dT%H:%M:%S}{sign}{hh:02d}:{mm:02d}"


def cap_certainty(confidence: float | None) -> str:
    """CAP ``<certainty>`` from a fused confidence: >= 0.9 "Observed" (determined to have occurred or to be
    ongoing: several sources agree), > 0.5 "Likely" (p > ~50 %), > 0.05 "Possible" (p <= ~50 %), else
    "Unlikely" (p ~ 0); no confidence is "Unknown".

    >>> [cap_certainty(c) for c in (0.95, 0.6, 0.5, 0.01, None)]
    ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown']
    """
    if confidence is None or not math.isfinite(float(confidence)):
        return "Unknown"
    c = float(confidence)
    return "Observed" if c >= 0.9 else "Likely" if c > 0.5 else "Possible" if c > 0.05 else "Unlikely"


def response_types(state: str, actions: Sequence[Mapping[str, Any]]) -> list[str]:
    """CAP ``<responseType>`` codes for an incident's state and recommended actions.

    A resolved or closed incident is "AllClear" (the subject event no longer poses a threat or concern);
    a false alarm "None" (no action recommended). Otherwise, by action kind: containing "evac" ->
    "Evacuate", "shelter" -> "Shelter", "crowd"/"inflow"/"avoid" -> "Avoid" (avoid the subject event), any
    other (dispatch, network isolation, failover) -> "Execute" (a pre-planned activity in
    ``<instruction>``); no action -> "Monitor" (attend to information sources).

    >>> response_types("new", [{"kind": "dispatch"}, {"kind": "evacuate"}, {"kind": "dispatch"}])
    ['Execute', 'Evacuate']
    >>> response_types("resolved", [{"kind": "evacuate"}]), response_types("new", [])
    (['AllClear'], ['Monitor'])
    """
    if state in ("resolved", "closed"):
        return ["AllClear"]
    if state == "false_alarm":
        return ["None"]
    out: list[str] = []
    for action in actions:
        kind = str(action.get("kind", "")).lower()
        code = ("Evacuate" if "evac" in kind else "Shelter" if "shelter" in kind
                else "Avoid" if any(k in kind for k in ("crowd", "inflow", "avoid")) else "Execute")
        if code not in out:
            out.append(code)
    return out or ["Monitor"]


def _instruction(state: str, actions: Sequence[Mapping[str, Any]], max_actions: int) -> str:
    """``<instruction>``: one line per recommended action, ``Kind: why`` (at most ``max_actions``)."""
    if state in ("resolved", "closed"):
        return "The incident is resolved. Follow-on actions only as directed by the incident commander."
    if state == "false_alarm":
        return "False alarm: disregard the earlier messages of this incident."
    lines = []
    for action in actions[:max_actions]:
        kind = str(action.get("kind") or "action").replace("_", " ").strip().capitalize()
        why = str(action.get("why") or "").strip()
        lines.append(f"{kind}: {why}" if why else kind)
    if len(actions) > max_actions:
        lines.append(f"... and {len(actions) - max_actions} more recommended actions.")
    return "\n".join(lines) or "No action recommended yet: monitor the situation and await instructions."


def cap_area(lonlat: Sequence[float] | None, sigma_m: float | None, *, min_radius_m: float = 50.0,
             polygon: Sequence[Sequence[float]] | None = None) -> tuple[str, str] | None:
    """The CAP area of an incident as ``("polygon"|"circle", text)``, or None with no location.

    A ``polygon`` (lon/lat pairs) becomes ``lat,lon`` pairs, closed (first == last), >= 4 of them. Else a
    circle ``lat,lon radius_km`` around ``lonlat`` holding 95 % of an isotropic Gaussian of ``sigma_m``
    (radius 2.448 sigma), at least ``min_radius_m``.

    >>> cap_area([24.939082, 60.170881], 10.0)
    ('circle', '60.170881,24.939082 0.050')
    >>> cap_area(None, None, polygon=[[24.0, 60.0], [24.1, 60.0], [24.1, 60.1]])
    ('polygon', '60.000000,24.000000 60.000000,24.100000 60.100000,24.100000 60.000000,24.000000')
    """
    if polygon is not None:
        pts = [(float(p[0]), float(p[1])) for p in polygon]
        if pts and pts[0] != pts[-1]:
            pts.append(pts[0])
        if len(pts) < 4 or not all(_lonlat_ok(p) for p in pts):
            raise CapError(f"polygon: needs >= 3 distinct lon/lat vertices in range, got {len(pts)} points")
        return "polygon", " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in pts)
    if lonlat is None:
        return None
    lon, lat = float(lonlat[0]), float(lonlat[1])
    if not _lonlat_ok((lon, lat)):
        raise CapError(f"lonlat: {list(lonlat)!r} is not a lon/lat pair in range")
    sigma = float(sigma_m) if sigma_m is not None and math.isfinite(float(sigma_m)) else 0.0
    radius_m = max(min_radius_m, _R95 * max(sigma, 0.0))
    return "circle", f"{lat:.6f},{lon:.6f} {radius_m / 1000.0:.3f}"


def _lonlat_ok(p: Sequence[float]) -> bool:
    return math.isfinite(p[0]) and math.isfinite(p[1]) and -180 <= p[0] <= 180 and -90 <= p[1] <= 90


def _headline(prefix: str, event: str, where: str, priority: int) -> str:
    """``<headline>`` under 140 characters (the place is shortened first)."""
    head = f"{prefix}{event}"
    tail = f" (priority {priority})"
    room = _HEADLINE_MAX - len(head) - len(tail) - 3
    if where and room > 8:
        where = where if len(where) <= room else where[: room - 3] + "..."
        head += f" - {where}"
    return (head + tail)[:_HEADLINE_MAX]


def _description(inc: Mapping[str, Any], event: str, priority: int, r: float) -> str:
    """``<description>``: what the incident is and the evidence behind it."""
    alerts = inc.get("alerts") or []
    kinds: dict[str, int] = {}
    for a in alerts:
        kinds[str(a.get("kind"))] = kinds.get(str(a.get("kind")), 0) + 1
    conf = inc.get("confidence")
    conf_text = "" if conf is None else f"confidence {float(conf):.2f}; "
    lines = [f"Incident {inc.get('id')}: {event}; state {inc.get('state')}; priority {priority}; "
             f"{conf_text}risk R {r:.3g}."]
    if alerts:
        ev = ", ".join(f"{k} x{n}" for k, n in kinds.items())
        lines.append(f"Evidence: {len(alerts)} sensor alerts ({ev}).")
    if inc.get("hybrid"):
        lines.append(f"Cyber-physical incident: {inc.get('hybrid_reason') or 'cyber and physical evidence'}.")
    labels = (("place", "Place"), ("zone", "Zone"), ("assets", "Affected assets"), ("hosts", "Hosts"))
    for key, label in labels:
        v = inc.get(key)
        if v:
            lines.append(f"{label}: {', '.join(map(str, v)) if isinstance(v, list) else v}.")
    return "\n".join(lines)


def _risk_r(inc: Mapping[str, Any]) -> float:
    """The incident's risk R; null (no risk yet) or non-finite is 0."""
    risk = inc.get("risk") or {}
    r = risk.get("R") if isinstance(risk, Mapping) else None
    return float(r) if r is not None and math.isfinite(float(r)) else 0.0


def _priority(inc: Mapping[str, Any]) -> int:
    p = inc.get("priority")
    if isinstance(p, bool) or not isinstance(p, int | float) or p not in URGENCY:
        raise CapError(f"incident.priority: {p!r} must be an integer 1..4")
    return int(p)


def _sub(parent: etree._Element, tag: str, text: Any = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = _text(text)
    return el


def _info(root: etree._Element, inc: Mapping[str, Any], *, sent: datetime, expires_s: float,
          actions: Sequence[Mapping[str, Any]], params: CapParams,
          polygon: Sequence[Sequence[float]] | None) -> None:
    """Append the ``<info>`` block, its elements in the XSD's sequence order."""
    kind, state = str(inc.get("kind")), str(inc.get("state"))
    priority, r = _priority(inc), _risk_r(inc)
    event = EVENT.get(kind, kind.replace("_", " ").capitalize()) + (" (cyber-physical)" if inc.get("hybrid")
                                                                      else "")
    cats = list(CATEGORY.get(kind, ("Other",)))
    if inc.get("hybrid") and "Infra" not in cats:
        cats.append("Infra")
    ended = state in _TERMINAL
    info = _sub(root, "info")
    _sub(info, "language", params.language)
    for c in cats:
        _sub(info, "category", c)
    _sub(info, "event", event)
    for code in response_types(state, actions):
        _sub(info, "responseType", code)
    _sub(info, "urgency", "Past" if ended else URGENCY[priority])
    _sub(info, "severity", "Minor" if state == "false_alarm" else SEVERITY[priority])
    _sub(info, "certainty", "Unlikely" if state == "false_alarm" else cap_certainty(inc.get("confidence")))
    _sub(info, "expires", cap_time(sent + timedelta(seconds=expires_s)))
    _sub(info, "senderName", params.sender_name)
    prefix = {"false_alarm": "CANCELLED (false alarm): ", "resolved": "ALL CLEAR: ", "closed": "ALL CLEAR: "}
    place = str(inc.get("place") or inc.get("zone") or "")
    _sub(info, "headline", _headline(prefix.get(state, ""), event, place, priority))
    _sub(info, "description", _description(inc, event, priority, r))
    _sub(info, "instruction", _instruction(state, actions, params.max_actions))
    conf = inc.get("confidence")
    for name, value in (("incidentId", inc.get("id")), ("state", state), ("priority", priority),
                        ("confidence", None if conf is None else f"{float(conf):.3f}"),
                        ("riskR", f"{r:.6g}"), ("hybrid", "true" if inc.get("hybrid") else "false")):
        if value is not None:
            par = _sub(info, "parameter")
            _sub(par, "valueName", name)
            _sub(par, "value", value)
    area = cap_area(inc.get("lonlat"), inc.get("sigma_m"), min_radius_m=params.min_radius_m, polygon=polygon)
    if area is not None:
        el = _sub(info, "area")
        zone = inc.get("zone")
        desc = (str(inc["place"]) + (f" (zone {zone})" if zone else "") if inc.get("place")
                else f"Zone {zone}" if zone else f"Incident location ({area[0]})")
        _sub(el, "areaDesc", desc)
        _sub(el, area[0], area[1])


def cap_xml(incident: Mapping[str, Any], *, msg_type: str, identifier: str, sender: str, sent: datetime,
            status: str, references: Sequence[Sequence[str]] = (), expires_s: float,
            actions: Sequence[Mapping[str, Any]] = (), note: str | None = None,
            polygon: Sequence[Sequence[float]] | None = None, params: CapParams | None = None) -> bytes:
    """One CAP 1.2 ``<alert>`` (UTF-8 XML bytes) for ``incident``.

    ``references`` are the earlier messages of the incident as (sender, identifier, sent string); an
    Update or Cancel needs at least one ("Updates and supercedes" / "Cancels the earlier message(s)
    identified in <references>"). ``note`` goes into ``<note>`` (CAP: the exercise identifier SHOULD
    appear there). ``polygon`` (lon/lat pairs) replaces the circle around the incident's location.

    Raises
    ------
    CapError
        A field that breaks the CAP rules (identifier or sender with a space, comma, ``<`` or ``&``; a naive
        ``sent``; an unknown msgType or status; an Update without references; priority outside 1..4).
    """
    params = params or CapParams(sender=sender)
    _check_token("identifier", identifier)
    _check_token("sender", sender)
    if msg_type not in _MSG_TYPES:
        raise CapError(f"msg_type: {msg_type!r} is not one of {sorted(_MSG_TYPES)}")
    if status not in _STATUS:
        raise CapError(f"status: {status!r} is not one of {sorted(_STATUS)}")
    if msg_type != "Alert" and not references:
        raise CapError(f"references: a {msg_type} must reference the earlier messages")
    if not (math.isfinite(expires_s) and expires_s >= 1):
        raise CapError(f"expires_s: {expires_s!r} must be a finite number >= 1")
    refs = []
    for i, ref in enumerate(references):
        if len(ref) != 3:
            raise CapError(f"references[{i}]: {ref!r} must be (sender, identifier, sent)")
        refs.append(",".join(_check_token(f"references[{i}]", str(v)) for v in ref))
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", identifier)
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(sent))
    _sub(root, "status", status)
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", params.scope)
    if params.scope == "Restricted":
        _sub(root, "restriction", params.restriction)
    if note:
        _sub(root, "note", note)
    if refs:
        _sub(root, "references", " ".join(refs))
    iid = _text(incident.get("id", ""))
    if iid:
        _sub(root, "incidents", f'"{iid}"' if re.search(r"\s", iid) else iid)
    _info(root, incident, sent=sent, expires_s=expires_s, actions=actions, params=params, polygon=polygon)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclass
class _Thread:
    """The messages sent so far for one incident and what the last one showed."""

    refs: list[tuple[str, str, str]] = field(default_factory=list)
    view: dict[str, Any] = field(default_factory=dict)
    done: bool = False


def _distance_m(a: Sequence[float], b: Sequence[float]) -> float:
    """Great-circle distance (haversine, mean Earth radius 6,371,008.8 m) between lon/lat points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, h)))


class CapPublisher:
    """Decides which CAP messages an incident's changes call for, and writes them.

    - **Alert**: the first time the incident's risk R reaches ``risk_threshold`` (an incident first seen
      resolved, closed or a false alarm gets none).
    - **Update**: afterwards, whenever what a recipient sees changes: priority (so urgency or severity),
      kind, the hybrid flag, the state, the certainty class, the instruction (the recommended actions), or
      the area (centre moved, or radius changed, by more than ``move_m``; a polygon that differs).
    - **Cancel** when the incident becomes a false alarm. CAP 1.2: Cancel "cancels the earlier message(s)
      identified in <references>": the earlier messages were wrong, which is what a false alarm means.
    - **Update with responseType AllClear** when it is resolved or closed: "the subject event no longer
      poses a threat or concern and any follow on action is described in <instruction>". The event was
      real, so the earlier messages stand and are superseded, not cancelled.

    After a Cancel or an all-clear the incident gets no more messages. Each message's ``references``
    lists every earlier message of the incident (``sender,identifier,sent``, space-separated). The
    identifier is ``<id_prefix>-<epoch in UTC as yyyymmddThhmmss>-<incident id>-<n>``, n = 1, 2, ... per
    incident, and the file name is the identifier plus ``.xml``.

    Parameters
    ----------
    epoch
        The scenario start as a timezone-aware datetime; a message's ``sent`` is ``epoch + t`` at the
        epoch's own UTC offset, in whole seconds.
    exercise
        True for a simulated run: ``status`` is "Exercise" (with the run's start in ``<note>``), else
        "Actual".
    sender, risk_threshold, expires_s
        Override the same fields of ``params``.
    params
        Everything else (``CapParams``; its defaults when None).
    """

    def __init__(self, *, epoch: datetime, exercise: bool, sender: str | None = None,
                 risk_threshold: float | None = None, expires_s: float | None = None,
                 params: CapParams | None = None) -> None:
        if not isinstance(epoch, datetime) or epoch.utcoffset() is None:
            raise CapError(f"epoch: {epoch!r} must be a timezone-aware datetime")
        over = {k: v for k, v in (("sender", sender), ("risk_threshold", risk_threshold),
                                  ("expires_s", expires_s)) if v is not None}
        base = params or CapParams()
        self.params = CapParams(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **over})
        self.epoch = epoch.astimezone(timezone(epoch.utcoffset()))  # fixed offset: exact second arithmetic
        self.status = "Exercise" if exercise else "Actual"
        self.note = f"Exercise: simulated run started {cap_time(self.epoch)}" if exercise else None
        self._stamp = f"{self.epoch.astimezone(UTC):%Y%m%dT%H%M%S}"
        self._threads: dict[str, _Thread] = {}
        #: t of each incident's Alert (for the time from first evidence to the CAP alert).
        self.first_alert_t: dict[str, float] = {}

    def messages(self, incident_id: str) -> list[tuple[str, str, str]]:
        """The (sender, identifier, sent) of every message sent for the incident so far, oldest first."""
        thread = self._threads.get(incident_id)
        return list(thread.refs) if thread else []

    def sent_at(self, t: float) -> datetime:
        """The ``sent`` time of a message at scenario time ``t`` (whole seconds, the epoch's offset)."""
        return (self.epoch + timedelta(seconds=float(t))).replace(microsecond=0)

    def update(self, incident: Mapping[str, Any], t: float, *,
               polygon: Sequence[Sequence[float]] | None = None) -> list[tuple[str, bytes]]:
        """The CAP messages due for ``incident`` (its state at scenario time ``t``) as ``(filename, xml)``:
        none or one. ``polygon`` (lon/lat pairs) gives the area instead of the circle round its location."""
        iid = incident.get("id")
        if not isinstance(iid, str) or not iid:
            raise CapError(f"incident.id: {iid!r} must be a non-empty string")
        if not math.isfinite(float(t)):
            raise CapError(f"t: {t!r} must be finite")
        state = str(incident.get("state"))
        thread = self._threads.get(iid)
        view = self._view(incident, polygon)
        if thread is None:
            if state in _TERMINAL or _risk_r(incident) < self.params.risk_threshold:
                return []
            thread, msg_type = _Thread(), "Alert"
        elif thread.done:
            return []
        elif state == "false_alarm":
            msg_type = "Cancel"
        elif self._changed(thread.view, view):
            msg_type = "Update"
        else:
            return []
        sent = self.sent_at(t)
        identifier = f"{self.params.id_prefix}-{self._stamp}-{_safe_id(iid)}-{len(thread.refs) + 1}"
        xml = cap_xml(incident, msg_type=msg_type, identifier=identifier, sender=self.params.sender,
                      sent=sent, status=self.status, references=thread.refs,
                      expires_s=self.params.expires_s, actions=incident.get("actions") or [],
                      note=self.note, polygon=polygon, params=self.params)
        self._threads[iid] = thread
        thread.refs.append((self.params.sender, identifier, cap_time(sent)))
        thread.view, thread.done = view, state in _TERMINAL
        if msg_type == "Alert":
            self.first_alert_t[iid] = float(t)
        return [(identifier + ".xml", xml)]

    def _view(self, inc: Mapping[str, Any], polygon: Sequence[Sequence[float]] | None) -> dict[str, Any]:
        """What a recipient sees of the incident, for change detection."""
        state = str(inc.get("state"))
        lonlat = inc.get("lonlat")
        sigma = inc.get("sigma_m")
        sigma = float(sigma) if sigma is not None and math.isfinite(float(sigma)) else 0.0
        return {
            "priority": _priority(inc), "kind": inc.get("kind"), "hybrid": bool(inc.get("hybrid")),
            "state": state, "certainty": cap_certainty(inc.get("confidence")),
            "instruction": _instruction(state, inc.get("actions") or [], self.params.max_actions),
            "polygon": None if polygon is None else [[round(float(v), 6) for v in p[:2]] for p in polygon],
            "lonlat": None if lonlat is None else (float(lonlat[0]), float(lonlat[1])),
            "radius_m": max(self.params.min_radius_m, _R95 * max(sigma, 0.0)),
        }

    def _changed(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """Whether ``new`` differs from ``old`` in anything a recipient sees (area: by > move_m)."""
        if any(old[k] != new[k] for k in ("priority", "kind", "hybrid", "state", "certainty", "instruction",
                                            "polygon")):
            return True
        a, b = old["lonlat"], new["lonlat"]
        if (a is None) != (b is None):
            return True
        if new["polygon"] is None and a is not None:
            if _distance_m(a, b) > self.params.move_m:
                return True
            return abs(old["radius_m"] - new["radius_m"]) > self.params.move_m
        return False


def _safe_id(iid: str) -> str:
    """``iid`` in identifier- and filename-safe characters; when characters had to be replaced, a short
    hash of the original keeps two ids that differ only there apart.

    >>> _safe_id("INC-0001"), _safe_id("INC 1,<&")
    ('INC-0001', 'INC_1___-fd0635')
    """
    safe = _SAFE_ID.sub("_", iid)
    if safe == iid:
        return iid
    return f"{safe}-{hashlib.sha1(iid.encode()).hexdigest()[:6]}"
