"""The code action: the example's curated training read becomes a feature-store retrieval that runs
and returns the rows the feature store returns (and trains to the same result); a read no service
covers becomes a feature view scaffold."""

from __future__ import annotations

import ast
import importlib.util
import sys

import pandas as pd
import pytest

from expenv.domain.features import apply_edits
from expenv.services.code.reads import find_reads
from expenv.services.features.rewrite import select_columns


def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rewritten(example, example_services, example_features):
    """pipelines/train.py with its curated read rewritten, saved as rewritten/train.py (same depth)."""
    source = (example / "pipelines" / "train.py").read_text()
    [read] = [r for r in find_reads(source, example_services.data) if r.layer.value == "curated"]
    target = example / "rewritten" / "train.py"
    action = example_features.rewrite(source, read, target)
    assert (action.kind, action.service) == ("retrieval", "churn_model_v1")
    target.parent.mkdir(exist_ok=True)
    target.write_text(apply_edits(source, action.edits))
    return target


def test_rewritten_read_returns_the_feature_store_rows(example, rewritten):
    new = _module("train_rewritten", rewritten)
    old = _module("train_original", example / "pipelines" / "train.py")
    got = new.load_training_data("curated", root=example)
    want = old.load_training_data("features", root=example)
    pd.testing.assert_frame_equal(got, want[got.columns])
    assert list(got.columns) == list(old.load_training_data("curated", root=example).columns)
    assert new.train_model(got)[1] == old.train_model(want)[1]


def test_rewritten_file_reads_no_raw_or_curated_data(rewritten, example_services):
    source = rewritten.read_text()
    assert [r for r in find_reads(source, example_services.data) if r.layer.value in ("raw", "curated")] == []
    assert "CURATED_TABLE" not in source
    assert 'store.get_feature_service("churn_model_v1")' in source
    assert "features_from_churn_model_v1()" in source


def test_explicit_sql_columns_pick_the_covering_service(example, example_services, example_features):
    source = ('import duckdb\n\ncon = duckdb.connect("data/warehouse.duckdb")\n'
              'df = con.sql("SELECT customer_id, event_timestamp, age, plan FROM curated.churn_training").df()\n')
    [read] = find_reads(source, example_services.data)
    action = example_features.rewrite(source, read, example / "notebooks" / "explore.ipynb")
    new = apply_edits(source, action.edits)
    assert action.kind == "retrieval"
    assert "df = features_from_churn_model_v1()\n" in new
    assert '"customer_id", "event_timestamp", "age", "plan",' in new
    assert 'repo = Path("../features")' in new  # a notebook has no __file__
    ast.parse(new)


def test_uncovered_columns_get_a_feature_view_scaffold(example, example_services, example_features, monkeypatch):
    source = 'import pandas as pd\n\ncustomers = pd.read_parquet("data/raw/customers.parquet")\n'
    [read] = find_reads(source, example_services.data)
    action = example_features.rewrite(source, read, example / "pipelines" / "prep.py")
    assert (action.kind, action.new_file) == ("scaffold", "features/customers_view.py")
    assert "signup_date" in action.notes[0]  # why: no service has signup_date
    text = action.new_file_text
    assert 'path="../data/raw/customers.parquet"' in text and "from definitions import customer" in text
    # the scaffold is a valid Feast definition next to the repo's own
    monkeypatch.syspath_prepend(str(example / "features"))
    namespace: dict = {}
    exec(compile(text, "customers_view.py", "exec"), namespace)  # noqa: S102 - our generated text
    view = namespace["customers"]
    assert view.entities == ["customer"]
    assert {f.name for f in view.features} >= {"signup_date", "country", "plan", "age", "monthly_fee"}
    sys.modules.pop("definitions", None)


def test_select_columns():
    assert select_columns("SELECT * FROM t") is None
    assert select_columns("select a, t.b, c AS d, \"e\" from t") == ["a", "b", "d", "e"]
    assert select_columns("SELECT count(*) FROM t") is False
    assert select_columns("SELECT coalesce(a, 0) AS a FROM t") == ["a"]
