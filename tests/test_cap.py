"""analytics/cap.py: every CAP message of an incident's life validates against the OASIS CAP 1.2 XSD and
follows the producer rules of issue #13, checked one by one on the parsed XML."""

import math
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from analytics.cap import CapError, CapParams, CapPublisher, cap_area, cap_time, cap_xml
from twin.datapath import data_dir

NS = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
HELSINKI_SUMMER = timezone(timedelta(hours=3))
EPOCH = datetime(2026, 6, 11, 22, 39, 0, tzinfo=HELSINKI_SUMMER)
SENT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
TOKEN_RE = re.compile(r"^[^\s,<&]+$")
ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction",
               "addresses", "code", "note", "references", "incidents", "info"]
INFO_ORDER = ["language", "category", "event", "responseType", "urgency", "severity", "certainty", "audience",
              "eventCode", "effective", "onset", "expires", "senderName", "headline", "description",
              "instruction", "web", "contact", "parameter", "resource", "area"]


@pytest.fixture(scope="module")
def schema():
    path = data_dir() / "standards" / "CAP-v1.2.xsd"
    if not path.exists():
        pytest.fail(f"{path} missing: run with TWIN_DATA=/work/shared")
    return etree.XMLSchema(etree.parse(str(path)))


def incident(**over):
    inc = {
        "id": "INC-0001", "kind": "armed_attack", "state": "new", "priority": 2, "confidence": 0.7,
        "t_first": 10.0, "t_last": 11.0, "t_updated": 11.0, "xy": [385652.56, 6672226.42],
        "lonlat": [24.939082, 60.170881], "sigma_m": 12.0, "zone": "senate_square", "hosts": [],
        "hybrid": False, "hybrid_reason": None,
        "alerts": [{"id": "a1", "t": 10.0, "kind": "gunshot", "source": ["mic-1"], "conf": 0.7,
                    "reason": {"rule": "first"}}],
        "assets": ["w123"], "cameras": ["cam-1"],
        "risk": {"T": 0.7, "V": 0.8, "C": 0.9, "R": 0.504, "exposed": 120.0, "criticality": 0.9,
                 "dependents": []},
        "actions": [{"kind": "dispatch", "why": "police unit P-3 is nearest by road (ETA 95 s)"},
                    {"kind": "evacuate", "why": "walk route to Kauppatori avoids the square"}],
        "sop": [], "history": [],
    }
    inc.update(over)
    return inc


def life(pub):
    """One incident's life: below threshold, Alert, no change, two Updates, small move, Cancel, closed."""
    steps = [
        (5.0, incident(risk={"R": 0.1})),                                   # below threshold
        (8.0, incident(risk=None)),                                         # null R counts as 0
        (11.4, incident()),                                                 # Alert
        (12.0, incident(confidence=0.75)),                                  # same certainty class: nothing
        (15.0, incident(priority=1)),                                       # Update: priority
        (20.0, incident(priority=1, lonlat=[24.93920, 60.170881])),         # 6.4 m: nothing
        (25.0, incident(priority=1, lonlat=[24.94300, 60.170881])),         # Update: moved 223 m
        (40.0, incident(priority=1, state="false_alarm")),                  # Cancel
        (50.0, incident(priority=1, state="closed")),                       # nothing after the Cancel
    ]
    return [(t, out) for t, inc in steps for out in pub.update(inc, t)]


def parse(xml):
    return etree.fromstring(xml)


def text(root, path):
    el = root.find(path, NS)
    return None if el is None else el.text


def local(el):
    return etree.QName(el).localname


def in_xsd_order(children, order):
    idx = [order.index(local(c)) for c in children]
    return idx == sorted(idx)


def test_incident_life_gives_alert_two_updates_cancel_all_valid(schema):
    pub = CapPublisher(epoch=EPOCH, exercise=False, risk_threshold=0.3, expires_s=1800)
    msgs = life(pub)
    assert [t for t, _ in msgs] == [11.4, 15.0, 25.0, 40.0]
    roots = [parse(xml) for _, (_, xml) in msgs]
    assert [text(r, "c:msgType") for r in roots] == ["Alert", "Update", "Update", "Cancel"]
    for (_, (name, xml)), root in zip(msgs, roots, strict=True):
        assert schema.validate(root), (name, schema.error_log)
        assert name == text(root, "c:identifier") + ".xml"
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.xml", name)
        assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert len({name for _, (name, _) in msgs}) == 4
    assert pub.messages("INC-0001") == [
        (text(r, "c:sender"), text(r, "c:identifier"), text(r, "c:sent")) for r in roots]
    assert pub.first_alert_t == {"INC-0001": 11.4}


