"""A Kubernetes API emulator (kmock) on 127.0.0.1 in a background thread, for a kubeconfig to name.

kmock keeps objects in memory and answers create/get/list/patch/delete. It runs no controllers
(no status ever appears), ignores label selectors, and has no namespaces API: this wrapper adds
what a real API server would answer for a missing namespace (404 naming the namespace) and for a
namespace the user may not write to (403), so the product's error paths meet real responses.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import yaml

CUSTOM_RESOURCES = {
    "kubernetes.dask.org/v1/daskclusters": "DaskCluster",
    "ray.io/v1/rayclusters": "RayCluster",
    "argoproj.io/v1alpha1/workflows": "Workflow",
}


class KubeEmulator:
    """Runs kmock's KubernetesEmulator; `objects(kind_plural)` reads what the product created."""

    def __init__(self, namespaces: tuple[str, ...] = ("ml",), forbidden: tuple[str, ...] = ()):
        self.namespaces = set(namespaces)
        self.forbidden = set(forbidden)
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.emulator = None
        self.url = ""

    async def _serve(self) -> None:
        import kmock

        try:
            async with kmock.KubernetesEmulator() as emu, kmock.Server(emu, host="127.0.0.1") as server:
                emu.resources.load_bundled()
                for path, kind in CUSTOM_RESOURCES.items():
                    emu.resources[path] = kmock.ResourceInfo(kind=kind, namespaced=True)
                emu[self._writes_to_missing_namespace] << self._namespace_not_found
                emu[self._writes_to_forbidden_namespace] << self._forbidden
                self.emulator = emu
                self.url = str(server.url).rstrip("/")
                self._stop = asyncio.Event()
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # surfaced to the test by start()
            self._error = exc
            self._ready.set()

    def _writes_to_missing_namespace(self, request) -> bool:
        return request.namespace is not None and request.namespace not in self.namespaces

    def _writes_to_forbidden_namespace(self, request) -> bool:
        return request.namespace in self.forbidden

    def _namespace_not_found(self, request):
        import kmock

        raise kmock.KubernetesError(status=404, reason="NotFound",
                                    message=f'namespaces "{request.namespace}" not found',
                                    details={"name": request.namespace, "kind": "namespaces"})

    def _forbidden(self, request):
        import kmock

        raise kmock.KubernetesError(status=403, reason="Forbidden",
                                    message=f'user "dev" cannot {request.method.name.lower()} in the namespace '
                                            f'"{request.namespace}"', details={"kind": "namespaces"})

    def start(self) -> "KubeEmulator":
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the kmock emulator did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"the kmock emulator failed to start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def objects(self, plural: str, namespace: str | None = None) -> list[dict]:
        """Live (not deleted) objects of a resource plural, as stored by the emulator."""
        for _attempt in range(50):
            try:   # the server thread may add an object while this one reads
                items = list(self.emulator.objects.items())
                break
            except RuntimeError:
                continue
        out = []
        for (resource, ns, _name), obj in items:
            if resource.plural == plural and not obj.deleted and (namespace is None or ns == namespace):
                out.append(_plain(obj.raw))
        return out

    def set_status(self, api_version: str, plural: str, namespace: str, name: str, status: dict) -> None:
        """Write `status` on an object, as the operator or controller owning it would."""
        from kmock import resource

        self.emulator.objects[resource(api_version, plural), namespace, name].patch({"status": status})

    def add_pod(self, namespace: str, name: str, labels: dict, phase: str = "Running", ready: bool = True,
                restarts: int = 0) -> None:
        """A pod as the operator's controllers would create it (the emulator runs none)."""
        from kmock import resource

        self.emulator.objects[resource("v1", "pods"), namespace, name] = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": [{"name": "main", "image": "x"}]},
            "status": {"phase": phase, "containerStatuses": [{"name": "main", "ready": ready,
                                                               "restartCount": restarts}]},
        }

    def set_pod_log(self, namespace: str, pod: str, text: str) -> None:
        """What the kubelet would serve as the pod's log (the emulator has no pod logs)."""
        self.emulator[f"get /api/v1/namespaces/{namespace}/pods/{pod}/log"] << text.encode()

    def write_kubeconfig(self, path: Path, context: str = "emu", namespace: str | None = None) -> Path:
        """A kubeconfig like a user's: one cluster, one user with a token, one context."""
        ctx = {"cluster": "emu-cluster", "user": "dev"}
        if namespace:
            ctx["namespace"] = namespace
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
            "clusters": [{"name": "emu-cluster", "cluster": {"server": self.url}}],
            "users": [{"name": "dev", "user": {"token": "emulator-token"}}],
            "contexts": [{"name": context, "context": ctx}],
        }
        path.write_text(yaml.safe_dump(config))
        return path


def _plain(value):
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
