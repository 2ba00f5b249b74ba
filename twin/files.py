"""Files written atomically: into a hidden temp file beside the target, renamed into place only when whole.

Why: a run's exports, a cache entry, a download or a map either exists complete under its name or not at
all. A writer that fails (or is killed) leaves no half-written file there, at worst a hidden
``.<name>.<random>.tmp`` beside it, which ``abort`` (or the failing ``write_atomic``) removes. The rename is
``os.replace`` within one folder, which is atomic.

Mode: the temp file is made by ``tempfile.mkstemp`` (private, 0600) and set to ``mode`` at once, by default
0644 so an output is readable by everyone; the caches pass 0600 and stay private to the user.

Compression: an ``AtomicTextFile`` whose name ends in ``.gz`` is written gzip-compressed (``GZIP_LEVEL``),
with no file name and a zero time stamp in the gzip header, so the same text always gives the same bytes.

This is the simulation side's one implementation (``twin`` is the lowest layer, so ``sensors`` and
``scenarios`` use it too); ``analytics`` never imports the simulation and has its own (``analytics._io``).
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Self

__all__ = ["FILE_MODE", "GZIP_LEVEL", "AtomicBinaryFile", "AtomicTextFile", "write_atomic"]

#: Default mode of a finished file: readable by everyone, writable by the owner.
FILE_MODE = 0o644
#: zlib level of ``.gz`` text files: zlib's default. On a city run's MOT text it keeps 17.5 % of the bytes at
#: 43 MB/s; level 9 keeps 17.2 % at 19 MB/s, level 1 25 % at 197 MB/s (``docs/performance.md``).
GZIP_LEVEL = 6


def _temp_beside(path: Path, mode: int) -> tuple[int, Path]:
    """A new hidden temp file (descriptor, path) in ``path``'s folder (made if missing), with ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, Path(tmp)


class _AtomicFile:
    """A file streamed to a temp file beside ``path``; ``close`` renames it into place, ``abort`` drops it.

    Used as a context manager it closes on success and aborts when the block raises.
    """

    def __init__(self, path: str | os.PathLike, *, binary: bool, encoding: str | None,
                 mode: int = FILE_MODE) -> None:
        self.path = Path(path)
        fd, self.tmp = _temp_beside(self.path, mode)
        self._raw: IO[Any] | None = None
        try:
            if binary:
                self._fh: IO[Any] = os.fdopen(fd, "wb")
            elif self.path.suffix == ".gz":
                self._raw = os.fdopen(fd, "wb")
                packed = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=GZIP_LEVEL,
                                       mtime=0)
                self._fh = io.TextIOWrapper(packed, encoding=encoding, newline="\n")
            else:
                self._fh = os.fdopen(fd, "w", encoding=encoding, newline="\n")
        except BaseException:
            if self._raw is not None:
                self._raw.close()
            else:
                os.close(fd)
            self.tmp.unlink(missing_ok=True)
            raise

    def write(self, data) -> None:
        self._fh.write(data)

    def _close_handles(self) -> None:
        self._fh.close()            # a gzip stream writes its trailer here; it leaves ``_raw`` open
        if self._raw is not None:
            self._raw.close()

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        self._close_handles()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file."""
        self._close_handles()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class AtomicTextFile(_AtomicFile):
    """Text streamed to a temp file beside ``path`` (``\\n`` line ends); ``close`` renames it into place,
    ``abort`` drops it. A ``path`` ending in ``.gz`` is written gzip-compressed (see the module docstring).

    Parameters
    ----------
    path : str | os.PathLike
        The final file; its folder is made if missing.
    encoding : str
        Text encoding (default UTF-8).
    mode : int
        Permission bits of the file (default 0644).
    """

    def __init__(self, path: str | os.PathLike, *, encoding: str = "utf-8", mode: int = FILE_MODE) -> None:
        super().__init__(path, binary=False, encoding=encoding, mode=mode)

    def write(self, text: str) -> None:
        self._fh.write(text)


class AtomicBinaryFile(_AtomicFile):
    """Bytes streamed to a temp file beside ``path`` (e.g. ``pickle.dump`` into it); ``close`` renames it
    into place, ``abort`` drops it. ``mode`` as for ``AtomicTextFile``."""

    def __init__(self, path: str | os.PathLike, *, mode: int = FILE_MODE) -> None:
        super().__init__(path, binary=True, encoding=None, mode=mode)

    def write(self, data: bytes) -> None:
        self._fh.write(data)


def write_atomic(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8",
                 mode: int = FILE_MODE) -> Path:
    """Write ``data`` (text is encoded with ``encoding``, as is) to ``path`` atomically; returns the path.

    Raises
    ------
    OSError
        The folder or the file cannot be written; nothing is left behind then.
    """
    raw = data.encode(encoding) if isinstance(data, str) else bytes(data)
    with AtomicBinaryFile(path, mode=mode) as fh:
        fh.write(raw)
    return fh.path
