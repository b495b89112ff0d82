"""Shared test set-up: no network, a private data directory, quick mode."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    """Each test gets its own data directory; nothing is written to data/."""
    monkeypatch.setenv("RADLAB_DATA_DIR", str(tmp_path_factory.mktemp("radlab_data")))
    monkeypatch.setenv("RADLAB_QUICK", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")


_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (host in {"localhost", "::1"} or host.startswith("127.")):
        return _real_connect(self, address)
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect(self, address)
    raise OSError(f"tests must not use the network (tried to connect to {address!r})")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests never reach the internet; loopback (e.g. a local server in a test) is allowed."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture
def no_pyplot_figures():
    """Widgets build their figures without pyplot: none may be left registered with it."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    yield
    leaked = sorted(set(plt.get_fignums()) - set(before))
    plt.close("all")
    assert not leaked, f"the widget registered figures {leaked} with pyplot"