def test_producer_rules_one_by_one():
    pub = CapPublisher(epoch=EPOCH, exercise=False, risk_threshold=0.3, expires_s=1800)
    roots = [parse(xml) for _, (_, xml) in life(pub)]
    earlier = []
    for root in roots:
        ident, sender, sent = text(root, "c:identifier"), text(root, "c:sender"), text(root, "c:sent")
        # identifier and sender: no spaces, commas, < or &
        assert TOKEN_RE.match(ident) and TOKEN_RE.match(sender)
        # sent: numeric offset (the epoch's, +03:00), no Z, no fractions
        assert SENT_RE.match(sent) and sent.endswith("+03:00") and "Z" not in sent and "." not in sent
        assert text(root, "c:status") == "Actual"
        assert text(root, "c:note") is None
        # references: every earlier message of the incident, sender,identifier,sent, space-separated
        refs = text(root, "c:references")
        assert (refs.split(" ") if refs else []) == [",".join(e) for e in earlier]
        earlier.append((sender, ident, sent))
        assert text(root, "c:incidents") == "INC-0001"
        info = root.find("c:info", NS)
        for tag in ("category", "event", "urgency", "severity", "certainty", "headline", "instruction",
                    "expires"):
            assert info.find(f"c:{tag}", NS) is not None, tag
        assert len(text(info, "c:headline")) < 140
        expires = datetime.fromisoformat(text(info, "c:expires"))
        assert expires - datetime.fromisoformat(sent) == timedelta(seconds=1800)
        assert SENT_RE.match(text(info, "c:expires"))
        # elements in the XSD's sequence order
        assert in_xsd_order(list(root), ALERT_ORDER) and in_xsd_order(list(info), INFO_ORDER)
        # area: a lat,lon radius_km circle around the incident (lat first: Helsinki is 60.17 N, 24.94 E)
        circle = text(info, "c:area/c:circle")
        m = re.fullmatch(r"(-?\d+\.\d+),(-?\d+\.\d+) (\d+\.\d+)", circle)
        assert m and 60.1 < float(m[1]) < 60.3 and 24.8 < float(m[2]) < 25.1
        assert float(m[3]) == pytest.approx(0.050)  # 2.448 * 12 m = 29 m < the 50-m minimum
        assert text(info, "c:area/c:areaDesc") == "Zone senate_square"
    alert, up1, up2, cancel = roots
    assert text(alert, "c:sent") == "2026-06-11T22:39:11+03:00"  # 11.4 s after the epoch, whole seconds
    # the Alert's instruction lists the recommended actions with their reasons
    instr = text(alert, "c:info/c:instruction")
    assert instr.splitlines() == ["Dispatch: police unit P-3 is nearest by road (ETA 95 s)",
                                  "Evacuate: walk route to Kauppatori avoids the square"]
    assert [e.text for e in alert.findall("c:info/c:responseType", NS)] == ["Execute", "Evacuate"]
    # the tables: priority 2 -> Immediate/Severe, 1 -> Immediate/Extreme; confidence 0.7 -> Likely
    assert [text(alert, f"c:info/c:{k}") for k in ("urgency", "severity", "certainty")] == [
        "Immediate", "Severe", "Likely"]
    assert text(up1, "c:info/c:severity") == "Extreme"
    assert [e.text for e in alert.findall("c:info/c:category", NS)] == ["Security"]
    # the move shows in the circle
    assert text(up2, "c:info/c:area/c:circle").startswith("60.170881,24.943000 ")
    # the Cancel: no action, no longer urgent, not expected to have occurred
    assert [text(cancel, f"c:info/c:{k}") for k in ("responseType", "urgency", "certainty", "severity")] == [
        "None", "Past", "Unlikely", "Minor"]
    assert text(cancel, "c:info/c:headline").startswith("CANCELLED (false alarm): ")


def test_update_references_its_alert():
    pub = CapPublisher(epoch=EPOCH, exercise=False, risk_threshold=0.3, expires_s=600)
    alert = parse(pub.update(incident(), 3.0)[0][1])
    update = parse(pub.update(incident(kind="explosion"), 9.0)[0][1])
    key = f"{text(alert, 'c:sender')},{text(alert, 'c:identifier')},{text(alert, 'c:sent')}"
    assert key == "cap@city-twin-testbed.invalid,twin-20260611T193900-INC-0001-1,2026-06-11T22:39:03+03:00"
    assert text(update, "c:references") == key
    assert [e.text for e in update.findall("c:info/c:category", NS)] == ["Security", "CBRNE"]


