"""Checks of the real parts expenv stands on. Each says what is missing and how to fix it."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from expenv.domain.config import ExpenvConfig
from expenv.domain.secrets import redact
from expenv.domain.status import PartStatus
from expenv.services.http_probe import http_get


def docker_engine() -> PartStatus:
    """Ping the engine named by DOCKER_HOST (default: the local socket) without the docker SDK."""
    url = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    host = redact(url)  # what messages show: tcp://user:***@host
    try:
        if url.startswith("unix://"):
            sock = url[len("unix://"):]
            if not Path(sock).exists():
                raise OSError(f"no socket at {sock}")
            status, body = http_get("http://docker/_ping", unix_socket=sock)
        elif url.startswith("tcp://"):
            status, body = http_get("http://" + url[len("tcp://"):] + "/_ping")
        else:
            return PartStatus("docker", False, f"unsupported DOCKER_HOST {host!r}",
                              "use unix:///path/to/docker.sock or tcp://HOST:PORT")
    except OSError as exc:
        fix = ("run `make up` or `make test` as root (installs Debian's docker.io and starts dockerd), "
               "or start your engine; for a rootless engine set DOCKER_HOST")
        return PartStatus("docker", False, f"Docker engine at {host} does not answer: {exc}", fix)
    if status != 200:
        return PartStatus("docker", False, f"Docker engine at {host} answered {status}: {body[:200]!r}",
                          "check that your user may use the engine (group docker, or DOCKER_HOST)")
    return PartStatus("docker", True, f"Docker engine at {host} answers")


def feast_repo(config: ExpenvConfig) -> PartStatus:
    """The Feast repo exists and its feature_store.yaml parses (the registry is not loaded here)."""
    if not config.features.repo:
        return PartStatus("feast", False, "no [features] repo in expenv.toml",
                          'add [features] repo = "features" (a folder with feature_store.yaml)', required=False)
    repo = (config.root / config.features.repo).resolve()
    yaml_path = repo / "feature_store.yaml"
    if not yaml_path.is_file():
        return PartStatus("feast", False, f"no feature_store.yaml in {repo}",
                          "run `feast init` there, or fix [features] repo in expenv.toml")
    try:
        import yaml  # PyYAML comes with feast; only imported when a repo is configured

        data = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except ImportError:
        return PartStatus("feast", False, "PyYAML is not installed", "pip install 'expenv[engines]'")
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's to see
        return PartStatus("feast", False, f"{yaml_path} does not parse: {exc}", "fix the YAML syntax")
    if not isinstance(data, dict) or "project" not in data:
        return PartStatus("feast", False, f"{yaml_path} has no 'project'", "add project: <name>")
    return PartStatus("feast", True, f"Feast repo {repo} (project {data['project']!r})")


def kube_context() -> PartStatus:
    """The current context of the user's kubeconfig. No API server is contacted here."""
    paths = os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config")).split(os.pathsep)
    existing = [Path(p) for p in paths if p and Path(p).is_file()]
    if not existing:
        return PartStatus("kubernetes", False, f"no kubeconfig at {os.pathsep.join(paths)}",
                          "set KUBECONFIG or mount ~/.kube/config (only needed for Kubernetes targets)",
                          required=False)
    try:
        import yaml

        data = yaml.safe_load(existing[0].read_text(encoding="utf-8")) or {}
    except ImportError:
        return PartStatus("kubernetes", False, "PyYAML is not installed", "pip install 'expenv[engines]'",
                          required=False)
    except Exception as exc:  # noqa: BLE001
        return PartStatus("kubernetes", False, f"{existing[0]} does not parse: {exc}", "fix the kubeconfig",
                          required=False)
    current = data.get("current-context") if isinstance(data, dict) else None
    if not current:
        return PartStatus("kubernetes", False, f"{existing[0]} has no current-context",
                          "run `kubectl config use-context NAME`", required=False)
    return PartStatus("kubernetes", True, f"context {current!r} from {existing[0]}", required=False)


ENGINE_PACKAGES = {
    "pyarrow": "data lookup", "duckdb": "data lookup", "feast": "feature store",
    "mlflow": "tracking", "docker": "docker backends", "kubernetes": "kubernetes backends",
    "git": "git and policy (GitPython)", "jupyter_client": "notebook kernels",
}


def python_packages() -> list[PartStatus]:
    """Which engine packages this Python can import (found, not imported: stays fast)."""
    out = []
    for module, purpose in ENGINE_PACKAGES.items():
        found = importlib.util.find_spec(module) is not None
        out.append(PartStatus(f"python:{module}", found, f"{module} for {purpose}" + ("" if found else " is missing"),
                              "" if found else "pip install 'expenv[engines]'", required=False))
    return out


def tools() -> list[PartStatus]:
    """Command-line tools used by later steps (devcontainer, editor)."""
    wanted = {"git": "apt-get install git", "node": "install Node.js 20+",
              "devcontainer": "npm install -g @devcontainers/cli"}
    return [PartStatus(f"tool:{name}", shutil.which(name) is not None,
                       f"{name} {'found' if shutil.which(name) else 'not on PATH'}", fix, required=False)
            for name, fix in wanted.items()]
