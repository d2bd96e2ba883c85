"""`[pipelines.NAME]` in expenv.toml: steps, typed parameters and the DAG; bad input is located."""

from __future__ import annotations

from pathlib import Path

import pytest

from expenv.domain.pipelines import PipelineError
from expenv.services.config import parse_config

CONFIG = '''[project]
name = "x"

[targets.dev]
backend = "docker"
include = ["features/data"]

[pipelines.train]
feature_service = "svc"

[pipelines.train.steps.train]
python = "pipelines/train.py"
depends_on = ["prepare"]
params = { seed = { type = "int", default = 7 }, C = 1.0, source = "features" }

[pipelines.train.steps.prepare]
notebook = "notebooks/prepare.ipynb"
params = { rows_limit = 2000, dry = false }
'''


def test_steps_are_ordered_after_what_they_depend_on_and_params_are_typed():
    config, problems = parse_config(CONFIG, Path("/w"))
    assert problems == []
    spec = config.pipelines["train"]
    assert [s.name for s in spec.steps] == ["prepare", "train"]
    assert spec.line == 8 and spec.feature_service == "svc"
    prepare, train = spec.steps
    assert (prepare.kind, prepare.entrypoint) == ("notebook", "notebooks/prepare.ipynb")
    assert {n: (p.type, p.default) for n, p in train.params.items()} == {
        "seed": ("int", 7), "C": ("float", 1.0), "source": ("str", "features")}
    assert config.targets["dev"].include == ("features/data",)
    assert config.targets["dev"].is_production_like is False


def test_params_given_at_submission_are_coerced_or_refused_by_name():
    spec = parse_config(CONFIG, Path("/w"))[0].pipelines["train"]
    assert spec.resolve_params({"seed": "8", "prepare.rows_limit": 3, "dry": "true"}) == {
        "prepare": {"rows_limit": 3, "dry": True}, "train": {"seed": 8, "C": 1.0, "source": "features"}}
    with pytest.raises(PipelineError, match="no parameter 'sead'"):
        spec.resolve_params({"sead": "8"})
    with pytest.raises(PipelineError, match="train.seed must be an int, not 'eight'"):
        spec.resolve_params({"seed": "eight"})
    with pytest.raises(PipelineError, match="prepare.dry must be a bool"):
        spec.resolve_params({"dry": "maybe"})
    with pytest.raises(PipelineError, match="no step 'nope'"):
        spec.resolve_params({"nope.seed": 1})


@pytest.mark.parametrize("old,new,line,message", [
    ('depends_on = ["prepare"]', 'depends_on = ["prep"]', 13, "depends on 'prep', which is not a step"),
    ('default = 7', 'default = "x"', 14, "default 'x' is not of type int"),
    ('python = "pipelines/train.py"', 'python = "train"', 12, 'must be "module:function" or a path ending in .py'),
    ('notebook = "notebooks/prepare.ipynb"', 'notebook = "prepare.py"', 17, "must be a path ending in .ipynb"),
    ('python = "pipelines/train.py"', 'python = "a.py"\nnotebook = "b.ipynb"', 11, "exactly one of python"),
    ('dry = false }', 'dry = false }\ndepends_on = ["train"]', 13, "cycle: train -> prepare -> train"),
    ('python = "pipelines/train.py"', 'python = "pipelines/train.py"\nmemory = "lots"', 13, "must be a size"),
])
def test_bad_definitions_are_located_errors(old, new, line, message):
    config, problems = parse_config(CONFIG.replace(old, new), Path("/w"))
    assert config is None
    errors = [p for p in problems if p.severity.value == "error"]
    assert len(errors) == 1 and message in errors[0].message, errors
    assert errors[0].line == line, errors[0]
