"""`expenv features ls|lineage|apply` (the typer group, run with CliRunner until main.py mounts it):
`--json` has the service's shape; apply shows `feast plan` and applies only when confirmed."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest
from feast import FeatureStore
from typer.testing import CliRunner

from expenv.cli.features import features_app
from tests.features.conftest import expected_relations, features_of

EXTRA = """\
from datetime import timedelta

from feast import FeatureView, Field, KafkaSource
from feast.data_format import JsonFormat
from feast.stream_feature_view import stream_feature_view
from feast.types import Float32

from feature_definitions import driver, driver_stats_source

driver_extra = FeatureView(name="driver_extra", entities=[driver], ttl=timedelta(days=1),
                           schema=[Field(name="conv_rate", dtype=Float32)], source=driver_stats_source)

driver_stream = KafkaSource(
    name="driver_stream", kafka_bootstrap_servers="localhost:9092", topic="drivers",
    timestamp_field="event_timestamp", batch_source=driver_stats_source,
    message_format=JsonFormat(schema_json="driver_id integer, event_timestamp timestamp, conv_rate double"))


@stream_feature_view(entities=[driver], ttl=timedelta(days=1), mode="python", timestamp_field="event_timestamp",
                     schema=[Field(name="conv_rate", dtype=Float32)], source=driver_stream)
def driver_stream_stats(df):
    return df
"""


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(features_app, list(args), input=input, catch_exceptions=False)


def test_ls_json(example):
    result = _run("ls", "--json", "-w", str(example))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["project"] == "churn"
    assert [v["name"] for v in data["feature_views"]] == ["customer_profile", "customer_usage_stats", "usage_ratios"]
    assert data["feature_services"][0]["features"][0] == {"view": "customer_profile", "feature": "country"}
    assert {s["name"]: s["dataset"] for s in data["data_sources"]}["customer_profile_source"] == "curated.customers"


def test_lineage_json_is_the_service_graph(example, example_features):
    from expenv.domain.data import to_json

    result = _run("lineage", "churn_model_v1", "--direction", "up", "--depth", "2", "--json", "-w", str(example))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    want = to_json(example_features.lineage("churn_model_v1", 2, "up", runs=False))
    assert {n["id"] for n in data["nodes"]} == {n["id"] for n in want["nodes"]}
    assert {(e["source"], e["target"], e["relation"]) for e in data["edges"]} == {
        (e["source"], e["target"], e["relation"]) for e in want["edges"]}
    assert data["attrs"]["center"] == "feature_service:churn_model_v1"
    human = _run("lineage", "customer_profile:age", "-w", str(example))
    assert "feature_view customer_profile --feature_view--> feature_service churn_model_v1" in human.stdout


def test_errors_show_the_located_problems(example_copy):
    yaml_path = example_copy / "features" / "feature_store.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("type: file", "type: nonsense"))
    result = _run("ls", "-w", str(example_copy))
    assert result.exit_code == 1
    assert "feature_store.yaml:" in result.output and "not a valid Feast config" in result.output


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # Feast: stream feature views are experimental
def test_apply_shows_the_plan_and_applies_only_when_confirmed(init_workspace, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(init_workspace, root, ignore=shutil.ignore_patterns("__pycache__"))
    repo = root / "demo" / "feature_repo"
    (repo / "extra.py").write_text(EXTRA)
    refused = _run("apply", "-w", str(root), input="n\n")
    assert refused.exit_code == 1
    assert "driver_extra" in refused.stdout  # the plan says what would change
    assert features_of(root).view("driver_extra") is None
    applied = _run("apply", "--yes", "-w", str(root))
    assert applied.exit_code == 0, applied.output
    features = features_of(root)
    assert features.view("driver_extra").source == "driver_hourly_stats_source"
    # a stream view over a Kafka source with a batch source: its lineage is still exactly Feast's
    stream = features.view("driver_stream_stats")
    assert (stream.kind, stream.stream_source, stream.source) == ("stream", "driver_stream", "driver_hourly_stats_source")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = FeatureStore(repo_path=str(repo))
    edges = {r for r in features.lineage(runs=False).relations() if not r[0].startswith("dataset:")}
    assert edges == expected_relations(store)
    assert ("data_source:driver_stream", "feature_view:driver_stream_stats", "stream_source") in edges
