"""Build the base, production and development images on the local engine (no registry).

Each build is skipped when an image with the same tag carries the label of the same recipe (what
decides its content), so a rebuild costs a label lookup, not a context upload.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from expenv.services.images import context
from expenv.services.images.engine import (
    ImageError,
    ImageMissing,
    NoPythonInImage,
    docker_client,
    image_info,
    run_python,
)

log = logging.getLogger(__name__)

BASE_TAG = "expenv-base:bookworm"
RECIPE_LABEL = "org.expenv.recipe"
PYTHON_VERSION = "import platform; print(platform.python_version())"


@dataclass(frozen=True)
class BuiltImage:
    """An image that a build produced (or found already built: cached=True)."""

    tag: str
    id: str
    seconds: float
    cached: bool
    source: str = ""   # how packages were installed: "wheelhouse" or "index"
    lock: str = ""     # the project's requirements lock, written from the image (production only)
    lock_changed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_base(force: bool = False, tag: str = BASE_TAG, timeout: float = 1800) -> BuiltImage:
    """debootstrap + docker import, through devcontainer/scripts/build-base-image.sh."""
    script = context.devcontainer_dir() / "scripts" / "build-base-image.sh"
    started = time.perf_counter()
    env = {**os.environ, "EXPENV_BASE_TAG": tag, **({"EXPENV_BASE_FORCE": "1"} if force else {})}
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        raise ImageError(f"the base image build failed ({tag} unchanged):\n{result.stderr.strip()[-3000:]}")
    image_id = result.stdout.strip().splitlines()[-1]
    return BuiltImage(tag, image_id, time.perf_counter() - started, cached="cached (" in result.stderr)


def dockerfile_base(project_root: Path) -> str:
    """The base the project's Dockerfile names (its `ARG BASE_IMAGE=` default), else expenv's."""
    dockerfile = project_root / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8") if dockerfile.is_file() else ""
    found = re.search(r"^ARG BASE_IMAGE=(\S+)", text, re.M)
    return found.group(1) if found else BASE_TAG


def ensure_base(base: str, force: bool = False) -> BuiltImage:
    """expenv's base is built here (debootstrap); any other base (python:3.12-slim-bookworm) is
    pulled when the engine does not have it."""
    if base == BASE_TAG:
        return build_base(force=force)
    started = time.perf_counter()
    try:
        return BuiltImage(base, image_info(base).id, time.perf_counter() - started, cached=True)
    except ImageMissing:
        from docker.errors import APIError

        try:
            pulled = docker_client().images.pull(base)
        except APIError as exc:
            raise ImageError(f"the base image {base} is not here and cannot be pulled ({exc.explanation or exc}). "
                             "Load it into this engine (docker pull, or docker load where no registry answers), "
                             "or name another base in the Dockerfile's ARG BASE_IMAGE") from None
        return BuiltImage(base, pulled.id, time.perf_counter() - started, cached=False)


def build_production(project_root: Path, tag: str, requirements: Path | None = None, base: str = BASE_TAG,
                     wheelhouse: bool | None = None, force: bool = False, no_cache: bool = False) -> BuiltImage:
    """The project's production image: its Dockerfile (the template's, the one recipe) FROM `base`,
    then its lock (requirements.lock beside requirements.txt) written from the image's `pip list`.

    `wheelhouse` None: use a host-made wheelhouse when the host's Python fits the base image's,
    else install from the index (trusting the host's extra CAs). `force` rebuilds even when an
    image of this recipe is tagged; `no_cache` also ignores Docker's layer cache (cold build).
    """
    from expenv.services.parity.lock import is_fresh

    requirements = requirements or project_root / "pipelines" / "requirements.txt"
    if not requirements.is_file():
        raise ImageError(f"no requirements file at {requirements}; the production image installs it")
    dockerfile = project_root / "Dockerfile"
    if not dockerfile.is_file():
        raise ImageError(f"no Dockerfile in {project_root}: the production image's recipe is the project's "
                         "Dockerfile (`expenv new` renders it)")
    lock = requirements.with_suffix(".lock")
    fresh = is_fresh(lock, requirements)
    client = docker_client()
    base_info = image_info(base, client)
    if wheelhouse is None:
        wheelhouse = context.host_python_fits(run_python(base, PYTHON_VERSION, client=client).strip())
    source = "wheelhouse" if wheelhouse else "index"
    recipe = context.digest(dockerfile.read_bytes(), requirements.read_bytes(), base_info.id, source)
    started = time.perf_counter()
    found = None if force or no_cache else _with_recipe(client, tag, recipe)
    image_lock = _image_lock(tag, client) if found else ""
    if found and fresh and _pins(image_lock) != _pins(lock.read_text(encoding="utf-8")):
        found = None   # a resolution of the same requirements, but not the locked versions
    if found:
        built = BuiltImage(tag, found, time.perf_counter() - started, cached=True, source=source)
        return _with_lock(built, lock, image_lock)
    with tempfile.TemporaryDirectory(prefix="expenv-prod-") as tmp:
        ctx = Path(tmp)
        shutil.copyfile(dockerfile, ctx / "Dockerfile")
        (ctx / "pipelines").mkdir()
        shutil.copyfile(requirements, ctx / "pipelines" / "requirements.txt")
        (ctx / "pipelines" / "requirements.lock").write_bytes(lock.read_bytes() if lock.is_file() else b"")
        context.write_ca_certificates(ctx / "build-context" / "ca-certificates")
        (ctx / "build-context" / "wheels").mkdir(parents=True)
        if wheelhouse:
            made = context.production_wheelhouse(requirements, lock if fresh else None)
            context.link_tree(made, ctx / "build-context" / "wheels")
        image_id = _docker_build(client, ctx, tag, {"BASE_IMAGE": base}, {RECIPE_LABEL: recipe}, no_cache)
    built = BuiltImage(tag, image_id, time.perf_counter() - started, cached=False, source=source)
    return _with_lock(built, lock, _image_lock(tag, client))


def _image_lock(tag: str, client) -> str:
    """The lock the image was built with (its /opt/venv/requirements.lock)."""
    return run_python(tag, "print(open('/opt/venv/requirements.lock').read(), end='')", client=client)


def _pins(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _with_lock(built: BuiltImage, lock: Path, text: str) -> BuiltImage:
    """Write the image's lock over the project's when it differs."""
    changed = not lock.is_file() or lock.read_text(encoding="utf-8") != text
    if changed:
        try:
            lock.write_text(text, encoding="utf-8")
        except OSError as exc:   # read-only checkout, a folder in its place: the image itself is kept
            raise ImageError(f"{built.tag} is built, but its lock cannot be written to {lock}: "
                             f"{exc.strerror or exc}. Make it a writable file and run `expenv images build` "
                             "again (the image is reused)") from None
    return replace(built, lock=str(lock), lock_changed=changed)


def host_docker_socket() -> str:
    """The host socket the devcontainer mounts: DOCKER_HOST's when it names one (a rootless
    engine's unix:///run/user/1000/docker.sock), else the system engine's."""
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


def prepare_devcontainer(dest: Path, production_image: str, wheelhouse: bool | None = None) -> Path:
    """Write devcontainer.json (PRODUCTION_IMAGE set), the Dockerfile, its entrypoint and its
    build context (host wheels of expenv and the tools, the host's extra CAs) into `dest`
    (a project's .devcontainer/). Returns the devcontainer.json path."""
    source = context.devcontainer_dir()
    dest.mkdir(parents=True, exist_ok=True)
    text = (source / "devcontainer.json").read_text(encoding="utf-8")
    text, count = re.subn(r'("PRODUCTION_IMAGE"\s*:\s*)"[^"]*"', lambda m: f'{m[1]}"{production_image}"', text)
    if count != 1:
        raise ImageError(f"{source / 'devcontainer.json'} has no build.args.PRODUCTION_IMAGE to set")
    text, count = re.subn(r"source=/var/run/docker\.sock,", lambda m: f"source={host_docker_socket()},", text)
    if count != 1:
        raise ImageError(f"{source / 'devcontainer.json'} has no Docker socket mount to set")
    (dest / "devcontainer.json").write_text(text, encoding="utf-8")
    for name in ("Dockerfile", "dev-entrypoint.sh"):
        shutil.copy2(source / name, dest / name)
    build_context = dest / "build-context"
    context.write_ca_certificates(_fresh(build_context / "ca-certificates"))
    if wheelhouse is None:
        try:
            wheelhouse = context.host_python_fits(run_python(production_image, PYTHON_VERSION).strip())
        except ImageMissing:
            wheelhouse = True  # built later from this same host: its Python is the base's
    if wheelhouse:
        context.link_tree(context.dev_wheelhouse(), build_context / "wheels")
    else:
        _fresh(build_context / "wheels")
    return dest / "devcontainer.json"


def build_dev(production_image: str, tag: str, force: bool = False, no_cache: bool = False) -> BuiltImage:
    """The devcontainer image without the devcontainer CLI (same Dockerfile): for CI and benches."""
    client = docker_client()
    prod = image_info(production_image, client)
    run_python(production_image, "import sys", client=client)  # NoPythonInImage before a long build
    folder = context.devcontainer_dir()
    recipe = context.digest((folder / "Dockerfile").read_bytes(), (folder / "dev-entrypoint.sh").read_bytes(),
                             prod.id, context.source_digest())
    started = time.perf_counter()
    if not (force or no_cache) and (found := _with_recipe(client, tag, recipe)):
        return BuiltImage(tag, found, time.perf_counter() - started, cached=True)
    with tempfile.TemporaryDirectory(prefix="expenv-dev-") as tmp:
        prepare_devcontainer(Path(tmp), production_image)
        image_id = _docker_build(client, Path(tmp), tag, {"PRODUCTION_IMAGE": production_image},
                                 {RECIPE_LABEL: recipe}, no_cache)
    return BuiltImage(tag, image_id, time.perf_counter() - started, cached=False)


def check_production_image(ref: str) -> dict[str, str]:
    """The production image exists and has a Python; its version and interpreter."""
    info = image_info(ref)
    out = run_python(ref, "import sys, platform; print(sys.executable); print(platform.python_version())")
    executable, version = (out.strip().splitlines() + ["", ""])[:2]
    if not executable:
        raise NoPythonInImage(f"image {ref} ran Python but it did not say where it is")
    return {"image": ref, "id": info.id, "python": executable, "python_version": version}


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _with_recipe(client, tag: str, recipe: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return None
    labels = (image.attrs.get("Config") or {}).get("Labels") or {}
    return image.id if labels.get(RECIPE_LABEL) == recipe else None


def _docker_build(client, ctx: Path, tag: str, buildargs: dict[str, str], labels: dict[str, str],
                  no_cache: bool = False) -> str:
    """`docker build` through the engine API (the classic builder); the image id, or ImageError."""
    from docker.errors import APIError

    lines: list[str] = []
    image_id = None
    try:
        for chunk in client.api.build(path=str(ctx), tag=tag, buildargs=buildargs, labels=labels, rm=True,
                                      forcerm=True, nocache=no_cache, decode=True):
            if "error" in chunk:
                lines.append(chunk["error"])
                raise ImageError(f"building {tag} failed: {chunk['error'].strip()}\n" + "".join(lines[-25:]))
            text = chunk.get("stream", "")
            if text:
                lines.append(text)
                log.debug("%s", text.rstrip())
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    except APIError as exc:
        raise ImageError(f"building {tag} failed: {exc}") from None
    return image_id or client.images.get(tag).id
