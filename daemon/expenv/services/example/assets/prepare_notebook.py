# The cells of notebooks/prepare.ipynb in "percent" format (see explore_notebook.py). The cell
# tagged "parameters" holds the defaults papermill replaces when the notebook runs as a step.

# %% [markdown]
# # Churn: prepare the training data
#
# The `prepare` step of the `train` pipeline (expenv.toml). It reads the training data from the
# feature store, the same way `pipelines/train.py` does, checks it and logs what it found to
# MLflow. Run it here, or as a step: `expenv pipeline submit train --target dev`.

# %% tags=["parameters"]
rows_limit = 0

# %%
import os
import sys
from pathlib import Path

import mlflow

ROOT = Path.cwd().resolve()
while not (ROOT / "expenv.toml").exists() and ROOT != ROOT.parent:
    ROOT = ROOT.parent
sys.path.insert(0, str(ROOT))
from pipelines.train import LABEL, load_training_data

training = load_training_data("features", rows_limit or None, root=ROOT)

# %%
stats = {
    "rows": len(training),
    "churn_rate": float(training[LABEL].mean()),
    "missing_values": int(training.isna().sum().sum()),
}
print(stats)
assert stats["rows"] > 0, "the feature store returned no training rows: run `expenv features apply`"

# %%
if os.environ.get("MLFLOW_TRACKING_URI"):
    mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "churn"))
    with mlflow.start_run(run_name="prepare"):
        mlflow.log_param("rows_limit", rows_limit)
        mlflow.log_metrics({f"data_{name}": value for name, value in stats.items()})
