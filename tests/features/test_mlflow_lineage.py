"""Lineage joins MLflow: runs tagged with a feature service, and the model versions registered
from them, against a real (embedded) MLflow server."""

from __future__ import annotations

import shutil

import pytest

from tests.features.conftest import features_of


@pytest.fixture(scope="module")
def tracked(example, tmp_path_factory):
    """A copy of the example's Feast repo with its own embedded MLflow, holding three runs:
    one with churn_model_v1 (and a registered model version), one naming a service the registry
    does not have, one without a feature service."""
    from mlflow.tracking import MlflowClient

    from expenv.services.tracking import TrackingService
    from expenv.services.workspace import WorkspaceSet

    root = tmp_path_factory.mktemp("features-mlflow") / "churn"
    root.mkdir()
    shutil.copy(example / "expenv.toml", root / "expenv.toml")
    shutil.copytree(example / "features", root / "features")
    services = WorkspaceSet().add(root).services
    tracking = TrackingService(services.config)
    server = tracking.embedded.start()
    try:
        client = MlflowClient(tracking_uri=server.uri)
        exp = client.create_experiment("churn")
        used = client.create_run(exp, run_name="train", tags={"expenv.feature_service": "churn_model_v1",
                                                             "expenv.pipeline": "pipelines/train.py"})
        client.log_metric(used.info.run_id, "auc", 0.77)
        client.set_terminated(used.info.run_id)
        old = client.create_run(exp, run_name="old", tags={"expenv.feature_service": "churn_model_v0"})
        client.set_terminated(old.info.run_id)
        plain = client.create_run(exp, run_name="curated", tags={"expenv.feature_service": ""})
        client.set_terminated(plain.info.run_id)
        client.create_registered_model("churn")
        mv = client.create_model_version("churn", source=f"{used.info.artifact_uri}/model", run_id=used.info.run_id)
        yield root, tracking, used.info.run_id, old.info.run_id, plain.info.run_id, mv.version
    finally:
        tracking.embedded.stop()


def test_runs_and_models_join_through_the_feature_service_tag(tracked):
    root, tracking, used, old, plain, version = tracked
    features = features_of(root, tracking=tracking)
    graph = features.lineage()
    assert graph.attrs["mlflow"]["joined"] is True
    run, model = f"run:{used}", f"model_version:churn/{version}"
    assert graph.node(run).attrs["metrics"] == {"auc": 0.77}
    assert graph.node(model).attrs["run_id"] == used
    assert ("feature_service:churn_model_v1", run, "training_run") in graph.relations()
    assert (run, model, "registered_model") in graph.relations()
    # a run naming a service the registry no longer has is shown, and says so
    assert graph.node("feature_service:churn_model_v0").attrs == {"registered": False}
    assert ("feature_service:churn_model_v0", f"run:{old}", "training_run") in graph.relations()
    assert graph.node(f"run:{plain}") is None


def test_impact_reaches_runs_and_models(tracked):
    root, tracking, used, _, _, version = tracked
    features = features_of(root, tracking=tracking)
    impacted = {n.id for n in features.impact("customer_profile").nodes}
    assert {"feature_service:churn_model_v1", f"run:{used}", f"model_version:churn/{version}"} <= impacted
    # from the raw side: the curated table the profile was exported from reaches the model too
    down = features.lineage("dataset:curated.customers", direction="down")
    assert f"model_version:churn/{version}" in {n.id for n in down.nodes}
    up = features.lineage(f"model_version:churn/{version}", direction="up")
    assert "dataset:curated.customer_monthly_usage" in {n.id for n in up.nodes}
