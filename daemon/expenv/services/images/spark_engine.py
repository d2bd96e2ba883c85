"""The image a docker Spark Connect server runs: the production image itself when it has Java and
pyspark, else an engine image derived FROM it that adds only what is missing (a Java runtime from
the image's own Debian, pyspark of the client's version from a host-made wheelhouse).

Derived rather than added to the base: the base and production images stay what pipelines run,
and a project that never uses Spark never pays for a JVM. The derived image is tagged
`<production repo>-spark:<tag>` and labelled with its recipe (production image id, pyspark
version, this Dockerfile), so it is built once per production image and then reused.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from expenv.services.images import context
from expenv.services.images.build import RECIPE_LABEL, _docker_build, _with_recipe
from expenv.services.images.engine import ImageError, docker_client, image_info, run_python

log = logging.getLogger(__name__)

DOCKERFILE = """\
ARG PRODUCTION_IMAGE
FROM ${PRODUCTION_IMAGE}
ARG APP_USER=root
USER root
RUN command -v java >/dev/null || { apt-get update -qq \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null \\
    && rm -rf /var/lib/apt/lists/*; }
COPY wheels/ /tmp/spark-wheels/
RUN if ls /tmp/spark-wheels/*.whl >/dev/null 2>&1; then \\
      PIP_DISABLE_PIP_VERSION_CHECK=1 python -m pip install --no-cache-dir --quiet --no-index \\
        --find-links /tmp/spark-wheels pyspark; fi; \\
    rm -rf /tmp/spark-wheels
USER ${APP_USER}
"""
# What the production image has: "java" when a Java runtime runs, and the pyspark version.
PROBE = ("import shutil, subprocess\n"
         "try:\n    import pyspark; version = pyspark.__version__\nexcept ImportError:\n    version = ''\n"
         "java = shutil.which('java') and subprocess.run(['java', '-version'], capture_output=True).returncode == 0\n"
         "print(('java' if java else 'nojava') + ' ' + version)")


def client_pyspark() -> str:
    """The pyspark version of this Python (the notebook's client library): the server matches it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyspark")
    except PackageNotFoundError:
        raise ImageError("pyspark: Spark Connect needs pyspark in this Python to match the server "
                         "(pip install 'pyspark[connect]')") from None


def engine_tag(production_image: str, engine: str = "spark") -> str:
    """`<production repo>-<engine>:<tag>`: the tag of an engine image derived from the production image."""
    repo, sep, tag = production_image.partition("@")[0].rpartition(":")
    if not sep or "/" in tag:   # no tag (a registry's :port is not one)
        repo, tag = production_image.partition("@")[0], "latest"
    return f"{repo}-{engine}:{tag}"


def spark_engine_image(production_image: str, pyspark_version: str, client=None, progress=log.info) -> str:
    """The id of an image of `production_image` that runs a Spark Connect server (built when missing)."""
    client = client or docker_client()
    prod = image_info(production_image, client)
    has_java, _, has_pyspark = run_python(production_image, PROBE, client=client).strip().partition(" ")
    if has_java == "java" and has_pyspark:
        return prod.id
    tag = engine_tag(production_image)
    pyspark = "" if has_pyspark else pyspark_version
    recipe = context.digest(DOCKERFILE, prod.id, pyspark)
    if found := _with_recipe(client, tag, recipe):
        return found
    progress(f"building the Spark engine image {tag} once (adds "
             f"{' and '.join(w for w, missing in (('Java', has_java != 'java'), (f'pyspark {pyspark}', pyspark)) if missing)}"
             f" to {production_image})")
    with tempfile.TemporaryDirectory(prefix="expenv-spark-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(DOCKERFILE)
        (ctx / "wheels").mkdir()
        if pyspark:
            context.link_tree(_pyspark_wheelhouse(pyspark), ctx / "wheels")
        return _docker_build(client, ctx, tag, {"PRODUCTION_IMAGE": prod.id, "APP_USER": prod.user or "root"},
                             {RECIPE_LABEL: recipe})


def _pyspark_wheelhouse(version: str) -> Path:
    """pyspark and py4j (pure-Python wheels, so any image's Python takes them), made on the host."""
    return context._cached(f"spark-{context.digest(version)}",
                           lambda d: context._pip(["wheel", "--quiet", f"pyspark=={version}", "-w", str(d)],
                                                  f"pyspark {version} wheelhouse"))
