"""One Kubernetes API connection from the user's kubeconfig, with a time limit and plain errors.

The official `kubernetes` client is imported on first use. Objects go in and come out as plain
dicts (the manifests expenv renders), through the client's generic `call_api`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expenv.services.kube import labels as kl
from expenv.services.kube.errors import (KubeConfigError, KubeError, KubeForbidden, KubeNamespaceMissing,
                                         KubeNotFound, KubeTimeout, KubeUnreachable)
from expenv.services.kube.resources import Kind, kind_of

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0   # seconds one API call may take, unless a profile or target sets `api_timeout`


def kubeconfig_path() -> str:
    """Where the user's kubeconfig is, read now (not at import): $KUBECONFIG or ~/.kube/config."""
    return os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


def kubeconfig_present() -> bool:
    """Whether any file of the kubeconfig path exists (without one, nothing of ours runs on a cluster)."""
    return any(Path(p).expanduser().is_file() for p in kubeconfig_path().split(os.pathsep) if p)


@dataclass(frozen=True)
class KubeTarget:
    """Where objects go: a kubeconfig context (None: the current one) and a namespace; how long
    one call to its API may take (seconds)."""

    context: str | None = None
    namespace: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def of(cls, context: str | None, namespace: str | None, api_timeout: float | None) -> KubeTarget:
        """The target a profile, target or recorded resources name (no `api_timeout`: the default)."""
        return cls(context, namespace, float(api_timeout or DEFAULT_TIMEOUT))


