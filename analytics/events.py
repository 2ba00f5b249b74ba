"""Streaming reader of JSON-lines files such as a run's ``events.jsonl`` and ``alerts.jsonl``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from analytics.base import AnalyticsInputError, ReadStats
from analytics.files import first_data_line, open_text

__all__ = ["iter_jsonl"]


def iter_jsonl(path: str | os.PathLike, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Yield each JSON object of a JSON-lines file; malformed lines are counted in ``stats``, not fatal.

    Raises
    ------
    AnalyticsInputError
        If the file is missing or its first line is not a JSON object (the file is not JSON lines).
    """
    stats = stats if stats is not None else ReadStats(str(path))
    n0, first = first_data_line(path)
    try:
        ok = isinstance(json.loads(first), dict)
    except ValueError:
        ok = False
    if not ok:
        raise AnalyticsInputError(f"{path}: line {n0}: not a JSON object (expected JSON lines)")
    with open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            stats.lines = n
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                stats.bad(n)
                continue
            if not isinstance(rec, dict):
                stats.bad(n)
                continue
            stats.records += 1
            yield rec
