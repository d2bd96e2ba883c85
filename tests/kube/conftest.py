"""Fixtures for the Kubernetes backends: a kmock API server and the user's kubeconfig naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kube.emulator import KubeEmulator


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KubeEmulator:
    """An emulated API server with namespace `ml` (and `locked`, where writes are forbidden).

    KUBECONFIG points at a kubeconfig with context `emu`, as a user's shell would have it; the
    product finds it on its own.
    """
    emulator = KubeEmulator(namespaces=("ml", "locked"), forbidden=("locked",)).start()
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    emulator.kubeconfig = kubeconfig
    yield emulator
    emulator.stop()