def test_resolved_gives_an_allclear_update_then_nothing(schema):
    pub = CapPublisher(epoch=EPOCH, exercise=False, risk_threshold=0.3, expires_s=600)
    pub.update(incident(), 1.0)
    assert pub.update(incident(state="acknowledged"), 5.0)  # a state change is visible: Update
    done = pub.update(incident(state="resolved"), 60.0)
    root = parse(done[0][1])
    assert schema.validate(root)
    assert text(root, "c:msgType") == "Update"
    assert [e.text for e in root.findall("c:info/c:responseType", NS)] == ["AllClear"]
    assert text(root, "c:info/c:urgency") == "Past"
    assert text(root, "c:info/c:headline").startswith("ALL CLEAR: ")
    assert len(text(root, "c:references").split(" ")) == 2
    assert pub.update(incident(state="closed"), 70.0) == []
    # an incident first seen resolved or as a false alarm gets no message at all
    assert pub.update(incident(id="INC-0002", state="resolved"), 1.0) == []
    assert pub.update(incident(id="INC-0003", state="false_alarm"), 1.0) == []


def test_hybrid_instruction_change_and_area_growth_give_updates():
    pub = CapPublisher(epoch=EPOCH, exercise=False, risk_threshold=0.3, expires_s=600)
    pub.update(incident(), 1.0)
    hybrid = pub.update(incident(hybrid=True, hybrid_reason="camera cam-1 lost 20 s before"), 1.5)
    root = parse(hybrid[0][1])
    assert text(root, "c:info/c:event") == "Armed attack (cyber-physical)"
    assert [e.text for e in root.findall("c:info/c:category", NS)] == ["Security", "Infra"]
    assert "Cyber-physical incident: camera cam-1 lost 20 s before." in text(root, "c:info/c:description")
    pub.update(incident(), 1.7)  # flag cleared again: an Update too
    assert pub.update(incident(actions=[{"kind": "evacuate", "why": "new route"}]), 2.0)
    assert pub.update(incident(actions=[{"kind": "evacuate", "why": "new route"}], sigma_m=20.0), 3.0) == []
    grown = pub.update(incident(actions=[{"kind": "evacuate", "why": "new route"}], sigma_m=80.0), 4.0)
    circle = text(parse(grown[0][1]), "c:info/c:area/c:circle")
    assert circle.endswith(f" {2.448 * 80 / 1000:.3f}")  # radius 196 m: grown by 146 m > move_m 50


