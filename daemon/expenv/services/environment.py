"""`expenv up` / `expenv down`: the workspace's embedded services, and how to attach an editor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from expenv.domain.errors import ExpenvError
from expenv.domain.secrets import redact
from expenv.services.workspace import Workspace


def bring_up(ws: Workspace, mlflow_port: int | None = None) -> dict[str, Any]:
    """Start (or reuse) the embedded MLflow server unless `[tracking] uri` names one."""
    assert ws.services is not None, "bring_up needs a workspace with a valid config"
    tracking = ws.services.tracking
    started = []
    if ws.services.config.tracking.uri:
        uri = ws.services.config.tracking.uri
        if mlflow_port is not None:
            raise ExpenvError(f"a port starts the embedded MLflow server, but [tracking] uri names "
                              f"{redact(uri)}: nothing to start there")
    else:
        server = tracking.embedded.start(port=mlflow_port)
        uri = server.uri
        started.append("mlflow")
    vsix = sorted(Path(__file__).resolve().parents[3].glob("vscode-extension/expenv-*.vsix"))
    attach = [
        f"VS Code / code-server: open the folder {ws.root} with the expenv extension installed"
        + (f" ({vsix[-1]})" if vsix else " (build it: cd vscode-extension && npm run package)"),
        "any LSP editor over stdio: expenv serve",
        "or over loopback TCP: expenv serve --tcp 127.0.0.1:PORT (the client sends initializationOptions.token)",
        f"notebooks and scripts under {ws.root} log to MLflow at {redact(uri)} with no setting "
        "(expenv's MLflow plugin finds it where expenv is installed; elsewhere set MLFLOW_TRACKING_URI)",
    ]
    return {"project": ws.services.config.project.name, "root": str(ws.root), "tracking_uri": redact(uri),
            "started": started, "attach": attach}


def bring_down(ws: Workspace) -> dict[str, Any]:
    stopped = []
    if ws.services is not None and ws.services.tracking.embedded.stop():
        stopped.append("mlflow")
    return {"root": str(ws.root), "stopped": stopped}
