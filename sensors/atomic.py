"""A text file streamed to a hidden temp file beside its path and renamed into place only when closed.

Every export of a run (events.jsonl, conn.log, syslog.log, MOT files) streams through one of these, so
memory stays flat on long runs and a failed run leaves no half-written file (``abort`` drops it).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["AtomicTextFile"]


class AtomicTextFile:
    """Write text to ``.<name>.tmp`` beside ``path``; ``close`` renames it into place, ``abort`` drops it."""

    def __init__(self, path: str | os.PathLike, *, encoding: str = "utf-8") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self._fh = open(self.tmp, "w", encoding=encoding, newline="\n")  # noqa: SIM115 - closed in close()/abort()

    def write(self, text: str) -> None:
        self._fh.write(text)

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        self._fh.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file."""
        self._fh.close()
        self.tmp.unlink(missing_ok=True)
