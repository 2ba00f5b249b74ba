"""conn.log from ConnLogWriter parses as Zeek TSV: header, types per column, field count on every line."""

from __future__ import annotations

import ipaddress
import math
import re

import pytest
from cyber_net import EPOCH0, run, small_network
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.cyber import CONN_FIELDS, CONN_TYPES, ConnLogWriter, CyberError, format_conn

#: Fields of a real Zeek 2.x conn.log (zat exploit-kit sample); newer Zeek adds local_resp after local_orig.
ZEEK2_FIELDS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes "
                "conn_state local_orig missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes "
                "tunnel_parents").split()
CONN_STATES = {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}
ATTACKS = [{"kind": "cyber_scan", "target": "sw-0001", "start_s": 30, "duration_s": 60},
           {"kind": "cyber_bruteforce", "target": "vms", "start_s": 100, "duration_s": 60},
           {"kind": "cyber_dos", "target": "vms", "start_s": 200, "duration_s": 60},
           {"kind": "cyber_beacon", "target": "cam-003", "start_s": 0, "duration_s": 600},
           {"kind": "stream_hijack", "target": "cam-004", "start_s": 400, "duration_s": 100}]


def _check(value: str, typ: str) -> bool:
    """Independent check of one TSV value against its Zeek type (``-`` = unset is valid for any type)."""
    if value == "-":
        return True
    if typ == "time":
        return re.fullmatch(r"\d+\.\d{6}", value) is not None
    if typ == "interval":
        return re.fullmatch(r"\d+\.\d{6}", value) is not None
    if typ in ("count", "port"):
        return value.isdigit() and (typ == "count" or int(value) <= 65535)
    if typ == "addr":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return False
        return True
    if typ == "enum":
        return value in ("tcp", "udp", "icmp", "unknown_transport")
    if typ == "bool":
        return value in ("T", "F")
    if typ.startswith(("set[", "table[")):
        return value == "(empty)" or all(v and "\t" not in v for v in value.split(","))
    if typ == "string":
        return bool(value) and "\t" not in value
    return False


def parse_zeek_tsv(text: str) -> tuple[dict, list[dict]]:
    """A small Zeek TSV reader: header directives and rows as dicts; asserts the structure as it goes."""
    lines = text.split("\n")
    assert lines[-1] == "", "file must end with a newline"
    lines = lines[:-1]
    assert lines[0] == "#separator \\x09"
    head = {}
    i = 1
    while lines[i].startswith("#"):
        key, _, val = lines[i][1:].partition("\t")
        head[key] = val
        i += 1
    assert list(head) == ["set_separator", "empty_field", "unset_field", "path", "open", "fields", "types"]
    assert head["set_separator"] == "," and head["empty_field"] == "(empty)" and head["unset_field"] == "-"
    assert head["path"] == "conn"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d", head["open"])
    fields, types = head["fields"].split("\t"), head["types"].split("\t")
    assert len(fields) == len(types)
    assert lines[-1].startswith("#close\t") and re.fullmatch(r"#close\t\d{4}(-\d\d){5}", lines[-1])
    rows = []
    for n, line in enumerate(lines[i:-1], start=i + 1):
        assert not line.startswith("#"), f"line {n}: directive inside the body"
        vals = line.split("\t")
        assert len(vals) == len(fields), f"line {n}: {len(vals)} fields, header has {len(fields)}"
        for f, t, v in zip(fields, types, vals, strict=True):
            assert _check(v, t), f"line {n}: {f}={v!r} is not a Zeek {t}"
        rows.append(dict(zip(fields, vals, strict=True)))
    return head, rows


@pytest.fixture(scope="module")
def conn_log(tmp_path_factory):
    cr = run(small_network(30), ATTACKS, duration_s=600.0)
    path = tmp_path_factory.mktemp("zeek") / "conn.log"
    w = ConnLogWriter(path, open_epoch=EPOCH0)
    for rec in cr.all_records():
        w.write(rec)
    w.close(EPOCH0 + 600.0)
    return cr, path.read_text(encoding="utf-8")


def test_conn_log_parses_as_zeek_tsv_with_typed_columns(conn_log):
    cr, text = conn_log
    head, rows = parse_zeek_tsv(text)
    assert head["fields"].split("\t") == list(CONN_FIELDS)
    assert [f for f in CONN_FIELDS if f != "local_resp"] == ZEEK2_FIELDS
    assert head["types"].split("\t")[:4] == ["time", "string", "addr", "port"]
    assert head["open"] == "2026-06-01-12-00-00" and text.rstrip().endswith("#close\t2026-06-01-12-10-00")
    assert len(rows) == len(cr.flows) > 5000
    assert {r["conn_state"] for r in rows} <= CONN_STATES
    assert {"SF", "S0", "S1", "REJ", "RSTO", "RSTR", "OTH"} <= {r["conn_state"] for r in rows}
    assert {r["service"] for r in rows} >= {"rtsp", "dns", "ntp", "ssl", "ssh", "-"}
    assert all(re.fullmatch(r"C[0-9A-Za-z]{17}", r["uid"]) for r in rows)
    assert all(EPOCH0 <= float(r["ts"]) < EPOCH0 + 600.0 for r in rows)
    # a single-packet SYN (S0 from the flood) has no duration/bytes, as Zeek leaves them unset
    syn = [r for r in rows if r["conn_state"] == "S0" and r["history"] == "S" and r["orig_pkts"] == "1"]
    assert syn and all(r["duration"] == r["orig_bytes"] == r["resp_bytes"] == "-" for r in syn)
    # ip bytes always cover payload bytes
    full = [r for r in rows if r["orig_bytes"] != "-"]
    assert all(int(r["orig_ip_bytes"]) >= int(r["orig_bytes"]) for r in full)
    assert all(int(r["resp_ip_bytes"]) >= int(r["resp_bytes"]) for r in full)


