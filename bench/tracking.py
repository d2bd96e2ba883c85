"""Tracking (issue #5): listing runs as the editor does, and starting the embedded server.

- `expenv.tracking.runs` through the real `expenv serve` process over LSP, on a store of 1,000
  runs, against MLflow's own `MlflowClient.search_runs` on the same server and store.
- `expenv up` (embedded server start, until it answers /health) against a bare `mlflow server`
  with the same flags on a copy of the same store.

Run: `.venv/bin/python bench/tracking.py` (or `make bench`). Prints figures and ratios; asserts
nothing. A few minutes on 2 cores, most of it filling the store (MLflow's own client, direct to sqlite).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lsp import daemon  # noqa: E402

RUNS = 1000
LISTINGS = 5
STARTS = 2
EXPENV = [sys.executable, "-m", "expenv"]


def fill_store(db: Path, artifacts: Path, experiment: str) -> None:
    """1,000 finished runs with the params, metrics and tags a training run carries."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def unsynced(connection, _record) -> None:   # 3,000 commits: skip the fsyncs while filling
        if type(connection).__module__.startswith("sqlite3"):
            connection.execute("PRAGMA synchronous = OFF")

    event.listen(Engine, "connect", unsynced)
    db.parent.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    exp = client.create_experiment(experiment, artifact_location=artifacts.as_uri())
    now = int(time.time() * 1000)
    for i in range(RUNS):
        run = client.create_run(exp, start_time=now - i * 1000, tags={
            "expenv.git.branch": "main" if i % 3 else "feature/x", "expenv.git.sha": f"{i:040x}",
            "expenv.stage": "dev", "expenv.runner": "kernel", "expenv.pipeline": "train"})
        client.log_batch(run.info.run_id, metrics=[Metric(m, (i % 97) / 97, now, 0) for m in ("auc", "loss", "f1")],
                         params=[Param(p, str(i % 7)) for p in ("max_depth", "n_estimators", "lr", "seed")],
                         tags=[RunTag("mlflow.runName", f"run-{i}")])
        client.set_terminated(run.info.run_id, end_time=now - i * 1000 + 500)
    event.remove(Engine, "connect", unsynced)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bare_mlflow_start(db: Path, artifacts: Path) -> float:
    """Seconds from `mlflow server` (the flags `expenv up` uses) to its first 200 on /health."""
    from expenv.services.tracking.embedded import healthy

    port = _free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1", "--backend-store-uri", f"sqlite:///{db}",
                             "--artifacts-destination", str(artifacts), "--serve-artifacts"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    try:
        while not healthy(f"http://127.0.0.1:{port}", timeout=1.0):
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {proc.returncode}")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def expenv_up(root: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run([*EXPENV, "up", "--json", "-w", str(root)], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(result.stdout)["tracking_uri"]


def expenv_down(root: Path) -> None:
    subprocess.run([*EXPENV, "down", "-w", str(root)], capture_output=True, check=True)


def cold_search_seconds(uri: str, experiment_id: str) -> float:
    """A fresh Python importing MLflow and calling search_runs once: the peer of a daemon's first listing."""
    code = ("import sys; from mlflow.tracking import MlflowClient; "
            "MlflowClient(tracking_uri=sys.argv[1]).search_runs([sys.argv[2]], max_results=int(sys.argv[3]))")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, uri, experiment_id, str(RUNS)], check=True, capture_output=True)
    return time.perf_counter() - started


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def run() -> list[dict]:
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory(prefix="expenv-bench-tracking-") as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        (root / "expenv.toml").write_text('[project]\nname = "bench"\n')
        store = root / ".expenv" / "mlflow"
        fill_store(store / "mlflow.db", store / "artifacts", "bench")
        peer = Path(tmp) / "peer"
        peer.mkdir()
        shutil.copy(store / "mlflow.db", peer / "mlflow.db")

        ups, bares = [], []
        try:
            for _ in range(STARTS):   # alternate, so both see the machine alike
                bares.append(bare_mlflow_start(peer / "mlflow.db", peer / "artifacts"))
                seconds, uri = expenv_up(root)
                ups.append(seconds)
                expenv_down(root)
            _, uri = expenv_up(root)
            with daemon(root) as d:
                listings = [timed(lambda: d.command("expenv.tracking.runs", {"max_results": RUNS}))
                            for _ in range(1 + LISTINGS)]
            client = MlflowClient(tracking_uri=uri)
            exp = client.get_experiment_by_name("bench").experiment_id
            searches = [timed(lambda: client.search_runs([exp], max_results=RUNS,
                                                         order_by=["attributes.start_time DESC"]))
                        for _ in range(1 + LISTINGS)]
            cold_search = cold_search_seconds(uri, exp)
        finally:
            expenv_down(root)
    counts = {len(listings[-1][1]), len(searches[-1][1])}
    if counts != {RUNS}:
        raise RuntimeError(f"expected {RUNS} runs from both, got {counts}")
    first = listings[0][0]
    listing = statistics.median(t for t, _ in listings[1:])
    search = statistics.median(t for t, _ in searches[1:])
    up, bare = statistics.median(ups), statistics.median(bares)
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    return [
        {"bench": "tracking", "figure": f"expenv.tracking.runs over LSP, {RUNS:,} runs (median of {LISTINGS})",
         "expenv": ms(listing), "peer": f"MlflowClient.search_runs {ms(search)}", "ratio": listing / search,
         "target": "—"},
        {"bench": "tracking", "figure": "first expenv.tracking.runs of a daemon (imports mlflow)",
         "expenv": ms(first), "peer": f"fresh python: import mlflow + search_runs {ms(cold_search)}",
         "ratio": first / cold_search, "target": "—"},
        {"bench": "tracking", "figure": f"embedded server start: `expenv up` (median of {STARTS})",
         "expenv": f"{up:.1f} s", "peer": f"bare `mlflow server` {bare:.1f} s", "ratio": up / bare, "target": "—"},
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['figure']}: expenv {row['expenv']}, {row['peer']}, ratio {row['ratio']:.2f} "
              f"(target {row['target']})")
