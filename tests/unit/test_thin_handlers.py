"""Logic that moved out of the LSP handlers into services, tested as plain Python, and the pure
converters that turn its results into LSP types, checked against JSON snapshots."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from lsprotocol.converters import get_converter

from expenv.domain.data import DatasetRef, Layer
from expenv.domain.errors import ExpenvError
from expenv.domain.tracking import RunSummary
from expenv.services.code.snippets import SnippetInsert, snippet_insert, warehouse_file
from expenv.services.features.mentions import CompletionContext, completion_context
from expenv.services.tracking.lens import RunLens, RunLenses, key_metric, lens_line, run_filters

JSON = get_converter()

# ---- the tracking code lens -------------------------------------------------------------------

TRAIN = '''import mlflow


def train():
    mlflow.log_metric("auc", 0.9)


if __name__ == "__main__":
    train()
'''


def test_the_lens_sits_on_the_main_guard_else_the_first_mlflow_call_else_nowhere():
    assert lens_line(TRAIN) == 7
    assert lens_line("import mlflow\n\nmlflow.autolog()\n") == 2
    assert lens_line("import mlflow\nprint('no logging')\n") is None


def test_the_key_metric_prefers_auc_then_accuracy_then_the_first_by_name():
    assert key_metric({"loss": 0.2, "accuracy": 0.81234, "auc": 0.9}) == "auc 0.9"
    assert key_metric({"loss": 0.2, "accuracy": 0.81234}) == "accuracy 0.8123"
    assert key_metric({"zeta": 1.0, "beta": 2.0}) == "beta 2"
    assert key_metric({}) == "no metrics"


def test_a_notebook_stands_for_notebook_runs_and_a_file_for_its_pipeline(tmp_path):
    assert run_filters(tmp_path, tmp_path / "nb.ipynb", in_notebook=True) == {"expenv.runner": "notebook"}
    assert run_filters(tmp_path, tmp_path / "pipelines" / "train.py", in_notebook=False) == {
        "expenv.pipeline": "pipelines/train.py"}
    assert run_filters(tmp_path, Path("/elsewhere/train.py"), in_notebook=False) == {}


def _run(run_id: str, tags: dict[str, str], metrics: dict[str, float]) -> RunSummary:
    return RunSummary(run_id=run_id, experiment="churn", name=None, status="FINISHED", start_time=None,
                      end_time=None, params={}, metrics=metrics, tags=tags, artifact_uri="", url="")


class _Runs:
    """Runs as MLflow would list them, newest first; counts the searches."""

    def __init__(self, runs=None, error: str | None = None):
        self.listed, self.error, self.searches = runs or [], error, 0

    def runs(self, max_results: int, pipeline: str | None = None):
        self.searches += 1
        if self.error:
            raise ExpenvError(self.error)
        return [r for r in self.listed if pipeline is None or r.tags.get("expenv.pipeline") == pipeline]


def test_the_lens_shows_the_latest_run_of_the_file_and_asks_mlflow_once_in_a_while(tmp_path):
    runs = _Runs([_run("r2", {"expenv.pipeline": "train.py"}, {"auc": 0.91}),
                  _run("r1", {"expenv.pipeline": "train.py"}, {"auc": 0.88})])
    lenses = RunLenses(runs, tmp_path)
    lens = lenses.lens(TRAIN, tmp_path / "train.py", in_notebook=False)
    assert lens == RunLens(7, "MLflow: finished · auc 0.91", "expenv.tracking.open",
                           {"run_id": "r2", "workspace": str(tmp_path.resolve())})
    lenses.lens(TRAIN, tmp_path / "train.py", in_notebook=False)
    assert runs.searches == 1  # kept a few seconds: a lens is asked for on every edit


def test_the_lens_says_why_there_is_no_run(tmp_path):
    assert RunLenses(_Runs(), tmp_path).lens(TRAIN, tmp_path / "train.py", False).title == "MLflow: no runs yet"
    down = RunLenses(_Runs(error="no MLflow server: run `expenv up`"), tmp_path).lens(TRAIN, None, True)
    assert (down.title, down.command, down.arguments) == ("MLflow: no MLflow server: run `expenv up`",
                                                          "expenv.status", {})


def test_code_lens_converter_snapshot():
    from expenv.lsp.features.tracking_lens import code_lens_of

    lens = RunLens(7, "MLflow: finished · auc 0.91", "expenv.tracking.open", {"run_id": "r2", "workspace": "/ws"})
    assert JSON.unstructure(code_lens_of(lens)) == {
        "range": {"start": {"line": 7, "character": 0}, "end": {"line": 7, "character": 0}},
        "command": {"title": "MLflow: finished · auc 0.91", "command": "expenv.tracking.open",
                    "arguments": [{"run_id": "r2", "workspace": "/ws"}]},
    }


# ---- the feature-reference completion context -------------------------------------------------

RETRIEVAL = '''training = store.get_historical_features(
    entity_df=labels,
    features=["customer_profile:a'''


def test_a_feature_list_string_is_a_feature_reference_being_typed():
    assert completion_context(RETRIEVAL, 2, len('    features=["customer_profile:a')) == CompletionContext(
        start=15, typed="customer_profile:a", kind="feature_ref")


def test_a_get_feature_service_argument_is_a_service_name_being_typed():
    text = 'svc = store.get_feature_service("churn'
    assert completion_context(text, 0, len(text)) == CompletionContext(33, "churn", "feature_service")


def test_strings_away_from_feature_calls_and_code_outside_strings_are_not_ours():
    assert completion_context('path = "data/raw/', 0, len('path = "data/raw/')) is None
    assert completion_context("store.get_online_features(features=x", 0, 36) is None
    assert completion_context('store.get_online_features(  # "a', 0, 32) is None


def test_completion_converter_snapshot():
    from expenv.lsp.features.feature_refs import completion_list_of

    result = completion_list_of(CompletionContext(15, "customer_profile:a", "feature_ref"),
                                [("customer_profile:age", "Int64 · batch view")], types.Position(line=2, character=33))
    assert JSON.unstructure(result) == {"isIncomplete": False, "items": [{
        "label": "customer_profile:age", "kind": 5, "detail": "Int64 · batch view", "sortText": "0000",
        "textEdit": {"range": {"start": {"line": 2, "character": 15}, "end": {"line": 2, "character": 33}},
                     "newText": "customer_profile:age"}}]}


# ---- DuckDB URLs and the loading snippet of data actions -------------------------------------


def test_only_a_duckdb_url_names_a_warehouse_file():
    assert warehouse_file("duckdb:///data/warehouse.duckdb") == "data/warehouse.duckdb"
    assert warehouse_file("duckdb:////srv/wh.duckdb?access_mode=read_only") == "/srv/wh.duckdb"
    assert warehouse_file("postgresql://u@db/warehouse") is None
    assert warehouse_file(None) is None


class _Mention:
    def __init__(self, ref: DatasetRef, line: int, end_line: int):
        self.ref, self.line, self.end_line = ref, line, end_line


def test_the_snippet_goes_after_the_whole_statement_with_its_indentation():
    source = 'def load():\n    x = f(\n        "curated.customers",\n    )\n    return x\n'
    ref = DatasetRef(layer=Layer.CURATED, name="curated.customers", location="curated.customers", format="table")
    insert = snippet_insert(source, _Mention(ref, 2, 2), "duckdb:///data/warehouse.duckdb")
    assert insert.line == 4
    assert insert.text == ('        customers_df = duckdb.connect("data/warehouse.duckdb", read_only=True)'
                           '.sql("SELECT * FROM curated.customers").df()\n')


def test_data_actions_converter_snapshot():
    from expenv.lsp.features.data_actions import actions_of

    actions = actions_of("file:///ws/a.py", SnippetInsert(3, 'df = pd.read_csv("x.csv")\n'), "data/raw/x.csv", "/ws")
    assert [JSON.unstructure(a) for a in actions] == [
        {"title": "Insert a loading snippet", "kind": "refactor", "edit": {"changes": {"file:///ws/a.py": [
            {"range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}},
             "newText": 'df = pd.read_csv("x.csv")\n'}]}}},
        {"title": "Profile this dataset", "command": "expenv.data.profile",
         "arguments": [{"dataset": "data/raw/x.csv", "workspace": "/ws"}]},
    ]
