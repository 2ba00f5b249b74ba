"""Shared fixtures: every test gets its own empty twin cache folder (``TWIN_CACHE``)."""

import pytest


@pytest.fixture(autouse=True)
def _twin_cache(tmp_path_factory, monkeypatch):
    """Point the twin cache at a fresh folder so tests never touch ``.cache/twin`` nor each other."""
    path = tmp_path_factory.mktemp("twin-cache")
    monkeypatch.setenv("TWIN_CACHE", str(path))
    return path
