"""Run a CI plan here: each step in order from the repository root, its output streamed line by line,
stopping at the first step that fails. `expenv` and `python` resolve to this interpreter, so a
terminal runs exactly what the workflow's `expenv ci run` runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expenv.domain.ci import CiPlan, CiStep
from expenv.domain.secrets import redact


@dataclass
class StepResult:
    name: str
    command: str
    exit_code: int | None = None       # None: not run (an earlier step failed)
    seconds: float = 0.0
    tail: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "command": self.command, "exit_code": self.exit_code,
                "seconds": round(self.seconds, 1), "tail": self.tail}


def _argv(step: CiStep) -> list[str]:
    head, *rest = step.argv
    if head == "expenv":
        return [sys.executable, "-m", "expenv", *rest]
    if head == "python":
        return [sys.executable, *rest]
    return [head, *rest]


def run_plan(plan: CiPlan, root: Path, on_line: Callable[[str, str], None] | None = None,
             env: dict[str, str] | None = None) -> list[StepResult]:
    """Run PLAN's steps in ROOT; ON_LINE(step, line) gets every output line (stdout and stderr)."""
    results = [StepResult(s.name, s.command) for s in plan.steps]
    child_env = {**os.environ, **(env or {}), "EXPENV_CI_EVENT": plan.event}
    # make's `python3`/`expenv` are this environment's too
    child_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), child_env.get("PATH", "")])
    for step, result in zip(plan.steps, results, strict=True):
        started = time.monotonic()
        if on_line:
            on_line(step.name, f"$ {step.command}")
        try:
            process = subprocess.Popen(_argv(step), cwd=root, env=child_env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, errors="replace")
        except FileNotFoundError:
            result.exit_code = 127
            result.tail = [f"{step.argv[0]}: command not found"]
        else:
            assert process.stdout is not None
            for raw in process.stdout:
                line = redact(raw.rstrip("\n"))
                result.tail = [*result.tail[-19:], line]
                if on_line:
                    on_line(step.name, line)
            result.exit_code = process.wait()
        result.seconds = time.monotonic() - started
        if result.exit_code != 0:
            break
    return results
