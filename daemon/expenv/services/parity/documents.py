"""Parity findings in documents as they are edited (.py files and notebook cells): imports the
production image lacks, and `%pip install`s of packages it lacks, each with the requirement line
that would add it to the production requirements.

Both environments are read once and kept: the image by its id (on disk, under .expenv/parity/),
the kernel's Python for a few seconds, so that a `%pip install` shows up on the next edit."""

from __future__ import annotations

import logging
import re
import shlex
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from expenv.domain.config import ExpenvConfig
from expenv.services.parity.imports import unprovided_imports
from expenv.services.parity.requirements import canonical, requirement_name
from expenv.services.parity.snapshot import EnvironmentSnapshot, ParityError, image_snapshot, kernel_snapshot

log = logging.getLogger(__name__)

# `%pip install ...`, `!pip install ...`, `%pip3 install`, `!python -m pip install` in a cell
_PIP = re.compile(r"^(?P<indent>\s*)[%!]\s*(?:python3?\s+-m\s+)?pip3?\s+install\b(?P<args>.*)$")
# pip options whose value is the next word (that value is not a package)
_PIP_VALUED = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
               "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--src",
               "--upgrade-strategy", "--python-version", "--platform", "--implementation", "--abi",
               "--progress-bar", "--report", "--trusted-host", "--cert", "--client-cert", "--proxy",
               "--cache-dir", "--log", "--timeout", "--retries", "--config-settings", "-C", "--global-option"}


@dataclass(frozen=True)
class DocumentFinding:
    """A line of a document that will not hold in the production image (0-based positions)."""

    line: int
    column: int
    end_column: int
    code: str                      # "parity_import" | "parity_pip"
    message: str
    requirement: str | None        # what "Add to the production requirements" writes

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Kept:
    """One value read by `load`, kept for `ttl` seconds; a failure is kept as well (and said once)."""

    def __init__(self, load: Callable[[], EnvironmentSnapshot], ttl: float):
        self.load, self.ttl = load, ttl
        self.value: EnvironmentSnapshot | None = None
        self.error: str | None = None
        self.at = float("-inf")
        self.lock = threading.Lock()

    def get(self) -> EnvironmentSnapshot | None:
        with self.lock:
            if time.monotonic() - self.at > self.ttl:
                try:
                    self.value, error = self.load(), None
                except ParityError as exc:
                    self.value, error = None, str(exc)
                except Exception as exc:  # noqa: BLE001 - an engine fault must not cost the other diagnostics
                    self.value, error = None, f"{type(exc).__name__}: {exc}"
                if error and error != self.error:
                    log.warning("expenv parity: %s", error)
                self.error, self.at = error, time.monotonic()
            return self.value


class DocumentParity:
    """Parity findings for one workspace's documents against its `[environment] production_image`."""

    KERNEL_TTL = 10.0
    IMAGE_TTL = 300.0

    def __init__(self, config: ExpenvConfig, kernel_python: str | None = None):
        from expenv.services.kernels.spec import default_python

        self.config = config
        self.image_ref = config.environment.production_image
        self.kernel_python = kernel_python or default_python()
        self._image = _Kept(lambda: image_snapshot(self.image_ref, config.state_dir / "parity")[0], self.IMAGE_TTL)
        self._kernel = _Kept(lambda: kernel_snapshot(self.kernel_python), self.KERNEL_TTL)

    @property
    def problem(self) -> str | None:
        """Why no findings can be made (no image, no Docker engine), if so."""
        return self._image.error

    def findings(self, source: str, path: Path | None = None) -> list[DocumentFinding]:
        if not self.image_ref:
            return []
        image = self._image.get()
        if image is None:
            return []
        kernel = self._kernel.get()
        roots = [self.config.root] + ([path.parent] if path is not None else [])
        out = []
        for f in unprovided_imports(source, image, kernel, local_roots=roots):
            has = f" (the kernel has it from {f.requirement})" if f.requirement else ""
            out.append(DocumentFinding(
                f.line, f.column, f.end_column, "parity_import",
                f"`{f.module}` is not installed in the production image {self.image_ref}{has}: code that imports "
                f"it fails there. Add it to {self._requirements_name()}.", f.requirement))
        out += self._hand_installs(source, image, kernel)
        return sorted(out, key=lambda f: (f.line, f.column))

    def _requirements_name(self) -> str:
        path = self.config.requirements_file
        return str(path.relative_to(self.config.root)) if path.is_relative_to(self.config.root) else str(path)

    def _hand_installs(self, source: str, image: EnvironmentSnapshot,
                       kernel: EnvironmentSnapshot | None) -> list[DocumentFinding]:
        out = []
        for number, line in enumerate(source.split("\n")):
            match = _PIP.match(line)
            if not match:
                continue
            searched_from = match.start("args")
            for word, name in _pip_packages(match.group("args")):
                column = line.find(word, searched_from)
                if column < 0:  # written differently (escapes): mark the whole install
                    column, word = match.start("args"), line[match.start("args"):].rstrip()
                searched_from = column + len(word)
                if name in image.packages:
                    continue
                if kernel is not None and name in kernel.packages:
                    requirement = f"{kernel.names.get(name, name)}=={kernel.packages[name]}"
                    had = f" (the kernel has {requirement})"
                else:
                    requirement, had = (None if word.endswith(".whl") or "/" in word else word), ""
                out.append(DocumentFinding(
                    number, column, column + len(word), "parity_pip",
                    f"`{name}` is installed by hand in the kernel{had} but the production image {self.image_ref} "
                    f"lacks it: add it to {self._requirements_name()} so production has it too.", requirement))
        return out


def _pip_packages(args: str) -> list[tuple[str, str]]:
    """(word as written, canonical distribution name) of each package a pip install line names."""
    try:
        words = shlex.split(args.split(" #")[0], posix=True)
    except ValueError:
        words = args.split()
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = word in _PIP_VALUED
            continue
        if word.startswith(("{", "$")):          # a notebook variable: unknown until run
            continue
        if word.endswith(".whl"):
            name = canonical(Path(word).name.split("-")[0])
        elif "/" in word or word in (".", ".."):  # a local project or a URL: no distribution name to check
            continue
        else:
            try:
                name = requirement_name(word)
            except ParityError:
                continue
        out.append((word, name))
    return out
