"""The environment (issue #6): image builds cold and cached, `devcontainer up` against a plain
`docker run` of the same image, kernel start against bare jupyter_client, parity cold and cached.

Run: `.venv/bin/python bench/environment.py` (or `make bench`). Needs the Docker engine (`make
docker`) and the devcontainer CLI (`npm ci` in devcontainer/). Prints figures; asserts nothing.
About 4 minutes on 2 cores; EXPENV_BENCH_QUICK=1 leaves out the cold image builds (about 3 of them).
Cold builds use their own tags and a fresh wheelhouse cache, so the images `make up` uses stay.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROD_TAG = "expenv-bench-churn-prod:latest"
QUICK = os.environ.get("EXPENV_BENCH_QUICK") == "1"

KERNEL_STARTS = r"""
import json, statistics, time
from pathlib import Path
from expenv.services.workspace import WorkspaceSet
from jupyter_client.manager import start_new_kernel
ws = WorkspaceSet().add('.')
k = ws.services.kernels
ours, bare = [], []
for _ in range(3):
    t = time.perf_counter(); r = k.start(); ours.append(time.perf_counter() - t); k.stop(r.id)
    t = time.perf_counter(); km, kc = start_new_kernel(kernel_name='expenv-production', startup_timeout=60)
    bare.append(time.perf_counter() - t); kc.stop_channels(); km.shutdown_kernel(now=True)
print(json.dumps({'expenv': statistics.median(ours), 'bare': statistics.median(bare)}))
"""

PARITY = r"""
import json, subprocess, sys, time
import docker
from expenv.services.workspace import WorkspaceSet
from expenv.services.parity import check_workspace_parity
config = WorkspaceSet().add('.').config
t = time.perf_counter(); check_workspace_parity(config, refresh=True); cold = time.perf_counter() - t
t = time.perf_counter(); r = check_workspace_parity(config); cached = time.perf_counter() - t
assert r.image_snapshot_cached
t = time.perf_counter()
docker.from_env().containers.run(config.environment.production_image, ['python', '-m', 'pip', 'list', '--format',
                                 'json'], remove=True, network_mode='none')
