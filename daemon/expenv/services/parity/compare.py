"""The parity report: where the kernel's environment differs from the production image's."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from expenv.domain.config import ExpenvConfig
from expenv.services.parity.snapshot import EnvironmentSnapshot, ParityError, image_snapshot, kernel_snapshot

# Installer plumbing that every venv carries in its own version; not the project's packages.
PLUMBING = frozenset({"pip", "setuptools", "wheel", "distribute"})


@dataclass(frozen=True)
class PackageDifference:
    """One distribution that is not the same in the kernel and the image (None: absent there)."""

    name: str
    kernel: str | None
    image: str | None

    @property
    def requirement(self) -> str | None:
        """The line that would add the kernel's version to the production requirements."""
        return f"{self.name}=={self.kernel}" if self.kernel else None


@dataclass(frozen=True)
class PlatformDifference:
    """Python or an OS library (glibc, libstdc++, openssl, sqlite, os) that differs."""

    name: str
    kernel: str | None
    image: str | None


@dataclass(frozen=True)
class ParityReport:
    """Kernel vs production image. `ok` when nothing but the devcontainer's own tools differs."""

    image: str
    image_id: str
    kernel_python: str
    ok: bool
    missing_in_image: list[PackageDifference] = field(default_factory=list)   # installed by hand
    version_drift: list[PackageDifference] = field(default_factory=list)
    missing_in_kernel: list[PackageDifference] = field(default_factory=list)
    python: PlatformDifference | None = None
    os_drift: list[PlatformDifference] = field(default_factory=list)
    dev_tools: list[str] = field(default_factory=list)
    image_snapshot_cached: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("missing_in_image", "version_drift"):
            for item, diff in zip(data[key], getattr(self, key)):
                item["requirement"] = diff.requirement
        data["summary"] = self.summary()   # the line an editor shows (the toolbar's "Check parity")
        return data

    def summary(self) -> str:
        if self.ok:
            return f"the kernel matches {self.image}"
        parts = []
        for label, items in (("not in the image", self.missing_in_image), ("other version", self.version_drift),
                             ("missing in the kernel", self.missing_in_kernel)):
            if items:
                parts.append(f"{len(items)} {label} ({', '.join(d.name for d in items[:5])}"
                             + (", …" if len(items) > 5 else "") + ")")
        if self.python:
            parts.append(f"Python {self.python.kernel} vs {self.python.image}")
        if self.os_drift:
            parts.append("OS: " + ", ".join(f"{d.name} {d.kernel} vs {d.image}" for d in self.os_drift))
        return f"the kernel differs from {self.image}: " + "; ".join(parts)


def compare(kernel: EnvironmentSnapshot, image: EnvironmentSnapshot, image_ref: str = "",
            image_id: str = "") -> ParityReport:
    dev_tools = set(kernel.dev_tools) - set(image.packages)
    names = {**image.names, **kernel.names}

    def shown(key: str) -> str:
        return names.get(key) or key

    missing_in_image, drift, missing_in_kernel = [], [], []
    for key in sorted(set(kernel.packages) | set(image.packages)):
        if key in PLUMBING:
            continue
        k, i = kernel.packages.get(key), image.packages.get(key)
        if k is not None and i is None:
            if key not in dev_tools:
                missing_in_image.append(PackageDifference(shown(key), k, None))
        elif k is None and i is not None:
            missing_in_kernel.append(PackageDifference(shown(key), None, i))
        elif k != i:
            drift.append(PackageDifference(shown(key), k, i))
    python = None
    if (kernel.implementation, kernel.python) != (image.implementation, image.python):
        python = PlatformDifference("python", f"{kernel.implementation} {kernel.python}",
                                    f"{image.implementation} {image.python}")
    os_drift = [PlatformDifference(name, kernel.os.get(name), image.os.get(name))
                for name in sorted(set(kernel.os) | set(image.os)) if kernel.os.get(name) != image.os.get(name)]
    ok = not (missing_in_image or drift or missing_in_kernel or python or os_drift)
    return ParityReport(image=image_ref, image_id=image_id, kernel_python=kernel.executable, ok=ok,
                        missing_in_image=missing_in_image, version_drift=drift, missing_in_kernel=missing_in_kernel,
                        python=python, os_drift=os_drift, dev_tools=sorted(dev_tools & set(kernel.packages)))


def check_parity(image: str, python: str, cache_dir: Path | None = None, refresh: bool = False) -> ParityReport:
    """Compare the environment of the kernel Python `python` with the image `image`.

    The image side is cached under `cache_dir` by image id. Pipeline submission calls this to
    refuse a production-like target when `ok` is False.
    """
    started = time.perf_counter()
    image_env, cached = image_snapshot(image, cache_dir, refresh)
    kernel_env = kernel_snapshot(python)
    report = compare(kernel_env, image_env, image, image_env.source.rpartition("@")[2])
    return replace(report, image_snapshot_cached=cached, seconds=round(time.perf_counter() - started, 3))


def check_workspace_parity(config: ExpenvConfig, image: str | None = None, python: str | None = None,
                           refresh: bool = False) -> ParityReport:
    """Parity for a workspace: its production image (expenv.toml) unless `image` is given, the
    kernel interpreter expenv would start unless `python` is given, the cache under .expenv/parity/."""
    from expenv.services.kernels.spec import default_python

    image = image or config.environment.production_image
    if not image:
        raise ParityError(f"no production image to compare with: set [environment] production_image in "
                          f"{config.root / 'expenv.toml'} or pass an image")
    return check_parity(image, python or default_python(), config.state_dir / "parity", refresh)
