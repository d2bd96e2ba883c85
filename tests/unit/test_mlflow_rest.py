"""The pipelines' MLflow REST client against a recording HTTP server on loopback: credentials in the
tracking URI are sent as Basic auth (as the mlflow client sends them), never as part of the host."""

from __future__ import annotations

import base64

import pytest

from tests.recording_server import recording_server

RUN = {"run": {"info": {"run_id": "r1"}, "data": {}}}


@pytest.fixture(autouse=True)
def no_credential_variables(monkeypatch):
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_credentials_in_the_tracking_uri_are_basic_auth():
    from expenv.services.tracking.rest import MlflowRest

    with recording_server(lambda path: RUN) as (url, heard):
        client = MlflowRest(url.replace("http://", "http://alice:s%40cret@"))
        assert client.get_run("r1")["info"]["run_id"] == "r1"
    assert heard[0]["authorization"] == "Basic " + base64.b64encode(b"alice:s@cret").decode()
    assert heard[0]["path"].startswith("/api/2.0/mlflow/runs/get?run_id=r1")
    assert client.uri == url   # what error messages and artifact URLs are made from


def test_the_clients_credential_variables_win_over_the_uri(monkeypatch):
    from expenv.services.tracking.rest import MlflowRest

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")
    with recording_server(lambda path: RUN) as (url, heard):
        MlflowRest(url.replace("http://", "http://alice:other@")).get_run("r1")
    assert heard[0]["authorization"] == "Basic " + base64.b64encode(b"bob:pw").decode()
