"""The requirements lock (pipelines/requirements.lock): the exact versions of the production image.

`expenv images build` writes it from the image it built (the `pip list` of /opt/venv, with the
sha256 of the requirements.txt it was made from); the image's Dockerfile installs those versions
while requirements.txt is unchanged. Here it is read and compared with the image: `expenv check`
and the pre-prod submission (`--parity lock`) refuse a lock that the image does not match.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from expenv.domain.config import ExpenvConfig
from expenv.services.parity.compare import PLUMBING
from expenv.services.parity.requirements import canonical
from expenv.services.parity.snapshot import ParityError

SHA_LINE = re.compile(r"^# requirements\.txt sha256: ([0-9a-f]{64})$")
PIN = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==([^\s;#]+)$")


@dataclass(frozen=True)
class LockReport:
    """The lock against requirements.txt and the image. state: ok | drift | unchecked (no image to
    compare with here) | not-made | stale | invalid | missing; severity error | warning | info."""

    path: str
    state: str
    severity: str
    message: str
    image: str | None = None
    pins: int = 0
    differences: list[dict[str, str | None]] = field(default_factory=list)   # {name, lock, image}

    @property
    def ok(self) -> bool:
        return self.severity != "error"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lock_file(config: ExpenvConfig) -> Path:
    return config.requirements_file.with_suffix(".lock")


def requirements_sha(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def read_lock(text: str) -> tuple[str | None, dict[str, tuple[str, str]], list[int]]:
    """(requirements sha256 or None, canonical name → (name, version), 1-based lines that are no pin)."""
    sha, pins, bad = None, {}, []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if (found := SHA_LINE.match(line)) is not None:
            sha = found.group(1)
        elif line and not line.startswith("#"):
            pin = PIN.match(line)
            if pin is None:
                bad.append(number)
            else:
                pins[canonical(pin.group(1))] = (pin.group(1), pin.group(2))
    return sha, pins, bad


def is_fresh(lock: Path, requirements: Path) -> bool:
    """The lock was made from this requirements.txt: a build installs exactly its versions."""
    return lock.is_file() and read_lock(lock.read_text(encoding="utf-8"))[0] == requirements_sha(requirements)


def differences(pins: dict[str, tuple[str, str]], installed: dict[str, str]) -> list[dict[str, str | None]]:
    """Where the lock's versions and an environment's (canonical name → version) differ; pip's own
    plumbing (pip, setuptools, wheel) is the venv's, not the project's."""
    out = []
    for key in sorted((set(pins) | set(installed)) - PLUMBING):
        locked, there = pins.get(key, (None, None))[1], installed.get(key)
        if locked != there:
            out.append({"name": pins.get(key, (key,))[0], "lock": locked, "image": there})
    return out


def check_lock(config: ExpenvConfig, image: str | None = None, required: bool = False,
               text: str | None = None) -> LockReport:
    """The lock (its `text`, else the file) vs requirements.txt, then vs the image (expenv.toml's
    production image unless `image`; its environment read once per image id, cached under
    .expenv/parity/). A lock not made yet, or an image that is not here to compare with, is a
    warning or a note, and an error when `required` (a pre-prod submission)."""
    from expenv.services.parity.snapshot import image_snapshot

    path = lock_file(config)
    shown = path.relative_to(config.root).as_posix() if path.is_relative_to(config.root) else str(path)
    missing_level = "error" if required else "warning"
    if text is None and not path.is_file():
        return LockReport(shown, "missing", missing_level, f"{shown}: no lock; `make image` (expenv images build) "
                          "writes it from the production image: commit it")
    sha, pins, bad = read_lock(path.read_text(encoding="utf-8") if text is None else text)
    if bad:
        return LockReport(shown, "invalid", "error", f"{shown}:{bad[0]}: not an exact pin (NAME==VERSION); "
                          "`make image` writes the lock, do not edit it by hand", pins=len(pins))
    if sha is None:
        return LockReport(shown, "not-made", missing_level, f"{shown}: not made yet; `make image` (expenv images "
                          "build) writes the production image's versions into it: commit it")
    requirements = config.requirements_file
    if not requirements.is_file() or sha != requirements_sha(requirements):
        return LockReport(shown, "stale", "error", f"{shown}: made from another {requirements.name}; `make image` "
                          "resolves the changed requirements and writes the new lock: commit it", pins=len(pins))
    image = image or config.environment.production_image
    try:
        if not image:
            raise ParityError("no [environment] production_image in expenv.toml")
        snapshot, _ = image_snapshot(image, config.state_dir / "parity")
    except ParityError as exc:
        return LockReport(shown, "unchecked", "error" if required else "info",
                          f"{shown}: not compared with the image: {exc}", image, len(pins))
    found = differences(pins, snapshot.packages)
    if found:
        listed = ", ".join(f"{d['name']} {d['lock'] or '-'} (image {d['image'] or '-'})" for d in found[:8])
        return LockReport(shown, "drift", "error", f"{shown}: {len(found)} version(s) differ from {image}: {listed}"
                          f"{', …' if len(found) > 8 else ''}; rebuild the image (`make image`) and commit the lock",
                          image, len(pins), found)
    return LockReport(shown, "ok", "info", f"{shown}: {len(pins)} pins, the same as {image}", image, len(pins))
