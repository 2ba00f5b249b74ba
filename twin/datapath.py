"""The one place that resolves the data folder: env ``TWIN_DATA``, else ``../shared`` beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "repo_dir"]


def repo_dir() -> Path:
    """The repository's root folder (the one holding ``run_sim.py``)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The data folder: ``$TWIN_DATA`` if set, else ``../shared`` next to the repository."""
    env = os.environ.get("TWIN_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return (repo_dir().parent / "shared").resolve()
