"""Pipelines as expenv sees them: a small DAG of steps declared in `expenv.toml`, and its runs."""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from expenv.domain.errors import ExpenvError

PARAM_TYPES = ("str", "int", "float", "bool")
STEP_KINDS = ("python", "notebook")

PENDING, RUNNING, FINISHED, FAILED, CANCELLED = "PENDING", "RUNNING", "FINISHED", "FAILED", "CANCELLED"
SKIPPED = "SKIPPED"   # a step that never ran because an earlier one failed or the run was cancelled
RUN_STATUSES = (PENDING, RUNNING, FINISHED, FAILED, CANCELLED)
TERMINAL = frozenset({FINISHED, FAILED, CANCELLED, SKIPPED})
# MLflow's run statuses for ours (a cancelled run is KILLED there).
MLFLOW_STATUS = {FINISHED: "FINISHED", FAILED: "FAILED", CANCELLED: "KILLED", SKIPPED: "KILLED",
                 RUNNING: "RUNNING", PENDING: "SCHEDULED"}


class PipelineError(ExpenvError):
    """A pipeline cannot be found, checked, submitted or followed; the message says why."""


@dataclass(frozen=True)
class ParamSpec:
    """One typed step parameter with its default (None: the submission must give it)."""

    name: str
    type: str = "str"
    default: Any = None

    def coerce(self, value: Any, where: str = "") -> Any:
        """`value` (a CLI string or a JSON value) as this parameter's type, or PipelineError."""
        label = where or self.name
        if self.type == "str":
            return str(value)
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise PipelineError(f"parameter {label} must be a bool (true or false), not {value!r}")
        kind = int if self.type == "int" else float
        if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
            raise PipelineError(f"parameter {label} must be an {self.type}, not {value!r}")
        try:
            return kind(value)
        except (TypeError, ValueError):
            article = "an" if self.type == "int" else "a"
            raise PipelineError(f"parameter {label} must be {article} {self.type}, not {value!r}") from None


@dataclass(frozen=True)
class StepSpec:
    """One step: a Python entrypoint (`module:function` or `path/script.py`) or a notebook
    (`path/nb.ipynb`, run with papermill)."""

    name: str
    kind: str
    entrypoint: str
    depends_on: tuple[str, ...] = ()
    params: dict[str, ParamSpec] = field(default_factory=dict)
    cpu: float | None = None
    memory: str | None = None   # "2Gi", "512Mi", "1g"

    @property
    def files(self) -> tuple[str, ...]:
        """Workspace-relative files this step runs (a module entrypoint names none)."""
        return (self.entrypoint,) if self.entrypoint.endswith((".py", ".ipynb")) else ()


def pipeline_of_notebook(pipelines: dict[str, PipelineSpec], path: str) -> str | None:
    """The one declared pipeline that has the workspace notebook `path` as a step (None: none, or
    several, when the user must say which)."""
    owners = [name for name, spec in pipelines.items()
              if any(s.kind == "notebook" and posixpath.normpath(s.entrypoint) == path for s in spec.steps)]
    return owners[0] if len(owners) == 1 else None


def notebook_pipeline(path: str) -> PipelineSpec:
    """A one-step pipeline running a workspace notebook ("run this notebook as a pipeline step")."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".ipynb")
    name = "notebook-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)
    return PipelineSpec(name, (StepSpec(name.removeprefix("notebook-"), "notebook", path),))


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline: its steps (in a valid order: each after what it depends on)."""

    name: str
    steps: tuple[StepSpec, ...]
    feature_service: str | None = None
    line: int = 1   # where `[pipelines.NAME]` starts in expenv.toml (the code lens)

    def step(self, name: str) -> StepSpec:
        for step in self.steps:
            if step.name == name:
                return step
        raise PipelineError(f"pipeline {self.name} has no step {name!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineSpec:
        """The inverse of asdict (a run keeps the spec it ran, for rerun)."""
        steps = tuple(StepSpec(**{**s, "depends_on": tuple(s["depends_on"]),
                                  "params": {n: ParamSpec(**p) for n, p in s["params"].items()}})
                      for s in data["steps"])
        return cls(data["name"], steps, data.get("feature_service"), data.get("line", 1))

    def resolve_params(self, given: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """Each step's parameter values: defaults, overridden by `given` ({"k": v} for every step
        declaring k, or {"step.k": v} for one). Unknown names and wrong types are refused."""
        given = dict(given or {})
        resolved = {s.name: {p.name: p.default for p in s.params.values()} for s in self.steps}
        for key, value in given.items():
            step_name, _, param = key.rpartition(".")
            steps = [self.step(step_name)] if step_name else [s for s in self.steps if param in s.params]
            if not steps or any(param not in s.params for s in steps):
                known = sorted({p for s in self.steps for p in s.params})
                raise PipelineError(f"pipeline {self.name} has no parameter {key!r}"
                                    f" (parameters: {', '.join(known) or 'none'})")
            for step in steps:
                resolved[step.name][param] = step.params[param].coerce(value, f"{step.name}.{param}")
        for step in self.steps:
            for name, value in resolved[step.name].items():
                if value is None:
                    raise PipelineError(f"parameter {step.name}.{name} has no default: pass --param {name}=...")
        return resolved


@dataclass
class StepRun:
    name: str
    status: str = PENDING
    exit_code: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    mlflow_run_id: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)   # pid / container id / kubernetes names
    detail: str = ""


@dataclass
class PipelineRun:
    """One submission of a pipeline to a target, as recorded under `.expenv/pipelines/<id>/`."""

    id: str
    pipeline: str
    target: str
    backend: str
    status: str = PENDING
    commit: str | None = None
    branch: str | None = None
    patch: str | None = None          # sha256 of the uncommitted changes shipped with the commit
    image: str | None = None
    image_digest: str | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)   # step -> name -> value
    mlflow_run_id: str | None = None
    mlflow_url: str | None = None
    steps: list[StepRun] = field(default_factory=list)
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    drift: list[str] = field(default_factory=list)   # parity differences accepted with --allow-drift
    production_like: bool = False
    rerun_of: str | None = None
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def step(self, name: str) -> StepRun:
        for step in self.steps:
            if step.name == name:
                return step
        raise PipelineError(f"run {self.id} has no step {name!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineRun:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["steps"] = [StepRun(**{k: v for k, v in s.items() if k in StepRun.__dataclass_fields__})
                          for s in data.get("steps", [])]
        return cls(**known)

    def copy(self) -> PipelineRun:
        return replace(self, steps=[replace(s) for s in self.steps])
