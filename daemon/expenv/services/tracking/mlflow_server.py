"""Run MLflow's tracking server in one process: what `mlflow server` starts, without its launcher.

`mlflow server` is a launcher: it prepares the stores, then starts `python -m uvicorn
mlflow.server.fastapi_app:app` as a child, which imports MLflow a second time (5-10 s on a small
machine). This module does the launcher's part and then serves the same app with uvicorn in the
same process. The variables below are MLflow internals; tests/test_tracking_embedded.py pins them
to what the installed `mlflow server` itself sets, so a rename fails the tests loudly.

Usage (by EmbeddedMlflow only): python -m expenv.services.tracking.mlflow_server HOST PORT DB ARTIFACTS
"""

from __future__ import annotations

import os
import sys
import uuid

APP = "mlflow.server.fastapi_app:app"


def server_environment(backend_store_uri: str, artifacts_destination: str) -> dict[str, str]:
    """The variables `mlflow server --serve-artifacts --workers 1` hands its uvicorn child."""
    from mlflow.environment_variables import (
        _MLFLOW_IN_JOB_EXECUTOR,
        _MLFLOW_SERVER_BOOT_ID,
        _MLFLOW_SGI_NAME,
        MLFLOW_ENABLE_WORKSPACES,
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION,
    )
    from mlflow.server.constants import (
        ARTIFACT_ROOT_ENV_VAR,
        ARTIFACTS_DESTINATION_ENV_VAR,
        BACKEND_STORE_URI_ENV_VAR,
        REGISTRY_STORE_URI_ENV_VAR,
        SECRETS_CACHE_MAX_SIZE_ENV_VAR,
        SECRETS_CACHE_TTL_ENV_VAR,
        SERVE_ARTIFACTS_ENV_VAR,
    )
    from mlflow.utils.server_cli_utils import resolve_default_artifact_root

    return {
        BACKEND_STORE_URI_ENV_VAR: backend_store_uri,
        REGISTRY_STORE_URI_ENV_VAR: backend_store_uri,
        ARTIFACT_ROOT_ENV_VAR: resolve_default_artifact_root(True, None, backend_store_uri),
        SERVE_ARTIFACTS_ENV_VAR: "true",
        ARTIFACTS_DESTINATION_ENV_VAR: artifacts_destination,
        SECRETS_CACHE_TTL_ENV_VAR: "60",  # the CLI's defaults for --secrets-cache-ttl/-max-size
        SECRETS_CACHE_MAX_SIZE_ENV_VAR: "1000",
        _MLFLOW_SERVER_BOOT_ID.name: uuid.uuid4().hex,
        _MLFLOW_IN_JOB_EXECUTOR.name: "false",
        _MLFLOW_SGI_NAME.name: "uvicorn",
        MLFLOW_ENABLE_WORKSPACES.name: "false",
        # No job runner (huey consumers): the embedded server only tracks runs.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION.name: "false",
    }


def uvicorn_log_config() -> str:
    """MLflow's uvicorn logging setup (timestamps, access lines), as `mlflow server` passes it."""
    from mlflow.server import _UVICORN_LOG_CONFIG

    return str(_UVICORN_LOG_CONFIG)


def serve(host: str, port: int, db: str, artifacts: str) -> None:
    """Prepare the stores (creates/migrates the sqlite schema before /health answers), then serve."""
    backend = f"sqlite:///{db}"
    os.environ.update(server_environment(backend, artifacts))
    from mlflow.server.constants import ARTIFACT_ROOT_ENV_VAR
    from mlflow.server.handlers import initialize_backend_stores
    from mlflow.tracing.trace_rollup_service import validate_sql_trace_rollup_startup

    initialize_backend_stores(backend, backend, os.environ[ARTIFACT_ROOT_ENV_VAR])
    validate_sql_trace_rollup_startup(backend)
    import uvicorn

    uvicorn.run(APP, host=host, port=port, workers=1, log_config=uvicorn_log_config())


if __name__ == "__main__":
    _host, _port, _db, _artifacts = sys.argv[1:5]
    serve(_host, int(_port), _db, _artifacts)