class KubeApi:
    """A connected API client bound to one namespace."""

    def __init__(self, api_client: Any, namespace: str, context: str, timeout: float):
        self._api = api_client
        self.namespace = namespace
        self.context = context
        self.timeout = timeout
        self.server = api_client.configuration.host

    # -- objects ---------------------------------------------------------------------------
    def create(self, manifest: dict) -> dict:
        """Create `manifest` in our namespace and return the object as the API server holds it."""
        kind = kind_of(manifest)
        name = manifest["metadata"]["name"]
        self._call("POST", kind.collection_path(self.namespace), body=manifest, what=f"create {kind.kind} {name}")
        # Some servers (and the emulator) answer a create with an empty body: read it back.
        return self.get(kind, name)

    def get(self, kind: Kind, name: str) -> dict:
        return self._call("GET", kind.object_path(self.namespace, name), what=f"read {kind.kind} {name}")

    def find(self, kind: Kind, name: str) -> dict | None:
        try:
            return self.get(kind, name)
        except KubeNotFound:
            return None

    def list(self, kind: Kind, wanted: dict[str, str]) -> list[dict]:
        """Objects of `kind` carrying every `wanted` label (checked here too, not only by the server)."""
        body = self._call("GET", kind.collection_path(self.namespace), what=f"list {kind.plural}",
                          query=[("labelSelector", kl.selector(wanted))] if wanted else None)
        items = body.get("items") or []
        return [o for o in items if kl.matches((o.get("metadata") or {}).get("labels"), wanted)]

    def merge_patch(self, kind: Kind, name: str, patch: dict) -> dict:
        return self._call("PATCH", kind.object_path(self.namespace, name), body=patch,
                          content_type="application/merge-patch+json", what=f"patch {kind.kind} {name}")

    def delete(self, kind: Kind, name: str) -> bool:
        """Delete (pods with it, in the background). False when it was already gone."""
        try:
            self._call("DELETE", kind.object_path(self.namespace, name), what=f"delete {kind.kind} {name}",
                       body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})
            return True
        except KubeNotFound:
            return False

    def pod_log(self, pod: str, container: str | None = None, tail: int | None = None) -> str:
        query = [("container", container)] if container else []
        if tail:
            query.append(("tailLines", str(tail)))
        path = f"/api/v1/namespaces/{self.namespace}/pods/{pod}/log"
        return self._call("GET", path, what=f"read the log of pod {pod}", query=query, raw=True)

    # -- transport -------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, what: str, body: Any = None, query: list | None = None,
              content_type: str | None = None, raw: bool = False) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, TimeoutError as Urllib3Timeout

        headers = {"Accept": "application/json", "Content-Type": content_type or "application/json"}
        try:
            response = self._api.call_api(
                path, method, query_params=query or [], header_params=headers, body=body,
                auth_settings=["BearerToken"], _preload_content=False, _request_timeout=self.timeout,
                _return_http_data_only=True)
        except ApiException as exc:
            raise self._api_error(exc, what) from None
        except (Urllib3Timeout, MaxRetryError, HTTPError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            # urllib3 makes a refused connection a kind of connect timeout: tell them apart.
            refused = isinstance(reason, (NewConnectionError, ConnectionError))
            if not refused and (isinstance(exc, Urllib3Timeout) or isinstance(reason, Urllib3Timeout)):
                raise KubeTimeout(f"the Kubernetes API at {self.server} (context {self.context!r}) did not answer "
                                  f"within {self.timeout:g} s while trying to {what}") from None
            raise KubeUnreachable(f"cannot reach the Kubernetes API at {self.server} (context {self.context!r}) "
                                  f"to {what}: {type(reason).__name__}. Is the cluster up and the kubeconfig "
                                  f"current?") from None
        data = response.data.decode("utf-8", "replace")
        if raw:
            return data
        return json.loads(data) if data.strip() else {}

    def _api_error(self, exc: Any, what: str) -> KubeError:
        try:
            status = json.loads(exc.body or "{}")
        except (TypeError, ValueError):
            status = {}
        message = status.get("message") or exc.reason or "no message"
        details = status.get("details") or {}
        where = f"namespace {self.namespace!r} (context {self.context!r})"
        if exc.status == 404 and details.get("kind") == "namespaces":
            return KubeNamespaceMissing(f"namespace {self.namespace!r} does not exist in context {self.context!r}: "
                                        f"create it (kubectl create namespace {self.namespace}) or set another "
                                        f"namespace in the profile or target")
        if exc.status == 404:
            return KubeNotFound(f"cannot {what} in {where}: not found ({message})")
        if exc.status == 403:
            return KubeForbidden(f"Kubernetes refused to {what} in {where}: {message}. Ask for RBAC rights "
                                 f"on this resource in the namespace, or use another context")
        if exc.status == 401:
            return KubeForbidden(f"Kubernetes did not accept the credentials of context {self.context!r} "
                                 f"(to {what}): log in again or refresh the kubeconfig")
        return KubeError(f"cannot {what} in {where}: HTTP {exc.status} {message}")


def _context_of(target: KubeTarget) -> tuple[str, str, str]:
    """(kubeconfig path, context name, namespace) for `target`, from the kubeconfig alone."""
    from kubernetes import config as kconfig
    from kubernetes.config.config_exception import ConfigException

    path = kubeconfig_path()
    if not kubeconfig_present():
        raise KubeConfigError(f"no kubeconfig at {path}: set KUBECONFIG or create ~/.kube/config "
                              f"(kubectl config view shows what you have)")
    try:
        contexts, current = kconfig.list_kube_config_contexts(config_file=path)
    except ConfigException as exc:
        raise KubeConfigError(f"the kubeconfig at {path} cannot be read: {exc}") from None
    names = [c["name"] for c in contexts or []]
    wanted = target.context or (current or {}).get("name")
    if not wanted:
        raise KubeConfigError(f"the kubeconfig at {path} has no current context; set `context` in the "
                              f"profile or target (known contexts: {', '.join(names) or 'none'})")
    if wanted not in names:
        raise KubeConfigError(f"kube context {wanted!r} is not in the kubeconfig at {path} "
                              f"(known contexts: {', '.join(names) or 'none'})")
    context_namespace = next((c.get("context", {}).get("namespace") for c in contexts if c["name"] == wanted), None)
    return path, wanted, target.namespace or context_namespace or "default"


def namespace_of(target: KubeTarget) -> str:
    """The namespace objects of `target` go to, without calling the API ("default" without a kubeconfig)."""
    if target.namespace:
        return target.namespace
    try:
        return _context_of(target)[2]
    except KubeConfigError:
        return "default"


def connect(target: KubeTarget) -> KubeApi:
    """An API client for `target` from the user's kubeconfig; clear errors for what is missing."""
    from kubernetes import config as kconfig
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config.config_exception import ConfigException

    path, context, namespace = _context_of(target)
    configuration = Configuration()
    try:
        kconfig.load_kube_config(config_file=path, context=context, client_configuration=configuration,
                                 persist_config=False)
    except ConfigException as exc:
        raise KubeConfigError(f"kube context {context!r} in {path} cannot be used: {exc}") from None
    # One quick attempt per call: an unreachable API must fail within the time limit, not retry.
    configuration.retries = 0
    return KubeApi(ApiClient(configuration), namespace, context, target.timeout)
