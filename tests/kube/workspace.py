"""A workspace whose expenv.toml declares Kubernetes profiles and targets, with planted canaries."""

from __future__ import annotations

import json
from pathlib import Path

CANARY_PASSWORD = "CANARY-pw-7f3a"
CANARY_STORAGE = "CANARY-storage-91bc"
IMAGE = "registry.example/churn-prod:1.4"

CONFIG = f"""\
[project]
name = "kubetest"

[environment]
production_image = "{IMAGE}"

[data.raw]
roots = ["data/raw", "s3://lake/raw"]
storage_options = {{ key = "AKIAEXAMPLE", secret = "{CANARY_STORAGE}" }}

[tracking]
uri = "http://analyst:{CANARY_PASSWORD}@mlflow.internal:5000"

[clusters.dask-k8s]
kind = "dask"
backend = "kubernetes"
context = "emu"
namespace = "ml"
workers = 2
cores = 1.5
memory = "2Gi"
secrets = ["lake-creds"]
options = {{ status_wait = 0.5 }}

[clusters.spark-k8s]
kind = "spark"
backend = "kubernetes"
context = "emu"
namespace = "ml"
workers = 3
cores = 2
memory = "4GB"
secrets = ["lake-creds"]
options = {{ status_wait = 0.5 }}

[clusters.ray_K8s]
kind = "ray"
backend = "kubernetes"
context = "emu"
namespace = "ml"
workers = 1
cores = 1
memory = "1Gi"
options = {{ status_wait = 0.5 }}

[clusters.dask-locked]
kind = "dask"
backend = "kubernetes"
context = "emu"
namespace = "locked"
options = {{ status_wait = 0.5 }}

[targets.preprod]
backend = "kubernetes"
context = "emu"
namespace = "ml"
tracking_uri = "http://ci:{CANARY_PASSWORD}@mlflow.preprod:5000"
secrets = ["mlflow-creds", "lake-creds"]

[targets.loopback]
backend = "kubernetes"
context = "emu"
namespace = "ml"
production_like = false
tracking_uri = "http://127.0.0.1:5000"

[targets.locked]
backend = "kubernetes"
context = "emu"
namespace = "locked"
tracking_uri = "http://mlflow.preprod:5000"

[pipelines.train]
feature_service = "churn_model_v1"

[pipelines.train.steps.prepare]
notebook = "notebooks/prepare.ipynb"
params = {{ rows_limit = 2000 }}

[pipelines.train.steps.train]
python = "pipelines/train.py"
depends_on = ["prepare"]
params = {{ seed = {{ type = "int", default = 7 }} }}
cpu = 1.0
memory = "2g"

[pipelines.evaluate]
feature_service = "churn_model_v1"

[pipelines.evaluate.steps.score]
python = "churn.evaluate:main"
params = {{ threshold = 0.5 }}
"""


def make_kube_workspace(root: Path, config: str = CONFIG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "expenv.toml").write_text(config)
    return root


def assert_no_canary(manifests: list[dict]) -> None:
    text = json.dumps(manifests)
    assert CANARY_PASSWORD not in text and CANARY_STORAGE not in text and "AKIAEXAMPLE" not in text
