"""Pipelines (issue #12): a one-step no-op pipeline on the docker target against a raw `docker run`
of the same image, measured in the same run: submit to first log line, submit to running, and the
whole run (the overhead of expenv: pinning the code, MLflow parent/child runs, the driver process,
copying the code into the container, mirroring the status).

Run: `.venv/bin/python bench/pipelines.py` (or `make bench`). Needs the Docker engine and the
production image (built, or found cached, under its own tag). Prints figures; asserts nothing.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))

PROD_TAG = "expenv-bench-churn-prod:latest"
REPEAT = 3
NOOP = 'print("first line", flush=True)\n'
CONFIG = """
[targets.bench]
backend = "docker"

[pipelines.noop.steps.noop]
python = "noop.py"
"""


def _row(figure: str, expenv: float, peer: float, target: str) -> dict:
    return {"bench": "pipelines", "figure": figure, "expenv": f"{expenv:.2f} s", "peer": f"docker run {peer:.2f} s",
            "ratio": expenv / peer, "target": target}


def _workspace(tmp: Path) -> Path:
    from expenv.services.example import create_example
    from expenv.services.images import build_production

    root = tmp / "churn"
    create_example(root, rows=1000)
    config = root / "expenv.toml"
    text = re.sub(r'production_image = "[^"]*"', f'production_image = "{PROD_TAG}"', config.read_text())
    config.write_text(text + CONFIG)
    (root / "noop.py").write_text(NOOP)
    build_production(root, PROD_TAG)   # writes the lock: committed with the rest, so no run ships a patch
    git = ["git", "-C", str(root), "-c", "user.email=b@example.org", "-c", "user.name=bench"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run([*git, *args], check=True)
    return root


def _expenv_once(service) -> dict[str, float]:
    started = time.perf_counter()
    run = service.submit("noop", "bench")
    figures: dict[str, float] = {}
    log = service.store.log_path(run.id, "noop")
    while "done" not in figures:
        now = time.perf_counter() - started
        current = service.store.get(run.id)
        if "running" not in figures and current.steps[0].status != "PENDING":
            figures["running"] = now
        if "first_line" not in figures and log.is_file() and b"first line" in log.read_bytes():
            figures["first_line"] = now
        if current.done:
            figures["done"] = now
            figures.setdefault("running", now)
            figures.setdefault("first_line", now)
            if current.status != "FINISHED":
                raise RuntimeError(f"the no-op run {run.id} ended {current.status}: {current.detail}")
        time.sleep(0.02)
    return figures


def _docker_once(image_id: str) -> dict[str, float]:
    started = time.perf_counter()
    cid = subprocess.run(["docker", "run", "-d", "--network", "host", image_id, "python", "-c", NOOP],
                         capture_output=True, text=True, check=True).stdout.strip()
    running = time.perf_counter() - started
    try:
        with subprocess.Popen(["docker", "logs", "-f", cid], stdout=subprocess.PIPE, text=True) as logs:
            for line in logs.stdout:
                if "first line" in line:
                    break
        first_line = time.perf_counter() - started
        subprocess.run(["docker", "wait", cid], capture_output=True, check=True)
        done = time.perf_counter() - started
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    return {"running": running, "first_line": first_line, "done": done}


def run() -> list[dict]:
    from expenv.services.images import image_info
    from expenv.services.workspace import WorkspaceSet

    with tempfile.TemporaryDirectory(prefix="expenv-bench-pipelines-") as tmp:
        root = _workspace(Path(tmp))
        up = subprocess.run([sys.executable, "-m", "expenv", "up", "-w", str(root)], capture_output=True, text=True)
        if up.returncode:
            raise RuntimeError(f"expenv up failed: {up.stderr[-2000:]}")
        try:
            service = WorkspaceSet().add(root).services.pipelines
            image_id = image_info(PROD_TAG).id
            _expenv_once(service), _docker_once(image_id)   # warm: imports, page cache
            ours = [_expenv_once(service) for _ in range(REPEAT)]
            peer = [_docker_once(image_id) for _ in range(REPEAT)]
        finally:
            subprocess.run([sys.executable, "-m", "expenv", "down", "-w", str(root)], capture_output=True)

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    return [
        _row("docker: submit to running (median of 3)", median(ours, "running"), median(peer, "running"), "≤ 1.5"),
        _row("docker: submit to first log line", median(ours, "first_line"), median(peer, "first_line"), "≤ 1.5"),
        _row("one-step no-op pipeline, submit to FINISHED (the total overhead)", median(ours, "done"),
             median(peer, "done"), "report"),
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['figure']}: expenv {row['expenv']}, {row['peer']}, ratio {row['ratio']:.2f} "
              f"(target {row['target']})")
