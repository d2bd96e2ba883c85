"""The embedded MLflow server that `expenv up` starts: MLflow's own server app, loopback only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from expenv.services.http_probe import http_get
from expenv.services.tracking.embedded import EmbeddedMlflow, EmbeddedMlflowError

EXPENV = [sys.executable, "-m", "expenv"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*EXPENV, *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def up_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracked")
    (root / "expenv.toml").write_text('[project]\nname = "tracked"\n')
    result = run("up", "--json", "-w", str(root))
    assert result.returncode == 0, result.stderr
    yield root, json.loads(result.stdout)
    run("down", "-w", str(root))


def test_up_starts_a_loopback_mlflow_that_answers(up_workspace):
    root, info = up_workspace
    assert info["started"] == ["mlflow"]
    assert info["tracking_uri"].startswith("http://127.0.0.1:")
    status, body = http_get(info["tracking_uri"] + "/health")
    assert (status, body.strip()) == (200, b"OK")
    assert (root / ".expenv" / "mlflow" / "mlflow.db").read_bytes()[:15] == b"SQLite format 3"
    pid = json.loads((root / ".expenv" / "mlflow" / "server.json").read_text())["pid"]
    # One process serves: no launcher with a uvicorn child that imports MLflow a second time.
    assert Path(f"/proc/{pid}/task/{pid}/children").read_text().split() == []


def test_mlflow_client_logs_a_run_to_it(up_workspace):
    root, info = up_workspace
    code = ("import mlflow, sys; mlflow.set_tracking_uri(sys.argv[1]); mlflow.set_experiment('tracked');\n"
            "with mlflow.start_run() as r: mlflow.log_metric('auc', 0.75)\n"
            "print(mlflow.get_run(r.info.run_id).data.metrics['auc'])")
    result = subprocess.run([sys.executable, "-c", code, info["tracking_uri"]], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "0.75", result.stderr


def test_up_again_reuses_the_running_server(up_workspace):
    root, info = up_workspace
    again = json.loads(run("up", "--json", "-w", str(root)).stdout)
    assert again["started"] == [] or again["tracking_uri"] == info["tracking_uri"]
    assert again["tracking_uri"] == info["tracking_uri"]


def test_status_reports_the_tracking_uri(up_workspace):
    root, info = up_workspace
    report = json.loads(run("status", "--json", "-w", str(root)).stdout)
    mlflow = report["workspaces"][0]["parts"]["mlflow"]
    assert mlflow["ok"] is True and info["tracking_uri"] in mlflow["detail"]


def test_a_server_started_in_another_pid_namespace_is_judged_by_health(up_workspace):
    """A devcontainer on host networking reads the host's record: it cannot see the pid, only the port."""
    root, info = up_workspace
    record = root / ".expenv" / "mlflow" / "server.json"
    original = record.read_text()
    dead_pid = 2 ** 22 + 1  # above the default pid_max: never alive here
    try:
        record.write_text(json.dumps({**json.loads(original), "pid": dead_pid, "pidns": "pid:[1]"}))
        seen = EmbeddedMlflow(root / ".expenv").running()
        assert seen is not None and seen.uri == info["tracking_uri"]
        assert EmbeddedMlflow(root / ".expenv").stop() is False  # not ours to stop: the record stays
        assert record.exists()
        record.write_text(json.dumps({**json.loads(original), "pid": dead_pid}))  # same namespace, dead pid
        assert EmbeddedMlflow(root / ".expenv").running() is None
    finally:
        record.write_text(original)
    assert EmbeddedMlflow(root / ".expenv").running() is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_up_serves_on_the_port_it_is_given_and_down_stops_it(tmp_path):
    (tmp_path / "expenv.toml").write_text('[project]\nname = "ported"\n')
    port = _free_port()
    result = run("up", "--port", str(port), "--json", "-w", str(tmp_path))
    try:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["tracking_uri"] == f"http://127.0.0.1:{port}"
        status, body = http_get(f"http://127.0.0.1:{port}/health")
        assert (status, body.strip()) == (200, b"OK")
        other = run("up", "--port", str(_free_port()), "-w", str(tmp_path))   # running: it does not move
        assert other.returncode == 1 and f"already runs on port {port}" in other.stderr
        assert json.loads(run("down", "--json", "-w", str(tmp_path)).stdout)["stopped"] == ["mlflow"]
        with pytest.raises(OSError):
            http_get(f"http://127.0.0.1:{port}/health", timeout=2)
    finally:
        run("down", "-w", str(tmp_path))


