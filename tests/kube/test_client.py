"""The Kubernetes connection: contexts from the user's kubeconfig, time limit and plain errors."""

from __future__ import annotations

import socket

import pytest

from expenv.services.kube import (KubeConfigError, KubeForbidden, KubeNamespaceMissing, KubeTarget,
                                  KubeTimeout, KubeUnreachable, connect)
from expenv.services.kube.resources import DEPLOYMENT

DEPLOY = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "probe", "labels": {"app.kubernetes.io/managed-by": "expenv", "expenv.workspace": "w1"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "probe"}},
             "template": {"metadata": {"labels": {"app": "probe"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
}


def test_objects_round_trip_through_the_users_context(kube):
    api = connect(KubeTarget(context="emu", namespace="ml"))
    created = api.create(DEPLOY)
    assert created["metadata"]["name"] == "probe" and created["spec"]["replicas"] == 1
    api.merge_patch(DEPLOYMENT, "probe", {"spec": {"replicas": 3}})
    assert api.get(DEPLOYMENT, "probe")["spec"]["replicas"] == 3
    assert [o["metadata"]["name"] for o in api.list(DEPLOYMENT, {"expenv.workspace": "w1"})] == ["probe"]
    # The emulator ignores label selectors: the filter on our side must still hold.
    assert api.list(DEPLOYMENT, {"expenv.workspace": "other"}) == []
    assert api.delete(DEPLOYMENT, "probe") is True
    assert api.delete(DEPLOYMENT, "probe") is False
    assert kube.objects("deployments") == []


def test_the_current_context_and_its_namespace_are_the_default(kube, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "kc2", context="mine", namespace="ml")))
    api = connect(KubeTarget())
    assert (api.context, api.namespace) == ("mine", "ml")


def test_a_missing_context_names_the_known_ones(kube):
    with pytest.raises(KubeConfigError, match=r"'staging' is not in the kubeconfig.*known contexts: emu"):
        connect(KubeTarget(context="staging", namespace="ml"))


def test_no_kubeconfig_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(KubeConfigError, match="no kubeconfig at .*absent"):
        connect(KubeTarget(context="emu"))


def test_a_missing_namespace_is_named(kube):
    api = connect(KubeTarget(context="emu", namespace="nowhere"))
    with pytest.raises(KubeNamespaceMissing, match="namespace 'nowhere' does not exist"):
        api.create(DEPLOY)


def test_rbac_refusal_is_plain(kube):
    api = connect(KubeTarget(context="emu", namespace="locked"))
    with pytest.raises(KubeForbidden, match="refused to create Deployment probe in namespace 'locked'"):
        api.create(DEPLOY)


def test_an_unreachable_api_fails_fast_with_the_address(kube, tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kube.url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "kc-dead")))
    api = connect(KubeTarget(context="emu", namespace="ml"))
    with pytest.raises(KubeUnreachable, match=f"cannot reach the Kubernetes API at http://127.0.0.1:{port}"):
        api.get(DEPLOYMENT, "probe")


def test_a_silent_api_hits_the_time_limit(kube, tmp_path, monkeypatch):
    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        kube.url = f"http://127.0.0.1:{server.getsockname()[1]}"
        monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "kc-silent")))
        api = connect(KubeTarget(context="emu", namespace="ml", timeout=0.5))
        with pytest.raises(KubeTimeout, match="did not answer within 0.5 s"):
            api.get(DEPLOYMENT, "probe")
