"""RFC 5424 syslog lines (``<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG``) and a ``syslog.log`` writer."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from twin.files import AtomicTextFile

__all__ = ["FACILITY", "SEVERITY", "SyslogWriter", "format_syslog", "rfc5424_time"]

#: RFC 5424 facility and severity codes used here.
FACILITY = {"kern": 0, "user": 1, "daemon": 3, "auth": 4, "syslog": 5, "authpriv": 10, "ntp": 12,
            "local0": 16}
SEVERITY = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}

_BAD = re.compile(r"[^\x21-\x7e]")


def rfc5424_time(epoch: float) -> str:
    """``2026-06-01T12:00:03.250000Z`` (UTC, microseconds, as RFC 5424 TIMESTAMP allows)."""
    return datetime.fromtimestamp(round(epoch, 6), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _token(s: str, limit: int) -> str:
    s = _BAD.sub("_", str(s))[:limit]
    return s or "-"


def format_syslog(epoch: float, host: str, app: str, procid: int | str | None, msg: str, *,
                  facility: str = "auth", severity: str = "info", msgid: str | None = None) -> str:
    """One RFC 5424 line, structured data ``-``; header tokens are made printable ASCII without spaces."""
    pri = FACILITY[facility] * 8 + SEVERITY[severity]
    proc = "-" if procid is None else _token(procid, 128)
    return (f"<{pri}>1 {rfc5424_time(epoch)} {_token(host, 255)} {_token(app, 48)} {proc} "
            f"{_token(msgid or '-', 32)} - {msg}")


class SyslogWriter:
    """Stream syslog lines to ``syslog.log``; the file appears only on ``close()`` (temp + rename)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self._out = AtomicTextFile(path)
        self.path = self._out.path
        self.lines = 0

    def write(self, record: dict | str) -> None:
        """Append one line: a ``host/syslog`` payload ``{host, line}`` or the line itself."""
        line = record["line"] if isinstance(record, dict) else record
        self._out.write(line.rstrip("\n") + "\n")
        self.lines += 1

    def __call__(self, message) -> None:
        """Bus subscriber form: write ``message.payload``."""
        self.write(message.payload)

    @classmethod
    def for_run(cls, run_dir: str | os.PathLike, sensors=()) -> SyslogWriter:
        """The run folder's ``sensors/syslog.log``."""
        return cls(Path(run_dir) / "sensors" / "syslog.log")

    def subscribe(self, bus) -> None:
        """Write every ``host/syslog`` message of ``bus``."""
        bus.subscribe("host/syslog", self)

    def close(self) -> Path:
        """Move the finished file into place."""
        return self._out.close()

    def abort(self) -> None:
        """Drop the partial file."""
        self._out.abort()
