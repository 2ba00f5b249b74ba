"""Syslog readers for classic BSD lines (``/var/log/auth.log`` style, no year) and RFC 5424 lines, and the
extraction of failed logins (sshd, PAM) with their source address and user."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analytics.base import AnalyticsInputError, ReadStats
from analytics.files import first_data_line, open_text

__all__ = ["SyslogRecord", "auth_failure", "iter_syslog", "parse_syslog_line"]

_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_BSD = re.compile(
    r"^(?:<\d{1,3}>)?([A-Z][a-z]{2})\s+(\d{1,2}) (\d\d):(\d\d):(\d\d) (\S+) ([^:\[]+?)(?:\[(\d+)\])?: ?(.*)$"
)
_RFC5424 = re.compile(r"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(.*)$")
_FAILED = re.compile(
    r"Failed (?:password|none|publickey|keyboard-interactive/pam) for (?:invalid user )?(\S*) "
    r"from (\S+)"
)
_PAM = re.compile(r"authentication failure;.*\brhost=(\S+)(?:\s+user=(\S+))?")
_REPEATED = re.compile(r"message repeated (\d+) times: \[ ?(.*?)\]?$")


@dataclass(frozen=True, slots=True)
class SyslogRecord:
    """One parsed syslog line: epoch seconds (None if no usable time), host, app, pid, message."""

    t: float | None
    host: str
    app: str
    pid: str | None
    msg: str


def parse_syslog_line(line: str, *, year: int | None = None) -> SyslogRecord | None:
    """Parse one BSD (RFC 3164) or RFC 5424 line; None if it is neither.

    BSD lines carry no year: ``year`` (default: the current UTC year) is assumed.

    >>> parse_syslog_line("<38>1 2026-01-02T03:04:05Z vms sshd 42 - - Failed password").app
    'sshd'
    """
    line = line.rstrip("\r\n")
    m = _RFC5424.match(line)
    if m:
        ts = m.group(2)
        try:
            t = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() if ts != "-" else None
        except ValueError:
            return None
        nil = lambda s: None if s == "-" else s  # noqa: E731
        msg = m.group(8)
        if msg.startswith("\ufeff"):
            msg = msg[1:]
        return SyslogRecord(t, nil(m.group(3)) or "", nil(m.group(4)) or "", nil(m.group(5)), msg)
    m = _BSD.match(line)
    if not m or m.group(1) not in _MONTHS:
        return None
    try:
        t = datetime(
            year or datetime.now(UTC).year,
            _MONTHS[m.group(1)],
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            tzinfo=UTC,
        ).timestamp()
    except ValueError:
        return None
    return SyslogRecord(t, m.group(6), m.group(7).strip(), m.group(8), m.group(9))


def auth_failure(msg: str, app: str = "") -> tuple[str, str | None, int] | None:
    """``(source address, user, attempts)`` if the message is a failed login (sshd or PAM), else None.

    sshd logs every failed attempt itself ("Failed password ..."), so a PAM "authentication failure" line
    from ``app == "sshd"`` is the same attempt again and is not counted; other PAM services count.

    >>> auth_failure("Failed password for invalid user admin from 10.0.0.9 port 4242 ssh2")
    ('10.0.0.9', 'admin', 1)
    """
    n = 1
    rep = _REPEATED.search(msg)
    if rep:
        n, msg = int(rep.group(1)), rep.group(2)
    m = _FAILED.search(msg)
    if m:
        return m.group(2), m.group(1) or None, n
    m = _PAM.search(msg) if app != "sshd" else None
    if m:
        return m.group(1), m.group(2), n
    return None


def iter_syslog(
    path: str | os.PathLike, stats: ReadStats | None = None, *, year: int | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``host/syslog`` messages ``{t, topic, host, line, app, pid, msg}`` from a BSD or RFC 5424 file.

    A BSD file crossing New Year (month going backwards) moves to the next year.

    Raises
    ------
    AnalyticsInputError
        If the file is missing or its first line is not a syslog line.
    """
    stats = stats if stats is not None else ReadStats(str(path))
    n0, first = first_data_line(path)
    if parse_syslog_line(first, year=year) is None:
        raise AnalyticsInputError(
            f"{path}: line {n0}: not a syslog line (BSD 'Mon DD HH:MM:SS host' or RFC 5424)"
        )
    yr = year or datetime.now(UTC).year
    last_month = 0
    with open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            stats.lines = n
            if not line.strip():
                continue
            mon = _MONTHS.get(line[:3])
            if mon is not None:
                if mon < last_month:
                    yr += 1
                last_month = mon
            rec = parse_syslog_line(line, year=yr)
            if rec is None or rec.t is None:
                stats.bad(n)
                continue
            stats.records += 1
            yield {
                "t": rec.t,
                "topic": "host/syslog",
                "host": rec.host,
                "line": line.rstrip("\r\n"),
                "app": rec.app,
                "pid": rec.pid,
                "msg": rec.msg,
            }