def test_records_are_written_when_connections_end_not_in_ts_order(conn_log):
    """Zeek writes a record when the connection is over, so ``ts`` is not sorted but ts+duration never
    exceeds the run end."""
    _, text = conn_log
    _, rows = parse_zeek_tsv(text)
    ts = [float(r["ts"]) for r in rows]
    assert any(b < a for a, b in zip(ts, ts[1:], strict=False))
    ends = [float(r["ts"]) + (float(r["duration"]) if r["duration"] != "-" else 0.0) for r in rows]
    assert max(ends) <= EPOCH0 + 600.0 + 1e-6


def test_writer_is_atomic_and_abort_leaves_nothing(tmp_path):
    path = tmp_path / "out" / "conn.log"
    w = ConnLogWriter(path)
    w.write({"ts": EPOCH0, "uid": "CabcdefghijklmnopQ", "id.orig_h": "10.0.0.1", "id.orig_p": 1,
             "id.resp_h": "10.0.0.2", "id.resp_p": 2, "proto": "tcp", "conn_state": "S0"})
    assert not path.exists()
    w.close()
    assert path.exists() and not list(path.parent.glob(".*.tmp"))
    w2 = ConnLogWriter(tmp_path / "other.log")
    w2.write({"ts": EPOCH0, "uid": "C1", "proto": "udp"})
    w2.abort()
    assert not (tmp_path / "other.log").exists() and not list(tmp_path.glob(".*.tmp"))
    w3 = ConnLogWriter(tmp_path / "bad.log")
    with pytest.raises(CyberError, match="ts") as exc:
        w3.write({"uid": "C1"})
    assert exc.value.exit_code == 2
    w3.abort()


def test_format_conn_escapes_and_marks_unset_and_empty():
    line = format_conn({"ts": 1.5, "uid": "Cx", "service": "a\tb", "local_orig": True, "tunnel_parents": []})
    vals = line.split("\t")
    assert len(vals) == len(CONN_FIELDS)
    assert vals[0] == "1.500000" and vals[7] == "a\\x09b" and vals[12] == "T" and vals[-1] == "(empty)"
    assert vals[2] == "-" and vals[8] == "-"


def test_same_seed_gives_byte_identical_conn_log(tmp_path):
    texts = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        cr = run(small_network(12), ATTACKS[:3], seed=seed, duration_s=300.0)
        w = ConnLogWriter(tmp_path / f"{name}.log", open_epoch=EPOCH0)
        for rec in cr.all_records():
            w.write(rec)
        texts.append(w.close(EPOCH0 + 300.0).read_bytes())
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def _unescape(v: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(v):
        if v.startswith("\\x", i):
            raw.append(int(v[i + 2:i + 4], 16))
            i += 4
        else:
            raw += v[i].encode("utf-8")
            i += 1
    return raw.decode("utf-8")


@settings(max_examples=150, deadline=None)
@given(ts=st.floats(0, 4e9, allow_nan=False), uid=st.text(min_size=1, max_size=20),
       service=st.one_of(st.none(), st.text(min_size=1, max_size=12)),
       orig_p=st.integers(0, 65535), nbytes=st.one_of(st.none(), st.integers(0, 2**62)),
       flag=st.booleans(),
       parents=st.lists(st.text(alphabet="ab,-\t(", min_size=1, max_size=5), max_size=3))
def test_conn_line_round_trips_through_an_independent_reader(ts, uid, service, orig_p, nbytes, flag, parents):
    rec = {"ts": ts, "uid": uid, "id.orig_h": "10.1.2.3", "id.orig_p": orig_p, "id.resp_h": "2001:db8::1",
           "id.resp_p": 443, "proto": "tcp", "service": service, "orig_bytes": nbytes, "local_orig": flag,
           "tunnel_parents": parents}
    vals = format_conn(rec).split("\t")
    assert len(vals) == len(CONN_FIELDS) and "\n" not in "".join(vals)
    for f, t, v in zip(CONN_FIELDS, CONN_TYPES, vals, strict=True):
        assert _check(v, t) or t == "string" and v == "(empty)", (f, v)
    got = dict(zip(CONN_FIELDS, vals, strict=True))
    # half a unit of the 6th decimal, plus the float spacing at ts (a tie such as 67108864.4609375 is
    # exactly 5e-7 from either neighbour, and parsing the printed value back is exact only to an ulp)
    assert abs(float(got["ts"]) - ts) <= 5e-7 * max(1.0, ts / 1e9) + 4 * math.ulp(ts) + 1e-12
    assert _unescape(got["uid"]) == uid
    assert (got["service"] == "-") if service is None else _unescape(got["service"]) == service
    assert got["orig_bytes"] == ("-" if nbytes is None else str(nbytes))
    assert got["local_orig"] == ("T" if flag else "F") and got["duration"] == "-"
    if parents:
        assert [_unescape(p) for p in got["tunnel_parents"].split(",")] == parents
    else:
        assert got["tunnel_parents"] == "(empty)"
