"""Argument types of the scenario commands (``run``, ``fuse``, ``check``, ``replay``): each turns the text
into its value or raises ``argparse.ArgumentTypeError`` saying what it must be."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["bbox", "finite", "seconds", "whole"]


def whole(low: int) -> Callable[[str], int]:
    """A whole number >= ``low``."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {text!r}")
        return v
    parse.__name__ = f"whole number >= {low}"
    return parse


def finite(text: str) -> float:
    """A finite number."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return v


def seconds(text: str) -> float:
    """A number of seconds > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return v


def bbox(text: str) -> list[float]:
    """``W,S,E,N`` in degrees with W < E and S < N."""
    try:
        v = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be W,S,E,N in degrees, got {text!r}") from None
    if len(v) != 4 or not (v[0] < v[2] and v[1] < v[3]):
        raise argparse.ArgumentTypeError(f"must be W,S,E,N with W < E and S < N, got {text!r}")
    return v
