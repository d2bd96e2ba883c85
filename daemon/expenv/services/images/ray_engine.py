"""The image docker Ray nodes run: the production image itself when it has `ray[default]` of the
client's version, else an engine image derived FROM it that installs that Ray from a host-made
wheelhouse (as spark_engine.py adds pyspark: the build needs no network).

Ray's client and cluster must run the same Ray (and Python minor version). Ray's wheels are
binary, per Python version: the wheelhouse is made by this machine's Python, so it fits an image
whose Python has the same minor version (the project template's images do: both are the
Debian release's Python). The derived image is tagged `<production repo>-ray:<tag>` and labelled
with its recipe (production image id, Ray version, this Dockerfile), so it is built once per
production image and Ray version, then reused.
"""

from __future__ import annotations

import logging
import platform
import sys
import tempfile
from pathlib import Path

from expenv.services.images import context
from expenv.services.images.build import RECIPE_LABEL, _docker_build, _with_recipe
from expenv.services.images.engine import ImageError, docker_client, image_info, run_python
from expenv.services.images.spark_engine import engine_tag

log = logging.getLogger(__name__)

DOCKERFILE = """\
ARG PRODUCTION_IMAGE
FROM ${PRODUCTION_IMAGE}
ARG APP_USER=root
ARG RAY_VERSION
USER root
COPY wheels/ /tmp/ray-wheels/
RUN PIP_DISABLE_PIP_VERSION_CHECK=1 python -m pip install --no-cache-dir --quiet --no-index \\
      --find-links /tmp/ray-wheels "ray[default]==${RAY_VERSION}" \\
    && rm -rf /tmp/ray-wheels
USER ${APP_USER}
"""
# The production image's Ray version ('' without it, or without the dashboard's packages of
# ray[default]) and its Python's X.Y.
PROBE = ("import sys\nversion = ''\ntry:\n    import ray, ray.dashboard.optional_deps\n    version = ray.__version__\n"
         "except ImportError:\n    pass\nprint(version or '-', '%d.%d' % sys.version_info[:2])")


def ray_engine_image(production_image: str, ray_version: str, client=None, progress=log.info) -> str:
    """The id of an image of `production_image` that runs Ray `ray_version` nodes (built when missing)."""
    client = client or docker_client()
    prod = image_info(production_image, client)
    has_ray, image_python = run_python(production_image, PROBE, client=client).split()
    if has_ray == ray_version:
        return prod.id
    if not context.host_python_fits(image_python):
        host = "%d.%d" % sys.version_info[:2]
        raise ImageError(f"Ray's wheels are per Python version: this machine's Python is {host} and the image's "
                         f"{image_python}; add ray[default]=={ray_version} to the production requirements and "
                         "rebuild it (`expenv images build`)")
    tag = engine_tag(production_image, "ray")
    recipe = context.digest(DOCKERFILE, prod.id, ray_version)
    if found := _with_recipe(client, tag, recipe):
        return found
    progress(f"building the Ray engine image {tag} once (adds ray[default] {ray_version} to {production_image})")
    with tempfile.TemporaryDirectory(prefix="expenv-ray-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(DOCKERFILE)
        context.link_tree(_ray_wheelhouse(ray_version), ctx / "wheels")
        return _docker_build(client, ctx, tag, {"PRODUCTION_IMAGE": prod.id, "APP_USER": prod.user or "root",
                                                "RAY_VERSION": ray_version}, {RECIPE_LABEL: recipe})


def _ray_wheelhouse(version: str) -> Path:
    """ray[default] and its dependencies, made on the host by this Python (binary wheels)."""
    key = "ray-" + context.digest(version, sys.version.split()[0], platform.machine())
    return context._cached(key, lambda d: context._pip(["wheel", "--quiet", f"ray[default]=={version}", "-w", str(d)],
                                                       f"ray[default] {version} wheelhouse"))