def test_up_refuses_a_taken_port_and_names_it(tmp_path):
    (tmp_path / "expenv.toml").write_text('[project]\nname = "taken"\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("up", "--port", str(port), "-w", str(tmp_path))
    assert result.returncode == 1 and f"port {port} on 127.0.0.1 is taken" in result.stderr
    assert "Traceback" not in result.stderr
    assert EmbeddedMlflow(tmp_path / ".expenv").running() is None


def test_up_with_a_port_refuses_when_tracking_uri_names_a_server(tmp_path):
    (tmp_path / "expenv.toml").write_text('[project]\nname = "remote"\n\n[tracking]\n'
                                          'uri = "http://mlflow-user:hunter2-pw@127.0.0.1:5999"\n')
    result = run("up", "--port", str(_free_port()), "-w", str(tmp_path))
    assert result.returncode == 1 and "[tracking] uri names" in result.stderr
    assert "hunter2-pw" not in result.stderr + result.stdout
    assert not (tmp_path / ".expenv" / "mlflow" / "server.json").exists()


def test_a_corrupt_store_is_refused_and_left_untouched(tmp_path):
    server = EmbeddedMlflow(tmp_path / ".expenv")
    server.dir.mkdir(parents=True)
    server.db.write_bytes(b"this is not sqlite, but someone's data")
    with pytest.raises(EmbeddedMlflowError, match="not a SQLite database"):
        server.start()
    assert server.db.read_bytes() == b"this is not sqlite, but someone's data"


def test_the_server_is_started_as_the_installed_mlflow_server_command_would(monkeypatch, tmp_path):
    """mlflow_server.py relies on MLflow internals (variable names, store set-up, app, log config):
    run the installed `mlflow server` CLI with the options expenv used to pass, catch what it would
    start, and require the same. Fails loudly when an MLflow upgrade renames or adds any of them."""
    import mlflow.server
    import mlflow.server.handlers
    from click.testing import CliRunner
    from mlflow.cli import cli

    from expenv.services.tracking import mlflow_server

    db, artifacts, port = tmp_path / "mlflow.db", tmp_path / "artifacts", _free_port()
    backend = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    monkeypatch.delenv("MLFLOW_ENABLE_WORKSPACES", raising=False)
    seen: dict = {}

    def caught_exec(cmd, extra_env, **_):
        seen.update(cmd=cmd, env=extra_env)
        raise KeyboardInterrupt  # stop before it installs signal handlers and waits
    monkeypatch.setattr(mlflow.server, "_exec_cmd", caught_exec)
    monkeypatch.setattr(mlflow.server.handlers, "initialize_backend_stores",
                        lambda *args, **kwargs: seen.update(stores=(args, kwargs)))
    saved = dict(os.environ)
    try:
        result = CliRunner().invoke(cli, ["server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                                          "--backend-store-uri", backend, "--artifacts-destination", str(artifacts),
                                          "--serve-artifacts"])
        workspaces = os.environ.get("MLFLOW_ENABLE_WORKSPACES")
    finally:   # the CLI sets MLFLOW_* variables in this process; later tests require none preset
        os.environ.clear()
        os.environ.update(saved)
    assert "cmd" in seen, result.output
    cli_env = {**seen["env"], "MLFLOW_ENABLE_WORKSPACES": workspaces, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    ours = mlflow_server.server_environment(backend, str(artifacts))
    boot = "_MLFLOW_SERVER_BOOT_ID"
    assert {**ours, boot: ""} == {**cli_env, boot: ""} and len(ours[boot]) == len(cli_env[boot]) == 32
    assert seen["cmd"] == [sys.executable, "-m", "uvicorn", "--log-config", mlflow_server.uvicorn_log_config(),
                           "--host", "127.0.0.1", "--port", str(port), "--workers", "1", mlflow_server.APP]
    assert seen["stores"][0][:3] == (backend, backend, ours["_MLFLOW_SERVER_ARTIFACT_ROOT"])
