"""Bad input: a missing or broken feature_store.yaml, a registry that fails to load, a repo .py
with a Python error, a source file that is gone. Each is a located problem, never an exception,
and what does not need the registry keeps working."""

from __future__ import annotations

import pytest

from expenv.domain.features import FeatureStoreError
from tests.features.conftest import features_of


def _line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().split("\n"), 1) if text in line)


def test_missing_feature_store_yaml_points_at_expenv_toml(example_copy):
    (example_copy / "features" / "feature_store.yaml").unlink()
    features = features_of(example_copy)
    problems = features.validate()
    assert [(p.path, p.line, p.code) for p in problems] == [
        (str(example_copy / "expenv.toml"), _line_of(example_copy / "expenv.toml", "repo ="), "feature_store_yaml")]
    with pytest.raises(FeatureStoreError, match="no feature_store.yaml"):
        features.lineage()
    # definitions come from the Python, not the registry: go-to-definition still works
    assert features.definition_of("customer_profile").line == _line_of(
        example_copy / "features" / "definitions.py", "customer_profile = FeatureView(")


def test_broken_yaml_is_located(example_copy):
    yaml_path = example_copy / "features" / "feature_store.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("provider: local", "provider: local\n  oops: [1"))
    [problem] = features_of(example_copy).validate()
    assert (problem.path, problem.line, problem.code) == (str(yaml_path), _line_of(yaml_path, "oops"), "feature_store_yaml")
    assert "not valid YAML" in problem.message


def test_invalid_feast_config_points_at_the_key(example_copy):
    yaml_path = example_copy / "features" / "feature_store.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("type: file", "type: nonsense"))
    features = features_of(example_copy)
    [problem] = features.validate()
    assert (problem.path, problem.line) == (str(yaml_path), _line_of(yaml_path, "type: nonsense"))
    assert "not a valid Feast config" in problem.message
    with pytest.raises(FeatureStoreError, match="feature_store.yaml"):
        features.catalog()


def test_registry_that_fails_to_load(example_copy):
    yaml_path = example_copy / "features" / "feature_store.yaml"
    (example_copy / "features" / "data" / "registry.db").write_bytes(b"\x00\xffnot a registry\x12\x34")
    features = features_of(example_copy)
    [problem] = features.validate()
    assert (problem.path, problem.line, problem.code) == (str(yaml_path), _line_of(yaml_path, "registry:"), "registry")
    assert "failed to load" in problem.message
    with pytest.raises(FeatureStoreError, match="failed to load"):
        features.feature("customer_profile:age")


def test_registry_not_applied_yet_is_information_and_creates_nothing(example_copy):
    registry = example_copy / "features" / "data" / "registry.db"
    registry.unlink()
    features = features_of(example_copy)
    [problem] = features.validate()
    assert (problem.severity, problem.code) == ("information", "registry")
    with pytest.raises(FeatureStoreError, match="does not exist yet"):
        features.catalog()
    assert not registry.exists()


def test_repo_python_error_is_located_and_the_registry_still_answers(example_copy):
    bad = example_copy / "features" / "extra_views.py"
    bad.write_text("from feast import Entity\n\nbroken = Entity(name='x',\n")
    features = features_of(example_copy)
    problems = features.validate()
    assert [(p.path, p.line, p.code) for p in problems] == [(str(bad), 3, "python")]
    assert features.feature("customer_profile:age").dtype == "Int64"


def test_missing_source_file_is_reported_on_the_view(example_copy):
    (example_copy / "features" / "data" / "customer_profile.parquet").unlink()
    definitions = example_copy / "features" / "definitions.py"
    [problem] = features_of(example_copy).validate()
    assert (problem.path, problem.line, problem.code) == (
        str(definitions), _line_of(definitions, "customer_profile = FeatureView("), "source_missing")
    assert "customer_profile_source" in problem.message and "does not exist" in problem.message


def test_feast_plan_with_a_runtime_error_points_at_the_file(example_copy):
    bad = example_copy / "features" / "extra_views.py"
    bad.write_text("import os\n\nvalue = undefined_name + 1\n")
    result = features_of(example_copy).plan()
    assert not result.ok and "NameError" in result.output
    assert [(p.path, p.line) for p in result.problems] == [(str(bad), 3)]


def test_missing_repo_folder(example_copy):
    import shutil

    shutil.rmtree(example_copy / "features")
    features = features_of(example_copy)
    [problem] = features.validate()
    assert (problem.path, problem.code) == (str(example_copy / "expenv.toml"), "repo_missing")
    assert features.definition_of("customer_profile") is None
