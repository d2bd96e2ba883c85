"""Where a run that nobody configured belongs: the expenv workspace around the script or the
working folder, its tracking server and its experiment.

A plain `python train.py` in a terminal or a kernel that the editor's Jupyter extension started
has no MLFLOW_TRACKING_URI, and the embedded server's port is only known once `expenv up` has
picked it (recorded in `.expenv/mlflow/server.json`). MLflow has no hook for its default URI;
run-context providers can only add tags. So expenv's run-context plugin, which MLflow loads at
`import mlflow`, calls `point_mlflow_at_workspace` then: before any user code talks to MLflow,
the variables name the workspace's server and experiment. A URI set by the user wins.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from expenv.domain.config import CONFIG_FILENAME

log = logging.getLogger(__name__)

ENV_WORKSPACE = "EXPENV_WORKSPACE"   # devcontainer.json containerEnv; kernels expenv starts


def script_path() -> Path | None:
    """The script this interpreter runs (`python train.py`, `python -m pkg.mod`), if any."""
    main = sys.modules.get("__main__")
    given = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if not given or given.startswith("-"):
        return None
    path = Path(given)
    return path.resolve() if path.is_file() else None


def in_kernel() -> bool:
    """True in a Jupyter kernel (ipykernel), where the working folder says where the notebook is."""
    app = sys.modules.get("ipykernel.kernelapp")
    try:
        return bool(app and app.IPKernelApp.initialized())
    except Exception:  # noqa: BLE001 - a half-imported ipykernel is not a kernel
        return False


def origin() -> Path:
    """The folder a run comes from: the script's (not a kernel launcher's), else the working folder."""
    script = None if in_kernel() else script_path()
    return script.parent if script else Path.cwd()


def find_workspace(start: Path | None = None) -> Path | None:
    """The nearest folder with an expenv.toml at or above `start` (default: the run's origin),
    else $EXPENV_WORKSPACE when it has one."""
    here = (start or origin()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILENAME).is_file():
            return folder
    named = os.environ.get(ENV_WORKSPACE)
    if named and (Path(named) / CONFIG_FILENAME).is_file():
        return Path(named).resolve()
    return None


def point_mlflow_at_workspace(environ=os.environ) -> Path | None:
    """Set MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME from the run's workspace when they are
    unset. Returns the workspace root (None outside any workspace). Not in expenv's own daemon and
    CLI: they serve several workspaces and hand each child its own environment."""
    if "expenv.cli.main" in sys.modules:
        return None
    root = find_workspace()
    if root is None:
        return None
    if environ.get("MLFLOW_TRACKING_URI") and (environ.get("MLFLOW_EXPERIMENT_NAME")
                                               or environ.get("MLFLOW_EXPERIMENT_ID")):
        return root
    from expenv.services.workspace import Workspace

    ws = Workspace(root)
    ws.load()
    if ws.services is None:
        log.warning("expenv: %s has problems; MLflow is left as configured", ws.config_path)
        return root
    tracking = ws.services.tracking
    if not environ.get("MLFLOW_TRACKING_URI"):
        uri = tracking.uri()
        if uri:
            environ["MLFLOW_TRACKING_URI"] = uri
        else:
            log.warning("expenv: no MLflow server for %s is running; run `expenv up` there, or this run "
                        "is not tracked by the workspace's server", root)
    if not (environ.get("MLFLOW_EXPERIMENT_NAME") or environ.get("MLFLOW_EXPERIMENT_ID")):
        environ["MLFLOW_EXPERIMENT_NAME"] = tracking.experiment
    return root
