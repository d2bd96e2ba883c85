"""A workspace with a unique secret planted everywhere a credential can come from.

The canary is planted in: the warehouse URL's password, the tracking URI's password (pointing at a
real MLflow server, which ignores the credentials, so runs and their URLs are really read back),
`[data.raw] storage_options` (key, secret, token, an endpoint URL's password), and environment
variables (AWS_SECRET_ACCESS_KEY, MLFLOW_TRACKING_URI, DOCKER_HOST). Every planted value holds
`CANARY`, so finding `CANARY` anywhere in an output is a leak.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "cnry" + secrets.token_hex(6)  # unique per test session: it cannot be in any fixture text


def dead_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expenv(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "expenv", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def leaks(text: str) -> list[str]:
    """Each place (with some context) where the canary shows in `text`."""
    out, start = [], 0
    while (i := text.find(CANARY, start)) >= 0:
        out.append(text[max(0, i - 80): i + len(CANARY) + 20])
        start = i + 1
    return out


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow server (the embedded one, started by `expenv up`) with one run of the example
    pipeline in experiment "churn", so runs, run URLs and code lenses have something to show."""
    home = tmp_path_factory.mktemp("canary-mlflow")
    (home / "expenv.toml").write_text('[project]\nname = "churn"\n')
    up = expenv("up", "--json", "-w", str(home))
    assert up.returncode == 0, up.stderr
    uri = json.loads(up.stdout)["tracking_uri"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("churn")
    run = client.create_run(experiment, tags={"expenv.pipeline": "pipelines/train.py", "expenv.runner": "local"})
    client.log_param(run.info.run_id, "C", "1.0")
    client.log_metric(run.info.run_id, "auc", 0.8)
    client.set_terminated(run.info.run_id)
    yield uri, run.info.run_id
    expenv("down", "-w", str(home), timeout=60)


@pytest.fixture(scope="session")
def canary_env(mlflow_server) -> dict[str, str]:
    """The process environment with credentials planted (the daemon and CLI read it)."""
    import os

    port = mlflow_server[0].rsplit(":", 1)[1]
    return {**os.environ,
            "AWS_SECRET_ACCESS_KEY": f"{CANARY}-aws-env",
            "MLFLOW_TRACKING_URI": f"http://ci:{CANARY}-mlflow-env@127.0.0.1:{port}",
            "DOCKER_HOST": f"tcp://ops:{CANARY}-docker-env@127.0.0.1:{dead_port()}"}


@pytest.fixture(scope="session")
def canary_workspace(tmp_path_factory, mlflow_server) -> Path:
    """The example project, its expenv.toml holding the canary in every credential it can hold."""
    from expenv.services.example import create_example

    root = tmp_path_factory.mktemp("canary") / "churn"
    create_example(root, rows=2000)
    port = mlflow_server[0].rsplit(":", 1)[1]
    text = (root / "expenv.toml").read_text()
    text = text.replace('roots = ["data/raw"]', f'''roots = ["data/raw", "s3://lake/raw"]
storage_options = {{ key = "AKIA{CANARY}", secret = "{CANARY}-so-secret", token = "{CANARY}-so-token", \
endpoint_url = "http://minio:{CANARY}-so-endpoint@127.0.0.1:{dead_port()}" }}''')
    text = text.replace('url = "duckdb:///data/warehouse.duckdb"',
                        f'url = "postgresql://analyst:{CANARY}-warehouse@127.0.0.1:{dead_port()}/warehouse"')
    text = text.replace('# uri = "http://mlflow.internal:5000"', f'uri = "http://expenv:{CANARY}-tracking@127.0.0.1:{port}"')
    assert text.count(CANARY) == 6, text
    (root / "expenv.toml").write_text(text)
    return root
