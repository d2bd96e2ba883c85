"""A process that talks to MLflow does not import feast for it (feast's MLflow request-header plugin
would, at the first REST call: seconds of CPU in every step, notebook and expenv command), and
feast's plugin still adds its header where feast asks for one. One Python process of the venv
(where expenv and feast are installed) against a server that records what it is sent."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


def test_mlflow_calls_import_no_feast_and_feasts_token_is_sent_inside_its_scope(tmp_path):
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
        done = subprocess.run([sys.executable, "-c", ASKS_BEFORE_AND_AFTER_FEAST, uri], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        server.shutdown()
        server.server_close()
    assert json.loads(done.stdout.strip().splitlines()[0]) == {"feast_imported": False}
    assert heard == {"before-feast": None, "feast-imported": None, "in-feasts-scope": "Bearer feast-token"}
