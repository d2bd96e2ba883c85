"""The example project generator (`expenv example create`), checked with the real engines:
pyarrow, DuckDB, Feast (`feast apply` + historical retrieval), scikit-learn, MLflow, and the
notebook's code run in a fresh interpreter."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from expenv.services.example import ExampleProject, create_example

SMALL = 20_000
BIN = Path(sys.executable).parent
CURATED = ["curated.customers", "curated.customer_monthly_usage", "curated.churn_training"]
USAGE_COLUMNS = {"events", "sessions", "minutes", "support_tickets", "failed_payments",
                 "sessions_3m", "minutes_3m", "support_tickets_3m", "failed_payments_3m"}
PROFILE_COLUMNS = {"country", "plan", "age", "monthly_fee"}
FEATURE_COLUMNS = PROFILE_COLUMNS | USAGE_COLUMNS | {"minutes_per_session_3m"}
EXPECTED_CONFIG = {
    "project": {"name": "churn"},
    "environment": {"production_image": "churn-prod:latest"},
    "data": {"raw": {"roots": ["data/raw"]},
             "curated": {"url": "duckdb:///data/warehouse.duckdb"}},
    "features": {"repo": "features"},
    "tracking": {},
    "clusters": {
        "dask-local": {"kind": "dask", "backend": "local", "workers": 2, "idle_timeout": 3600},
        "spark-local": {"kind": "spark", "backend": "local", "workers": 2, "memory": "1Gi", "idle_timeout": 3600},
        "dask-docker": {"kind": "dask", "backend": "docker", "workers": 2, "memory": "1Gi"},
        "spark-docker": {"kind": "spark", "backend": "docker", "workers": 2},
        "ray-local": {"kind": "ray", "backend": "local", "workers": 2, "idle_timeout": 3600},
        "ray-docker": {"kind": "ray", "backend": "docker", "workers": 2, "memory": "2Gi"},
        "dask-k8s": {"kind": "dask", "backend": "kubernetes", "namespace": "ml-dev", "workers": 4, "cores": 2,
                     "memory": "4Gi", "idle_timeout": 1800},
        "spark-k8s": {"kind": "spark", "backend": "kubernetes", "namespace": "ml-dev", "workers": 4, "cores": 2,
                      "memory": "4Gi"},
        "ray-k8s": {"kind": "ray", "backend": "kubernetes", "namespace": "ml-dev", "workers": 2, "cores": 2,
                    "memory": "4Gi"},
    },
    "targets": {"dev": {"backend": "docker", "include": ["features/data"]},
                "preprod": {"backend": "kubernetes", "namespace": "ml-preprod", "production_like": True,
                            "tracking_uri": "http://mlflow.preprod:5000"}},
    "pipelines": {"train": {
        "feature_service": "churn_model_v1",
        "steps": {"prepare": {"notebook": "notebooks/prepare.ipynb", "params": {"rows_limit": 0}},
                  "train": {"python": "pipelines/train.py", "depends_on": ["prepare"], "memory": "2g",
                            "params": {"source": "features", "rows_limit": 0, "seed": 7, "C": 1.0}}}}},
    "policy": {"feature_store_required": ["release/*", "main"]},
}


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, FEAST_USAGE="False", PYTHONUNBUFFERED="1")
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, timeout: int = 180, **env: str):
    return subprocess.run(args, cwd=cwd, env=_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _curated_fingerprint(root: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True)
    try:
        out = {}
        for table in CURATED:
            rows = con.execute(f"SELECT * FROM {table}").df()
            out[table] = hashlib.sha256(rows.to_csv(index=False).encode()).hexdigest()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> ExampleProject:
    return create_example(tmp_path_factory.mktemp("example") / "churn", rows=SMALL)


@pytest.fixture(scope="module")
def applied(small) -> ExampleProject:
    result = _run([str(BIN / "feast"), "apply"], cwd=small.root / "features")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "churn_model_v1" in result.stdout
    return small


def test_import_is_cheap():
    code = ("import sys, expenv.services.example as e; "
            "heavy = {'numpy', 'pyarrow', 'duckdb', 'pandas', 'nbformat', 'feast', 'mlflow'}; "
            "print(sorted(heavy & set(sys.modules)))")
    result = _run([sys.executable, "-c", code], cwd=Path.cwd())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_files_and_config(small):
    root = small.root
    assert small.rows == SMALL and small.tables == CURATED
    on_disk = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert on_disk == small.files
    for rel in ["expenv.toml", "README.md", ".gitignore", "data/raw/customers.parquet",
                "data/raw/payments.csv", "data/raw/churn_labels.json", "data/warehouse.duckdb",
                "features/feature_store.yaml", "features/definitions.py",
                "pipelines/__init__.py", "pipelines/train.py", "pipelines/requirements.txt",
                "notebooks/explore.ipynb", "notebooks/prepare.ipynb"]:
        assert Path(rel) in small.files, rel
    months = sorted(p.parent.name for p in (root / "data/raw/usage").glob("*/part-0.parquet"))
    assert months == [f"month=2024-{m:02d}" for m in range(1, 13)]

    text = (root / "expenv.toml").read_text()
    assert tomllib.loads(text) == EXPECTED_CONFIG
    assert '# uri = "http://mlflow.internal:5000"' in text
    ignored = (root / ".gitignore").read_text().splitlines()
    assert {"/data/", "/.expenv/", "/features/data/"} <= set(ignored)
    requirements = (root / "pipelines/requirements.txt").read_text().split()
    assert {r.split(">=")[0] for r in requirements} == {
        "pandas", "pyarrow", "duckdb", "scikit-learn", "feast", "mlflow", "papermill", "ipykernel",
        "dask[distributed]"}
    assert all(">=" in r for r in requirements)
    yaml = (root / "features/feature_store.yaml").read_text()
    for line in ["project: churn", "provider: local", "registry: data/registry.db",
                 "path: data/online_store.db", "entity_key_serialization_version: 3"]:
        assert line in yaml


def test_raw_data(small):
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    raw = small.root / "data" / "raw"
    customers = pq.read_table(raw / "customers.parquet")
    assert customers.num_rows == SMALL // 10
    assert dict(zip(customers.schema.names, map(str, customers.schema.types))) == {
        "customer_id": "int64", "signup_date": "date32[day]", "country": "string",
        "plan": "string", "age": "int64", "monthly_fee": "double",
        "event_timestamp": "timestamp[us, tz=UTC]"}
    assert customers["customer_id"].to_pylist() == sorted(set(customers["customer_id"].to_pylist()))

    usage = ds.dataset(raw / "usage", format="parquet", partitioning="hive").to_table()
    assert usage.num_rows == SMALL
    assert set(usage.schema.names) == {"customer_id", "event_timestamp", "sessions", "minutes",
                                       "support_tickets", "month"}
    jan = ds.dataset(raw / "usage", format="parquet", partitioning="hive").to_table(
        filter=ds.field("month") == "2024-01")
    stamps = jan["event_timestamp"].cast(pa.string()).to_pylist()
    assert jan.num_rows > 0 and all(s.startswith("2024-01") for s in stamps)

    payments = (raw / "payments.csv").read_text().splitlines()
    assert payments[0] == '"customer_id","event_timestamp","amount","failed"'
    assert len(payments) == 1 + SMALL // 2
    labels = [json.loads(line) for line in (raw / "churn_labels.json").read_text().splitlines()]
    assert len(labels) == SMALL // 10
    assert set(labels[0]) == {"customer_id", "event_timestamp", "churned"}
    rate = sum(label["churned"] for label in labels) / len(labels)
    assert 0.1 < rate < 0.45


def test_same_seed_same_data_other_seed_other_data(small, tmp_path):
    import pyarrow.parquet as pq

    again = create_example(tmp_path / "again", rows=SMALL, seed=7)
    assert again.files == small.files
    for rel in ["data/raw/payments.csv", "data/raw/churn_labels.json",
                "notebooks/explore.ipynb", "expenv.toml", "features/definitions.py"]:
        assert _sha(again.root / rel) == _sha(small.root / rel), rel
    for rel in small.files:
        if rel.suffix == ".parquet":
            assert pq.read_table(again.root / rel).equals(pq.read_table(small.root / rel)), rel
    assert _curated_fingerprint(again.root) == _curated_fingerprint(small.root)

    other = create_example(tmp_path / "other", rows=SMALL, seed=8)
    assert _sha(other.root / "data/raw/payments.csv") != _sha(small.root / "data/raw/payments.csv")
    assert not pq.read_table(other.root / "data/raw/customers.parquet").equals(
        pq.read_table(small.root / "data/raw/customers.parquet"))


def test_refuses_a_non_empty_directory_unless_overwrite(tmp_path):
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        create_example(dest, rows=2_000)
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]

    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(FileExistsError):
        create_example(a_file, rows=2_000)
    with pytest.raises(ValueError):
        create_example(tmp_path / "tiny", rows=10)

    first = create_example(dest, rows=2_000, overwrite=True)
    assert (dest / "notes.txt").read_text() == "mine"
    second = create_example(dest, rows=4_000, overwrite=True)
    assert first.root == second.root == dest.resolve()
    lines = (dest / "data/raw/payments.csv").read_text().splitlines()
    assert len(lines) == 1 + 2_000


def test_curated_warehouse(small):
    import duckdb

    db = small.root / "data" / "warehouse.duckdb"
    assert not Path(str(db) + ".wal").exists()
    # Another process can open it read-write: the generator left no lock behind.
    probe = _run([sys.executable, "-c",
                  f"import duckdb; duckdb.connect({str(db)!r}).close(); print('ok')"], cwd=small.root)
    assert probe.stdout.strip() == "ok", probe.stderr

    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                         "ORDER BY 1").fetchall()
        assert sorted(t[0] for t in tables) == sorted(CURATED)
        count = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        customers = SMALL // 10
        assert count("SELECT count(*) FROM curated.customers") == customers
        assert count("SELECT count(*) FROM curated.customer_monthly_usage") == customers * 12
        assert count("SELECT count(*) FROM curated.churn_training") == customers
        assert count("SELECT sum(events) FROM curated.customer_monthly_usage") == SMALL
        failed = count("SELECT count(*) FILTER (WHERE failed) FROM "
                       f"read_csv('{small.root}/data/raw/payments.csv')")
        assert count("SELECT sum(failed_payments) FROM curated.customer_monthly_usage") == failed
        # The training table is the December row of the monthly table (point in time).
        assert count("""
            SELECT count(*) FROM curated.churn_training t
            JOIN curated.customer_monthly_usage u
              ON u.customer_id = t.customer_id AND u.month = DATE '2024-12-01'
            WHERE u.minutes_3m = t.minutes_3m AND u.support_tickets_3m = t.support_tickets_3m
              AND u.event_timestamp = t.event_timestamp""") == customers
        nulls = con.execute("SELECT count(*) FROM curated.churn_training WHERE "
                        "plan IS NULL OR minutes_3m IS NULL OR churned IS NULL").fetchone()[0]
        assert nulls == 0
        # Churn depends on usage and on tickets (at the same usage): a signal for the model.
        low_use, high_use, calm, angry = con.execute("""
            WITH q AS (SELECT quantile_cont(minutes_3m, [0.25, 0.5, 0.75]) AS q
                       FROM curated.churn_training)
            SELECT avg(churned::INT) FILTER (WHERE minutes_3m <= q[1]),
                   avg(churned::INT) FILTER (WHERE minutes_3m >= q[3]),
                   avg(churned::INT) FILTER (WHERE minutes_3m > q[2] AND support_tickets_3m = 0),
                   avg(churned::INT) FILTER (WHERE minutes_3m > q[2] AND support_tickets_3m >= 2)
            FROM curated.churn_training, q""").fetchone()
        assert low_use > high_use + 0.15
        assert angry > calm + 0.15
    finally:
        con.close()


def test_feast_historical_retrieval_through_the_feature_service(applied, monkeypatch):
    monkeypatch.setenv("FEAST_USAGE", "False")
    import duckdb
    import numpy as np
    import pandas as pd
    from feast import FeatureStore

    repo = applied.root / "features"
    assert (repo / "data" / "registry.db").is_file()
    store = FeatureStore(repo_path=str(repo))
    service = store.get_feature_service("churn_model_v1")
    assert {p.name for p in service.feature_view_projections} == {
        "customer_profile", "customer_usage_stats", "usage_ratios"}
    entity_df = pd.read_parquet(repo / "data" / "churn_labels.parquet")
    df = store.get_historical_features(entity_df=entity_df, features=service).to_df()

    assert FEATURE_COLUMNS <= set(df.columns)
    assert len(df) == len(entity_df) == SMALL // 10
    assert not df[sorted(FEATURE_COLUMNS)].isna().any().any()

    con = duckdb.connect(str(applied.root / "data" / "warehouse.duckdb"), read_only=True)
    curated = con.execute("SELECT * FROM curated.churn_training ORDER BY customer_id").df()
    con.close()
    df = df.sort_values("customer_id").reset_index(drop=True)
    assert df["customer_id"].tolist() == curated["customer_id"].tolist()
    for column in sorted(FEATURE_COLUMNS):
        if column in ("country", "plan"):
            assert df[column].tolist() == curated[column].tolist(), column
        else:
            assert np.allclose(df[column].astype(float), curated[column].astype(float)), column


def test_train_from_curated(small):
    result = _run([sys.executable, "pipelines/train.py", "--source", "curated"], cwd=small.root)
    assert result.returncode == 0, result.stderr[-3000:]
    out = _last_json(result.stdout)
    assert out["source"] == "curated" and "run_id" not in out
    assert out["metrics"]["auc"] > 0.6
    assert out["metrics"]["n_train"] + out["metrics"]["n_test"] == SMALL // 10


def test_train_from_the_feature_store_by_default(applied):
    result = _run([sys.executable, "pipelines/train.py"], cwd=applied.root)
    assert result.returncode == 0, result.stderr[-3000:]
    out = _last_json(result.stdout)
    assert out["source"] == "features"
    assert out["metrics"]["auc"] > 0.6
    assert out["metrics"]["n_train"] + out["metrics"]["n_test"] == SMALL // 10


def test_train_logs_to_mlflow_when_a_tracking_uri_is_set(small, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = _run([sys.executable, str(small.root / "pipelines/train.py"), "--source", "curated",
                   "--rows-limit", "1000"], cwd=tmp_path, MLFLOW_TRACKING_URI=uri)
    assert result.returncode == 0, result.stderr[-3000:]
    out = _last_json(result.stdout)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(out["run_id"])
    assert run.data.metrics["auc"] == pytest.approx(out["metrics"]["auc"])
    assert run.data.params["source"] == "curated"
    assert run.data.tags["expenv.pipeline"] == "pipelines/train.py"
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert [m.name for m in models if m.source_run_id == run.info.run_id] == ["model"]


def test_notebook_cells_run(small):
    import nbformat

    nb = nbformat.read(small.root / "notebooks" / "explore.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code_cells) >= 5 and any(c.cell_type == "markdown" for c in nb.cells)
    assert all(c.outputs == [] and c.execution_count is None for c in code_cells)
    source = "\n\n".join(c.source for c in code_cells)
    for needle in ["read_parquet", "duckdb.connect", "churned", "train_model"]:
        assert needle in source
    result = _run([sys.executable, "-c", source], cwd=small.root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "churn rate" in result.stdout


def test_default_size(tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    messages: list[str] = []
    project = create_example(tmp_path / "full", progress=messages.append)   # its time: bench/example.py
    assert project.rows == 1_000_000 and len(messages) >= 3

    raw = project.root / "data" / "raw"
    assert pq.ParquetFile(raw / "customers.parquet").metadata.num_rows == 100_000
    usage = sum(pq.ParquetFile(p).metadata.num_rows for p in (raw / "usage").glob("*/*.parquet"))
    assert usage == 1_000_000
    with (raw / "payments.csv").open("rb") as fh:
        assert sum(1 for _ in fh) == 1 + 500_000
    con = duckdb.connect(str(project.root / "data" / "warehouse.duckdb"), read_only=True)
    try:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in CURATED}
        events = con.execute("SELECT sum(events) FROM curated.customer_monthly_usage").fetchone()[0]
    finally:
        con.close()
    assert counts == {"curated.customers": 100_000,
                      "curated.customer_monthly_usage": 1_200_000,
                      "curated.churn_training": 100_000}
    assert events == 1_000_000
    exported = pq.ParquetFile(project.root / "features/data/customer_usage_stats.parquet")
    assert exported.metadata.num_rows == 1_200_000
