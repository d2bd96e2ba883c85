"""Shared fixtures: workspaces on disk and the daemon command under test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.session import accept_registrations, end_session

REPO = Path(__file__).resolve().parents[1]
DAEMON_CMD = [sys.executable, "-m", "expenv", "serve", "--log-level", "DEBUG"]

GOOD_CONFIG = """\
[project]
name = "churn"

[environment]
production_image = "churn-prod:latest"

[data.raw]
roots = ["data/raw"]

[data.curated]
url = "postgresql://analyst:s3cret-pw@127.0.0.1:5432/warehouse"

[features]
repo = "features"

[clusters.dask-local]
kind = "dask"
backend = "local"
workers = 2

[targets.preprod]
backend = "kubernetes"
namespace = "ml-preprod"

[policy]
feature_store_required = ["release/*", "main"]
"""


@pytest.fixture
def make_workspace(tmp_path: Path):
    """Create a workspace folder holding `expenv.toml` with the given text (None: no file)."""

    def make(name: str = "ws", config: str | None = GOOD_CONFIG) -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        if config is not None:
            (root / "expenv.toml").write_text(config)
        return root

    return make


# The client profiles `client` runs with (pytest-lsp's recorded capabilities of each editor).
# Both profiles run the protocol-level tests, where the daemon's path depends on the client: position
# units (UTF-16 vs UTF-32), registered watchers vs the daemon's own poller, capabilities. Those
# modules say so with `pytestmark = pytest.mark.every_client` (tests/lsp, the repo-watching test).
# Every other LSP test is an end-to-end test of a feature (tracking, lineage, parity, policy, template)
# whose answer does not depend on the client: it runs with the VS Code profile only, since a second
# profile doubled its cost (a daemon, MLflow runs, Feast loads) without proving anything more.
CLIENTS = ["visual_studio_code", "neovim"]


def pytest_generate_tests(metafunc):
    if "client" in metafunc.fixturenames:
        every = metafunc.definition.get_closest_marker("every_client") is not None
        metafunc.parametrize("client", CLIENTS if every else CLIENTS[:1], indirect=True)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DAEMON_CMD))
async def client(request, lsp_client: LanguageClient):
    lsp_client.profile = request.param
    accept_registrations(lsp_client)
    yield
    await end_session(lsp_client)


@pytest.fixture(scope="session")
def example_project(tmp_path_factory) -> Path:
    """The example project with small data, shared read-only by the data tests."""
    from expenv.services.example import create_example

    root = tmp_path_factory.mktemp("example") / "churn"
    create_example(root, rows=20_000)
    return root
