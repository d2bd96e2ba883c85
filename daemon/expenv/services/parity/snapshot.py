"""What an environment holds: distributions and versions, Python, and the OS libraries that
decide whether compiled wheels behave the same. Read by running one script with the
environment's own Python: the kernel's interpreter, or the image's in a throwaway container."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from expenv.domain.errors import ExpenvError

# Runs under any Python >= 3.8 with only the standard library. Prints one JSON object.
PROBE = r'''
import glob, importlib.metadata as md, json, os, platform, re, sys
def canon(n): return re.sub(r"[-_.]+", "-", n).lower()
pkgs, names = {}, {}
for d in md.distributions():
    n = d.metadata["Name"]
    if n and canon(n) not in pkgs:
        pkgs[canon(n)] = d.version; names[canon(n)] = n
try: mods = {m: sorted(set(canon(x) for x in ds)) for m, ds in md.packages_distributions().items()}
except Exception: mods = {}
libs = {}
c, v = platform.libc_ver()
if c: libs[c] = v
for p in ("/usr/lib/*/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib/*/libstdc++.so.6"):
    for f in glob.glob(p):
        m = re.search(r"so\.6\.(\d+\.\d+\.\d+)$", os.path.realpath(f))
        if m: libs["libstdc++"] = "6." + m.group(1)
try:
    import ssl; libs["openssl"] = ssl.OPENSSL_VERSION.split()[1]
except Exception: pass
try:
    import sqlite3; libs["sqlite"] = sqlite3.sqlite_version
except Exception: pass
osr = {}
try:
    for line in open("/etc/os-release"):
        k, _, val = line.strip().partition("=")
        osr[k] = val.strip('"')
except OSError: pass
libs["os"] = osr.get("PRETTY_NAME", platform.system())
tools = []
try: tools = sorted(canon(l.strip()) for l in open(os.path.join(sys.prefix, "expenv-dev-tools.txt")) if l.strip())
except OSError: pass
print(json.dumps({"python": platform.python_version(), "implementation": platform.python_implementation(),
    "executable": sys.executable, "platform": sys.platform + "-" + platform.machine(), "packages": pkgs,
    "names": names, "modules": mods, "os": libs, "stdlib": sorted(getattr(sys, "stdlib_module_names", ())),
    "dev_tools": tools}))
'''
PROBE_VERSION = hashlib.sha256(PROBE.encode()).hexdigest()[:8]


class ParityError(ExpenvError):
    """The parity check cannot read one of the two environments."""


@dataclass(frozen=True)
class EnvironmentSnapshot:
    """One environment's packages (canonical name → version), Python and OS libraries."""

    python: str
    implementation: str
    executable: str
    platform: str
    packages: dict[str, str]
    names: dict[str, str] = field(default_factory=dict)          # canonical → as published
    modules: dict[str, list[str]] = field(default_factory=dict)  # top-level module → distributions
    os: dict[str, str] = field(default_factory=dict)
    stdlib: list[str] = field(default_factory=list)
    dev_tools: list[str] = field(default_factory=list)           # added by the devcontainer, not drift
    source: str = ""                                             # "kernel:/path/python" | "image:ref@id"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, text: str, source: str) -> EnvironmentSnapshot:
        try:
            data = json.loads(text.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise ParityError(f"the environment probe in {source} printed no JSON: {text[-500:]!r}") from None
        return cls(source=source, **{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def kernel_snapshot(python: str, timeout: float = 120) -> EnvironmentSnapshot:
    """Run the probe with the kernel's interpreter (what `%pip install` changed is on disk there),
    at expenv's background priority (a launch's version check ran it beside the editor's work)."""
    from expenv.services.process_state import background

    try:
        if shutil.which(python) is None:   # said here: `nice` would only exit 127
            raise FileNotFoundError(python)
        result = subprocess.run(background([python, "-c", PROBE]), capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise ParityError(f"no kernel Python at {python}; pass the kernel's interpreter (--python)") from None
    if result.returncode != 0:
        raise ParityError(f"the kernel Python {python} could not run the probe: {result.stderr.strip()[-800:]}")
    return EnvironmentSnapshot.parse(result.stdout, f"kernel:{python}")


def image_snapshot(image: str, cache_dir: Path | None = None, refresh: bool = False) -> tuple[EnvironmentSnapshot, bool]:
    """The image's environment, read in a throwaway container and cached on disk by image id.
    Returns (snapshot, from_cache). ParityError when the image is gone or has no Python."""
    from expenv.services.images import ImageError, image_info, run_python

    try:
        info = image_info(image)
    except ImageError as exc:
        raise ParityError(f"cannot check parity against {image}: {exc}") from None
    cached = cache_dir / f"{info.id.split(':')[-1][:32]}-{PROBE_VERSION}.json" if cache_dir else None
    if cached and cached.is_file() and not refresh:
        try:
            return EnvironmentSnapshot(**json.loads(cached.read_text())), True
        except (ValueError, TypeError):
            cached.unlink(missing_ok=True)
    try:
        out = run_python(info.id, PROBE)
    except ImageError as exc:
        raise ParityError(f"cannot read the environment of {image}: {exc}") from None
    snapshot = EnvironmentSnapshot.parse(out, f"image:{image}@{info.id}")
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot.as_dict()))
        tmp.replace(cached)
    return snapshot, False
