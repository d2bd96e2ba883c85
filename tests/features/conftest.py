"""Feast for real: the example project's repo and a repo made by `feast init` (Feast's own
template), each registered with `feast apply` once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["FEAST_USAGE"] = "False"
FEAST = [sys.executable, "-c", "from feast.cli.cli import cli; cli()"]


def feast(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*FEAST, *args], cwd=repo, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "FEAST_USAGE": "False"})
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="session")
def example(tmp_path_factory) -> Path:
    """The example project (rows=5000) with its Feast repo applied. Tests must not change it."""
    from expenv.services.example import create_example

    root = tmp_path_factory.mktemp("features-example") / "churn"
    create_example(root, rows=5000)
    feast(root / "features", "apply")
    return root


@pytest.fixture(scope="session")
def example_services(example):
    from expenv.services.workspace import WorkspaceSet

    return WorkspaceSet().add(example).services


@pytest.fixture(scope="session")
def example_features(example_services):
    from expenv.services.features import FeatureService

    return FeatureService(example_services.config, data=example_services.data)


INIT_CONFIG = """\
[project]
name = "demo"

[data.raw]
roots = ["demo/feature_repo/data"]

[features]
repo = "demo/feature_repo"
"""


@pytest.fixture(scope="session")
def init_workspace(tmp_path_factory) -> Path:
    """A workspace around `feast init -t local demo` (applied); its data folder is a raw root."""
    root = tmp_path_factory.mktemp("features-init")
    feast(root, "init", "-t", "local", "demo")
    (root / "expenv.toml").write_text(INIT_CONFIG)
    feast(root / "demo" / "feature_repo", "apply")
    return root


@pytest.fixture(scope="session")
def init_features(init_workspace):
    from expenv.services.features import FeatureService
    from expenv.services.workspace import WorkspaceSet

    services = WorkspaceSet().add(init_workspace).services
    return FeatureService(services.config, data=services.data)


@pytest.fixture
def example_copy(example, tmp_path) -> Path:
    """A private copy of the example's config and Feast repo (with its applied registry), to break."""
    root = tmp_path / "churn"
    root.mkdir()
    shutil.copy(example / "expenv.toml", root / "expenv.toml")
    shutil.copytree(example / "features", root / "features", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def features_of(root: Path, tracking=None):
    from expenv.services.features import FeatureService
    from expenv.services.workspace import WorkspaceSet

    services = WorkspaceSet().add(root).services
    return FeatureService(services.config, data=services.data, tracking=tracking)


def expected_relations(store) -> set[tuple[str, str, str]]:
    """Edges derived straight from Feast's SDK objects, independently of the service's code."""
    from feast import OnDemandFeatureView

    rel = set()
    for ds in store.list_data_sources():
        if getattr(ds, "batch_source", None) is not None:
            rel.add((f"data_source:{ds.batch_source.name}", f"data_source:{ds.name}", "batch_source"))
    for fv in store.list_all_feature_views():
        vid = f"feature_view:{fv.name}"
        if isinstance(fv, OnDemandFeatureView):
            rel |= {(f"feature_view:{p}", vid, "source_view") for p in fv.source_feature_view_projections}
            rel |= {(f"data_source:{r}", vid, "request_source") for r in fv.source_request_sources}
            continue
        rel |= {(f"entity:{e}", vid, "entity") for e in fv.entities if e != "__dummy"}
        if fv.batch_source is not None:
            rel.add((f"data_source:{fv.batch_source.name}", vid, "batch_source"))
        if getattr(fv, "stream_source", None) is not None:
            rel.add((f"data_source:{fv.stream_source.name}", vid, "stream_source"))
    for fs in store.list_feature_services():
        rel |= {(f"feature_view:{p.name}", f"feature_service:{fs.name}", "feature_view")
                for p in fs.feature_view_projections}
    return rel
