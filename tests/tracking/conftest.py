"""A workspace in a git repository on branch feature/x, with its embedded MLflow running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tracked_workspace(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("tracked") / "churn"
    root.mkdir()
    (root / "expenv.toml").write_text('[project]\nname = "churn"\n')
    (root / "pipelines").mkdir()
    (root / "pipelines" / "train.py").write_text(
        "import mlflow, os\n\nif __name__ == '__main__':\n"
        "    mlflow.set_experiment(os.environ['MLFLOW_EXPERIMENT_NAME'])\n"
        "    with mlflow.start_run():\n        mlflow.log_metric('auc', float(os.environ.get('AUC', '0.7')))\n"
        "        mlflow.log_param('C', os.environ.get('C', '1.0'))\n")
    (root / ".gitignore").write_text(".expenv/\n")
    git = ["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "feature/x"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    up = subprocess.run([sys.executable, "-m", "expenv", "up", "--json", "-w", str(root)],
                        capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stderr
    yield root, sha
    subprocess.run([sys.executable, "-m", "expenv", "down", "-w", str(root)], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def tracking(tracked_workspace):
    from expenv.services.workspace import WorkspaceSet

    return WorkspaceSet().add(tracked_workspace[0]).services.tracking


def runs_json(root: Path, *args: str) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "expenv", "runs", "ls", "--json", "-w", str(root), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
