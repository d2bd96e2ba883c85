"""The catalog and lineage hold exactly what Feast's registry reports, on the example repo and on
Feast's own `feast init` template (views of every kind, push and request sources, label views)."""

from __future__ import annotations

import warnings

import pytest
from feast import FeatureStore, OnDemandFeatureView
from feast.stream_feature_view import StreamFeatureView

from tests.features.conftest import expected_relations

REPOS = ["example", "init"]


@pytest.fixture(params=REPOS)
def repo_case(request, example_features, init_features):
    features = example_features if request.param == "example" else init_features
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = FeatureStore(repo_path=str(features.repo))
    return features, store


def _kind(fv) -> str:
    from feast.labeling.label_view import LabelView

    if isinstance(fv, OnDemandFeatureView):
        return "on_demand"
    if isinstance(fv, LabelView):
        return "label"
    return "stream" if isinstance(fv, StreamFeatureView) else "batch"


def test_catalog_lists_what_feast_lists(repo_case):
    features, store = repo_case
    assert {e.name for e in features.entities()} == {e.name for e in store.list_entities()}
    assert {s.name for s in features.sources()} == {s.name for s in store.list_data_sources()}
    assert {(v.name, v.kind) for v in features.feature_views()} == {
        (fv.name, _kind(fv)) for fv in store.list_all_feature_views()}
    assert {v.name for v in features.feature_views("batch")} == {fv.name for fv in store.list_feature_views()}
    assert {v.name for v in features.feature_views("on_demand")} == {
        fv.name for fv in store.list_on_demand_feature_views()}
    for fv in store.list_all_feature_views():
        mine = features.view(fv.name)
        assert [(f.name, f.dtype) for f in mine.features] == [(f.name, str(f.dtype)) for f in fv.features]
    for fs in store.list_feature_services():
        assert {r.text for r in features.service(fs.name).features} == {
            f"{p.name_to_use()}:{f.name}" for p in fs.feature_view_projections for f in p.features}


def test_lineage_holds_exactly_the_registry_relations(repo_case):
    features, store = repo_case
    graph = features.lineage(runs=False)
    feast_edges = {r for r in graph.relations() if not r[0].startswith("dataset:")}
    assert feast_edges == expected_relations(store)
    ids = {n.id for n in graph.nodes}
    assert {f"feature_view:{fv.name}" for fv in store.list_all_feature_views()} <= ids
    assert {f"feature_service:{fs.name}" for fs in store.list_feature_services()} <= ids


def test_lineage_covers_feasts_own_lineage_generator(repo_case):
    """Every direct relation of Feast's RegistryLineageGenerator (but feature->view, which are
    attributes here, and the dummy entity of on-demand views) is an edge of the graph."""
    from feast.lineage.registry_lineage import RegistryLineageGenerator

    features, store = repo_case
    direct, _ = RegistryLineageGenerator().generate_lineage(store.registry.proto())
    prefix = {"dataSource": "data_source", "entity": "entity", "featureView": "feature_view",
              "labelView": "feature_view", "featureService": "feature_service"}
    theirs = {(f"{prefix[r.source.type.value]}:{r.source.name}", f"{prefix[r.target.type.value]}:{r.target.name}")
              for r in direct if r.source.type.value != "feature" and r.source.name != "__dummy"}
    mine = {(s, t) for s, t, _ in features.lineage(runs=False).relations()}
    assert theirs and theirs <= mine


def test_sources_link_to_datasets(example_features, init_features):
    example = {s.name: s for s in example_features.sources()}
    assert (example["customer_profile_source"].dataset, example["customer_profile_source"].dataset_layer) == (
        "curated.customers", "curated")
    assert example["customer_profile_source"].exists is True
    graph = example_features.lineage(runs=False)
    assert ("dataset:curated.customers", "data_source:customer_profile_source", "derived_from") in graph.relations()
    # a source no view reads names its dataset in its own tags
    assert (example["churn_labels"].dataset, example["churn_labels"].dataset_layer) == (
        "curated.churn_training", "curated")
    assert ("dataset:curated.churn_training", "data_source:churn_labels", "derived_from") in graph.relations()
    # feast init's parquet sits under a raw root: the source reads that raw dataset
    stats = init_features.catalog().sources["driver_hourly_stats_source"]
    assert (stats.dataset, stats.dataset_layer, stats.dataset_relation) == (
        "demo/feature_repo/data/driver_stats.parquet", "raw", "reads")
    up = init_features.lineage("driver_activity_v1", direction="up")
    assert "dataset:demo/feature_repo/data/driver_stats.parquet" in {n.id for n in up.nodes}


def test_feature_hover_data(example_features, init_features):
    info = example_features.feature("customer_profile:age")
    assert (info.dtype, info.view.entities, info.view.ttl_seconds, info.source.name, info.services) == (
        "Int64", ["customer"], 730 * 86400, "customer_profile_source", ["churn_model_v1"])
    assert example_features.feature("customer_profile:nope") is None
    assert example_features.feature("nope:age") is None
    # a service that sub-selects conv_rate projects only it
    assert init_features.feature("driver_hourly_stats:conv_rate").services == ["driver_activity_v1", "driver_activity_v2"]
    assert init_features.feature("driver_hourly_stats:acc_rate").services == ["driver_activity_v2"]
    odfv = example_features.view("usage_ratios")
    assert (odfv.kind, odfv.source_views, odfv.entities) == ("on_demand", ["customer_usage_stats"], ["customer"])


def test_impact_and_subgraphs(example_features):
    impact = example_features.impact("feature_view:customer_usage_stats")
    assert {n.id for n in impact.nodes} == {"feature_view:customer_usage_stats", "feature_view:usage_ratios",
                                            "feature_service:churn_model_v1"}
    assert {n.id for n in example_features.impact("customer_profile:age").nodes} == {
        "feature_view:customer_profile", "feature_service:churn_model_v1"}
    up = example_features.lineage("churn_model_v1", depth=1, direction="up")
    assert {n.id for n in up.nodes} == {"feature_service:churn_model_v1", "feature_view:customer_profile",
                                        "feature_view:customer_usage_stats", "feature_view:usage_ratios"}
    whole = example_features.lineage()
    assert [n.id for n in whole.upstream("feature_view:usage_ratios")][:1] == ["feature_view:customer_usage_stats"]
    assert "dataset:curated.customer_monthly_usage" in {n.id for n in whole.upstream("feature_view:usage_ratios")}
    from expenv.domain.features import FeatureStoreError

    with pytest.raises(FeatureStoreError, match="nothing named"):
        example_features.lineage("no_such_thing")


def test_lineage_without_mlflow_says_so(example):
    from expenv.services.tracking import TrackingService
    from expenv.services.workspace import WorkspaceSet
    from tests.features.conftest import features_of

    services = WorkspaceSet().add(example).services
    features = features_of(example, tracking=TrackingService(services.config))  # nothing runs there
    graph = features.lineage()
    assert graph.attrs["mlflow"]["joined"] is False
    assert "not running" in graph.attrs["mlflow"]["detail"]
    assert not graph.of_kind("run", "model_version")


def test_definitions_point_at_the_python(repo_case):
    features, store = repo_case
    for fv in store.list_all_feature_views():
        where = features.definition_of(fv.name)
        assert where is not None, fv.name
        line = open(where.path).read().split("\n")[where.line - 1]
        assert ("FeatureView(" in line or "LabelView(" in line or f"def {fv.name}(" in line), (fv.name, line)
        assert features.view(fv.name).definition == where
    for fs in store.list_feature_services():
        assert features.definition_of(fs.name, "service") is not None
