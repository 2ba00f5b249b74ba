"""The cyber range's own input error: one line naming the attack, key and what is wrong."""

from __future__ import annotations

__all__ = ["CyberError"]


class CyberError(ValueError):
    """Bad cyber input (an attack entry, a network without a video server, a malformed record)."""

    exit_code = 2
