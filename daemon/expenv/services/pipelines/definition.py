"""`[pipelines.NAME]` in expenv.toml: steps, typed parameters and the DAG, with located problems.

    [pipelines.train]
    feature_service = "churn_model_v1"          # recorded on every run

    [pipelines.train.steps.prepare]
    notebook = "notebooks/prepare.ipynb"        # run with papermill (a `parameters` cell)
    params = { rows_limit = 2000 }              # a default alone: its type is the default's

    [pipelines.train.steps.train]
    python = "pipelines/train.py"               # a script (params as --name value) or module:function
    depends_on = ["prepare"]
    params = { seed = { type = "int", default = 7 } }
    cpu = 1.0
    memory = "2g"
"""

from __future__ import annotations

import re
from typing import Any

from expenv.domain.pipelines import PARAM_TYPES, ParamSpec, PipelineSpec, StepSpec

_MODULE_FUNCTION = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*([kKmMgGtT]i?[bB]?)?$")
_PY_TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool}
_STEP_KEYS = ("python", "notebook", "depends_on", "params", "cpu", "memory")
_PIPELINE_KEYS = ("steps", "feature_service")


def _param(v, path: tuple[str, ...], name: str, value: Any) -> ParamSpec | None:
    if isinstance(value, dict):
        unknown = [k for k in value if k not in ("type", "default")]
        for key in unknown:
            v.problem((*path, key), f"unknown key {key!r} in parameter {name}; expected type, default")
        kind = value.get("type")
        default = value.get("default")
        if kind is None:
            if default is None:
                v.problem(path, f"parameter {name} needs a type or a default")
                return None
            kind = _type_of(default)
    else:
        kind, default = _type_of(value), value
    if kind not in PARAM_TYPES:
        v.problem(path, f"parameter {name}: type must be one of {', '.join(PARAM_TYPES)}, not {kind!r}")
        return None
    wrong = default is not None and (not isinstance(default, _PY_TYPES[kind])
                                     or (isinstance(default, bool) and kind != "bool"))
    if wrong:
        v.problem(path, f"parameter {name}: default {default!r} is not of type {kind}")
        return None
    return ParamSpec(name, kind, float(default) if kind == "float" and default is not None else default)


def _type_of(value: Any) -> str:
    for name in ("bool", "int", "float", "str"):
        if isinstance(value, {"bool": bool, "int": int, "float": float, "str": str}[name]):
            return name
    return type(value).__name__


def _step(v, path: tuple[str, ...], name: str, table: dict[str, Any]) -> StepSpec | None:
    v.unknown(table, path, _STEP_KEYS)
    given = [k for k in ("python", "notebook") if k in table]
    if len(given) != 1:
        v.problem(path, f"step {name} needs exactly one of python = \"module:function\" or \"path.py\", "
                        f"or notebook = \"path.ipynb\"" + (" (not both)" if len(given) == 2 else ""))
        return None
    kind = given[0]
    entry = table[kind]
    ok = isinstance(entry, str) and (
        entry.endswith(".ipynb") if kind == "notebook" else (entry.endswith(".py") or _MODULE_FUNCTION.match(entry)))
    if not ok:
        shape = "a path ending in .ipynb" if kind == "notebook" else "\"module:function\" or a path ending in .py"
        v.problem((*path, kind), f"{'.'.join((*path, kind))} must be {shape}, not {entry!r}")
        return None
    depends = table.get("depends_on", [])
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        v.problem((*path, "depends_on"), f"{'.'.join((*path, 'depends_on'))} must be a list of step names")
        return None
    params_table = table.get("params", {})
    if not isinstance(params_table, dict):
        v.problem((*path, "params"), f"{'.'.join((*path, 'params'))} must be a table of parameters")
        return None
    params = {}
    for pname, value in params_table.items():
        spec = _param(v, (*path, "params", pname), pname, value)
        if spec:
            params[pname] = spec
    cpu, memory = table.get("cpu"), table.get("memory")
    if cpu is not None and (isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or cpu <= 0):
        v.problem((*path, "cpu"), f"{'.'.join((*path, 'cpu'))} must be a positive number of cores, not {cpu!r}")
        return None
    if memory is not None and not (isinstance(memory, str) and _MEMORY.match(memory.strip())):
        v.problem((*path, "memory"), f"{'.'.join((*path, 'memory'))} must be a size such as \"2Gi\" or \"512m\", "
                                     f"not {memory!r}")
        return None
    if len(params) != len(params_table):
        return None
    return StepSpec(name, kind, entry, tuple(depends), params, float(cpu) if cpu is not None else None, memory)


def _ordered(v, path: tuple[str, ...], steps: dict[str, StepSpec]) -> tuple[StepSpec, ...] | None:
    """The steps in declared order, each moved after what it depends on; None on a bad DAG."""
    for step in steps.values():
        for dep in step.depends_on:
            if dep not in steps:
                v.problem((*path, "steps", step.name, "depends_on"),
                          f"step {step.name} depends on {dep!r}, which is not a step of this pipeline "
                          f"(steps: {', '.join(steps)})")
                return None
    order: list[StepSpec] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: tuple[str, ...]) -> bool:
        if state.get(name) == 2:
            return True
        if state.get(name) == 1:
            cycle = " -> ".join((*trail[trail.index(name):], name))
            v.problem((*path, "steps", name, "depends_on"), f"steps depend on each other in a cycle: {cycle}")
            return False
        state[name] = 1
        if not all(visit(dep, (*trail, name)) for dep in steps[name].depends_on):
            return False
        state[name] = 2
        order.append(steps[name])
        return True

    return tuple(order) if all(visit(name, ()) for name in steps) else None


def _first_line(positions: dict[tuple[str, ...], tuple[int, int]], path: tuple[str, ...]) -> int:
    """The first line of the pipeline's tables (`[pipelines.NAME]` may be left out)."""
    lines = [line for key, (line, _) in positions.items() if key[:len(path)] == path]
    return min(lines, default=1)


def parse_pipelines(v, doc: dict[str, Any]) -> dict[str, PipelineSpec]:
    """Every valid `[pipelines.NAME]`; problems go to the config validator `v`."""
    out: dict[str, PipelineSpec] = {}
    for name, table in v.table(doc, ("pipelines",)).items():
        path = ("pipelines", name)
        if not isinstance(table, dict):
            v.problem(path, f"pipelines.{name} must be a table like [pipelines.{name}]")
            continue
        if not _NAME.match(name):
            v.problem(path, f"pipeline name {name!r} may hold only letters, digits, '.', '_' and '-'")
            continue
        v.unknown(table, path, _PIPELINE_KEYS)
        service = table.get("feature_service")
        if service is not None and not (isinstance(service, str) and service.strip()):
            v.problem((*path, "feature_service"), f"pipelines.{name}.feature_service must be a feature service name")
            continue
        steps_table = table.get("steps")
        if not isinstance(steps_table, dict) or not steps_table:
            v.problem(path, f"pipeline {name} needs at least one step: [pipelines.{name}.steps.STEP]")
            continue
        steps: dict[str, StepSpec] = {}
        for step_name, step_table in steps_table.items():
            step_path = (*path, "steps", step_name)
            if not isinstance(step_table, dict):
                v.problem(step_path, f"step {step_name} must be a table like [pipelines.{name}.steps.{step_name}]")
                continue
            step = _step(v, step_path, step_name, step_table)
            if step:
                steps[step_name] = step
        if len(steps) != len(steps_table):
            continue
        ordered = _ordered(v, path, steps)
        if ordered:
            out[name] = PipelineSpec(name, ordered, service, _first_line(v.positions, path))
    return out
