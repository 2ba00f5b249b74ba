"""syslog.log lines are strict RFC 5424 and carry the sshd messages real servers write."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from cyber_net import EPOCH0, run, small_network

from sensors.cyber import SyslogWriter, format_syslog

#: RFC 5424 HEADER SP STRUCTURED-DATA [SP MSG] with NILVALUE "-" and the field length limits of section 6.
RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 "
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) "
    r"(?P<host>[\x21-\x7e]{1,255}) (?P<app>[\x21-\x7e]{1,48}) (?P<proc>[\x21-\x7e]{1,128}) "
    r"(?P<msgid>[\x21-\x7e]{1,32}) (?P<sd>-|(?:\[[^\]]+\])+)(?: (?P<msg>.*))?$")


def test_every_line_of_a_run_is_rfc5424(tmp_path):
    attacks = [{"kind": "cyber_bruteforce", "target": "vms", "start_s": 60, "duration_s": 120},
               {"kind": "stream_hijack", "target": "cam-001", "start_s": 300, "duration_s": 60}]
    cr = run(small_network(8), attacks, duration_s=600.0)
    w = SyslogWriter(tmp_path / "syslog.log")
    for p in cr.all_syslog():
        w.write(p)
    assert not (tmp_path / "syslog.log").exists()
    text = w.close().read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) > 300
    last = None
    for line in lines:
        m = RFC5424.match(line)
        assert m, line
        pri = int(m["pri"])
        assert pri <= 191 and pri // 8 in (4, 10, 16)      # auth / authpriv / local0 (recorder)
        ts = datetime.strptime(m["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
        assert EPOCH0 <= ts < EPOCH0 + 600.0
        assert last is None or ts >= last - 1e-6          # written in time order
        last = ts
        assert m["app"] in ("sshd", "vmsd") and m["proc"].isdigit() and m["sd"] == "-"
    assert any("Failed password for root from" in ln and ln.endswith("ssh2") for ln in lines)
    assert any("Invalid user" in ln for ln in lines)
    assert sum("vmsd" in ln and "cam-001" in ln for ln in lines) == 2      # stream lost, stream restored


def test_format_syslog_header_fields_and_sanitising():
    line = format_syslog(EPOCH0 + 3.25, "video server", "sshd", 4242, "Accepted publickey for admin",
                         facility="authpriv", severity="notice")
    m = RFC5424.match(line)
    assert m and m["pri"] == str(10 * 8 + 5) and m["ts"] == "2026-06-01T12:00:03.250000Z"
    assert m["host"] == "video_server" and m["proc"] == "4242" and m["msgid"] == "-"
    assert m["msg"] == "Accepted publickey for admin"


def test_syslog_writer_abort_leaves_no_file(tmp_path):
    w = SyslogWriter(tmp_path / "s.log")
    w.write("<38>1 2026-06-01T12:00:00.000000Z vms sshd 1 - - x")
    w.abort()
    assert list(tmp_path.iterdir()) == []
