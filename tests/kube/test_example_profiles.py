"""The example project's kubernetes profiles render manifests that validate strictly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.kube.validate import validate


@pytest.mark.parametrize("profile,kinds", [("dask-k8s", ["DaskCluster"]), ("ray-k8s", ["RayCluster"]),
                                           ("spark-k8s", ["Deployment", "Service", "Deployment"])])
def test_example_kubernetes_profiles_render_valid_manifests(example_project, profile, kinds):
    result = subprocess.run([sys.executable, "-m", "expenv", "cluster", "render", profile, "--json",
                             "-w", str(example_project)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    manifests = json.loads(result.stdout)["manifests"]
    assert [m["kind"] for m in manifests] == kinds
    for manifest in manifests:
        validate(manifest)
        assert manifest["metadata"]["namespace"] == "ml-dev"