def test_exercise_and_utc_epoch():
    utc = datetime(2026, 6, 11, 19, 39, 0, tzinfo=UTC)
    pub = CapPublisher(epoch=utc, exercise=True, risk_threshold=0.3, expires_s=600)
    root = parse(pub.update(incident(), 30.0)[0][1])
    assert text(root, "c:status") == "Exercise"
    assert text(root, "c:note") == "Exercise: simulated run started 2026-06-11T19:39:00-00:00"
    # CAP 1.2 §3.3.2: "The timezone for UTC MUST be represented as '-00:00'"
    assert text(root, "c:sent") == "2026-06-11T19:39:30-00:00"
    # a non-UTC, non-summer offset is kept as the epoch's
    winter = datetime(2026, 1, 5, 8, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    root = parse(CapPublisher(epoch=winter, exercise=False).update(incident(), 61.9)[0][1])
    assert text(root, "c:sent") == "2026-01-05T08:01:01+02:00"
    west = datetime(2026, 1, 5, 8, 0, 0, tzinfo=timezone(-timedelta(hours=5, minutes=30)))
    assert cap_time(west) == "2026-01-05T08:00:00-05:30"


def test_negative_controls_fail_the_xsd(schema):
    xml = CapPublisher(epoch=EPOCH, exercise=False).update(incident(), 1.0)[0][1]
    assert schema.validate(parse(xml))
    for bad in (xml.replace(b"2026-06-11T22:39:01+03:00", b"2026-06-11T19:39:01Z"),
                xml.replace(b"2026-06-11T22:39:01+03:00", b"2026-06-11T22:39:01.400+03:00"),
                xml.replace(b"<msgType>Alert", b"<msgType>Notice").replace(b"Alert</msgType>",
                                                                          b"Notice</msgType>"),
                xml.replace(b"<category>Security</category>", b"")):
        assert bad != xml
        assert not schema.validate(parse(bad))
    # swapping two elements breaks the XSD's sequence order
    root = parse(xml)
    info = root.find("c:info", NS)
    info.insert(0, info.find("c:event", NS))
    assert not schema.validate(root)


def test_cap_xml_rejects_rule_breaking_fields():
    kw = {"msg_type": "Alert", "identifier": "x-1", "sender": "a@b.invalid", "sent": EPOCH,
          "status": "Actual", "references": [], "expires_s": 60, "actions": []}
    assert cap_xml(incident(), **kw).startswith(b"<?xml")
    for field, value in (("identifier", "x 1"), ("identifier", "x,1"), ("sender", "a<b"), ("sender", "a&b"),
                         ("identifier", ""), ("sent", datetime(2026, 6, 11, 22, 39)),
                         ("status", "Real"), ("msg_type", "Ack"), ("expires_s", math.inf)):
        with pytest.raises(CapError, match=field if field != "msg_type" else "msg_type"):
            cap_xml(incident(), **{**kw, field: value})
    with pytest.raises(CapError, match="references"):
        cap_xml(incident(), **{**kw, "msg_type": "Update"})
    with pytest.raises(CapError, match="priority"):
        cap_xml(incident(priority=7), **kw)
    with pytest.raises(CapError, match="sender"):
        CapParams(sender="not valid")


def test_unsafe_incident_id_long_zone_polygon_and_no_location(schema):
    pub = CapPublisher(epoch=EPOCH, exercise=False, risk_threshold=0.3, expires_s=600)
    ring = [[24.93, 60.17], [24.95, 60.17], [24.95, 60.18], [24.93, 60.18]]
    name, xml = pub.update(incident(id="INC 7,<&>", zone="Z" * 300), 1.0, polygon=ring)[0]
    root = parse(xml)
    assert schema.validate(root)
    assert re.fullmatch(r"twin-20260611T193900-INC_7____-[0-9a-f]{6}-1\.xml", name)
    assert TOKEN_RE.match(text(root, "c:identifier"))
    assert text(root, "c:incidents") == '"INC 7,<&>"'  # CAP: a name with whitespace goes in double quotes
    assert len(text(root, "c:info/c:headline")) == 139
    pairs = text(root, "c:info/c:area/c:polygon").split(" ")
    assert len(pairs) == 5 and pairs[0] == pairs[-1] == "60.170000,24.930000"
    assert root.find("c:info/c:area/c:circle", NS) is None
    # a network incident has no location: no area (CAP's area is optional), still valid
    cyber = incident(id="INC-0009", kind="dos", lonlat=None, xy=None, zone=None, hosts=["10.20.2.14"])
    root = parse(pub.update(cyber, 2.0)[0][1])
    assert schema.validate(root)
    assert root.find("c:info/c:area", NS) is None
    assert [e.text for e in root.findall("c:info/c:category", NS)] == ["Security", "Infra"]
    assert "Hosts: 10.20.2.14." in text(root, "c:info/c:description")


def test_tables_and_area_helpers():
    pub = CapPublisher(epoch=EPOCH, exercise=False, risk_threshold=0.0, expires_s=600)
    got = []
    for p, conf, kind in ((3, 0.95, "crowd_emergency"), (4, 0.2, "video_tamper"), (4, 0.02, "new_kind")):
        inc = incident(id=f"I{p}{kind}", priority=p, confidence=conf, kind=kind)
        root = parse(pub.update(inc, 1.0)[0][1])
        got.append(tuple(text(root, f"c:info/c:{k}") for k in ("category", "urgency", "severity", "certainty",
                                                                 "event")))
    assert got == [("Safety", "Expected", "Moderate", "Observed", "Crowd emergency"),
                   ("Security", "Future", "Minor", "Possible", "Video surveillance loss or tampering"),
                   ("Other", "Future", "Minor", "Unlikely", "New kind")]
    assert cap_area([24.9, 60.2], 100.0) == ("circle", "60.200000,24.900000 0.245")
    with pytest.raises(CapError, match="polygon"):
        cap_area(None, None, polygon=[[24.9, 60.2], [25.0, 60.2]])
    with pytest.raises(CapError, match="lonlat"):
        cap_area([60.2, 124.9], 1.0)
