"""A process that talks to MLflow does not import feast for it (feast's MLflow request-header plugin
would, at the first REST call: seconds of CPU in every step, notebook and expenv command), and
feast's plugin still adds its header where feast asks for one. One Python process of the venv
(where expenv and feast are installed) against a server that records what it is sent."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.recording_server import recording_server

ASKS_BEFORE_AND_AFTER_FEAST = """import json, sys
from mlflow import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[-1])
client.get_experiment_by_name("before-feast")
print(json.dumps({"feast_imported": "feast" in sys.modules}), flush=True)
from feast.infra.data_sources.mlflow.auth import mlflow_token_scope
client.get_experiment_by_name("feast-imported")
with mlflow_token_scope("feast-token"):
    client.get_experiment_by_name("in-feasts-scope")
"""


def _experiment(path: str) -> dict:
    name = path.rsplit("experiment_name=", 1)[-1]
    return {"experiment": {"experiment_id": "1", "name": name, "lifecycle_stage": "active"}}


def test_mlflow_calls_import_no_feast_and_feasts_token_is_sent_inside_its_scope(tmp_path):
    with recording_server(_experiment) as (uri, requests):
        done = subprocess.run([sys.executable, "-c", ASKS_BEFORE_AND_AFTER_FEAST, uri], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    heard = {r["path"].rsplit("experiment_name=", 1)[-1]: r["authorization"] for r in requests}
    assert json.loads(done.stdout.strip().splitlines()[0]) == {"feast_imported": False}
    assert heard == {"before-feast": None, "feast-imported": None, "in-feasts-scope": "Bearer feast-token"}
