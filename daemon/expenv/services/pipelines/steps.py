"""The command line of one step, the same on every backend (a process, a container, a pod).

- `path/script.py`: `python path/script.py --name value ...` (bools as true/false), so an argparse
  script runs unchanged;
- `module:function`: the function is called with the parameters as keyword arguments;
- `path/nb.ipynb`: papermill injects the parameters after the `parameters` cell and writes the
  executed notebook to `output` (saved as an MLflow artifact of the step's run).

Nothing expenv-specific is needed in user code: tracking comes from the environment.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from expenv.domain.pipelines import StepSpec

# Calls module:function(**params); the workspace (cwd) is importable as with `python -m`.
LAUNCHER = ("import importlib, json, sys; sys.path.insert(0, ''); m, f = sys.argv[1].split(':'); "
            "r = getattr(importlib.import_module(m), f)(**json.loads(sys.argv[2])); "
            "sys.exit(r if isinstance(r, int) and not isinstance(r, bool) else 0)")
NOTEBOOK_KERNEL = "python3"


def _arg(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def notebook_output(step: StepSpec, out_dir: str) -> str:
    return posixpath.join(out_dir, f"{step.name}.ipynb")


def step_command(step: StepSpec, params: dict[str, Any], python: str, out_dir: str) -> list[str]:
    """argv of a step, run from the workspace root (the code's top folder)."""
    if step.kind == "notebook":
        return [python, "-m", "papermill", step.entrypoint, notebook_output(step, out_dir),
                "-y", json.dumps(params), "-k", NOTEBOOK_KERNEL, "--log-output", "--no-progress-bar",
                "--cwd", posixpath.dirname(step.entrypoint) or "."]
    if step.entrypoint.endswith(".py"):
        argv = [python, step.entrypoint]
        for name, value in params.items():
            argv += [f"--{name.replace('_', '-')}", _arg(value)]
        return argv
    return [python, "-c", LAUNCHER, step.entrypoint, json.dumps(params)]
