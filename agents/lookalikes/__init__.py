"""Harmless look-alikes of attacks, one module per kind (``agents.lookalikes.base`` says how to add one)."""
# ruff: noqa: I001 - the built-in kinds are imported in registry order

from agents.lookalikes.base import LOOKALIKE_KINDS, Lookalike, LookalikeParams

__all__ = ["LOOKALIKE_KINDS", "Lookalike", "LookalikeParams"]
