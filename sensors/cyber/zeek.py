"""Zeek ``conn.log`` in its TSV form: the header block, one line per connection, and a streaming writer.

Records are dicts as Zeek's JSON writer gives them (field names such as ``id.orig_h``; unset fields absent).
The TSV writer puts ``-`` for unset fields and ``(empty)`` for an empty set, escapes tabs and non-printable
bytes as ``\\xNN`` like Zeek, and writes ``#open``/``#close`` from simulated time so equal runs give equal
bytes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sensors.cyber.errors import CyberError
from twin.files import AtomicTextFile

__all__ = ["CONN_FIELDS", "CONN_TYPES", "ConnLogWriter", "conn_header", "format_conn"]

#: Zeek (4.x–6.x) conn.log columns and their types, in order.
CONN_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
    "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents",
)
CONN_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
    "count", "count", "string", "bool", "bool", "count", "string",
    "count", "count", "count", "count", "set[string]",
)


def _zeek_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d-%H-%M-%S")


def conn_header(open_epoch: float) -> str:
    """The header block Zeek writes at the top of ``conn.log`` (ends with a newline)."""
    return (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
        f"#open\t{_zeek_time(open_epoch)}\n#fields\t" + "\t".join(CONN_FIELDS) + "\n#types\t"
        + "\t".join(CONN_TYPES) + "\n"
    )


def _escape(s: str) -> str:
    if s in ("-", "(empty)"):                    # a value equal to a marker gets its first byte escaped
        return f"\\x{ord(s[0]):02x}" + s[1:]
    if s.isprintable() and "\t" not in s and "\\" not in s and s.isascii():
        return s
    return "".join(c if (c.isprintable() and c.isascii() and c not in "\t\\") else
                   "".join(f"\\x{b:02x}" for b in c.encode("utf-8")) for c in s)


def _value(v, typ: str) -> str:
    if v is None:
        return "-"
    if typ in ("time", "interval"):
        return f"{float(v):.6f}"
    if typ == "bool":
        return "T" if v else "F"
    if typ in ("count", "port"):
        return str(int(v))
    if typ.startswith("set["):
        items = list(v)
        return ",".join(_escape(str(i)).replace(",", "\\x2c") for i in items) if items else "(empty)"
    s = str(v)
    return _escape(s) if s else "(empty)"


def format_conn(record: dict) -> str:
    """One TSV line (no newline) for a conn record dict; absent fields are written as ``-``."""
    return "\t".join(_value(record.get(f), t) for f, t in zip(CONN_FIELDS, CONN_TYPES, strict=True))


class ConnLogWriter:
    """Stream conn records to a Zeek TSV ``conn.log``; the file appears only on ``close()`` (temp + rename).

    ``open_epoch`` stamps ``#open`` (default: the ``ts`` of the first record); ``close(close_epoch)`` stamps
    ``#close`` (default: the latest ``ts + duration`` written).
    """

    def __init__(self, path: str | os.PathLike, *, open_epoch: float | None = None) -> None:
        self._fh = AtomicTextFile(path)
        self.path = self._fh.path
        self._open = open_epoch
        self._last = open_epoch
        self._header = False
        self.lines = 0

    def _ensure_header(self, epoch: float) -> None:
        if not self._header:
            self._open = epoch if self._open is None else self._open
            self._fh.write(conn_header(self._open))
            self._header = True

    def write(self, record: dict) -> None:
        """Append one record (a dict with Zeek field names, as on the ``net/conn`` topic)."""
        try:
            ts = float(record["ts"])
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"{self.path}: conn record without a numeric ts: {record.get('uid', '?')}"
            raise CyberError(msg) from exc
        self._ensure_header(ts)
        self._fh.write(format_conn(record) + "\n")
        end = ts + float(record.get("duration") or 0.0)
        self._last = end if self._last is None else max(self._last, end)
        self.lines += 1

    def __call__(self, message) -> None:
        """Bus subscriber form: write ``message.payload``."""
        self.write(message.payload)

    @classmethod
    def for_run(cls, run_dir: str | os.PathLike, sensors=()) -> ConnLogWriter:
        """The run folder's ``sensors/conn.log``."""
        return cls(Path(run_dir) / "sensors" / "conn.log")

    def subscribe(self, bus) -> None:
        """Write every ``net/conn`` message of ``bus``."""
        bus.subscribe("net/conn", self)

    def close(self, close_epoch: float | None = None) -> Path:
        """Write ``#close`` and move the file into place."""
        self._ensure_header(self._last if self._last is not None else 0.0)
        end = close_epoch if close_epoch is not None else (self._last or 0.0)
        self._fh.write(f"#close\t{_zeek_time(end)}\n")
        return self._fh.close()

    def abort(self) -> None:
        """Drop the partial file."""
        self._fh.abort()
