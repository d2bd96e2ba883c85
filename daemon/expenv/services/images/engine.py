"""The Docker engine as the image service sees it: a client, image facts, throwaway containers.

The docker SDK is imported inside functions only (the daemon must start without it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from expenv.domain.errors import ExpenvError
from expenv.domain.secrets import redact

ENGINE_FIX = ("run `make docker` (as root it installs Debian's docker.io and starts dockerd), start your "
              "engine, or point DOCKER_HOST at one (a rootless engine: unix://$XDG_RUNTIME_DIR/docker.sock)")
# Tried in this order when an image does not say where its Python is (label org.expenv.python).
PYTHON_CANDIDATES = ("/opt/venv/bin/python", "python3", "python")


class ImageError(ExpenvError):
    """An image cannot be built, found or used."""


class DockerUnavailable(ImageError):
    """No Docker engine answers (or this user may not use it)."""


class ImageMissing(ImageError):
    """The image is not on this engine."""


class NoPythonInImage(ImageError):
    """The image has no Python interpreter expenv can run."""


@dataclass(frozen=True)
class ImageInfo:
    """What expenv needs to know about one local image."""

    ref: str
    id: str
    tags: tuple[str, ...] = ()
    created: str = ""
    size_bytes: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    user: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "id": self.id, "tags": list(self.tags), "created": self.created,
                "size_bytes": self.size_bytes, "labels": dict(self.labels), "user": self.user}


def docker_client():
    """A docker SDK client that has answered a ping, or DockerUnavailable saying how to fix it."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:
        raise DockerUnavailable(f"the docker Python package is missing ({exc}); pip install 'expenv[engines]'") from None
    host = redact(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except (DockerException, OSError) as exc:
        detail = redact(str(exc))
        if "Permission denied" in detail:
            raise DockerUnavailable(
                f"this user may not use the Docker engine at {host} (permission denied); fix: add the user "
                "to the socket's group (docker), or run a rootless engine and set DOCKER_HOST") from None
        raise DockerUnavailable(f"no Docker engine answers at {host}: {detail}; fix: {ENGINE_FIX}") from None
    return client


def image_info(ref: str, client=None) -> ImageInfo:
    """Inspect a local image by tag or id; ImageMissing when the engine does not have it."""
    from docker.errors import ImageNotFound

    client = client or docker_client()
    try:
        image = client.images.get(ref)
    except ImageNotFound:
        raise ImageMissing(
            f"image {ref} is not on this Docker engine (removed, or never built); build it with "
            "`expenv images build` (or `make images`)") from None
    attrs = image.attrs
    config = attrs.get("Config") or {}
    return ImageInfo(ref=ref, id=image.id, tags=tuple(image.tags), created=attrs.get("Created", ""),
                     size_bytes=int(attrs.get("Size") or 0), labels=dict(config.get("Labels") or {}),
                     user=config.get("User") or "")


def run_python(ref: str, script: str, python: str | None = None, client=None, timeout: float = 300) -> str:
    """Run `python -c script` in a throwaway container of `ref` (no network); its stdout.

    Without `python`, use the image's label `org.expenv.python`, else the first of
    PYTHON_CANDIDATES that exists. NoPythonInImage when none can run.
    """
    client = client or docker_client()
    info = image_info(ref, client)
    candidates = [python] if python else [p for p in (info.labels.get("org.expenv.python"),) if p] + list(
        PYTHON_CANDIDATES)
    tried = []
    for interpreter in dict.fromkeys(candidates):
        code, out, err = _run(client, info.id, interpreter, ["-c", script], timeout)
        if code == 0:
            return out
        if _not_found(code, err):
            tried.append(interpreter)
            continue
        raise ImageError(f"{interpreter} in image {ref} failed (exit {code}): {err.strip()[-2000:]}")
    raise NoPythonInImage(
        f"image {ref} has no Python (tried {', '.join(tried)}); a production image needs one: build it "
        "FROM expenv-base:bookworm (python3, python3-venv) with a venv at /opt/venv, as "
        "the project template's Dockerfile does")


PROBE_LABEL = "org.expenv.role=probe"
# A probe's container is removed by the process that ran it; one whose prober was killed (a daemon
# or CLI stopped mid-probe) stays behind, exited. The next probe removes those exited this long ago:
# long enough that no prober still reads one's logs.
STALE_PROBE_SECONDS = 600


def _sweep_stale_probes(client) -> None:
    from datetime import datetime, timezone

    from docker.errors import APIError, NotFound

    try:
        exited = client.containers.list(all=True, filters={"label": PROBE_LABEL, "status": "exited"})
    except APIError:
        return
    now = datetime.now(timezone.utc)
    for container in exited:
        finished = (container.attrs.get("State") or {}).get("FinishedAt", "")[:19]   # ISO, nanoseconds cut
        try:
            age = (now - datetime.fromisoformat(finished).replace(tzinfo=timezone.utc)).total_seconds()
        except ValueError:
            continue
        if age >= STALE_PROBE_SECONDS:
            try:
                container.remove(force=True)
            except (APIError, NotFound):
                pass


def _run(client, image_id: str, program: str, args: list[str], timeout: float) -> tuple[int, str, str]:
    from docker.errors import APIError

    _sweep_stale_probes(client)
    try:
        container = client.containers.create(image_id, command=args, entrypoint=[program], network_mode="none",
                                             detach=True, labels={"org.expenv.role": "probe"})
    except APIError as exc:  # an image with no config at all (a bare import) cannot even be created
        return 127, "", str(exc)
    try:
        try:
            container.start()
        except APIError as exc:  # runc: exec: "python3": executable file not found in $PATH
            return 127, "", str(exc)
        result = container.wait(timeout=timeout)
        out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        return int(result.get("StatusCode", 1)), out, err
    finally:
        try:
            container.remove(force=True)
        except APIError:
            pass


def _not_found(code: int, err: str) -> bool:
    lowered = err.lower()
    return code in (126, 127) and ("not found" in lowered or "no such file" in lowered or "executable" in lowered)
