"""Churn training pipeline.

    python pipelines/train.py [--source features|curated] [--rows-limit N] [--seed 7]

Reads the training data (by default from the feature store through the feature service
`churn_model_v1`; `--source curated` reads the curated table `curated.churn_training`, which
is for exploration only), trains a scikit-learn pipeline, and logs params, metrics and the
model to MLflow when MLFLOW_TRACKING_URI is set. The metrics are always printed to stdout as
one JSON line (the last line of output).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

FEATURE_SERVICE = "churn_model_v1"
LABEL_SOURCE = "churn_labels"
CURATED_TABLE = "curated.churn_training"
LABEL = "churned"
ID_COLUMNS = ("customer_id", "event_timestamp")
CATEGORICAL = ("country", "plan")


def project_root(start: Path | None = None) -> Path:
    """The workspace root: the nearest folder holding expenv.toml (default: this file's repo)."""
    here = (start or Path(__file__)).resolve()
    for folder in [here, *here.parents]:
        if (folder / "expenv.toml").is_file():
            return folder
    return Path(__file__).resolve().parents[1]


def _config(root: Path) -> dict[str, Any]:
    path = root / "expenv.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def feature_repo(root: Path) -> Path:
    return root / _config(root).get("features", {}).get("repo", "features")


def curated_database(root: Path) -> Path:
    url = _config(root).get("data", {}).get("curated", {}).get("url", "")
    url = url or "duckdb:///data/warehouse.duckdb"
    if not url.startswith("duckdb:///"):
        raise SystemExit(f"--source curated supports duckdb:/// URLs only, not {url!r}")
    path = Path(url[len("duckdb:///"):])
    return path if path.is_absolute() else root / path


def load_from_features(root: Path, rows_limit: int | None = None):
    """Training data from Feast: label events joined point-in-time with the feature service."""
    import pandas as pd
    from feast import FeatureStore

    repo = feature_repo(root)
    store = FeatureStore(repo_path=str(repo))
    try:
        service = store.get_feature_service(FEATURE_SERVICE)
        labels = store.get_data_source(LABEL_SOURCE)
    except Exception as exc:  # noqa: BLE001 - feast raises several kinds of "not found"
        raise SystemExit(f"{exc}\nRun `feast apply` in {repo} first.") from exc
    path = Path(labels.path)
    entity_df = pd.read_parquet(path if path.is_absolute() else repo / path)
    entity_df = entity_df.sort_values("customer_id", kind="stable").reset_index(drop=True)
    if rows_limit:
        entity_df = entity_df.head(rows_limit)
    job = store.get_historical_features(entity_df=entity_df, features=service)
    df = job.to_df()
    return df.sort_values("customer_id", kind="stable").reset_index(drop=True)


def load_from_curated(root: Path, rows_limit: int | None = None):
    """Training data from the warehouse (exploration only: production reads the feature store)."""
    import duckdb

    con = duckdb.connect(str(curated_database(root)), read_only=True)
    try:
        limit = f" LIMIT {int(rows_limit)}" if rows_limit else ""
        return con.sql(f"SELECT * FROM {CURATED_TABLE} ORDER BY customer_id{limit}").df()
    finally:
        con.close()


def load_training_data(source: str = "features", rows_limit: int | None = None,
                       root: Path | None = None):
    root = project_root(root) if root else project_root()
    if source == "features":
        return load_from_features(root, rows_limit)
    if source == "curated":
        return load_from_curated(root, rows_limit)
    raise ValueError(f"unknown source {source!r} (features | curated)")


def feature_columns(df) -> tuple[list[str], list[str]]:
    """(categorical, numeric) feature columns of a training frame."""
    categorical = [c for c in CATEGORICAL if c in df.columns]
    numeric = [
        c for c in df.columns
        if c not in (*ID_COLUMNS, LABEL, *categorical, "month")
        and str(df[c].dtype) not in ("object", "string", "category")
        and not str(df[c].dtype).startswith(("datetime", "string"))
    ]
    return categorical, numeric


def build_pipeline(categorical: list[str], numeric: list[str], seed: int = 7, C: float = 1.0):
    """One-hot categories; log1p + standardise the (non-negative) counts and amounts;
    logistic regression."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric_steps = Pipeline([
        ("impute", SimpleImputer(strategy="median")),
        ("log1p", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
        ("scale", StandardScaler()),
    ])
    preprocess = ColumnTransformer([
        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ("numeric", numeric_steps, numeric),
    ])
    model = LogisticRegression(C=C, max_iter=1000, random_state=seed)
    return Pipeline([("preprocess", preprocess), ("model", model)])


def train_model(df, seed: int = 7, test_size: float = 0.25, **params):
    """Fit the pipeline on a training frame; return (fitted pipeline, metrics dict)."""
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    categorical, numeric = feature_columns(df)
    X = df[categorical + numeric]
    y = df[LABEL].astype(int)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    pipeline = build_pipeline(categorical, numeric, seed=seed, **params)
    pipeline.fit(X_train, y_train)
    proba = pipeline.predict_proba(X_test)[:, 1]
    metrics = {
        "auc": float(roc_auc_score(y_test, proba)),
        "accuracy": float(accuracy_score(y_test, proba >= 0.5)),
        "log_loss": float(log_loss(y_test, proba)),
        "churn_rate": float(y.mean()),
        "n_train": int(len(X_train)),
        "n_test": int(len(X_test)),
    }
    return pipeline, metrics


def log_to_mlflow(pipeline, params: dict, metrics: dict, example, source: str) -> str:
    """Log one run to the tracking server named by MLFLOW_TRACKING_URI; return its id."""
    import mlflow
    import mlflow.sklearn

    mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "churn"))
    with mlflow.start_run(run_name="train") as run:
        # expenv hands every run it starts (local, container, kernel) its context as JSON:
        # git sha and branch, stage, image, runner. Plain env, so this image needs no expenv.
        context = json.loads(os.environ.get("EXPENV_RUN_TAGS") or "{}")
        mlflow.set_tags({
            "expenv.pipeline": "pipelines/train.py",   # when run by hand; a pipeline run names its own
            "expenv.step": "train",
            **context,
            "expenv.source": source,
            "expenv.feature_service": FEATURE_SERVICE if source == "features" else "",
        })
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        # skops (MLflow's default format) must be told that the encoder's dtype is safe.
        mlflow.sklearn.log_model(pipeline, name="model", input_example=example,
                                 skops_trusted_types=["numpy.dtype"])
        return run.info.run_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=["features", "curated"], default="features",
                        help="features (the feature store, default) or curated (exploration)")
    parser.add_argument("--rows-limit", type=int, default=None,
                        help="train on the first N customers only")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    args = parser.parse_args(argv)

    df = load_training_data(args.source, args.rows_limit)
    pipeline, metrics = train_model(df, seed=args.seed, C=args.C)
    result: dict[str, Any] = {"source": args.source, "metrics": metrics}
    if os.environ.get("MLFLOW_TRACKING_URI"):
        params = {"source": args.source, "rows_limit": args.rows_limit, "seed": args.seed,
                  "C": args.C, "model": "LogisticRegression"}
        categorical, numeric = feature_columns(df)
        example = df[categorical + numeric].head(5)
        result["run_id"] = log_to_mlflow(pipeline, params, metrics, example, args.source)
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
