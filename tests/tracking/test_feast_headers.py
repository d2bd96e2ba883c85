"""A process that logs to MLflow does not import feast for it (feast's MLflow request-header plugin
would, at the first REST call: seconds of CPU in every step, notebook and expenv command), and
feast's plugin still adds its header where feast asks for one."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.tracking.conftest import assert_nothing_preset, rest_runs, server_uri

LOGS_A_RUN = """import json, sys, mlflow
mlflow.set_experiment("feast-free")   # not the workspace's: other tests count its runs
with mlflow.start_run(run_name="no-feast") as run:
    mlflow.log_metric("auc", 0.8)
print(json.dumps({"run_id": run.info.run_id, "feast_imported": "feast" in sys.modules}))
"""


def test_a_script_logging_a_run_does_not_import_feast(tracked_workspace):
    root, _sha = tracked_workspace
    assert_nothing_preset()
    # `python -c` in the workspace folder (no file added to its git tree)
    done = subprocess.run([sys.executable, "-c", LOGS_A_RUN], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert printed["feast_imported"] is False
    (run,) = [r for r in rest_runs(server_uri(root), "feast-free") if r["run_id"] == printed["run_id"]]
    assert run["metrics"] == {"auc": 0.8}


ASKS_WITH_AND_WITHOUT_FEASTS_TOKEN = """import sys, mlflow
from mlflow import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[-1])
client.get_experiment_by_name("before-feast")
from feast.infra.data_sources.mlflow.auth import mlflow_token_scope
client.get_experiment_by_name("feast-imported")
with mlflow_token_scope("feast-token"):
    client.get_experiment_by_name("in-feasts-scope")
"""


def test_feasts_plugin_still_sends_its_token_inside_its_scope(tracked_workspace):
    root, _sha = tracked_workspace
    heard: dict[str, str | None] = {}

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            name = self.path.rsplit("experiment_name=", 1)[-1]
            heard[name] = self.headers.get("Authorization")
            body = json.dumps({"experiment": {"experiment_id": "1", "name": name,
                                              "lifecycle_stage": "active"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}"
        done = subprocess.run([sys.executable, "-c", ASKS_WITH_AND_WITHOUT_FEASTS_TOKEN, uri], cwd=root,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        server.shutdown()
        server.server_close()
    assert heard == {"before-feast": None, "feast-imported": None, "in-feasts-scope": "Bearer feast-token"}
