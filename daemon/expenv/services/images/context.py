"""Build contexts: host-made wheelhouses and the host's extra CA certificates.

Why a wheelhouse made on the host: the host's pip configuration (indexes, find-links, proxy,
certificates) applies unchanged, the image build itself needs no network, and the wheelhouse is
cached by what it was made from, so rebuilds are fast and resolve to the same versions. The CA
certificates go into the context too: they let a build without a wheelhouse (Codespaces, a host
whose Python does not match the image's) use the index behind a TLS-intercepting proxy, and
pip/git inside the devcontainer work behind it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from expenv.services.images.engine import ImageError

REPO = Path(__file__).resolve().parents[4]
SYSTEM_BUNDLES = {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}
# Development tools the devcontainer adds to the production Python (besides expenv itself).
DEV_TOOLS = ("ipykernel", "jupyter_client", "docker")


def cache_dir() -> Path:
    base = os.environ.get("EXPENV_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "expenv"
    return Path(base)


def devcontainer_dir() -> Path:
    """The folder with devcontainer.json and the Dockerfiles (this repository's devcontainer/)."""
    folder = Path(os.environ.get("EXPENV_DEVCONTAINER_DIR") or REPO / "devcontainer")
    if not (folder / "devcontainer.json").is_file():
        raise ImageError(f"no devcontainer.json in {folder}; set EXPENV_DEVCONTAINER_DIR to expenv's devcontainer/")
    return folder


def extra_ca_certificates() -> list[Path]:
    """The host's extra CAs: /usr/local/share/ca-certificates/**.crt, and $PIP_CERT, $SSL_CERT_FILE,
    $REQUESTS_CA_BUNDLE when they name a bundle of their own (not the system one, which those
    extra CAs are already part of)."""
    found = sorted(Path("/usr/local/share/ca-certificates").rglob("*.crt"))
    for var in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(var)
        if value and value not in SYSTEM_BUNDLES and Path(value).is_file():
            found.append(Path(value))
    return list(dict.fromkeys(p.resolve() for p in found))


def write_ca_certificates(dest: Path) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for i, cert in enumerate(extra_ca_certificates()):
        name = f"{i:02d}-{cert.stem}.crt"
        shutil.copyfile(cert, dest / name)
        names.append(name)
    return names


def host_python_fits(image_python: str) -> bool:
    """Host-made wheels fit the image when both are CPython X.Y on glibc Linux (same machine)."""
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    libc, _ = platform.libc_ver()
    same = image_python == host or image_python.startswith(host + ".")
    return sys.platform == "linux" and libc == "glibc" and platform.python_implementation() == "CPython" and same


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _pip(args: list[str], what: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise ImageError(f"pip could not make the {what} on this machine:\n{tail}")


def _cached(key: str, make) -> Path:
    """A wheelhouse folder under the cache, made once per key (atomically: temp dir, then rename)."""
    final = cache_dir() / "wheelhouse" / key
    if (final / ".complete").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=final.parent))
    try:
        make(tmp)
        (tmp / ".complete").write_text("")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(final.parent, key.split("-")[0] + "-", keep=3)
    return final


def _prune(folder: Path, prefix: str, keep: int) -> None:
    """Keep the `keep` newest wheelhouses of a kind (each source change makes a new dev one)."""
    made = sorted((p for p in folder.glob(prefix + "*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in made[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def production_wheelhouse(requirements: Path, lock: Path | None = None) -> Path:
    """`pip wheel -r requirements` on the host (constrained to the `lock`'s versions when given),
    cached by the requirements, the lock and this Python."""
    locked = (lock.read_bytes(),) if lock else ()
    key = "prod-" + digest(requirements.read_bytes(), *locked, sys.version.split()[0], platform.machine())
    pins = ["-c", str(lock)] if lock else []
    return _cached(key, lambda d: _pip(["wheel", "--quiet", "-r", str(requirements), *pins, "-w", str(d)],
                                       f"wheelhouse for {requirements}"))


def source_digest(root: Path = REPO) -> str:
    """A hash of expenv's source (what the wheel is built from)."""
    h = hashlib.sha256()
    files = [root / "pyproject.toml", root / "README.md"]
    files += sorted(p for p in (root / "daemon" / "expenv").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc"))
    for path in files:
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def dev_wheelhouse(tools: tuple[str, ...] = DEV_TOOLS) -> Path:
    """Wheels of expenv (built from this repository) and the development tools, with their deps."""
    key = "dev-" + digest(source_digest(), " ".join(tools), sys.version.split()[0], platform.machine())

    def make(dest: Path) -> None:
        # A fixed timestamp makes the wheel's bytes depend on the source only (Docker's COPY cache).
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
        with tempfile.TemporaryDirectory() as src:
            build = Path(src) / "expenv"
            shutil.copytree(REPO, build, ignore=shutil.ignore_patterns(
                ".git", ".venv", "node_modules", ".expenv", "build", "dist", "*.egg-info", "__pycache__",
                "vscode-extension", "tests", "bench", "devcontainer", ".mypy_cache", ".pytest_cache"))
            result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(build),
                                     "-w", str(dest)], capture_output=True, text=True, env=env)
            if result.returncode != 0:
                raise ImageError(f"could not build the expenv wheel:\n{result.stderr[-2000:]}")
        _pip(["wheel", "--quiet", *tools, "-w", str(dest), "--find-links", str(dest),
              *[str(w) for w in dest.glob("expenv-*.whl")]], "development tools' wheelhouse")

    return _cached(key, make)


def link_tree(src: Path, dest: Path, pattern: str = "*.whl") -> list[str]:
    """Hard-link (else copy) src/pattern into dest, replacing what dest held."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    names = []
    for f in sorted(src.glob(pattern)):
        try:
            os.link(f, dest / f.name)
        except OSError:
            shutil.copy2(f, dest / f.name)
        names.append(f.name)
    return names
