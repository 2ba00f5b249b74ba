"""On-disk cache of built twins: ``$TWIN_CACHE``, else ``<repo>/.cache/twin``.

Key: sha256 of the source file + the build options + the bbox + the city label + ``CODE_VERSION`` + the sha256
of the ``twin`` package's source files (``code_digest``), so a twin built by older code is never reused: not
even when a change forgets to bump ``CODE_VERSION``.
Entries are pickles of ``(key, twin)`` written atomically (``twin.files``; private to the user, 0600); an
entry that cannot be read back whole, or whose stored key differs, is ignored (the caller rebuilds and
overwrites it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from pathlib import Path

from twin.datapath import repo_dir
from twin.files import AtomicBinaryFile
from twin.model import Twin

__all__ = ["CODE_VERSION", "cache_dir", "cache_key", "code_digest", "file_sha256", "read_cache",
           "write_cache"]

log = logging.getLogger(__name__)

#: Bump whenever the build changes what a twin contains: old entries then miss (``code_digest`` also changes
#: with any edit of the package, this names the format). twin-6: stops, named features, relations with
#: missing members; twin-7: the network's edge router, authorised scanner and backup server.
CODE_VERSION = "twin-7"
_CODE_DIGEST: list[str] = []


def code_digest() -> str:
    """sha256 hex digest of the ``twin`` package's ``*.py`` files (names and bytes), once per process."""
    if not _CODE_DIGEST:
        h = hashlib.sha256()
        for p in sorted(Path(__file__).resolve().parent.glob("*.py")):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
        _CODE_DIGEST.append(h.hexdigest())
    return _CODE_DIGEST[0]


def cache_dir() -> Path:
    """``$TWIN_CACHE`` if set, else ``<repo>/.cache/twin``."""
    env = os.environ.get("TWIN_CACHE")
    return Path(env).expanduser() if env else repo_dir() / ".cache" / "twin"


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_key(source_hash: str, *parts: object) -> str:
    """The cache key: a sha256 over the source hash, ``parts`` (options, bbox, label, ``code_digest`` for a
    built twin) and ``CODE_VERSION``."""
    text = "\n".join([CODE_VERSION, source_hash, *map(repr, parts)])
    return hashlib.sha256(text.encode()).hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / f"{key[:40]}.pkl"


def read_cache(key: str) -> Twin | None:
    """The cached twin for ``key``, or None when absent, unreadable, truncated or for another key."""
    p = _path(key)
    if not p.is_file():
        return None
    try:
        with open(p, "rb") as fh:
            stored_key, twin = pickle.load(fh)
    except Exception as exc:  # garbage or truncated pickle: never trust it, the caller rebuilds
        log.warning("twin cache entry %s is corrupt (%s): rebuilding", p.name, type(exc).__name__)
        return None
    if stored_key != key or not isinstance(twin, Twin):
        log.warning("twin cache entry %s does not match its key: rebuilding", p.name)
        return None
    return twin


def write_cache(key: str, twin: Twin) -> Path:
    """Store ``twin`` under ``key`` atomically (streamed to a temp file in the same folder, then renamed)."""
    with AtomicBinaryFile(_path(key), mode=0o600) as fh:
        pickle.dump((key, twin), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return _path(key)
