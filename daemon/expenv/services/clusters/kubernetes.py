"""Clusters on Kubernetes through the engines' own operators (Dask operator, KubeRay) and, for
Spark, a Spark Connect server Deployment: `expenv cluster up` with `backend = "kubernetes"`.

A launch creates the manifests of `kube_manifests`, reads each back, then waits for the operator
(or controller) to report the cluster ready. Status is theirs to give: when none has come within
the profile's `status_wait` (seconds, option; default 30), the cluster is reported "starting",
"submitted, waiting for the operator", and the objects stay, because an operator may be slow or
being installed; `cluster ls` keeps reading its status. When an operator did report and the
cluster is not ready by the launch deadline, the launch removes what it created and fails.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from expenv.domain.clusters import LABEL_CLUSTER, LABEL_PROFILE, LABEL_WORKSPACE, ClusterError, ClusterHandle, \
    ClusterProfile
from expenv.services.clusters.interface import BackendContext, Cancelled, LaunchCancelled, Progress
from expenv.services.clusters.kube_manifests import (DASK_COMM, DASK_DASHBOARD, RAY_CLIENT, RAY_DASHBOARD,
                                                     SPARK_APP_UI, SPARK_CONNECT, ClusterNames, object_name,
                                                     render_cluster, spark_workers_name)
from expenv.services.kube import KubeApi, KubeError, KubeTarget, connect, namespace_of
from expenv.services.kube import labels as kl
from expenv.services.kube.pods import pod_counts
from expenv.services.kube.resources import DASK_CLUSTER, DEPLOYMENT, KINDS, RAY_CLUSTER, SERVICE

log = logging.getLogger(__name__)

MAIN_KIND = {"dask": DASK_CLUSTER, "ray": RAY_CLUSTER, "spark": SERVICE}
KIND_OF_MAIN = {DASK_CLUSTER.kind: "dask", RAY_CLUSTER.kind: "ray", SERVICE.kind: "spark"}
DEFAULT_STATUS_WAIT = 30.0
POLL = 1.0


class KubernetesClusters:
    """The `kubernetes` cluster backend."""

    def __init__(self, context: BackendContext):
        self.context = context

    # --- ClusterBackend ----------------------------------------------------------------------

    def render(self, profile: ClusterProfile, cluster_id: str) -> list[dict]:
        namespace = namespace_of(KubeTarget(profile.context, profile.namespace))
        return render_cluster(profile, cluster_id, self.context.workspace_label, namespace,
                              self.context.run_env(profile))

    def launch(self, profile: ClusterProfile, cluster_id: str, progress: Progress,
               cancelled: Cancelled) -> ClusterHandle:
        api = _connect(KubeTarget.of(profile.context, profile.namespace, profile.api_timeout))
        manifests = render_cluster(profile, cluster_id, self.context.workspace_label, api.namespace,
                                   self.context.run_env(profile))
        handle = ClusterHandle(
            id=cluster_id, profile=profile.name, kind=profile.kind, backend=profile.backend,
            workers_wanted=profile.workers,
            resources={"context": api.context, "namespace": api.namespace, "server": api.server,
                       "api_timeout": api.timeout,
                       "objects": [{"kind": m["kind"], "name": m["metadata"]["name"]} for m in manifests]})
        handle = self._with_addresses(handle)
        created: list[dict] = []
        try:
            for manifest in manifests:
                progress(f"creating {manifest['kind']} {manifest['metadata']['name']} in namespace {api.namespace}")
                api.create(manifest)
                created.append(manifest)
                if cancelled():
                    raise LaunchCancelled(f"launch of {cluster_id} cancelled; removed what it created")
            return self._wait_ready(api, handle, profile, progress, cancelled)
        except BaseException as exc:
            self._delete(api, [(m["kind"], m["metadata"]["name"]) for m in reversed(created)])
            if isinstance(exc, KubeError):
                raise ClusterError(f"cannot launch {cluster_id} on Kubernetes: {exc}") from None
            raise

    def inspect(self, handle: ClusterHandle) -> ClusterHandle:
        api = _connect(_target_of(handle))
        try:
            return self._read(api, handle)
        except KubeError as exc:
            raise ClusterError(str(exc)) from None

    def discover(self, workspace_label: str) -> list[ClusterHandle]:
        """Clusters with our labels in every (context, namespace) the kubernetes profiles use. One
        namespace that cannot be read does not hide the others; it fails the call only alone."""
        found: dict[str, ClusterHandle] = {}
        problems: list[str] = []
        wanted = {**kl.OURS, LABEL_WORKSPACE: workspace_label}
        for target in self._targets():
            try:
                api = connect(target)
                for kind in MAIN_KIND.values():
                    for obj in api.list(kind, wanted):
                        handle = self._handle_of(api, obj)
                        if handle is not None:
                            found[handle.id] = self._read(api, handle)
            except KubeError as exc:
                problems.append(f"namespace {target.namespace}: {exc}")
                log.warning("cannot list clusters in namespace %s: %s", target.namespace, exc)
        if problems and not found:
            raise ClusterError("; ".join(problems))
        return list(found.values())

    def scale(self, handle: ClusterHandle, workers: int) -> ClusterHandle:
        api = _connect(_target_of(handle))
        name = _names(handle).name
        try:
            if handle.kind == "dask":
                api.merge_patch(DASK_CLUSTER, name, {"spec": {"worker": {"replicas": workers}}})
            elif handle.kind == "ray":
                groups = api.get(RAY_CLUSTER, name)["spec"]["workerGroupSpecs"]
                groups[0]["replicas"] = workers
                groups[0]["maxReplicas"] = max(groups[0].get("maxReplicas", 0), workers)
                # A merge patch replaces a list whole: send every group, the first one changed.
                api.merge_patch(RAY_CLUSTER, name, {"spec": {"workerGroupSpecs": groups}})
            else:
                api.merge_patch(DEPLOYMENT, spark_workers_name(_names(handle)), {"spec": {"replicas": workers}})
            return replace(self._read(api, handle), workers_wanted=workers)
        except KubeError as exc:
            raise ClusterError(f"cannot scale {handle.id}: {exc}") from None

    def stop(self, handle: ClusterHandle) -> None:
        api = _connect(_target_of(handle))
        objects = [(o["kind"], o["name"]) for o in handle.resources.get("objects", [])]
        try:
            # Whatever else carries the cluster's label goes too (a half-recorded launch).
            for kind in (*MAIN_KIND.values(), DEPLOYMENT):
                for obj in api.list(kind, {LABEL_CLUSTER: kl.label_value(handle.id)}):
                    if (kind.kind, obj["metadata"]["name"]) not in objects:
                        objects.append((kind.kind, obj["metadata"]["name"]))
        except KubeError as exc:
            raise ClusterError(f"cannot stop {handle.id}: {exc}") from None
        self._delete(api, objects, strict=True)

    def last_activity(self, handle: ClusterHandle) -> float | None:
        return None   # the API does not say when a client last used the engine

    # --- internals -----------------------------------------------------------------------------

    def _wait_ready(self, api: KubeApi, handle: ClusterHandle, profile: ClusterProfile, progress: Progress,
                    cancelled: Cancelled) -> ClusterHandle:
        started = time.monotonic()
        status_wait = float(profile.options.get("status_wait", DEFAULT_STATUS_WAIT))
        timeout = float(profile.options.get("launch_timeout", self.context.launch_timeout))
        deadline = started + timeout
        progress(f"waiting for the {_operator(handle.kind)} to start {handle.id}")
        while True:
            current = self._read(api, handle)
            if current.status == "running":
                return current
            if current.status == "failed":
                raise ClusterError(f"{handle.id} failed on Kubernetes: {current.detail}")
            if cancelled():
                raise LaunchCancelled(f"launch of {handle.id} cancelled; removed what it created")
            now = time.monotonic()
            if not current.resources.get("reported") and now - started >= status_wait:
                return replace(current, status="starting", detail=(
                    f"submitted to namespace {api.namespace}, waiting for the {_operator(handle.kind)}: no status "
                    f"after {status_wait:g} s (is it installed in context {api.context}?); `cluster ls` follows it"))
            if now >= deadline:
                raise ClusterError(f"launch timeout: {handle.id} was not ready after {timeout:g} s "
                                   f"({current.detail}); removed it")
            time.sleep(POLL)

    def _read(self, api: KubeApi, handle: ClusterHandle) -> ClusterHandle:
        """The handle with the live status the operator or controller reports."""
        names = _names(handle)
        main = api.find(MAIN_KIND[handle.kind], names.name)
        if main is None:
            return handle.with_status("stopped", f"no {MAIN_KIND[handle.kind].kind} {names.name} "
                                                 f"in namespace {names.namespace}")
        if handle.kind == "dask":
            phase = (main.get("status") or {}).get("phase")
            wanted = main["spec"]["worker"].get("replicas", 0)
            alive, lost = pod_counts(api, {"dask.org/cluster-name": names.name, "dask.org/component": "worker"})
            status = {"Running": "running", "Failed": "failed"}.get(phase, "starting")
            detail = f"Dask operator phase: {phase}" if phase else "no status from the Dask operator yet"
        elif handle.kind == "ray":
            state = (main.get("status") or {}).get("state")
            phase = state
            wanted = sum(g.get("replicas", 0) for g in main["spec"].get("workerGroupSpecs", []))
            alive, lost = pod_counts(api, {"ray.io/cluster": names.name, "ray.io/node-type": "worker"})
            status = {"ready": "running", "failed": "failed"}.get(state or "", "starting")
            detail = f"KubeRay state: {state}" if state else "no status from the KubeRay operator yet"
        else:
            server = api.find(DEPLOYMENT, f"{names.name}-server") or {}
            workers = api.find(DEPLOYMENT, spark_workers_name(names)) or {}
            phase = (server.get("status") or {}).get("observedGeneration")
            ready = (server.get("status") or {}).get("readyReplicas", 0)
            wanted = (workers.get("spec") or {}).get("replicas", 0)
            alive, lost = pod_counts(api, {LABEL_CLUSTER: kl.label_value(handle.id), "expenv.role": "worker"})
            status = "running" if ready else "starting"
            detail = (f"Spark Connect server ready: {ready}/1" if phase is not None
                      else "no status from the Deployment controller yet")
        resources = {**handle.resources, "reported": phase is not None}
        return replace(handle, status=status, detail=detail, workers_alive=alive, workers_lost=lost,
                       workers_wanted=wanted, resources=resources)

    def _handle_of(self, api: KubeApi, obj: dict) -> ClusterHandle | None:
        labels = obj["metadata"].get("labels") or {}
        kind = KIND_OF_MAIN.get(obj.get("kind") or "")
        if kind is None or LABEL_CLUSTER not in labels:
            return None
        name = obj["metadata"]["name"]
        objects = {"dask": [DASK_CLUSTER.kind], "ray": [RAY_CLUSTER.kind]}.get(kind)
        listed = [{"kind": k, "name": name} for k in objects] if objects else [
            {"kind": DEPLOYMENT.kind, "name": f"{name}-server"}, {"kind": SERVICE.kind, "name": name},
            {"kind": DEPLOYMENT.kind, "name": f"{name}-workers"}]
        handle = ClusterHandle(
            id=labels[LABEL_CLUSTER], profile=labels.get(LABEL_PROFILE, ""), kind=kind, backend="kubernetes",
            resources={"context": api.context, "namespace": api.namespace, "server": api.server,
                       "api_timeout": api.timeout, "objects": listed})
        return self._with_addresses(handle)

    @staticmethod
    def _with_addresses(handle: ClusterHandle) -> ClusterHandle:
        names = _names(handle)
        service, ports = {"dask": (f"{names.name}-scheduler", (DASK_COMM, DASK_DASHBOARD)),
                          "ray": (f"{names.name}-head-svc", (RAY_CLIENT, RAY_DASHBOARD)),
                          "spark": (names.name, (SPARK_CONNECT, SPARK_APP_UI))}[handle.kind]
        scheme = {"dask": "tcp", "ray": "ray", "spark": "sc"}[handle.kind]
        host = names.host(service)
        context = handle.resources.get("context")
        forward = f"kubectl --context {context} -n {names.namespace} port-forward svc/{service} {ports[0]} {ports[1]}"
        return replace(handle, address=f"{scheme}://{host}:{ports[0]}", dashboard_url=f"http://{host}:{ports[1]}",
                       resources={**handle.resources, "port_forward": forward})

    def _targets(self) -> list[KubeTarget]:
        """The (context, namespace) pairs the workspace's kubernetes profiles use, each with the
        longest `api_timeout` of the profiles sharing it."""
        from expenv.services.clusters.profiles import cluster_profiles
        from expenv.services.config import load_config

        profiles = cluster_profiles(load_config(self.context.root)).values()
        targets: dict[tuple[str, str], KubeTarget] = {}
        for p in profiles:
            if p.backend == "kubernetes":
                target = KubeTarget.of(p.context, namespace_of(KubeTarget(p.context, p.namespace)), p.api_timeout)
                pair = (target.context or "", target.namespace or "")
                if pair not in targets or targets[pair].timeout < target.timeout:
                    targets[pair] = target
        return [targets[pair] for pair in sorted(targets)]

    @staticmethod
    def _delete(api: KubeApi, objects: list[tuple[str, str]], strict: bool = False) -> None:
        failures = []
        for kind_name, name in objects:
            try:
                api.delete(KINDS[kind_name], name)
            except KubeError as exc:
                failures.append(str(exc))
                log.warning("cannot delete %s %s: %s", kind_name, name, exc)
        if strict and failures:
            raise ClusterError("; ".join(failures))


def _connect(target: KubeTarget) -> KubeApi:
    try:
        return connect(target)
    except KubeError as exc:
        raise ClusterError(str(exc)) from None


def _target_of(handle: ClusterHandle) -> KubeTarget:
    res = handle.resources
    return KubeTarget.of(res.get("context"), res.get("namespace"), res.get("api_timeout"))


def _names(handle: ClusterHandle) -> ClusterNames:
    return ClusterNames(object_name(handle.id), handle.resources.get("namespace") or "default")


def _operator(kind: str) -> str:
    return {"dask": "Dask operator", "ray": "KubeRay operator", "spark": "Deployment controller"}[kind]