subprocess.run([sys.executable, '-m', 'pip', 'list', '--format', 'json'], capture_output=True, check=True)
naive = time.perf_counter() - t
print(json.dumps({'cold': cold, 'cached': cached, 'naive': naive}))
"""


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _row(figure: str, expenv: str, peer: str, ratio: float, target: str) -> dict:
    return {"bench": "environment", "figure": figure, "expenv": expenv, "peer": peer, "ratio": ratio,
            "target": target}


def _dangling() -> list[str]:
    return subprocess.run(["docker", "images", "-q", "--filter", "dangling=true"], capture_output=True,
                          text=True).stdout.split()


def _project(tmp: Path) -> Path:
    from expenv.services.example import create_example

    root = tmp / "churn"
    create_example(root, rows=5000)
    config = root / "expenv.toml"
    config.write_text(re.sub(r'production_image = "[^"]*"', f'production_image = "{PROD_TAG}"', config.read_text()))
    if os.geteuid() == 0:   # the container's dev user (uid 1000) writes .expenv/ in the workspace
        subprocess.run(["chown", "-R", "1000:1000", str(root)], check=True)
    return root


def _builds(root: Path) -> list[dict]:
    from expenv.services import images

    rows = []
    cached_base, _ = _timed(images.build_base)
    if not QUICK:
        env = {**os.environ, "EXPENV_BASE_TAG": "expenv-bench-base:cold", "EXPENV_BASE_FORCE": "1"}
        cold_base, _ = _timed(lambda: subprocess.run(["bash", str(REPO / "devcontainer/scripts/build-base-image.sh")],
                                                     env=env, capture_output=True, check=True))
        subprocess.run(["docker", "rmi", "expenv-bench-base:cold"], capture_output=True)
        rows.append(_row("base image: cached vs cold (debootstrap + import)", f"{cached_base:.2f} s",
                         f"cold {cold_base:.0f} s", cached_base / cold_base, "cached ≤ 2 s"))
    images.build_production(root, PROD_TAG)   # warm: the layers and the wheelhouse exist
    cached_prod, _ = _timed(lambda: images.build_production(root, PROD_TAG))
    if not QUICK:
        dangling_before = set(_dangling())
        with tempfile.TemporaryDirectory() as cache:
            os.environ["EXPENV_CACHE_DIR"] = cache   # a fresh host wheelhouse too
            try:
                cold_prod, _ = _timed(lambda: images.build_production(root, "expenv-bench-cold:prod", no_cache=True))
            finally:
                del os.environ["EXPENV_CACHE_DIR"]
        rows.append(_row("production image: cached vs cold (wheelhouse + no layer cache)", f"{cached_prod:.2f} s",
                         f"cold {cold_prod:.0f} s", cached_prod / cold_prod, "cached ≤ 2 s"))
        cold_dev, _ = _timed(lambda: images.build_dev(PROD_TAG, "expenv-bench-cold:dev", no_cache=True))
        images.build_dev(PROD_TAG, "expenv-bench-cold:dev")
        cached_dev, _ = _timed(lambda: images.build_dev(PROD_TAG, "expenv-bench-cold:dev"))
        rows.append(_row("devcontainer image (SDK): cached vs cold", f"{cached_dev:.2f} s", f"cold {cold_dev:.0f} s",
                         cached_dev / cold_dev, "cached ≤ 5 s"))
        subprocess.run(["docker", "rmi", "expenv-bench-cold:prod", "expenv-bench-cold:dev"], capture_output=True)
        # The cold builds' own build stages (about 1.3 GB each); the layer cache of other builds stays.
        leftovers = [i for i in _dangling() if i not in dangling_before]
        if leftovers:
            subprocess.run(["docker", "rmi", *leftovers], capture_output=True)
    else:
        rows.append(_row("production image: cached", f"{cached_prod:.2f} s", "(cold skipped)", 1.0, "cached ≤ 2 s"))
    return rows


def _container_start(root: Path) -> tuple[list[dict], str]:
    from expenv.services.images import devcontainer as dc
    from expenv.services.images import prepare_devcontainer

    prepare_devcontainer(root / ".devcontainer", PROD_TAG)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "1000:1000", str(root / ".devcontainer")], check=True)
    dc.up(root)   # builds the dev image once; the timed start below finds it cached
    image = subprocess.run(["docker", "inspect", "--format", "{{.Config.Image}}", *dc.containers(root)[:1]],
                           capture_output=True, text=True, check=True).stdout.strip()
    dc.down(root)
    up_time, session = _timed(lambda: dc.up(root))

    def plain_run() -> None:
        cid = subprocess.run(["docker", "run", "-d", "--network", "host", image], capture_output=True, text=True,
                             check=True).stdout.strip()
        try:
            while subprocess.run(["docker", "exec", "-u", "app", cid, "true"], capture_output=True).returncode:
                time.sleep(0.05)
        finally:
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True)

    plain_run()
    run_time, _ = _timed(plain_run)
    row = _row("devcontainer up (images cached) vs docker run + exec of the same image", f"{up_time:.1f} s",
               f"docker run {run_time:.1f} s", up_time / run_time, "up ≤ 20 s")
    return [row], image


def _in_container(root: Path) -> list[dict]:
    from expenv.services.images import devcontainer as dc

    def python(code: str) -> dict:
        result = dc.run(root, "python", "-c", code, timeout=600)
        if result.returncode:
            raise RuntimeError(result.stderr[-2000:])
        return json.loads(result.stdout.strip().splitlines()[-1])

    kernel = python(KERNEL_STARTS)
    parity = python(PARITY)
    return [
        _row("kernel start to heartbeat (median of 3, in the devcontainer)", f"{kernel['expenv'] * 1000:.0f} ms",
             f"jupyter_client start_new_kernel {kernel['bare'] * 1000:.0f} ms", kernel["expenv"] / kernel["bare"],
             "≤ 1.5 (and ≤ 2 s)"),
        _row("parity check cold (image read in a throwaway container)", f"{parity['cold']:.2f} s",
             f"2× pip list {parity['naive']:.2f} s", parity["cold"] / parity["naive"], "≤ 2"),
        _row("parity check cached (image snapshot by id)", f"{parity['cached'] * 1000:.0f} ms",
             f"cold {parity['cold']:.2f} s", parity["cached"] / parity["cold"], "cached ≤ 1 s"),
    ]


def run() -> list[dict]:
    from expenv.services.images import devcontainer as dc

    with tempfile.TemporaryDirectory(prefix="expenv-bench-") as tmp:
        root = _project(Path(tmp))
        rows = _builds(root)
        image: str | None = None
        try:
            started, image = _container_start(root)
            rows += started
            rows += _in_container(root)
        finally:
            dc.down(root)
            if image:
                subprocess.run(["docker", "rmi", "--no-prune", image, image.replace("-uid", "")],
                               capture_output=True)
    return rows


if __name__ == "__main__":
    total = time.perf_counter()
    for row in run():
        print(f"{row['figure']}: expenv {row['expenv']}, {row['peer']}, ratio {row['ratio']:.2f} "
              f"(target {row['target']})")
    print(f"(bench took {time.perf_counter() - total:.0f} s)")
