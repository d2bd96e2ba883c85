# The cells of notebooks/explore.ipynb in "percent" format: `# %%` starts a code cell,
# `# %% [markdown]` a markdown cell (its lines lose the leading "# "). Lines above the first
# marker (these) are not part of the notebook.

# %% [markdown]
# # Churn: explore the example data
#
# The raw files under `data/raw/` (the lake), the curated tables in `data/warehouse.duckdb`
# (the warehouse) and a quick model. Curated data is for exploration: the production pipeline
# (`pipelines/train.py`) reads its training data from the feature store in `features/`.

# %%
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path.cwd().resolve()
while not (ROOT / "expenv.toml").exists() and ROOT != ROOT.parent:
    ROOT = ROOT.parent
RAW = ROOT / "data" / "raw"
sorted(str(p.relative_to(RAW)) for p in RAW.iterdir())

# %% [markdown]
# ## Raw data
# Customers (parquet), usage events (parquet, partitioned by month), payments (csv) and churn
# labels (newline-delimited json).

# %%
customers = pd.read_parquet(RAW / "customers.parquet")
print(customers.dtypes)
customers.head()

# %%
usage_jan = pd.read_parquet(RAW / "usage", filters=[("month", "==", "2024-01")])
print(f"{len(usage_jan):,} usage events in January")
usage_jan.describe()

# %%
payments = pd.read_csv(RAW / "payments.csv", parse_dates=["event_timestamp"])
labels = pd.read_json(RAW / "churn_labels.json", lines=True)
print(f"failed payments: {payments['failed'].mean():.1%}")
print(f"churn rate: {labels['churned'].mean():.1%}")

# %% [markdown]
# ## Curated data
# The warehouse is opened read-only, so the daemon and other notebooks can read it too.

# %%
con = duckdb.connect(str(ROOT / "data" / "warehouse.duckdb"), read_only=True)
con.sql("""
    SELECT schema_name, table_name, estimated_size, column_count
    FROM duckdb_tables() ORDER BY 1, 2
""").df()

# %%
churn_by_plan = con.sql("""
    SELECT plan,
           count(*)                       AS customers,
           round(avg(churned::INT), 3)    AS churn_rate,
           round(avg(minutes_3m), 1)      AS avg_minutes_3m,
           round(avg(support_tickets_3m), 2) AS avg_tickets_3m
    FROM curated.churn_training
    GROUP BY plan
    ORDER BY plan
""").df()
churn_by_plan

# %%
churn_by_tickets = con.sql("""
    SELECT least(support_tickets_3m, 5) AS tickets_3m, count(*) AS customers,
           round(avg(churned::INT), 3) AS churn_rate
    FROM curated.churn_training GROUP BY 1 ORDER BY 1
""").df()
con.close()
churn_by_tickets

# %% [markdown]
# ## A quick model
# The same function as the training pipeline, on curated data (exploration). The production
# run uses `python pipelines/train.py` (feature store, after `feast apply` in `features/`).

# %%
import sys

sys.path.insert(0, str(ROOT))
from pipelines.train import load_training_data, train_model

training = load_training_data("curated", root=ROOT)
model, metrics = train_model(training)
metrics

# %% [markdown]
# ## Track it
# The kernel expenv starts already points MLflow at the workspace's server and experiment, and
# each run gets the git sha, branch, stage and runner ("notebook") as tags: no setup here.

# %%
import mlflow

with mlflow.start_run(run_name="explore") as run:
    mlflow.log_params({"source": "curated"})
    mlflow.log_metrics(metrics)
run.info.run_id
