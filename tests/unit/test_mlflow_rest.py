"""The pipelines' MLflow REST client against a recording HTTP server on loopback: credentials in the
tracking URI are sent as Basic auth (as the mlflow client sends them), never as part of the host."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest


@pytest.fixture
def recording_server():
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            body = json.dumps({"run": {"info": {"run_id": "r1"}, "data": {}}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_credentials_in_the_tracking_uri_are_basic_auth(recording_server, monkeypatch):
    from expenv.services.tracking.rest import MlflowRest

    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    port, seen = recording_server
    client = MlflowRest(f"http://alice:s%40cret@127.0.0.1:{port}")
    assert client.get_run("r1")["info"]["run_id"] == "r1"
    assert seen[0]["authorization"] == "Basic " + base64.b64encode(b"alice:s@cret").decode()
    assert seen[0]["path"].startswith("/api/2.0/mlflow/runs/get?run_id=r1")
    assert "s%40cret" not in client.uri and "alice" not in client.uri


def test_the_clients_credential_variables_win_over_the_uri(recording_server, monkeypatch):
    from expenv.services.tracking.rest import MlflowRest

    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")
    port, seen = recording_server
    MlflowRest(f"http://alice:other@127.0.0.1:{port}").get_run("r1")
    assert seen[0]["authorization"] == "Basic " + base64.b64encode(b"bob:pw").decode()
