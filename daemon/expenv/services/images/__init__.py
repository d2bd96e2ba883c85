"""Images: the base image (debootstrap + docker import), the project's production image, and the
devcontainer built FROM it, all on the local Docker engine with no registry."""

from expenv.services.images.build import (
    BASE_TAG,
    BuiltImage,
    build_base,
    build_dev,
    build_production,
    check_production_image,
    dockerfile_base,
    ensure_base,
    prepare_devcontainer,
)
from expenv.services.images.engine import (
    DockerUnavailable,
    ImageError,
    ImageInfo,
    ImageMissing,
    NoPythonInImage,
    docker_client,
    image_info,
    run_python,
)

__all__ = [
    "BASE_TAG", "BuiltImage", "DockerUnavailable", "ImageError", "ImageInfo", "ImageMissing", "NoPythonInImage",
    "build_base", "build_dev", "build_production", "check_production_image", "docker_client", "dockerfile_base", "ensure_base", "image_info",
    "prepare_devcontainer", "run_python",
]
