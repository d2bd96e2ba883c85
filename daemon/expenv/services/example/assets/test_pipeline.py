"""The churn training pipeline runs end to end on the local warehouse (exploration source) and
prints its metrics. Run with `make test` after `expenv example create` made the data."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_train_script_prints_its_metrics():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    result = subprocess.run([sys.executable, "pipelines/train.py", "--source", "curated", "--rows-limit", "500"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout.strip().splitlines()[-1])["metrics"]
    assert metrics["n_train"] + metrics["n_test"] > 0
    assert 0.5 < metrics["auc"] <= 1.0
